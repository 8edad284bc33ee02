"""What every benchmark shares: paths, the child-process environment, small statistics."""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
VARIABLE = "repo_digest_repos"
# The product code measured (the folder with dags/, plugins/, include/): the working tree
# unless bench/run.py points it at an export of a commit (set_product).
_PRODUCT = ROOT


def product() -> Path:
    """The product tree the benchmarks measure (dags/, plugins/, include/)."""
    return _PRODUCT


def set_product(path: Path) -> None:
    global _PRODUCT
    _PRODUCT = Path(path)


def child_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for an Airflow process of our own (nothing of the caller's Airflow)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "_AIRFLOW", "REPO_DIGEST_", "PYTEST_", "TIKTOKEN_"))
        and k != "PYTHONPATH"
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(product() / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(product() / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            # The product's repo_digest first; bench and tests (the fakes) from this checkout.
            "PYTHONPATH": os.pathsep.join([str(product() / "plugins"), str(ROOT)]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else math.nan


def ideal_llm_seconds(commits: int, slots: int = 16, delay: float = 1.0) -> float:
    """The pool-bound ideal: every slot busy with one call all the time."""
    return math.ceil(commits / slots) * delay


class Clock:
    """Wall-clock and monotonic readings taken together, to place monotonic stamps in wall time."""

    def __init__(self) -> None:
        self.wall = time.time()
        self.mono = time.monotonic()

    def to_wall(self, mono: float) -> float:
        return self.wall + (mono - self.mono)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def profile_buckets(profile: Path | str, buckets: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Cumulative time and calls of each (file suffix, function, label) found in a cProfile dump."""
    import pstats

    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    rows = []
    for suffix, function, label in buckets:
        found = [
            (cumulative, calls)
            for (filename, _line, name), (_cc, calls, _tt, cumulative, _callers) in stats.items()
            if name == function and filename.endswith(suffix)
        ]
        if found:
            cumulative, calls = max(found)
            rows.append({"what": label, "cumulative_s": cumulative, "calls": calls})
    return rows
