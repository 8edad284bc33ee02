"""Run every benchmark and write docs/BENCHMARKS.md.

    .venv/bin/python -m bench            # the full run (~25-40 min on 2 cores)
    .venv/bin/python -m bench --quick    # each benchmark at its smallest size (~6 min)

The full run writes docs/BENCHMARKS.md and bench/out/results.json; ``--quick`` writes
bench/out/BENCHMARKS.quick.md and bench/out/results.quick.json, leaving the report alone.
Needs PostgreSQL on 127.0.0.1:5432 (as the live tests do). Not part of the pytest suite.

The product code measured is never the working tree as it stands (someone may be editing
it): ``--after`` (default HEAD) and ``--before`` (default bb63a47, the batch code before
per-commit mapping) are exported with ``git archive`` into the run's temporary folder. The
"after" tree is what every benchmark measures; the "before" tree runs under a scheduler of
its own with the settings it had, for the side-by-side rows. ``--history`` names the git
repository whose last 60 days the backfill benchmark replays (served by the fake GitHub).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, log, set_product

PARTS = ("parse", "live", "sequential")
# The code before llm_analyze was mapped per commit: batches of commits, 4 LLM calls at once
# per instance (pool_slots 4); its stack ran with parallelism 8, fork, idle sleep 1 s.
DEFAULT_BEFORE = "bb63a47"
WORKING_TREE = "working-tree"
# A real repository's history for the backfill benchmark (a bare mirror; never committed here).
DEFAULT_HISTORY = Path("/work/.mirror/astronomer+astronomer-cosmos/repo")
HISTORY_ENV = "REPO_DIGEST_BENCH_HISTORY"


def _prepare_process(product: Path) -> None:
    # Anything this process imports of Airflow gets a private home, never the user's.
    home = Path(tempfile.mkdtemp(prefix="repo_digest_bench_home_"))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(home / "tiktoken")
    # The product's repo_digest first (the measured commit, not the working tree's edits);
    # bench and tests (the fakes, the Airflow stack) from this checkout.
    for path in (str(ROOT), str(product / "plugins")):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    set_product(product)


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def export_tree(rev: str, dest: Path) -> dict[str, Any]:
    """The product at ``rev`` (dags/, plugins/, include/ and the rest) in ``dest``, via git archive.

    ``working-tree`` measures the checkout as it stands, uncommitted edits included.
    """
    if rev == WORKING_TREE:
        return {**code_version(), "rev": rev, "path": str(ROOT), "exported": False}
    sha = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if not sha:
        raise SystemExit(f"python -m bench: {rev!r} is not a commit of {ROOT}")
    dest.mkdir(parents=True)
    archive = subprocess.Popen(["git", "archive", "--format=tar", sha], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"python -m bench: git archive {sha} failed")
    return {
        "rev": rev,
        "sha": sha,
        "head": sha[:7],
        "subject": _git("log", "-1", "--format=%s", sha)[:120],
        "dirty": [],
        "path": str(dest),
        "exported": True,
    }


def describe_history(path: Path) -> dict[str, Any]:
    """The history repository: path, origin URL, default branch, last commit."""
    branch = _git("symbolic-ref", "--short", "HEAD", cwd=path) or "main"
    last = _git("log", "-1", "--format=%H%x1f%cI%x1f%s", branch, cwd=path).split("\x1f")
    return {
        "path": str(path),
        "url": _git("config", "--get", "remote.origin.url", cwd=path) or None,
        "branch": branch,
        "commits": int(_git("rev-list", "--count", branch, cwd=path) or 0),
        "last_sha": last[0] if last and last[0] else None,
        "last_date": last[1] if len(last) > 1 else None,
        "last_subject": last[2][:120] if len(last) > 2 else None,
    }


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
    """The checkout's HEAD and any uncommitted change under dags/, plugins/, include/."""
    return {
        "head": _git("rev-parse", "--short", "HEAD"),
        "subject": _git("log", "-1", "--format=%s")[:120],
        "dirty": _git("status", "--porcelain", "--", "dags", "plugins", "include").splitlines(),
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
    parser.add_argument(
        "--after",
        default="HEAD",
        help=f"the product commit measured (default HEAD; '{WORKING_TREE}' for the checkout as it stands)",
    )
    parser.add_argument(
        "--before",
        default=DEFAULT_BEFORE,
        help=f"the commit measured side by side with it under its own scheduler (default {DEFAULT_BEFORE}; "
        "'none' skips the before rows)",
    )
    history_default = os.environ.get(HISTORY_ENV) or (
        str(DEFAULT_HISTORY) if DEFAULT_HISTORY.is_dir() else str(ROOT)
    )
    parser.add_argument(
        "--history",
        type=Path,
        default=Path(history_default),
        help=f"git repository replayed by the backfill benchmark (env {HISTORY_ENV}; default "
        f"{DEFAULT_HISTORY} if it exists, else this project's own history)",
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

    if args.render_only:
        _prepare_process(ROOT)
        from bench import report

        out.write_text(report.render(json.loads(raw.read_text())))
        log(f"report: {out} (from {raw})")
        return 0

    trees = Path(tempfile.mkdtemp(prefix="repo_digest_bench_code_"))
    try:
        after = export_tree(args.after, trees / "after")
        before = None if args.before.lower() == "none" else export_tree(args.before, trees / "before")
        _prepare_process(Path(after["path"]))
        return _run(args, parts, out, raw, after, before)
    finally:
        shutil.rmtree(trees, ignore_errors=True)


def _run(
    args: argparse.Namespace,
    parts: list[str],
    out: Path,
    raw: Path,
    after: dict[str, Any],
    before: dict[str, Any] | None,
) -> int:
    from bench import machine, parse, report

    command = (
        "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if set(parts) != set(PARTS) else "")
        + (f" --after {args.after}" if args.after != "HEAD" else "")
        + (f" --before {args.before}" if args.before != DEFAULT_BEFORE else "")
        + (f" --history {args.history}" if args.history != DEFAULT_HISTORY else "")
    )
    history = describe_history(args.history.resolve()) if "live" in parts else None
    started = time.monotonic()
    results: dict[str, Any] = {
        "command": command,
        "argv": shlex.join(sys.argv),
        "quick": args.quick,
        "machine": machine.describe(),
        "parts": parts,
        "code": code_version(),
        "after": after,
        "before": before,
        "history": history,
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

            bench = LiveBench(
                args.quick,
                after=Path(after["path"]),
                before=Path(before["path"]) if before else None,
                history=history,
            )
            results["live"] = bench.run(before_measuring=wait_for_sequential)
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
