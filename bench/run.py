"""Run every benchmark and write docs/BENCHMARKS.md.

    .venv/bin/python -m bench            # the full run (~20-30 min on 2 cores)
    .venv/bin/python -m bench --quick    # each benchmark at its smallest size (~5 min)

The full run writes docs/BENCHMARKS.md and bench/out/results.json; ``--quick`` writes
bench/out/BENCHMARKS.quick.md and bench/out/results.quick.json, leaving the report alone.
Needs PostgreSQL on 127.0.0.1:5432 (as the live tests do). Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, log

PARTS = ("parse", "live", "sequential")


def _prepare_process() -> None:
    # Anything this process imports of Airflow gets a private home, never the user's.
    home = Path(tempfile.mkdtemp(prefix="repo_digest_bench_home_"))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(home / "tiktoken")
    for path in (str(ROOT / "plugins"), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def _sequential(quick: bool, results: dict[str, Any]) -> None:
    from bench import sequential
    from bench.live import DAYS
    from bench.synth import busy_repo

    try:
        work = Path(tempfile.mkdtemp(prefix="repo_digest_bench_seqrepo_"))
        busy_repo(work / "d20", {DAYS[20]: 20}, seed=20)  # the same commits as the live 20-commit day
        results["sequential"] = sequential.run(work / "d20", DAYS[20], limit=2 if quick else 20)
    except Exception as exc:  # reported, never hides the other benchmarks
        import traceback

        results["sequential"] = {"error": f"{exc!r}\n{traceback.format_exc()[-3000:]}"}


def code_version() -> dict[str, Any]:
    """The product code a run measured: HEAD and any uncommitted change under dags/, plugins/, include/."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "subject": git("log", "-1", "--format=%s")[:120],
        "dirty": git("status", "--porcelain", "--", "dags", "plugins", "include").splitlines(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="each benchmark at its smallest size (a smoke check)"
    )
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="the Markdown report (default: docs/BENCHMARKS.md; bench/out/BENCHMARKS.quick.md with --quick)",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="only rewrite the report from the raw results of the last run (bench/out/results*.json)",
    )
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    out = args.out or (out_dir / "BENCHMARKS.quick.md" if args.quick else ROOT / "docs" / "BENCHMARKS.md")
    raw = out_dir / ("results.quick.json" if args.quick else "results.json")

    _prepare_process()
    from bench import machine, parse, report

    if args.render_only:
        out.write_text(report.render(json.loads(raw.read_text())))
        log(f"report: {out} (from {raw})")
        return 0

    command = (
        "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if set(parts) != set(PARTS) else "")
    )
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": command,
        "argv": shlex.join(sys.argv),
        "quick": args.quick,
        "machine": machine.describe(),
        "parts": parts,
        "code": code_version(),
    }
    try:
        if "parse" in parts:
            log("benchmark 1: parse")
            results["parse"] = parse.run(args.quick)
        sequential_thread = None
        if "sequential" in parts:
            # Mostly sleeping (10 s pauses, 1 s answers): it runs while the live stack starts
            # and warms up, and is done before the first measured day.
            log("benchmark 6: sequential baseline (in the background)")
            sequential_thread = threading.Thread(target=_sequential, args=(args.quick, results), daemon=True)
            sequential_thread.start()
        if "live" in parts:
            from bench.live import LiveBench

            log("benchmarks 2-5: live scheduler")

            def wait_for_sequential() -> None:
                if sequential_thread is not None:
                    log("waiting for the sequential baseline before measuring days")
                    sequential_thread.join()
                    results["sequential_overlapped_stack_start"] = True

            results["live"] = LiveBench(args.quick).run(before_measuring=wait_for_sequential)
        if sequential_thread is not None:
            sequential_thread.join()
    finally:
        results["duration_s"] = time.monotonic() - started
        results["code_end"] = code_version()
        results["machine"]["load_average_end"] = os.getloadavg()
        raw.write_text(json.dumps(results, indent=2, default=str))
        log(f"raw results: {raw}")
    out.write_text(report.render(results))
    log(f"report: {out} (whole run {results['duration_s'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
