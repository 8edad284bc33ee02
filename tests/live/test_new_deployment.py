"""An Airflow that only got the files: no `repo_digest.admin setup`, no pool, none of our settings.

A user with an Airflow of their own copies dags/, plugins/ and include/ into it (README,
"Track a repository"), sets the Variable and unpauses the DAG. The pool ``llm_api`` that
every llm_analyze task takes was never created there: a task whose pool does not exist
waits forever without an error, so the scheduler must create it (repo_digest.listeners).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from tests.fakes.git_fixture import build_fixture_repo
from tests.live import report_line
from tests.live.airflow_stack import ROOT, AirflowStack, utc

pytestmark = pytest.mark.airflow_live

TZ = "Asia/Shanghai"
DAG_ID = "repo_digest__acme__widgets"
DAY = dt.date(2026, 2, 19)  # 7 commits in Shanghai


def test_a_deployment_with_only_the_files_gets_its_pool_and_its_digest(tmp_path, request):
    deployment = tmp_path / "deployment"
    for part in ("dags", "plugins", "include"):
        shutil.copytree(ROOT / part, deployment / part, ignore=shutil.ignore_patterns("__pycache__"))
    fixture = build_fixture_repo(tmp_path / "widgets")
    # Airflow's defaults, not the settings scripts/env.sh and compose add (they only make it faster).
    defaults = {"AIRFLOW__SCHEDULER__MP_START_METHOD": "", "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1"}
    with AirflowStack(project=deployment, create_pool=False, extra_env=defaults) as stack:
        assert stack.rest("GET", "/api/v2/pools/llm_api", check=False).status_code == 404
        entry = {"repo": "acme/widgets", "timezone": TZ, "source": "git", "url": str(fixture.path)}
        stack.cli("variables", "set", "repo_digest_repos", json.dumps([entry]))
        stack.wait_for_dag(DAG_ID)
        stack.unpause(DAG_ID)
        began = dt.datetime.now(dt.UTC)
        run = stack.rest("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": utc(DAY)}).json()
        stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=180)
        report_line(request, f"[airflow_live] first day on a new deployment: {dt.datetime.now(dt.UTC) - began}")

        pool = stack.rest("GET", "/api/v2/pools/llm_api").json()
        assert pool["slots"] == 16 and pool["description"].startswith("repo_digest:")
        scheduler_log = (stack.logs_dir / "scheduler.log").read_text(errors="replace")
        assert "Created the Airflow pool 'llm_api' with 16 slots" in scheduler_log
        data = json.loads((stack.store / "acme" / "widgets" / "2026" / f"{DAY}.json").read_text(encoding="utf-8"))
        assert [c["sha"] for c in data["commits"]] == [c.sha for c in fixture.commits_on(DAY, TZ)]
        tis = stack.rest("GET", f"{stack.run_path(DAG_ID, run['dag_run_id'])}/taskInstances").json()["task_instances"]
        assert len([ti for ti in tis if ti["task_id"] == "llm_analyze"]) == len(data["commits"]) == 7
