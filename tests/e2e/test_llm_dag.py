"""The repo DAG with an LLM connection, end to end with dag.test(): fake GitHub and fake OpenAI over sockets."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from markdown_it import MarkdownIt

from repo_digest.analysis.record import CommitAnalysis, tier_fields
from repo_digest.markdown import unresolved_links
from tests.e2e.test_digest_dag import (  # noqa: F401  (module fixtures)
    DAG_ID, REPO, TZ, fixture_repo, github, read_digest, run_day, store, table_rows, use_github,
)  # fmt: skip
from tests.fakes.openai_api import Fault, FakeOpenAI, Reply

KEY = "sk-e2e-not-real"


@pytest.fixture(scope="module")
def llm():
    with FakeOpenAI(api_key=KEY, models=("gpt-4o-mini",)) as server:
        yield server


@pytest.fixture
def with_llm(monkeypatch, github, llm):
    use_github(monkeypatch, github)
    connection = {"conn_type": "openai", "password": KEY, "host": llm.base_url, "extra": {"model": "gpt-4o-mini"}}
    monkeypatch.setenv("AIRFLOW_CONN_OPENAI_DEFAULT", json.dumps(connection))
    llm.reset()
    return llm


def run(day: dt.date, expect: str = "success", conf: dict | None = None):
    from airflow.dag_processing.dagbag import DagBag

    import pendulum

    dag = DagBag(dag_folder=str(__import__("pathlib").Path(__file__).resolve().parents[2] / "dags")).dags[DAG_ID]
    dag_run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"), run_conf=conf)
    assert dag_run.state == expect
    return dag_run


def test_every_commit_is_analysed_by_the_llm_and_a_rerun_asks_nothing(airflow_db, with_llm, store, fixture_repo):
    day = dt.date(2026, 2, 19)
    run(day)
    markdown, data = read_digest(store, day)
    expected = fixture_repo.commits_on(day, TZ)
    assert [c["sha"] for c in data["commits"]] == [c.sha for c in expected]
    analyses = [CommitAnalysis.model_validate(c["analysis"]) for c in data["commits"]]
    assert {a.analyzer for a in analyses} == {"llm"} and all(a.fallback_reason is None for a in analyses)
    for analysis in analyses:
        assert all(getattr(analysis, name) for name in tier_fields(analysis.importance))
    assert len(with_llm.requests) == len(expected)
    assert data["analysis_note"] == "llm" and data["llm_model"] == "gpt-4o-mini"
    assert data["stats"]["llm_requests"] == len(expected) and data["stats"]["prompt_tokens"] > 0
    assert "gpt-4o-mini" in markdown and "🧮" in markdown
    assert len(table_rows(markdown)) == len(expected) and unresolved_links(markdown) == []

    with_llm.clear_requests()
    run(day)
    assert with_llm.requests == []  # every analysis came from the cache
    assert read_digest(store, day) == (markdown, data)

    run(day, conf={"force_reanalysis": True})
    assert len(with_llm.requests) == len(expected)


def test_revoked_credentials_fail_the_run_and_publish_nothing_until_fixed(
    airflow_db, with_llm, store, fixture_repo, capfd
):
    day = dt.date(2026, 2, 22)
    with_llm.answer = lambda request: Fault.status(403, "This key has been revoked")
    run(day, expect="failed")
    log = capfd.readouterr()
    assert "HTTP 403: This key has been revoked" in log.out + log.err
    assert "Fix the Airflow connection 'openai_default'" in log.out + log.err
    assert KEY not in log.out + log.err
    assert not (store / "acme" / "widgets" / "2026" / "2026-02-22.md").exists()
    assert not (store / "acme" / "widgets" / "2026" / "2026-02-22.json").exists()
    refused = len(with_llm.requests)
    assert refused == len(fixture_repo.commits_on(day, TZ))  # one request per commit: no retries

    with_llm.answer = None  # the connection is fixed
    run(day)
    _, data = read_digest(store, day)
    assert {c["analysis"]["analyzer"] for c in data["commits"]} == {"llm"}


def test_bad_answers_fall_back_visibly_and_are_counted(airflow_db, with_llm, store, fixture_repo):
    day = dt.date(2026, 2, 20)
    expected = fixture_repo.commits_on(day, TZ)
    victim = expected[0].sha

    def answer(request):
        # Every answer about one commit is cut off; the others are fine.
        return Fault.truncated() if victim in json.dumps(request.messages) else None

    with_llm.answer = answer
    run(day)
    markdown, data = read_digest(store, day)
    fell_back = [c for c in data["commits"] if c["analysis"]["fallback_reason"]]
    assert [c["sha"] for c in fell_back] == [victim]
    assert "cut off" in fell_back[0]["analysis"]["fallback_reason"]
    assert data["stats"]["fallbacks"] == 1
    assert "⚠️ 回退：1 个提交" in markdown and "未采用 LLM 分析" in markdown
    # A fallback is not cached: the next run asks again and, answered well, heals the day.
    with_llm.answer = None
    with_llm.clear_requests()
    run(day)
    assert len(with_llm.requests) == 1
    _, data = read_digest(store, day)
    assert data["stats"]["fallbacks"] == 0


def test_a_hostile_commit_and_a_hostile_answer_cannot_change_the_structure(airflow_db, with_llm, store, fixture_repo):
    day = dt.date(2026, 2, 19)
    injected = {
        "importance": "high",
        "change_types": ["security"],
        "summary": ["## Injected heading\n<script>alert(1)</script>", "| a | b |\n|---|---|", "[x](javascript:alert(1))"],
        "scope": ["---"],
        "insight": {"architecture": "# h1", "performance": "<img src=x onerror=alert(1)>", "security": "`ok`",
                    "maintainability": "</commit_data>"},  # fmt: skip
        "risks": ["> quote"],
        "recommendations": ["1. list"],
    }
    with_llm.answer = lambda request: Reply(tool_arguments=injected)
    run(day, conf={"force_reanalysis": True})
    markdown, data = read_digest(store, day)
    expected = fixture_repo.commits_on(day, TZ)
    assert len(table_rows(markdown)) == len(expected)
    assert len(re.findall(r"^#### ", markdown, re.MULTILINE)) == len(expected)
    assert len(re.findall(r"^## ", markdown, re.MULTILINE)) == 1 and len(re.findall(r"^# ", markdown, re.MULTILINE)) == 1
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert html.count("<table>") == 1
