"""GitHub failing: server errors, rate limits, refused tokens, missing repositories and branches.

Each ends in a complete digest (the fault was retried away) or in a failed run whose log
names the repository, what failed and how to recover, with nothing published.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time

import pytest

from tests.faults.helpers import (
    REPO, TZ, assert_complete_digest, assert_failed_cleanly, captured, digest_day, read_digest, run_dag,
    task_states, use_github,
)  # fmt: skip

BUSY_DAY = dt.date(2026, 2, 18)  # 48 commits: 5 pages of the commit list, 48 detail requests
DAY = dt.date(2026, 2, 19)



def _fetch_tries() -> int:
    from tests.faults.helpers import DAG_ID, load_dag

    return load_dag(DAG_ID).get_task("fetch_commits").retries + 1

def fixture_shas(fixture_repo, day: dt.date) -> list[str]:
    return [commit.sha for commit in fixture_repo.commits_on(day, TZ)]


def rate_limited(reset_in: float) -> tuple[int, dict[str, str], dict[str, str]]:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time() + reset_in))}
    return 403, headers, {"message": "API rate limit exceeded for 203.0.113.7.", "documentation_url": "x"}


@pytest.fixture
def backoffs(monkeypatch) -> list[float]:
    """The back-off waits of urllib3's retry (PyGithub's GithubRetry), recorded instead of slept."""
    from urllib3.util.retry import Retry

    waits: list[float] = []
    monkeypatch.setattr(Retry, "_sleep_backoff", lambda self: waits.append(self.get_backoff_time()))
    return waits


def test_502s_on_30_percent_of_requests_still_give_the_complete_digest(
    monkeypatch, airflow_db, github, store, fixture_repo, backoffs
):
    use_github(monkeypatch, github)
    rng, lock, served = random.Random(8), threading.Lock(), []

    def fault(request):
        with lock:
            if rng.random() < 0.3:
                served.append(request.path)
                return 502, {}, {"message": "Server Error"}
        return None

    github.fault = fault
    dag_run = run_dag(BUSY_DAY)
    markdown, data = read_digest(store, BUSY_DAY)
    assert_complete_digest(markdown, data, fixture_shas(fixture_repo, BUSY_DAY))
    # The faults were real and PyGithub's retry took them, inside one try of the task.
    assert len(served) >= 15, len(served)
    assert any("/commits/" in path for path in served) and any(path.endswith("/commits") for path in served)
    assert task_states(dag_run)["fetch_commits"].try_number == 1
    assert len(backoffs) == len(served) and max(backoffs) <= 60


def test_a_rate_limit_that_resets_within_the_max_wait_is_waited_out(monkeypatch, airflow_db, github, store):
    from repo_digest.config import RepoEntry
    from repo_digest.sources import github as github_source

    monkeypatch.setattr(github_source, "MAX_RATE_LIMIT_WAIT", 5.0)
    use_github(monkeypatch, github)
    reset = time.time() + 2
    github.fault = lambda request: rate_limited(reset - time.time()) if time.time() < reset else None
    started = time.monotonic()
    markdown, data = digest_day(RepoEntry(repo=REPO, timezone=TZ), DAY)
    waited = time.monotonic() - started
    assert data["stats"]["total"] == 7 and 1.0 <= waited < 8
    # The first request (the commit list) was refused, waited on, and asked again.
    first, second = github.requests[:2]
    assert (first.path, first.query) == (second.path, second.query) == (f"/repos/{REPO}/commits", first.query)


def test_a_rate_limit_beyond_the_max_wait_fails_the_try_at_once_and_the_retry_completes(
    monkeypatch, airflow_db, github, store, fixture_repo, capfd
):
    from repo_digest.sources import github as github_source

    monkeypatch.setattr(github_source, "MAX_RATE_LIMIT_WAIT", 3.0)
    use_github(monkeypatch, github)
    refused = []

    def fault(request):
        if not refused:  # the first try's first request; the limit has reset by the retry
            refused.append(request.path)
            return rate_limited(120)
        return None

    github.fault = fault
    started = time.monotonic()
    dag_run = run_dag(DAY)
    assert time.monotonic() - started < 60  # never waits for the reset two minutes ahead
    log = captured(capfd)
    assert "GitHub's API rate limit for Airflow connection 'github_default' is used up until" in log
    assert "longer than the 3 s a task may wait for it (REPO_DIGEST_GITHUB_MAX_WAIT)" in log
    assert "Airflow retries fetch_commits later" in log
    assert task_states(dag_run)["fetch_commits"].try_number == 2
    markdown, data = read_digest(store, DAY)
    assert_complete_digest(markdown, data, fixture_shas(fixture_repo, DAY))


def test_a_rate_limit_that_outlasts_every_retry_fails_the_run_clearly(monkeypatch, airflow_db, github, store, capfd):
    from repo_digest.sources import github as github_source

    monkeypatch.setattr(github_source, "MAX_RATE_LIMIT_WAIT", 3.0)
    use_github(monkeypatch, github)
    github.fault = lambda request: rate_limited(120)
    started = time.monotonic()
    dag_run = run_dag(DAY, expect="failed")
    assert time.monotonic() - started < 60
    says = ["acme/widgets: GitHub's API rate limit", "REPO_DIGEST_GITHUB_MAX_WAIT", "clear it after the reset"]
    # fetch_commits' own retries were all spent, each failing at once.
    assert_failed_cleanly(dag_run, "fetch_commits", captured(capfd), says, store, DAY, tries=_fetch_tries())


def test_a_bad_token_fails_fast_with_a_clear_message(monkeypatch, airflow_db, github, store, capfd):
    bad = "ghp_revokedToken9876543210zyxwvutsrqpo"
    use_github(monkeypatch, github, token=bad)
    started = time.monotonic()
    dag_run = run_dag(DAY, expect="failed")
    assert time.monotonic() - started < 30
    log = captured(capfd)
    says = [
        "acme/widgets: GitHub refused the credentials of Airflow connection 'github_default' (HTTP 401: Bad credentials)",
        "Fix the connection", "then clear fetch_commits of this run",
    ]  # fmt: skip
    # One try, one request: no retry can fix a token.
    assert_failed_cleanly(dag_run, "fetch_commits", log, says, store, DAY, tries=1)
    assert len(github.requests) == 1
    assert bad not in log


def test_a_token_without_access_fails_fast_naming_the_connection(monkeypatch, airflow_db, github, store, capfd):
    use_github(monkeypatch, github)
    # 403 that is not a rate limit (no X-RateLimit-Remaining: 0, no rate-limit message).
    github.fault = lambda request: (403, {}, {"message": "Resource not accessible by personal access token"})
    dag_run = run_dag(DAY, expect="failed")
    says = [
        "acme/widgets: GitHub refused access with Airflow connection 'github_default' (HTTP 403: Resource not "
        "accessible by personal access token)", "Give the token read access to the repository's contents",
    ]  # fmt: skip
    assert_failed_cleanly(dag_run, "fetch_commits", captured(capfd), says, store, DAY, tries=1)
    assert len(github.requests) == 1


def test_a_repository_that_does_not_exist_fails_fast_naming_it(monkeypatch, airflow_db, github, store, capfd):
    use_github(monkeypatch, github, repo="acme/no-such-repo")
    dag_run = run_dag(DAY, expect="failed", dag_id="repo_digest__acme__no-such-repo")
    says = [
        "acme/no-such-repo: GitHub has no repository 'acme/no-such-repo' that Airflow connection 'github_default' "
        "can see (HTTP 404", "Check 'repo' in repo_digest_repos",
    ]  # fmt: skip
    assert_failed_cleanly(dag_run, "fetch_commits", captured(capfd), says, store, DAY, tries=1)


def test_a_branch_that_does_not_exist_fails_fast_naming_repo_and_branch(monkeypatch, airflow_db, github, store, capfd):
    use_github(monkeypatch, github, branch="release/9.9")
    dag_run = run_dag(DAY, expect="failed")
    says = [
        "acme/widgets: branch 'release/9.9' does not exist on GitHub (HTTP 404: No commit found for SHA: release/9.9)",
        "Fix 'branch' of this repo in repo_digest_repos",
    ]  # fmt: skip
    assert_failed_cleanly(dag_run, "fetch_commits", captured(capfd), says, store, DAY, tries=1)


def test_github_down_for_longer_than_the_retries_fails_the_run_and_keeps_the_fetched_details(
    monkeypatch, airflow_db, github, store, fixture_repo, backoffs, capfd
):
    use_github(monkeypatch, github)
    detail_paths = [f"/repos/{REPO}/commits/{sha}" for sha in fixture_shas(fixture_repo, DAY)]
    # Two commits' details come through, then GitHub answers 502 to everything.
    answered: list[str] = []

    def fault(request):
        if request.path in detail_paths and len(answered) < 2 and request.path not in answered:
            answered.append(request.path)
            return None
        return (502, {}, {"message": "Server Error"}) if request.path in detail_paths else None

    github.fault = fault
    dag_run = run_dag(DAY, expect="failed")
    says = ["acme/widgets: GitHub could not be read (RetryError", "too many 502 error responses",
            "the commit details already read are cached"]  # fmt: skip
    assert_failed_cleanly(dag_run, "fetch_commits", captured(capfd), says, store, DAY, tries=_fetch_tries())
    cached = sorted(path.stem for path in (store / "_cache" / REPO / "commits").iterdir())
    assert cached == sorted(path.rsplit("/", 1)[1] for path in answered)

    # GitHub is back: the rerun completes the day and reads only the details it lacked.
    github.fault = None
    github.clear_requests()
    run_dag(DAY)
    markdown, data = read_digest(store, DAY)
    assert_complete_digest(markdown, data, fixture_shas(fixture_repo, DAY))
    read = {r.path for r in github.requests if r.path in detail_paths}
    assert read == set(detail_paths) - set(answered)
