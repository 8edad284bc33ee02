"""Scale-out on Airflow's CeleryExecutor: one busy day's digest spread over two Celery workers.

scripts/celery_topology.py starts docker-compose.yaml's topology without containers: its own
PostgreSQL database (metadata DB and Celery result backend), its own Redis database (broker),
api-server, scheduler, dag-processor and two ``airflow celery worker`` processes. A fake GitHub
serves the git fixture and a fake OpenAI answers with a delay, so llm_analyze instances overlap.
The fixture's 2026-02-18 (48 commits, Asia/Shanghai) is triggered through the REST API.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest

from scripts.celery_topology import (
    DEMO_DAG_ID,
    DEMO_TZ,
    CeleryTopology,
    digest_json,
    fake_connections,
    fakes,
    run_demo_day,
)
from tests.live import report_line

pytestmark = pytest.mark.airflow_live

DAY = dt.date(2026, 2, 18)
LLM_DELAY = 0.3  # seconds per answer: instances on both workers are in flight at once


def _overlap(a: dict, b: dict) -> bool:
    """Whether two task instances were running at the same moment."""
    start_a, end_a, start_b, end_b = (
        dt.datetime.fromisoformat(ti[key]) for ti in (a, b) for key in ("start_date", "end_date")
    )
    return max(start_a, start_b) < min(end_a, end_b)


def test_a_busy_day_runs_on_both_celery_workers_and_everything_stops(tmp_path, request):
    with fakes(tmp_path, llm_delay=LLM_DELAY) as (fixture, github, llm):
        expected = fixture.commits_on(DAY, DEMO_TZ)
        assert len(expected) == 48
        topology = CeleryTopology(
            workers=2, concurrency=2, extra_env=fake_connections(github.base_url, llm.base_url)
        )
        with topology:
            timings = ", ".join(f"{key} {value:.1f}s" for key, value in topology.timings.items())
            report_line(request, f"[airflow_live] celery topology started: {timings}")
            assert topology.env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
            assert topology.ping_workers() == set(topology.worker_names)

            began = time.monotonic()
            run = run_demo_day(topology, DAY)
            report_line(
                request,
                f"[airflow_live] {DAY} ({len(expected)} commits) ran in {time.monotonic() - began:.1f}s",
            )
            assert run["state"] == "success"

            # Every task of the run ran on a Celery worker, and the mapped analyses on both.
            tis = topology.task_instances(DEMO_DAG_ID, run["dag_run_id"])
            assert {ti["state"] for ti in tis} == {"success"}, [(ti["task_id"], ti["state"]) for ti in tis]
            assert {ti["hostname"] for ti in tis} <= set(topology.worker_names)
            analyses = [ti for ti in tis if ti["task_id"] == "llm_analyze"]
            # One mapped instance per commit, labelled with its short sha and title.
            assert sorted(ti["map_index"] for ti in analyses) == list(range(len(expected)))
            titles = {c.sha[:7]: c.title for c in expected}
            for ti in analyses:
                short, title = ti["rendered_map_index"].split(" ", 1)
                assert titles.pop(short).startswith(title.rstrip("…")), ti["rendered_map_index"]
            assert titles == {}
            assert {ti["hostname"] for ti in analyses} == set(topology.worker_names), [
                (ti["map_index"], ti["hostname"]) for ti in analyses
            ]
            # ...at the same time: some instances on different workers overlapped.
            overlapping = [
                (a, b) for a, b in itertools.combinations(analyses, 2)
                if a["hostname"] != b["hostname"] and _overlap(a, b)
            ]  # fmt: skip
            assert overlapping, [(ti["hostname"], ti["start_date"], ti["end_date"]) for ti in analyses]

            # The digest: every commit of the day, exactly, each analysed by the LLM once.
            data = digest_json(topology, DAY)
            assert data["day"] == DAY.isoformat() and data["timezone"] == DEMO_TZ
            assert [c["sha"] for c in data["commits"]] == [c.sha for c in expected]
            assert {c["analysis"]["analyzer"] for c in data["commits"]} == {"llm"}
            assert data["stats"]["total"] == 48
            markdown = topology.store / "acme" / "widgets" / f"{DAY:%Y}" / f"{DAY.isoformat()}.md"
            assert f"> 本日共 {len(expected)} 个提交 |" in markdown.read_text(encoding="utf-8")
            # One answered request per commit: no task ran twice (Celery redelivers unacked tasks).
            assert len([r for r in llm.requests if r.status == 200]) == len(expected)

            # Large XCom values (the busy day's digest) went to the shared object storage,
            # written on one worker and read on another.
            stored = [p for p in topology.xcom_dir.rglob("*") if p.is_file()]
            assert any("/aggregate_stats/" in str(p) for p in stored), stored

            # Each worker imported what a task process needs before forking its pool.
            for index in range(1, len(topology.worker_names) + 1):
                log = (topology.logs_dir / f"worker{index}.log").read_text(errors="replace")
                assert "repo_digest.preload: task-process modules imported" in log, log[-3000:]

            processes = topology.pids()
            assert len(processes) >= 5  # api-server, scheduler, dag-processor, two workers (and children)

        # Everything the topology started is gone: processes, database, Redis keys, folder.
        assert topology.leftovers() == []
        assert topology.pids() == [] and not topology.tmp.exists()
    assert github.errors == [] and llm.errors == []
