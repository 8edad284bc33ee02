"""The patterns every viewer URL segment must pass, and the paths the viewer builds."""

from __future__ import annotations

import datetime as dt

import pytest

from repo_digest.config import RepoEntry
from repo_digest.viewer.paths import DigestRef, parse_digest_file, root_path_of, valid_repo, viewer_path

DAY = dt.date(2026, 2, 19)


@pytest.mark.parametrize("repo", ["sgl-project/sglang", "a/b", "A_b-1/.github", "x/name.with.dots", "o/_all"])
def test_every_configurable_repo_is_viewable(repo):
    RepoEntry(repo=repo)  # the Variable accepts it…
    assert valid_repo(*repo.split("/"))  # …so the viewer must too


@pytest.mark.parametrize(
    ("owner", "name"),
    [("_all", "x"), ("_cache", "x"), ("_work", "x"), ("..", "x"), (".", "x"), ("a", ".."), ("a", "."),
     ("", "x"), ("a", ""), ("-a", "x"), ("a b", "x"), ("a", "b/c"), ("a", "b\\c"), ("a" * 40, "x"),
     ("a", "x" * 101), ("a", "b\x00"), ("a", "b%2F"), ("ä", "x")],
)  # fmt: skip
def test_anything_else_is_no_repo(owner, name):
    assert not valid_repo(owner, name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-19", (DAY, "")),
        ("2026-02-19.md", (DAY, ".md")),
        ("2026-02-19.json", (DAY, ".json")),
        ("2024-02-29", (dt.date(2024, 2, 29), "")),
        ("2026-02-29", None),
        ("2026-13-01", None),
        ("2026-2-19", None),
        ("२०२६-०२-१९", None),  # other scripts' digits are not ASCII digits
        ("2026-02-19.txt", None),
        ("2026-02-19.md.json", None),
        ("2026-02-19.MD", None),
        ("2026-02-19/", None),
        ("../2026-02-19", None),
        ("2026-02-19\n", None),
        ("", None),
    ],
)
def test_digest_file_names(text, expected):
    assert parse_digest_file(text) == expected


def test_viewer_paths():
    assert viewer_path(DigestRef("a/b", DAY)) == "/a/b/2026-02-19"
    assert viewer_path(DigestRef(None, DAY), ".md") == "/_all/2026-02-19.md"
    with pytest.raises(ValueError):
        viewer_path(DigestRef("a/b", DAY), ".html")


@pytest.mark.parametrize(
    ("base_url", "root"),
    [(None, "/"), ("", "/"), ("http://h:8080", "/"), ("http://h:8080/", "/"), ("https://h/af", "/af/"),
     ("https://h/af/", "/af/"), ("/af", "/af/")],
)  # fmt: skip
def test_root_path_of_base_url(base_url, root):
    assert root_path_of(base_url) == root
