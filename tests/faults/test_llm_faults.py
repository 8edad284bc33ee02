"""The LLM failing: 429 storms, 500s, time-outs, truncated, invalid or empty answers, refused keys.

A transient or answer fault costs the commit its LLM analysis, never its place in the
digest: the rule-based analysis stands in, the section says why, and the statistics count
it. A refused key (401/403) fails the run at once and publishes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest

from repo_digest.analysis.llm_settings import settings_from_connection
from repo_digest.config import RepoEntry
from tests.fakes.openai_api import Fault, FakeOpenAI
from tests.faults.helpers import (
    REPO, TZ, assert_complete_digest, assert_failed_cleanly, captured, digest_day, read_digest, run_dag, set_repos,
    task_states, use_llm,
)  # fmt: skip

KEY = "sk-faultMatrixKey-0123456789abcdef"
DAY = dt.date(2026, 2, 19)  # 7 commits


@pytest.fixture(scope="module")
def llm():
    with FakeOpenAI(api_key=KEY, models=("gpt-4o-mini",)) as server:
        yield server


@pytest.fixture
def fake_llm(llm):
    llm.reset()
    yield llm
    llm.reset()
    assert not llm.errors, llm.errors[0]


def choice(server: FakeOpenAI, key: str = KEY, **extra):
    extra = {"model": "gpt-4o-mini", "timeout": 5, "max_attempts": 3, "max_retry_wait": 10, **extra}
    return settings_from_connection("openai_default", key, server.base_url, extra, None)


def entry_for(fixture_repo, **keys) -> RepoEntry:
    return RepoEntry(repo=REPO, timezone=TZ, source="git", url=str(fixture_repo.path), **keys)


def about(request, shas) -> str | None:
    """Which of ``shas`` a chat request is about."""
    text = json.dumps(request.messages)
    return next((sha for sha in shas if sha in text), None)


def fallback_sections(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("> ⚠️ 未采用 LLM 分析：")]


SOON = {"Retry-After": "0.05"}

# (fault for every request, connection extras, the reason each fallback gives)
STORMS = {
    "429_storm": (lambda r: Fault.rate_limited(retry_after=0.05), {}, "HTTP 429 after 3 attempt(s)"),
    "429_retry_after_beyond_max_wait": (lambda r: Fault.rate_limited(retry_after=120), {}, "HTTP 429 after 1 attempt(s)"),
    # (A short Retry-After keeps the test fast; without one the back-off is 1-2 s, then 2-4 s.)
    "500s": (lambda r: Fault.status(500, headers=SOON), {}, "HTTP 500 after 3 attempt(s)"),
    "502_html_from_a_proxy": (lambda r: Fault.status(502, headers=SOON, body="<html>Bad Gateway</html>"),
                              {"max_attempts": 2}, "HTTP 502 after 2 attempt(s)"),
    "timeouts": (lambda r: Fault.timeout(3), {"timeout": 0.3, "max_attempts": 2, "max_retry_wait": 0.5},
                 "OpenAITimeoutError after 1 attempt(s)"),
    "dropped_connections": (lambda r: Fault.drop_connection(), {"max_attempts": 2, "max_retry_wait": 0.5},
                            "OpenAIConnectionError after 1 attempt(s)"),
    "422_unexpected_status": (lambda r: Fault.status(422, "Unprocessable request"), {},
                              "HTTP 422: Unprocessable request"),
    "truncated": (lambda r: Fault.truncated(), {}, "the answer was cut off (finish_reason=length)"),
    "invalid_json": (lambda r: Fault.invalid_json(), {}, "empty or unparsable answer"),
    "empty": (lambda r: Fault.empty(), {}, "invalid answer: 3 validation errors for CommitAnswer"),
}  # fmt: skip


@pytest.mark.parametrize("storm", list(STORMS))
def test_every_llm_request_failing_falls_back_visibly_and_loses_no_commit(
    storm, airflow_db, fake_llm, store, fixture_repo
):
    fault, extra, reason = STORMS[storm]
    fake_llm.answer = fault
    started = time.monotonic()
    markdown, data = digest_day(entry_for(fixture_repo), DAY, choice=choice(fake_llm, **extra))
    assert time.monotonic() - started < 30  # bounded waits: Retry-After over max_retry_wait is not waited
    shas = [c.sha for c in fixture_repo.commits_on(DAY, TZ)]
    assert_complete_digest(markdown, data, shas)
    assert data["stats"]["fallbacks"] == len(shas) and data["stats"]["analyzers"] == {"rules": len(shas)}
    assert f"⚠️ 回退：{len(shas)} 个提交的 LLM 分析未被采用" in markdown
    sections = fallback_sections(markdown)
    assert len(sections) == len(shas) and all(reason in line for line in sections), sections[:1]
    assert all(reason in c["analysis"]["fallback_reason"] for c in data["commits"])


def test_a_storm_on_some_commits_is_counted_and_the_rest_are_analysed(airflow_db, fake_llm, store, fixture_repo):
    shas = [c.sha for c in fixture_repo.commits_on(DAY, TZ)]
    victims = set(shas[:3])
    fake_llm.answer = lambda r: Fault.status(500, headers=SOON) if about(r, shas) in victims else None
    markdown, data = digest_day(entry_for(fixture_repo), DAY, choice=choice(fake_llm, max_attempts=2))
    assert_complete_digest(markdown, data, shas)
    fell_back = {c["sha"] for c in data["commits"] if c["analysis"]["fallback_reason"]}
    assert fell_back == victims and data["stats"]["fallbacks"] == 3
    assert data["stats"]["analyzers"] == {"llm": len(shas) - 3, "rules": 3}
    assert "⚠️ 回退：3 个提交的 LLM 分析未被采用" in markdown and len(fallback_sections(markdown)) == 3

    # Fallbacks are not cached: the next run asks again for those three only, and heals the day.
    fake_llm.answer = None
    fake_llm.clear_requests()
    markdown, data = digest_day(entry_for(fixture_repo), DAY, choice=choice(fake_llm))
    assert {about(r, shas) for r in fake_llm.requests} == victims
    assert data["stats"]["fallbacks"] == 0 and "✅ 回退：无" in markdown


def test_transient_errors_are_retried_and_the_llm_analysis_kept(airflow_db, fake_llm, store, fixture_repo):
    shas = [c.sha for c in fixture_repo.commits_on(DAY, TZ)]
    failed, lock = set(), threading.Lock()
    faults = [Fault.rate_limited(retry_after=0.05), Fault.status(500, headers=SOON), Fault.status(503, headers=SOON)]

    def answer(request):
        sha = about(request, shas)
        with lock:
            if sha in failed:
                return None
            failed.add(sha)
        return faults[shas.index(sha) % len(faults)]  # each commit's first request fails

    fake_llm.answer = answer
    markdown, data = digest_day(entry_for(fixture_repo), DAY, choice=choice(fake_llm))
    assert_complete_digest(markdown, data, shas)
    assert data["stats"]["fallbacks"] == 0 and data["stats"]["analyzers"] == {"llm": len(shas)}
    assert len(fake_llm.requests) == 2 * len(shas) and data["stats"]["llm_requests"] == 2 * len(shas)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_fails_the_run_and_publishes_nothing(status, monkeypatch, airflow_db, fake_llm, store,
                                                           fixture_repo, capfd):  # fmt: skip
    set_repos(monkeypatch, {"repo": REPO, "timezone": TZ, "source": "git", "url": str(fixture_repo.path)})
    use_llm(monkeypatch, fake_llm.base_url, KEY)
    previous = None
    bad_key = KEY
    conf = None
    if status == 401:  # the day's first run, with a wrong key
        bad_key = "sk-wrongKey-9876543210fedcba"
        use_llm(monkeypatch, fake_llm.base_url, bad_key)
        phrase = "HTTP 401: Incorrect API key provided"
    else:  # a forced re-analysis of a published day, after the key was revoked
        run_dag(DAY)
        md_path = store / REPO / "2026" / "2026-02-19.md"
        previous = (md_path.read_text(encoding="utf-8"), md_path.with_suffix(".json").read_text(encoding="utf-8"))
        fake_llm.answer = lambda r: Fault.status(403, "This key has been revoked")
        conf = {"force_reanalysis": True}
        phrase = "HTTP 403: This key has been revoked"
    capfd.readouterr()
    fake_llm.clear_requests()
    dag_run = run_dag(DAY, expect="failed", conf=conf)
    log = captured(capfd)
    says = ["the LLM endpoint refused connection 'openai_default' (model 'gpt-4o-mini')", phrase,
            "Fix the Airflow connection 'openai_default', then clear the failed llm_analyze tasks of this run"]  # fmt: skip
    assert_failed_cleanly(dag_run, "llm_analyze", log, says, store, DAY, previous=previous, tries=1)
    assert task_states(dag_run)["aggregate_stats"].state == "upstream_failed"
    # A refused key is not asked again and again: at most one request per commit, no retries.
    assert len(fake_llm.requests) <= len(fixture_repo.commits_on(DAY, TZ))
    assert bad_key not in log and KEY not in log

    # Fixed: the day completes.
    fake_llm.answer = None
    use_llm(monkeypatch, fake_llm.base_url, KEY)
    run_dag(DAY)
    markdown, data = read_digest(store, DAY)
    assert_complete_digest(markdown, data, [c.sha for c in fixture_repo.commits_on(DAY, TZ)])
    assert data["stats"]["fallbacks"] == 0
