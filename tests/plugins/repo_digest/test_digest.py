from __future__ import annotations

import datetime as dt

import pytest

from repo_digest.analysis.record import CommitAnalysis, LLMUsage
from repo_digest.commits import CommitRecord
from repo_digest.digest import build_digest

NOW = dt.datetime(2026, 2, 19, 3, tzinfo=dt.UTC)


def record(sha: str) -> CommitRecord:
    return CommitRecord(sha=sha, author_name="A", author_date=NOW, committer_date=NOW, title="t", message="t",
                        url=f"https://github.com/a/b/commit/{sha}", pr_number=7)  # fmt: skip


def analysis(sha: str, usage: LLMUsage | None, importance: str = "low") -> CommitAnalysis:
    return CommitAnalysis(sha=sha, analyzer="llm" if usage else "rules", analyzer_version="x", importance=importance,
                          change_types=["fix"], summary=["s"], rule_importance="low", usage=usage)  # fmt: skip


def digest(analyses, prices=None):
    return build_digest(repo="a/b", day=dt.date(2026, 2, 19), timezone="Asia/Shanghai", language="en", source="github",
                        branch="main", commits=[record(a.sha) for a in analyses], analyses=analyses, prices=prices)  # fmt: skip


def test_usage_and_cost_are_summed_over_the_commits():
    analyses = [
        analysis("a" * 40, LLMUsage(requests=2, prompt_tokens=1_000_000, completion_tokens=0)),
        analysis("b" * 40, LLMUsage(requests=1, prompt_tokens=0, completion_tokens=500_000)),
        analysis("c" * 40, None),
    ]
    stats = digest(analyses, prices=(0.15, 0.6)).stats
    assert (stats.llm_requests, stats.prompt_tokens, stats.completion_tokens) == (3, 1_000_000, 500_000)
    assert stats.cost == pytest.approx(0.15 + 0.3)
    assert digest(analyses).stats.cost is None  # no prices, no estimate


def test_times_are_local_and_the_pr_link_is_derived():
    (commit,) = digest([analysis("a" * 40, None)]).commits
    assert commit.committer_time == "2026-02-19 11:00:00"
    assert commit.pr_url == "https://github.com/a/b/pull/7"


def test_every_commit_needs_exactly_one_analysis():
    with pytest.raises(ValueError, match="no analysis"):
        build_digest(repo="a/b", day=dt.date(2026, 2, 19), timezone="UTC", language="en", source="git", branch=None,
                     commits=[record("a" * 40)], analyses=[])  # fmt: skip
    with pytest.raises(ValueError, match="analysed twice"):
        digest([analysis("a" * 40, None), analysis("a" * 40, None)])
