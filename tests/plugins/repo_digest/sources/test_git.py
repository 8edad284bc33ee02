"""The git source's mirror: clear errors naming the repo and the URL, permanent only when no retry helps."""

from __future__ import annotations

import datetime as dt

import pytest

from repo_digest.sources.git import GitError, local_path_of, sync_mirror
from tests.fakes.git_fixture import ALICE, commit, init_repo

WHEN = dt.datetime(2026, 2, 19, 9, 0, tzinfo=dt.UTC)


def commit_file(repo, path: str, text: str, message: str) -> str:
    return commit(repo, {path: text}, message, author=ALICE, author_date=WHEN)


@pytest.fixture
def origin(tmp_path):
    path = init_repo(tmp_path / "origin")
    commit_file(path, "README.md", "hello\n", "docs: readme")
    return path


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("/srv/git/tool.git", "/srv/git/tool.git"),
        ("relative/tool", "relative/tool"),
        ("file:///srv/git/tool.git", "/srv/git/tool.git"),
        ("https://git.example.com/team/tool.git", None),
        ("ssh://git@git.example.com/team/tool.git", None),
        ("git@git.example.com:team/tool.git", None),
    ],
)
def test_local_paths_are_told_from_remote_urls(url, local):
    found = local_path_of(url)
    assert (str(found) if found is not None else None) == local


def test_a_mirror_is_cloned_then_fetched(tmp_path, origin):
    mirror = sync_mirror(str(origin), "team/tool", cache_dir=tmp_path / "cache")
    assert (mirror / "HEAD").exists()
    commit_file(origin, "b.txt", "b\n", "feat: b")
    assert sync_mirror(str(origin), "team/tool", cache_dir=tmp_path / "cache") == mirror


def test_a_missing_local_path_fails_as_permanent_naming_repo_and_url(tmp_path):
    missing = tmp_path / "no-such-repo"
    with pytest.raises(GitError) as caught:
        sync_mirror(str(missing), "team/tool", cache_dir=tmp_path / "cache")
    assert caught.value.permanent
    message = str(caught.value)
    assert message.startswith("team/tool: ") and repr(str(missing)) in message
    assert "Fix 'url' of this repo in repo_digest_repos" in message


def test_an_unreachable_remote_fails_as_transient_naming_repo_url_and_gits_reason(tmp_path):
    url = "http://127.0.0.1:9/team/tool.git"  # the discard port: nothing answers
    with pytest.raises(GitError) as caught:
        sync_mirror(url, "team/tool", cache_dir=tmp_path / "cache")
    assert not caught.value.permanent
    message = str(caught.value)
    assert message.startswith(f"team/tool: the git repository {url!r} could not be cloned (`git clone --mirror` failed")
    assert "Airflow retries fetch_commits" in message


def test_a_fetch_that_fails_after_the_clone_says_fetched(tmp_path, origin):
    sync_mirror(str(origin), "team/tool", cache_dir=tmp_path / "cache")
    not_a_repo = tmp_path / "not-a-repo"
    not_a_repo.mkdir()
    with pytest.raises(GitError) as caught:
        sync_mirror(str(not_a_repo), "team/tool", cache_dir=tmp_path / "cache")
    assert "could not be fetched (`git fetch --prune` failed" in str(caught.value)
    assert not caught.value.permanent
