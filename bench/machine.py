"""What machine and software a benchmark ran on."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from typing import Any


def _first(path: str, key: str) -> str | None:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _command(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def _postgres() -> str:
    try:
        import psycopg2

        with (
            psycopg2.connect(
                host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=5
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute("SHOW server_version")
            return f"PostgreSQL {cur.fetchone()[0]}"
    except Exception as exc:  # only a label in the report
        return f"unknown ({type(exc).__name__})"


def describe() -> dict[str, Any]:
    mem_kib = _first("/proc/meminfo", "MemTotal")
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu_model": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "ram_gib": round(int(mem_kib.split()[0]) / 1024 / 1024, 1) if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "airflow": _version("apache-airflow"),
        "task_sdk": _version("apache-airflow-task-sdk"),
        "langchain_openai": _version("langchain-openai"),
        "pygithub": _version("PyGithub"),
        "git": _command("git", "--version"),
        "postgres": _postgres(),
        "load_average": os.getloadavg(),
    }
