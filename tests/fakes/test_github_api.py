"""The fixture repository and FakeGitHub, exercised through real PyGithub over a socket."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import github
import pytest

from tests.fakes.git_fixture import (
    ALICE,
    CHINESE_TITLE,
    HOSTILE_TITLE,
    ZHANG_SAN,
    FixtureRepo,
    build_empty_repo,
    build_fixture_repo,
    commit,
    init_repo,
)
from tests.fakes.github_api import FakeGitHub, FaultResponse, RecordedRequest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-test-token"
REPO = "octo/demo"
SHANGHAI = "Asia/Shanghai"
DAYS = [date(2026, 2, d) for d in range(16, 24)]
MAX_PER_PAGE = 10  # small, so the busy day spans five pages


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> FixtureRepo:
    return build_fixture_repo(tmp_path_factory.mktemp("fixture") / "repo")


@pytest.fixture(scope="module")
def module_server(fixture_repo: FixtureRepo) -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, max_per_page=MAX_PER_PAGE) as server:
        server.add_repo(REPO, fixture_repo.path, fixture_repo.logins)
        yield server


@pytest.fixture
def server(module_server: FakeGitHub) -> Iterator[FakeGitHub]:
    module_server.clear_requests()
    module_server.fault = None
    yield module_server
    module_server.fault = None
    assert not module_server.errors, module_server.errors[0]


def client(server: FakeGitHub, token: str | None = TOKEN) -> github.Github:
    return github.Github(
        base_url=server.base_url,
        auth=github.Auth.Token(token) if token else None,
        per_page=100,
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,  # a wrong status must surface, not be retried
    )


def day_window(day: date, tz: str) -> tuple[datetime, datetime]:
    """[since, until] in UTC for a local day. GitHub's until is inclusive and PyGithub sends
    whole seconds, so the day ends one second before the next midnight."""
    start = datetime.combine(day, time(), tzinfo=ZoneInfo(tz))
    end = start + timedelta(days=1) - timedelta(seconds=1)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def list_shas(server: FakeGitHub, since: datetime, until: datetime, sha: str = "main") -> list[str]:
    repo = client(server).get_repo(REPO)
    # Capped: a broken Link header would otherwise make PyGithub page forever.
    return [c.sha for c in islice(repo.get_commits(sha=sha, since=since, until=until), 500)]


# --- the fixture itself ------------------------------------------------------------------


def test_days_are_by_committer_date_in_the_given_timezone(fixture_repo: FixtureRepo) -> None:
    on_19th = {c.sha for c in fixture_repo.commits_on(date(2026, 2, 19), SHANGHAI)}

    assert fixture_repo.by_label("day_end").sha in on_19th
    assert fixture_repo.by_label("author_date_differs").sha in on_19th
    assert fixture_repo.by_label("author_date_differs").author_date.date() == date(2026, 2, 17)
    assert fixture_repo.by_label("day_start").sha not in on_19th
    assert fixture_repo.commits_on(date(2026, 2, 21), SHANGHAI) == []
    assert [c.sha for c in fixture_repo.commits_on(date(2026, 2, 21), "UTC")] == [
        fixture_repo.by_label("utc_previous_day").sha
    ]


def test_commit_counts_per_day(fixture_repo: FixtureRepo) -> None:
    # Other tests and the lead's report rely on these numbers; change them deliberately.
    shanghai = [0, 2, 48, 7, 6, 0, 4, 0]
    utc = [0, 2, 48, 9, 4, 1, 3, 0]
    assert list(fixture_repo.counts_by_day(DAYS, SHANGHAI).values()) == shanghai
    assert list(fixture_repo.counts_by_day(DAYS, "UTC").values()) == utc
    assert len(fixture_repo.commits) == sum(shanghai)


def test_commits_on_is_newest_first(fixture_repo: FixtureRepo) -> None:
    busy = fixture_repo.commits_on(date(2026, 2, 18), SHANGHAI)
    dates = [c.committer_date for c in busy]
    assert dates == sorted(dates, reverse=True)
    assert busy[0].title == "refactor!: simplify pipeline step 45"


def test_fixture_is_deterministic(fixture_repo: FixtureRepo, tmp_path: Path) -> None:
    again = build_fixture_repo(tmp_path / "again")
    assert [c.sha for c in again.commits] == [c.sha for c in fixture_repo.commits]


def test_fixture_covers_the_special_cases(fixture_repo: FixtureRepo) -> None:
    merge = fixture_repo.by_label("merge")
    assert merge.is_merge and len(merge.parents) == 2
    assert merge.message == "Merge pull request #12 from alice/feature\n\nAdd feature"
    assert merge.pr_number == 12
    assert fixture_repo.by_label("squash").pr_number == 345
    assert fixture_repo.by_label("rename").previous_paths == {"src/helpers.py": "src/util.py"}
    assert fixture_repo.by_label("binary").binary_files == ("docs/logo.png",)
    assert fixture_repo.by_label("big").additions >= 300
    assert fixture_repo.by_label("non_ascii").author_login is None
    assert fixture_repo.by_label("hostile").author_login == "alice"


# --- listing commits --------------------------------------------------------------------


@pytest.mark.parametrize("tz", [SHANGHAI, "UTC"])
def test_listing_a_day_matches_the_fixture(server: FakeGitHub, fixture_repo: FixtureRepo, tz: str) -> None:
    for day in DAYS:
        expected = [c.sha for c in fixture_repo.commits_on(day, tz)]
        assert list_shas(server, *day_window(day, tz)) == expected, day


def test_busy_day_is_paged_through_link_headers(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    since, until = day_window(date(2026, 2, 18), SHANGHAI)

    shas = list_shas(server, since, until)

    assert len(shas) == 48 and len(set(shas)) == 48
    pages = [r for r in server.requests if r.path == f"/repos/{REPO}/commits"]
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3", "4", "5"]
    # The Link URLs must carry the filters along, or page 2 would be another query.
    assert {(r.query["since"], r.query["until"]) for r in pages} == {
        ("2026-02-17T16:00:00Z", "2026-02-18T15:59:59Z")
    }


def test_since_and_until_are_inclusive(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    day_end = fixture_repo.by_label("day_end")
    day_start = fixture_repo.by_label("day_start")
    instant = day_end.committer_date.astimezone(timezone.utc)

    assert list_shas(server, instant, instant) == [day_end.sha]
    # A window ending at the next midnight catches the 00:00:00 commit: clients must stop
    # one second earlier (or filter) to get half-open days.
    since, _ = day_window(date(2026, 2, 19), SHANGHAI)
    midnight = day_start.committer_date.astimezone(timezone.utc)
    assert list_shas(server, since, midnight)[0] == day_start.sha


def test_listing_a_branch_or_sha_starts_there(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    merge = fixture_repo.by_label("merge")
    feature_tip = merge.parents[1]
    since, until = day_window(date(2026, 2, 18), SHANGHAI)

    shas = list_shas(server, since, until, sha=feature_tip)

    feature = {c.sha for c in fixture_repo.commits if "feature" in c.labels}
    assert shas[0] == feature_tip and feature <= set(shas)
    assert len(shas) == 21 + 2  # main up to the fork (14:00) plus the branch's two


# --- single commits ---------------------------------------------------------------------


def test_every_commit_matches_what_git_was_asked_to_do(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    repo = client(server).get_repo(REPO)
    for expected in fixture_repo.commits:
        got = repo.get_commit(expected.sha)
        files = {f.filename: f for f in got.files}
        assert sorted(files) == list(expected.files), expected.title
        assert {name: f.status for name, f in files.items()} == expected.statuses, expected.title
        renamed = {name: f.previous_filename for name, f in files.items() if f.previous_filename}
        assert renamed == expected.previous_paths, expected.title
        assert (got.stats.additions, got.stats.deletions) == (expected.additions, expected.deletions)
        assert got.stats.total == expected.additions + expected.deletions
        assert sum(f.additions for f in files.values()) == expected.additions
        assert [p.sha for p in got.parents] == list(expected.parents)
        assert got.commit.message == expected.message
        assert got.commit.author.date == expected.author_date  # aware datetimes compare as instants
        assert got.commit.committer.date == expected.committer_date
        assert (got.author.login if got.author else None) == expected.author_login
        assert (got.committer.login if got.committer else None) == expected.committer_login
        assert got.html_url == f"https://github.com/{REPO}/commit/{expected.sha}"


def test_rename_with_edit(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    (f,) = client(server).get_repo(REPO).get_commit(fixture_repo.by_label("rename").sha).files

    assert (f.filename, f.previous_filename, f.status) == ("src/helpers.py", "src/util.py", "renamed")
    assert (f.additions, f.deletions, f.changes) == (1, 1, 2)
    assert f.patch.startswith("@@ -11,7 +11,7 @@")
    assert "-    return value + 3\n+    return value + 33\n" in f.patch
    assert "diff --git" not in f.patch and "+++" not in f.patch and not f.patch.endswith("\n")


def test_binary_file_has_no_patch(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    (f,) = client(server).get_repo(REPO).get_commit(fixture_repo.by_label("binary").sha).files

    assert (f.filename, f.status, f.additions, f.deletions) == ("docs/logo.png", "added", 0, 0)
    assert f.patch is None
    assert f.raw_url.endswith("/raw/" + fixture_repo.by_label("binary").sha + "/docs/logo.png")


def test_merge_is_diffed_against_its_first_parent(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    merge = fixture_repo.by_label("merge")

    got = client(server).get_repo(REPO).get_commit(merge.sha)

    assert len(got.parents) == 2
    assert sorted(f.filename for f in got.files) == ["src/feature.py", "tests/test_feature.py"]
    assert got.commit.message.splitlines()[0] == "Merge pull request #12 from alice/feature"
    assert got.author.login == "alice" and got.committer.login == "web-flow"


def test_non_ascii_and_hostile_text_round_trip(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    repo = client(server).get_repo(REPO)
    chinese = repo.get_commit(fixture_repo.by_label("non_ascii").sha)
    hostile = repo.get_commit(fixture_repo.by_label("hostile").sha)

    assert chinese.commit.author.name == ZHANG_SAN[0] and chinese.author is None
    assert chinese.commit.message.splitlines()[0] == CHINESE_TITLE
    assert "+GREETING = '你好，世界'" in chinese.files[0].patch
    assert hostile.commit.message.splitlines()[0] == HOSTILE_TITLE


def test_non_utf8_patch_is_replaced_not_fatal(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    (f,) = client(server).get_repo(REPO).get_commit(fixture_repo.by_label("latin1").sha).files
    assert f.patch == "@@ -0,0 +1 @@\n+caf\ufffd cr\ufffdme"


def test_removed_file(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    (f,) = client(server).get_repo(REPO).get_commit(fixture_repo.by_label("removed").sha).files
    assert (f.filename, f.status, f.additions, f.deletions) == ("scripts/old.sh", "removed", 0, 2)
    assert f.patch == "@@ -1,2 +0,0 @@\n-#!/bin/sh\n-echo obsolete"


def test_commit_files_are_paged(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    sha = fixture_repo.by_label("many_files").sha
    got = client(server).get_repo(REPO).get_commit(sha, commit_files_per_page=3)

    files = [f.filename for f in got.files]

    assert files == [f"packages/pkg{k}/VERSION" for k in range(7)]
    pages = [r.query.get("page") for r in server.requests if r.path.endswith(sha)]
    assert pages == ["1", "2", "3"]
    assert got.stats.additions == 7  # stats cover all files, not just the first page


def test_branch_name_works_as_a_ref(server: FakeGitHub, fixture_repo: FixtureRepo) -> None:
    head = client(server).get_repo(REPO).get_commit("main")
    newest = max(fixture_repo.commits, key=lambda c: c.committer_date)
    assert head.sha == newest.sha


# --- errors, auth, headers --------------------------------------------------------------


def test_wrong_or_missing_token_is_401(server: FakeGitHub) -> None:
    with pytest.raises(github.BadCredentialsException):
        client(server, token="wrong").get_repo(REPO)
    with pytest.raises(github.BadCredentialsException):
        client(server, token=None).get_repo(REPO)

    assert [r.has_auth for r in server.requests] == [True, False]
    assert TOKEN not in repr(server.requests) and "wrong" not in repr(server.requests)


def get_json(base_url: str, path: str, token: str | None = None) -> tuple[object, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(base_url + path, headers=headers)) as response:
        return json.load(response), dict(response.headers)


def test_bearer_token_is_accepted(server: FakeGitHub) -> None:
    body, _ = get_json(server.base_url, f"/repos/{REPO}", token=TOKEN)
    assert isinstance(body, dict) and body["default_branch"] == "main"


def test_raw_list_defaults_to_30_per_page_with_github_link_header(fixture_repo: FixtureRepo) -> None:
    with FakeGitHub() as plain:  # GitHub's own limits, no token
        plain.add_repo(REPO, fixture_repo.path)
        body, headers = get_json(plain.base_url, f"/repos/{REPO}/commits?page=2")
        url = f"{plain.base_url}/repos/{REPO}/commits"

    assert isinstance(body, list) and len(body) == 30
    assert headers["Link"] == (
        f'<{url}?page=1>; rel="prev", <{url}?page=3>; rel="next", '
        f'<{url}?page=3>; rel="last", <{url}?page=1>; rel="first"'
    )
    assert headers["Content-Type"].startswith("application/json")
    rate_headers = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used"}
    assert rate_headers | {"X-RateLimit-Resource"} <= set(headers)


def test_unknown_repo_branch_and_sha(server: FakeGitHub) -> None:
    gh = client(server)
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("octo/missing")
    repo = gh.get_repo(REPO)
    with pytest.raises(github.GithubException) as missing_branch:
        list(repo.get_commits(sha="no-such-branch"))
    assert missing_branch.value.status == 404
    assert missing_branch.value.data["message"] == "No commit found for SHA: no-such-branch"
    # PyGithub maps a 404 to UnknownObjectException only when the message says "not found".
    assert not isinstance(missing_branch.value, github.UnknownObjectException)
    with pytest.raises(github.GithubException) as missing_sha:
        repo.get_commit("0" * 40).sha  # noqa: B018 - the attribute access sends the request
    assert missing_sha.value.status == 422  # GitHub's answer for the single-commit endpoint


def test_empty_repository_is_409(server: FakeGitHub, tmp_path: Path) -> None:
    server.add_repo("octo/empty", build_empty_repo(tmp_path / "empty"))
    repo = client(server).get_repo("octo/empty")
    assert repo.default_branch == "main"
    with pytest.raises(github.GithubException) as error:
        list(repo.get_commits())
    assert (error.value.status, error.value.data["message"]) == (409, "Git Repository is empty.")


def test_rate_limit_headers_and_endpoint(server: FakeGitHub) -> None:
    gh = client(server)
    gh.get_repo(REPO)
    remaining, limit = gh.rate_limiting
    assert limit == 5000 and 0 < remaining < 5000
    assert gh.get_rate_limit().resources.core.limit == 5000


def test_fault_hook_replaces_the_answer(server: FakeGitHub) -> None:
    def fault(request: RecordedRequest) -> FaultResponse | None:
        return (503, {"Retry-After": "1"}, {"message": "down"}) if request.path.endswith("/commits") else None

    server.fault = fault
    repo = client(server).get_repo(REPO)  # not faulted
    with pytest.raises(github.GithubException) as error:
        list(repo.get_commits())
    assert (error.value.status, error.value.headers["retry-after"]) == (503, "1")


def test_new_commits_are_seen_without_restarting(server: FakeGitHub, tmp_path: Path) -> None:
    path = init_repo(tmp_path / "growing")
    when = datetime(2026, 3, 1, 9, tzinfo=ZoneInfo(SHANGHAI))
    first = commit(path, {"a.txt": "a\n"}, "feat: a", author=ALICE, author_date=when)
    server.add_repo("octo/growing", path)
    repo = client(server).get_repo("octo/growing")
    assert [c.sha for c in repo.get_commits()] == [first]

    second = commit(path, {"a.txt": None, "b.txt": b"b\n"}, "feat: b", author=ALICE,
                    author_date=when + timedelta(hours=1))

    assert [c.sha for c in repo.get_commits()] == [second, first]
    statuses = {f.filename: f.status for f in repo.get_commit(second).files}
    assert statuses == {"a.txt": "removed", "b.txt": "added"}


def test_pygithub_sends_wall_clock_time_as_utc(server: FakeGitHub) -> None:
    """PyGithub formats since/until with strftime("...Z") and never converts: an aware
    +08:00 datetime is sent 8 hours off. Callers must convert to UTC first."""
    local = datetime(2026, 2, 19, 0, 0, tzinfo=ZoneInfo(SHANGHAI))
    list(client(server).get_repo(REPO).get_commits(since=local, until=local))
    (request,) = [r for r in server.requests if r.path.endswith("/commits")]
    assert request.query["since"] == "2026-02-19T00:00:00Z"  # not 2026-02-18T16:00:00Z


def test_command_line_server(fixture_repo: FixtureRepo) -> None:
    args = ["--port", "0", "--repo", f"{REPO}={fixture_repo.path}", "--login", "alice@example.com=alice"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.github_api", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().split(" at ")[-1].strip()
        with urllib.request.urlopen(f"{base_url}/repos/{REPO}/commits?per_page=1") as response:
            (latest,) = json.load(response)
            assert 'rel="next"' in response.headers["Link"]
        assert latest["commit"]["message"] == "chore(deps): bump lock files"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(f"{base_url}/nothing/here")
        assert error.value.code == 404 and json.load(error.value)["message"] == "Not Found"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
