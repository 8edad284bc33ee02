"""The DAG files as Airflow's parser sees them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"


def dagbag(monkeypatch, entries: object | None):
    from airflow.dag_processing.dagbag import DagBag

    if entries is None:
        monkeypatch.delenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", raising=False)
    else:
        raw = entries if isinstance(entries, str) else json.dumps(entries)
        monkeypatch.setenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", raw)
    return DagBag(dag_folder=str(DAGS))


def test_no_variable_means_no_repo_dags_and_no_error(monkeypatch, airflow_db):
    bag = dagbag(monkeypatch, None)
    assert bag.import_errors == {}
    assert bag.dag_ids == []


def test_one_dag_per_enabled_entry(monkeypatch, airflow_db):
    bag = dagbag(
        monkeypatch,
        [
            {"repo": "sgl-project/sglang", "timezone": "Asia/Shanghai"},
            {"repo": "vllm-project/vllm", "language": "en"},
            {"repo": "off/repo", "enabled": False},
        ],
    )
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == [
        "repo_digest__all", "repo_digest__sgl-project__sglang", "repo_digest__vllm-project__vllm",
    ]  # fmt: skip


def test_dag_shape(monkeypatch, airflow_db):
    bag = dagbag(monkeypatch, [{"repo": "sgl-project/sglang", "timezone": "Asia/Shanghai"}])
    dag = bag.dags["repo_digest__sgl-project__sglang"]
    assert [t.task_id for t in dag.topological_sort()] == [
        "fetch_commits", "chunk_diffs", "llm_analyze", "aggregate_stats", "render_markdown", "publish",
    ]  # fmt: skip
    assert type(dag.timetable).__name__ == "DigestDayTimetable" and dag.timetable.timezone_name == "Asia/Shanghai"
    assert dag.catchup is False and 1 <= dag.max_active_runs <= 5
    assert type(dag.get_task("llm_analyze")).__name__.endswith("MappedOperator")
    assert dag.get_task("llm_analyze").pool == "llm_api"
    assert [outlet.uri for outlet in dag.get_task("publish").outlets] == ["repo-digest://sgl-project/sglang"]
    assert dag.get_task("aggregate_stats").trigger_rule == "none_failed"
    assert dag.get_task("fetch_commits").retries >= 1
    assert all(task.on_failure_callback for task in dag.tasks)  # alerts.notify_failure
    assert dag.get_task("publish").max_active_tis_per_dag == 1


def test_a_bad_entry_is_isolated_and_reported(monkeypatch, airflow_db):
    bag = dagbag(
        monkeypatch,
        [{"repo": "good/repo"}, {"repo": "bad/repo", "timezone": "Mars/Olympus"}, {"repo": "also/good", "foo": 1}],
    )
    assert sorted(bag.dag_ids) == ["repo_digest__all", "repo_digest__good__repo"]
    assert list(bag.import_errors) == [str(DAGS / "repo_digest_config_check.py")]
    message = next(iter(bag.import_errors.values()))
    assert "repo_digest_repos[1] (repo 'bad/repo'), key 'timezone': 'Mars/Olympus'" in message
    assert "repo_digest_repos[2] (repo 'also/good'), key 'foo'" in message


@pytest.mark.parametrize("raw", ["{broken", '{"repo": "a/b"}'])
def test_a_variable_that_is_not_a_list_gives_no_dags_and_one_error(monkeypatch, airflow_db, raw):
    bag = dagbag(monkeypatch, raw)
    assert bag.dag_ids == []
    assert len(bag.import_errors) == 1 and "repo_digest_repos: " in next(iter(bag.import_errors.values()))


def test_the_variable_set_in_the_metadata_db_is_seen_by_a_plain_process(monkeypatch, airflow_db):
    """`airflow dags test` parses in a plain process: it must see what the UI set."""
    from airflow.models import Variable

    monkeypatch.delenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", raising=False)
    Variable.set("repo_digest_repos", json.dumps([{"repo": "from/db"}]))
    try:
        from airflow.dag_processing.dagbag import DagBag

        assert "repo_digest__from__db" in DagBag(dag_folder=str(DAGS)).dag_ids
    finally:
        Variable.delete("repo_digest_repos")


PARSE_PROBE = textwrap.dedent(
    """
    import json, socket, sys
    calls = []
    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network used at parse time")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    import airflow.sdk
    from airflow.sdk import Variable
    reads = []
    original = Variable.get
    def counting_get(key, *args, **kwargs):
        reads.append(key)
        return original(key, *args, **kwargs)
    Variable.get = staticmethod(counting_get)
    from airflow.sdk.bases.hook import BaseHook
    def no_connections(*args, **kwargs):
        raise AssertionError("connection looked up at parse time")
    BaseHook.get_connection = classmethod(no_connections)
    before = set(sys.modules)
    import importlib.util
    spec = importlib.util.spec_from_file_location("repo_digest_dagfile", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    heavy = sorted(m for m in ("pandas", "github", "langchain", "openai", "pyarrow", "jinja2")
                   if m in sys.modules and m not in before)
    print(json.dumps({"dags": sorted(k for k in vars(module) if k.startswith("repo_digest__")),
                      "reads": reads, "network": len(calls), "heavy": heavy}))
    """
)


@pytest.mark.parametrize("file_index", [None, 0, 3])
def test_parsing_reads_the_variable_once_with_no_network_connection_or_heavy_import(tmp_path, file_index):
    from repo_digest.dag_factory import repo_dag_file

    entries = [{"repo": f"org/repo{i}"} for i in range(20)]
    env = {**os.environ, "AIRFLOW_VAR_REPO_DIGEST_REPOS": json.dumps(entries)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "plugins"), env.get("PYTHONPATH", "")])
    probe = tmp_path / "probe.py"
    probe.write_text(PARSE_PROBE)
    file = DAGS / ("repo_digest_all.py" if file_index is None else f"repo_digest_{file_index}.py")
    result = subprocess.run(
        [sys.executable, str(probe), str(file)], capture_output=True, text=True, env=env, timeout=120, check=False
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    if file_index is None:
        assert report["dags"] == ["repo_digest__all"]
    else:
        expected = sorted(f"repo_digest__org__repo{i}" for i in range(20) if repo_dag_file(f"repo_digest__org__repo{i}") == file_index)
        assert expected and report["dags"] == expected
    assert report["reads"] == ["repo_digest_repos"]
    assert report["network"] == 0
    assert report["heavy"] == []


def test_the_repo_dags_are_spread_over_the_dag_files_each_built_once(monkeypatch, airflow_db):
    from repo_digest.dag_factory import REPO_DAG_FILES, repo_dag_file

    assert sorted(path.name for path in DAGS.glob("repo_digest_[0-9]*.py")) == [
        f"repo_digest_{i}.py" for i in range(REPO_DAG_FILES)
    ]
    entries = [{"repo": f"org{i % 7}/repo{i}"} for i in range(200)]
    bag = dagbag(monkeypatch, entries)
    assert bag.import_errors == {}  # a dag_id in two files would be an import error
    repo_dags = {dag_id: dag for dag_id, dag in bag.dags.items() if dag_id != "repo_digest__all"}
    assert sorted(repo_dags) == sorted(f"repo_digest__org{i % 7}__repo{i}" for i in range(200))
    for dag_id, dag in repo_dags.items():
        assert Path(dag.fileloc).name == f"repo_digest_{repo_dag_file(dag_id)}.py"
    per_file = [sum(1 for d in repo_dags if repo_dag_file(d) == i) for i in range(REPO_DAG_FILES)]
    assert min(per_file) >= 30  # crc32 spreads 200 repos roughly evenly (50 each)
    assert Path(bag.dags["repo_digest__all"].fileloc).name == "repo_digest_all.py"


def test_the_combined_report_dag_is_driven_by_every_repos_digest_asset(monkeypatch, airflow_db):
    bag = dagbag(monkeypatch, [{"repo": "a/one"}, {"repo": "b/two", "language": "en"}, {"repo": "c/off", "enabled": False}])
    combined = bag.dags["repo_digest__all"]
    uris = sorted(asset.uri for asset in combined.timetable.asset_condition.objects)
    assert uris == ["repo-digest://a/one", "repo-digest://b/two"]
    assert combined.max_active_runs == 1


def test_a_task_process_builds_only_its_own_dag(monkeypatch, airflow_db):
    """Airflow's task runner parses the whole file for one task: only that DAG is built."""
    # The same environment the task runner sets. Not its context manager: that one
    # leaves the variables behind when they were unset before, and every later DagBag
    # in the session would then build only this one DAG.
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID, _AIRFLOW_PARSING_CONTEXT_TASK_ID

    entries = [{"repo": f"org/repo{i}"} for i in range(30)]
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "repo_digest__org__repo7")
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_TASK_ID, "llm_analyze")
    assert dagbag(monkeypatch, entries).dag_ids == ["repo_digest__org__repo7"]
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "repo_digest__all")
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_TASK_ID, "write_combined")
    combined = dagbag(monkeypatch, entries).dags["repo_digest__all"]
    assert len(combined.timetable.asset_condition.objects) == 30


def test_a_bad_entry_is_one_sentence_in_the_import_error_and_silent_in_the_healthy_dags_tasks(
    monkeypatch, airflow_db, caplog
):
    import logging

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID, _AIRFLOW_PARSING_CONTEXT_TASK_ID

    from repo_digest.dag_factory import repo_dag_file

    entries = [{"repo": "good/repo"}, {"repo": "bad/repo", "timezone": "Mars/Olympus"}]
    bag = dagbag(monkeypatch, entries)
    (message,) = bag.import_errors.values()
    # What the UI shows last: the class without Airflow's internal module name, then the sentence.
    assert message.rstrip().splitlines()[-1] == (
        "RepoConfigError: repo_digest_repos[1] (repo 'bad/repo'), key 'timezone': 'Mars/Olympus' is not an IANA "
        "timezone name (for example 'UTC' or 'Asia/Shanghai'). The other entries' DAGs are unaffected."
    )

    # A task of the good DAG parses only its own file: nothing about the bad entry in its log.
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "repo_digest__good__repo")
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_TASK_ID, "fetch_commits")
    caplog.set_level(logging.INFO)
    task_bag = DagBag(dag_folder=str(DAGS / f"repo_digest_{repo_dag_file('repo_digest__good__repo')}.py"))
    assert task_bag.dag_ids == ["repo_digest__good__repo"] and task_bag.import_errors == {}
    assert [r.getMessage() for r in caplog.records if "bad/repo" in r.getMessage() or r.levelno >= logging.WARNING
            and r.name.startswith("repo_digest")] == []  # fmt: skip
