"""llm_analyze's body: a batch of commits, several LLM calls at once, cache, fatal errors."""

from __future__ import annotations

import datetime as dt

import pytest

from repo_digest.analysis.llm import FatalLLMError
from repo_digest.analysis.llm_settings import LLMChoice, LLMSettings
from repo_digest.commits import CommitDetail, CommitRecord, FileChange
from repo_digest.config import RepoEntry
from repo_digest.diffs import prepare_input
from repo_digest.pipeline import analyze_batch
from repo_digest.store import DigestStore
from tests.fakes.openai_api import Fault, FakeOpenAI

DAY = dt.date(2026, 2, 19)
NOW = dt.datetime(2026, 2, 19, 4, tzinfo=dt.UTC)
ENTRY = RepoEntry(repo="acme/widgets")


@pytest.fixture
def store(tmp_path) -> DigestStore:
    store = DigestStore(f"file://{tmp_path}")
    for index in range(8):
        sha = f"{index:040x}"
        record = CommitRecord(sha=sha, author_name="A", author_date=NOW, committer_date=NOW,
                              title=f"fix: thing {index}", message=f"fix: thing {index}", additions=3, files_changed=1)  # fmt: skip
        detail = CommitDetail(sha=sha, files=[FileChange(path=f"src/m{index}.py", additions=3, patch="@@ -0,0 +1,3 @@\n+a\n+b\n+c")])
        store.write_text(store.work_path(ENTRY.repo, DAY, f"{sha}.json"), prepare_input(record, detail).model_dump_json())
    return store


def choice(server: FakeOpenAI) -> LLMChoice:
    return LLMChoice(LLMSettings(conn_id="openai_default", model="gpt-4o-mini", base_url=server.base_url,
                                 api_key="sk-t", timeout=10, max_attempts=2))  # fmt: skip


BATCH = {"shas": [f"{index:040x}" for index in range(8)]}


def test_a_batch_is_analysed_several_calls_at_once_in_order(store):
    with FakeOpenAI(api_key="sk-t", delay=1.0) as server:
        results = analyze_batch(ENTRY, DAY, BATCH, store, choice(server), calls_at_once=4)
        arrivals = sorted(request.received_at for request in server.requests)
    assert [r["sha"] for r in results] == BATCH["shas"]
    assert {r["analyzer"] for r in results} == {"llm"}
    # Four requests were in flight before the first answer (1 s) could have come back.
    assert arrivals[3] - arrivals[0] < 0.9


def test_a_second_run_is_served_from_the_cache(store):
    with FakeOpenAI(api_key="sk-t") as server:
        analyze_batch(ENTRY, DAY, BATCH, store, choice(server), calls_at_once=4)
        server.clear_requests()
        again = analyze_batch(ENTRY, DAY, BATCH, store, choice(server), calls_at_once=4)
        assert server.requests == []
        analyze_batch(ENTRY, DAY, BATCH, store, choice(server), calls_at_once=4, force=True)
        assert len(server.requests) == 8
    assert {r["analyzer"] for r in again} == {"llm"}


def test_a_refused_key_stops_the_batch(store):
    with FakeOpenAI(api_key="sk-t", delay=0.2) as server:
        server.answer = lambda request: Fault.status(403, "revoked")
        with pytest.raises(FatalLLMError, match="HTTP 403"):
            analyze_batch(ENTRY, DAY, BATCH, store, choice(server), calls_at_once=2)
        assert len(server.requests) < len(BATCH["shas"])


def test_without_an_llm_the_rules_analyse_every_commit(store):
    results = analyze_batch(ENTRY, DAY, BATCH, store, LLMChoice(None, "no_connection"), calls_at_once=4)
    assert {r["analyzer"] for r in results} == {"rules"} and len(results) == 8
