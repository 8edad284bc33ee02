"""FakeGitHub's contents and issues APIs, exercised through real PyGithub over a socket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import github
import pytest
from github.GithubException import GithubException, UnknownObjectException

from tests.fakes.git_fixture import ALICE, commit, init_repo, run_git
from tests.fakes.github_api import FakeGitHub

TOKEN = "write-test-token-0123456789"
REPORTS = "octo/reports"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, max_per_page=10) as fake:
        fake.add_repo(REPORTS, init_repo(tmp_path / "reports"))
        yield fake
        assert not fake.errors, fake.errors[0]


def client(server: FakeGitHub, token: str | None = TOKEN) -> github.Github:
    return github.Github(base_url=server.base_url, auth=github.Auth.Token(token) if token else None,
                         seconds_between_requests=0, seconds_between_writes=0, retry=None)  # fmt: skip


def test_contents_on_an_empty_repository_is_a_plain_404_like_github(server: FakeGitHub):
    repo = client(server).get_repo(REPORTS)
    with pytest.raises(GithubException) as raised:
        repo.get_contents("reports/a.md")
    assert raised.value.status == 404 and not isinstance(raised.value, UnknownObjectException)
    assert raised.value.data["message"] == "This repository is empty."


def test_create_then_update_a_file_makes_real_commits(server: FakeGitHub):
    repo = client(server).get_repo(REPORTS)
    created = repo.create_file("reports/2026/demo/2026-02-19.md", "add", "# 你好\n".encode())
    assert created["content"].sha == run_git(server._repo(REPORTS).path, "hash-object", "--stdin",
                                             stdin="# 你好\n".encode()).decode().strip()  # fmt: skip
    content = repo.get_contents("reports/2026/demo/2026-02-19.md")
    assert content.decoded_content.decode() == "# 你好\n" and content.sha == created["content"].sha

    updated = repo.update_file(content.path, "update", b"# v2\n", content.sha)
    assert updated["commit"].sha != created["commit"].sha
    assert server.read_file(REPORTS, content.path) == b"# v2\n"
    assert server.file_commits(REPORTS, content.path) == [updated["commit"].sha, created["commit"].sha]
    listing = repo.get_contents("reports/2026/demo")
    assert [item.path for item in listing] == ["reports/2026/demo/2026-02-19.md"]
    assert (
        repo.get_contents("reports/2026/demo/2026-02-19.md", ref=created["commit"].sha).decoded_content
        == "# 你好\n".encode()
    )


def test_updates_need_the_current_sha(server: FakeGitHub):
    repo = client(server).get_repo(REPORTS)
    first = repo.create_file("a.md", "add", b"1")
    with pytest.raises(GithubException) as missing:
        repo.create_file("a.md", "again", b"2")  # no sha: GitHub says 422
    assert missing.value.status == 422
    repo.update_file("a.md", "two", b"2", first["content"].sha)
    with pytest.raises(GithubException) as stale:
        repo.update_file("a.md", "three", b"3", first["content"].sha)
    assert stale.value.status == 409
    assert server.read_file(REPORTS, "a.md") == b"2"


def test_writes_need_credentials_and_an_existing_branch(server: FakeGitHub, tmp_path: Path):
    with pytest.raises(GithubException) as raised:
        client(server, token=None).get_repo(REPORTS).create_file("a.md", "x", b"x")
    assert raised.value.status == 401
    repo = client(server).get_repo(REPORTS)
    repo.create_file("a.md", "x", b"x")
    with pytest.raises(GithubException) as branch:
        repo.create_file("b.md", "x", b"x", branch="nope")
    assert branch.value.status == 404


def test_files_in_a_repository_with_history(server: FakeGitHub, tmp_path: Path):
    path = init_repo(tmp_path / "history")
    commit(
        path,
        {"README.md": "hello\n", "docs/guide.md": "guide\n"},
        "init",
        author=ALICE,
        author_date=datetime(2026, 2, 19, 10, 0, tzinfo=UTC),
    )
    server.add_repo("octo/history", path)
    repo = client(server).get_repo("octo/history")
    assert repo.get_contents("README.md").decoded_content == b"hello\n"
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.md")
    repo.create_file("docs/new.md", "add", b"new\n")
    assert sorted(item.path for item in repo.get_contents("docs")) == ["docs/guide.md", "docs/new.md"]
    assert server.read_file("octo/history", "README.md") == b"hello\n"  # the rest of the tree is kept


def test_issues_create_list_filter_page_and_edit(server: FakeGitHub):
    gh = client(server)
    repo = gh.get_repo(REPORTS)
    assert gh.get_user().login == "repo-digest-bot"
    server.add_issue(REPORTS, "someone else's", "body", ["repo-digest"], user="mallory")
    for n in range(12):
        repo.create_issue(title=f"digest {n}", body=f"<!-- m:{n} -->", labels=["repo-digest", "daily"])
    closed = repo.create_issue(title="old", body="x", labels=["repo-digest"])
    closed.edit(state="closed")

    mine = list(repo.get_issues(state="all", labels=["repo-digest"], creator="repo-digest-bot"))
    assert len(mine) == 13 and mine[0].title == "old"  # newest first, across two pages
    assert len(list(repo.get_issues(labels=["repo-digest", "daily"]))) == 12  # open, both labels
    assert len(list(repo.get_issues(state="closed"))) == 1
    assert len(list(repo.get_issues(state="all", creator="mallory"))) == 1

    issue = repo.get_issue(2)
    issue.edit(body="<!-- m:0 --> edited")
    assert repo.get_issue(2).body == "<!-- m:0 --> edited"
    assert server.issues(REPORTS)[1]["x_edits"] == 1

    with pytest.raises(GithubException) as long_title:
        repo.create_issue(title="t" * 257)
    assert long_title.value.status == 422
    with pytest.raises(GithubException) as long_body:
        repo.create_issue(title="t", body="b" * 65_537)
    assert long_body.value.status == 422
    with pytest.raises(UnknownObjectException):
        repo.get_issue(999)


def test_after_hook_replaces_the_answer_of_an_applied_write(server: FakeGitHub):
    server.after = lambda request, status: (
        (502, {}, {"message": "Bad Gateway"}) if request.method == "POST" else None
    )
    repo = client(server).get_repo(REPORTS)
    with pytest.raises(GithubException) as raised:
        repo.create_issue(title="applied anyway")
    assert raised.value.status == 502
    assert [issue["title"] for issue in server.issues(REPORTS)] == ["applied anyway"]
    assert [request.method for request in server.writes()] == ["POST"]
    assert server.writes()[0].json() == {"title": "applied anyway"}
