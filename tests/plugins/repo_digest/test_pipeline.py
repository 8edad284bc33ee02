from __future__ import annotations

import datetime as dt

import pytest

from repo_digest.commits import CommitRecord
from repo_digest.pipeline import LABEL_TITLE_CHARS, commits_label, group_commits


def shas(count: int) -> list[str]:
    return [f"{i:040d}" for i in range(count)]


def record(sha: str, title: str) -> CommitRecord:
    when = dt.datetime(2026, 2, 19, tzinfo=dt.UTC)
    return CommitRecord(sha=sha, author_name="A", author_date=when, committer_date=when, title=title, message=title)


@pytest.mark.parametrize("count", [1, 2, 48, 200, 1024])
def test_one_instance_per_commit_up_to_max_map_length(count):
    result = group_commits(shas(count), 1024)
    assert result == [[sha] for sha in shas(count)]


@pytest.mark.parametrize(("count", "limit", "largest"), [(1025, 1024, 2), (2000, 1024, 2), (10_001, 1024, 10), (5000, 16, 313)])
def test_beyond_max_map_length_consecutive_commits_share_an_instance_and_none_is_lost(count, limit, largest):
    result = group_commits(shas(count), limit)
    assert len(result) <= limit
    assert max(len(group) for group in result) == largest
    assert [sha for group in result for sha in group] == shas(count)


def test_no_commits_no_instances():
    assert group_commits([], 1024) == []


def test_labels_name_the_commit_by_short_sha_and_title():
    assert commits_label([record("abcdef1234" + "0" * 30, "fix: the parser (#12)")]) == "abcdef1 fix: the parser (#12)"
    long = commits_label([record("a" * 40, "x" * 200)])
    assert long.startswith("aaaaaaa x") and long.endswith("…") and len(long) == 8 + LABEL_TITLE_CHARS
    # Control and bidi characters from a commit title never reach the UI's label.
    assert commits_label([record("b" * 40, "evil\u202e\x1b[31mtitle\n")]) == "bbbbbbb evil[31mtitle"
    two = commits_label([record("c" * 40, "one"), record("d" * 40, "two")])
    assert two == "ccccccc one (+1 more)"
