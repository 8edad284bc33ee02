"""Benchmark 1: DAG parse time of the DAG files against a trivial one-DAG file.

Each measurement is a fresh interpreter (bench/parse_child.py) that parses one file the
way the dag-processor's child does; the Variable comes from ``AIRFLOW_VAR_REPO_DIGEST_REPOS``
(an environment-variable secrets backend: one lookup, no database, no network).

Measured: every file of dags/ that builds DAGs (the repo DAGs are spread over
repo_digest_0.py … and the combined report is in repo_digest_all.py), and, as the
"before", one generated file that builds every DAG the way dags/ did in a single file.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.common import PYTHON, ROOT, child_env, log, median, product, profile_buckets

TIMEZONES = ["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York"]
TRIVIAL_DAG = """\
import datetime as dt

from airflow.sdk import DAG, task

with DAG("bench_trivial", schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), catchup=False):

    @task
    def hello():
        return 1

    hello()
"""


ONE_FILE_DAG = """\
# An Airflow DAG file (safe mode skips files that do not say "airflow" and "dag").
from repo_digest.dag_factory import REPO_DAG_FILES, build_combined_dags, build_repo_dags
from repo_digest.variable import load_repos

_repos = load_repos().enabled
for _index in range(REPO_DAG_FILES):
    globals().update(build_repo_dags(_repos, file_index=_index))
globals().update(build_combined_dags(_repos))
"""


def dag_files() -> list[Path]:
    """The product's DAG files that build DAGs (not the config check)."""
    return sorted(p for p in (product() / "dags").glob("repo_digest_*.py") if p.name != "repo_digest_config_check.py")


def variable_value(repos: int) -> str:
    """``repos`` valid entries, varied like a real list (owners, time zones, languages, sources)."""
    entries: list[dict[str, Any]] = []
    for i in range(repos):
        entry: dict[str, Any] = {"repo": f"org{i % 37}/project-{i:04d}", "timezone": TIMEZONES[i % 4]}
        if i % 3 == 0:
            entry["language"] = "en"
        if i % 5 == 0:
            entry.update(source="git", url=f"/srv/git/p{i}.git")
        entries.append(entry)
    return json.dumps(entries, separators=(",", ":"))


def _child(file: Path, bundle: Path, env: dict[str, str], profile: Path | None = None) -> dict[str, Any]:
    cmd = [PYTHON, str(ROOT / "bench" / "parse_child.py"), str(file), str(bundle)]
    if profile is not None:
        cmd = [PYTHON, "-m", "cProfile", "-o", str(profile), *cmd[1:]]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    marker = "@@RESULT@@"
    if done.returncode != 0 or marker not in done.stdout:
        raise RuntimeError(
            f"parse child failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return json.loads(done.stdout.rsplit(marker, 1)[1])


PROFILE_BUCKETS = [
    ("dag_processing/dagbag.py", "__init__", "BundleDagBag(file): import the file, build the DAGs"),
    ("repo_digest/dag_factory.py", "build_repo_dag", "· build_repo_dag, all repos"),
    ("sdk/bases/decorator.py", "__call__", "· · the @task calls (operator creation)"),
    ("sdk/definitions/dag.py", "_validate_params", "· · DAG(): params validation"),
    ("repo_digest/timetable.py", "__init__", "· · DigestDayTimetable()"),
    ("repo_digest/dag_factory.py", "build_combined_dag", "· build_combined_dag"),
    ("dag_processing/processor.py", "_serialize_dags", "serialize every DAG"),
    ("serialization/serialized_objects.py", "serialize_operator", "· the operators"),
    ("sdk/definitions/param.py", "dump", "· · Param.dump (validates each task's params)"),
    ("serialization/serialized_objects.py", "validate_schema", "· the serialized-DAG schema check"),
    ("sdk/definitions/param.py", "resolve", "Param.resolve (jsonschema), wherever called"),
]


def run(quick: bool) -> dict[str, Any]:
    sizes = [1] if quick else [1, 100, 1000]
    runs = 3 if quick else 5
    work = Path(tempfile.mkdtemp(prefix="repo_digest_bench_parse_"))
    trivial_dir = work / "trivial_dags"
    trivial_dir.mkdir()
    trivial = trivial_dir / "bench_trivial.py"
    trivial.write_text(TRIVIAL_DAG)
    home = work / "home"
    home.mkdir()
    results: dict[str, Any] = {"runs_per_size": runs, "cases": [], "files": [], "sets": [], "task_startup": []}

    def measure(
        label: str, file: Path, bundle: Path, repos: int | None, dag_id: str | None = None, into: str = "cases"
    ) -> dict[str, Any]:
        extra = {"AIRFLOW_VAR_REPO_DIGEST_REPOS": variable_value(repos)} if repos is not None else {}
        if dag_id is not None:  # what the task runner sets before it parses the file for one task
            extra.update(
                _AIRFLOW_PARSING_CONTEXT_DAG_ID=dag_id, _AIRFLOW_PARSING_CONTEXT_TASK_ID="llm_analyze"
            )
        env = child_env(home, extra)
        samples = []
        for i in range(runs):
            samples.append(_child(file, bundle, env))
            log(f"parse {label} run {i + 1}/{runs}: {samples[-1]['parse_s']:.3f}s")
        last = samples[-1]
        case = {
            "label": label,
            "repos": repos,
            "dags": last["dags"],
            "parse_s": median(s["parse_s"] for s in samples),
            "bag_s": median(s["bag_s"] for s in samples),
            "serialize_s": median(s["serialize_s"] for s in samples),
            "setup_s": median(s["setup_s"] for s in samples),
            "samples_s": [round(s["parse_s"], 4) for s in samples],
            "import_errors": last["import_errors"],
            "counts": last["counts"],
            "network": last["network"],
            "variable_bytes": len(extra.get("AIRFLOW_VAR_REPO_DIGEST_REPOS", "")),
            "parsing_context": dag_id,
        }
        results[into].append(case)
        return case

    ideal = measure("trivial one-DAG file", trivial, trivial_dir, None)
    one_file_dir = work / "one_file_dags"
    one_file_dir.mkdir()
    one_file = one_file_dir / "repo_digest_one_file.py"
    one_file.write_text(ONE_FILE_DAG)
    for repos in sizes:
        # Before: every DAG in one file (what dags/ did before the repos were spread out).
        case = measure(f"one file (before), {repos} repos", one_file, one_file_dir, repos)
        case["ratio"] = case["parse_s"] / ideal["parse_s"]
        shipped = []
        for file in dag_files():
            row = measure(f"{file.name}, {repos} repos", file, product() / "dags", repos, into="files")
            row["file"] = file.name
            row["ratio"] = row["parse_s"] / ideal["parse_s"]
            shipped.append(row)
        largest = max(shipped, key=lambda r: r["parse_s"])
        results["sets"].append(
            {
                "repos": repos,
                "files": len(shipped),
                "dags": sum(r["dags"] for r in shipped),
                "largest_file": largest["file"],
                "parse_s": largest["parse_s"],
                "total_s": sum(r["parse_s"] for r in shipped),
                "one_file_s": case["parse_s"],
                "ratio_to_one_file": largest["parse_s"] / case["parse_s"],
                "variable_reads": [r["counts"].get("variable_get", 0) for r in shipped],
                # per counter, the most any one file did (each file is parsed on its own)
                "counts": {k: max(r["counts"].get(k, 0) for r in shipped) for k in {k for r in shipped for k in r["counts"]}},
                "import_errors": [e for r in shipped for e in r["import_errors"]],
            }
        )
    ideal["ratio"] = 1.0
    # A task's start-up: the task runner parses the DAG's file with the parsing context set
    # to the task's DAG; a file that honours it builds only that DAG.
    from repo_digest.dag_factory import repo_dag_file

    for repos in sizes[-1:] if quick else sizes[1:]:
        dag_id = "repo_digest__org1__project-0001" if repos > 1 else "repo_digest__org0__project-0000"
        file = product() / "dags" / f"repo_digest_{repo_dag_file(dag_id)}.py"
        case = measure(f"{file.name}, {repos} repos, parsing context of one DAG", file, product() / "dags", repos,
                       dag_id=dag_id, into="task_startup")  # fmt: skip
        case["ratio"] = case["bag_s"] / ideal["bag_s"]
    # Where the time goes at the largest size: one profiled parse (cProfile slows it ~2x).
    largest = sizes[-1]
    profile = work / "parse.prof"
    env = child_env(home, {"AIRFLOW_VAR_REPO_DIGEST_REPOS": variable_value(largest)})
    _child(one_file, one_file_dir, env, profile=profile)
    results["profile_repos"] = largest
    results["profile"] = profile_buckets(profile, PROFILE_BUCKETS)
    return results
