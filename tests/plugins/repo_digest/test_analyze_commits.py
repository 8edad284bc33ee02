"""llm_analyze's body: an instance's commit(s), cache first, fatal errors."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from repo_digest.analysis.llm import FatalLLMError
from repo_digest.analysis.llm_settings import LLMChoice, LLMSettings
from repo_digest.commits import CommitDetail, CommitRecord, FileChange
from repo_digest.config import RepoEntry
from repo_digest.diffs import prepare_input
from repo_digest.pipeline import analyze_commits
from repo_digest.store import DigestStore
from tests.fakes.openai_api import Fault, FakeOpenAI

DAY = dt.date(2026, 2, 19)
NOW = dt.datetime(2026, 2, 19, 4, tzinfo=dt.UTC)
ENTRY = RepoEntry(repo="acme/widgets")
SHAS = [f"{index:040x}" for index in range(4)]


@pytest.fixture
def store(tmp_path) -> DigestStore:
    store = DigestStore(f"file://{tmp_path}")
    for index, sha in enumerate(SHAS):
        record = CommitRecord(sha=sha, author_name="A", author_date=NOW, committer_date=NOW,
                              title=f"fix: thing {index}", message=f"fix: thing {index}", additions=3, files_changed=1)  # fmt: skip
        detail = CommitDetail(sha=sha, files=[FileChange(path=f"src/m{index}.py", additions=3, patch="@@ -0,0 +1,3 @@\n+a\n+b\n+c")])
        store.write_text(store.work_path(ENTRY.repo, DAY, f"{sha}.json"), prepare_input(record, detail).model_dump_json())
    return store


def choice(server: FakeOpenAI) -> LLMChoice:
    return LLMChoice(LLMSettings(conn_id="openai_default", model="gpt-4o-mini", base_url=server.base_url,
                                 api_key="sk-t", timeout=10, max_attempts=2))  # fmt: skip


def test_one_commit_one_request(store):
    with FakeOpenAI(api_key="sk-t") as server:
        results = analyze_commits(ENTRY, DAY, SHAS[:1], store, choice(server))
        assert len(server.requests) == 1
        assert SHAS[0] in json.dumps(server.requests[0].messages)
    assert [r["sha"] for r in results] == SHAS[:1] and results[0]["analyzer"] == "llm"


def test_several_commits_of_one_instance_go_one_call_at_a_time_in_order(store):
    with FakeOpenAI(api_key="sk-t", delay=0.3) as server:
        results = analyze_commits(ENTRY, DAY, SHAS, store, choice(server))
        arrivals = sorted(request.received_at for request in server.requests)
    assert [r["sha"] for r in results] == SHAS
    # The instance holds one pool slot: never two calls in flight.
    assert all(later - earlier >= 0.29 for earlier, later in zip(arrivals, arrivals[1:], strict=False))


def test_a_second_run_is_served_from_the_cache_and_force_asks_again(store):
    with FakeOpenAI(api_key="sk-t") as server:
        analyze_commits(ENTRY, DAY, SHAS, store, choice(server))
        server.clear_requests()
        again = analyze_commits(ENTRY, DAY, SHAS, store, choice(server))
        assert server.requests == []
        analyze_commits(ENTRY, DAY, SHAS[2:3], store, choice(server), force=True)
        assert len(server.requests) == 1
    assert {r["analyzer"] for r in again} == {"llm"}


def test_a_refused_key_stops_at_the_first_commit(store):
    with FakeOpenAI(api_key="sk-t") as server:
        server.answer = lambda request: Fault.status(403, "revoked")
        with pytest.raises(FatalLLMError, match="HTTP 403"):
            analyze_commits(ENTRY, DAY, SHAS, store, choice(server))
        assert len(server.requests) == 1


def test_without_an_llm_the_rules_analyse_every_commit(store):
    results = analyze_commits(ENTRY, DAY, SHAS, store, LLMChoice(None, "no_connection"))
    assert {r["analyzer"] for r in results} == {"rules"} and len(results) == 4
