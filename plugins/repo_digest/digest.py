"""aggregate_stats: the digest's data, the one input of the Markdown template.

It is saved beside the Markdown as JSON, so any digest can be re-rendered later (a new
template, the other language) without fetching or analysing anything again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from repo_digest.analysis.record import IMPORTANCE_ORDER, CommitAnalysis, Importance
from repo_digest.commits import CommitRecord

SCHEMA_VERSION = 1


class DigestCommit(BaseModel):
    """A commit as the report shows it: local times, links, and its analysis."""

    model_config = ConfigDict(extra="forbid")

    sha: str
    short_sha: str
    author_name: str
    author_login: str | None = None
    author_time: str  # YYYY-MM-DD HH:MM:SS in the repo's timezone
    committer_time: str
    title: str
    message: str
    url: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    is_merge: bool = False
    additions: int = 0
    deletions: int = 0
    files_changed: int = 0
    analysis: CommitAnalysis


class DigestStats(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total: int
    by_importance: dict[Importance, int]
    additions: int
    deletions: int
    files_changed: int
    authors: int
    merges: int
    change_types: dict[str, int]
    analyzers: dict[str, int]
    fallbacks: int
    # Commits where the deciding analyzer and the rule-based score disagree on importance.
    importance_disagreements: int
    # What the LLM analyses of these commits cost (kept with each analysis, so a rerun
    # served from the cache shows the same figures).
    llm_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None


class Digest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    repo: str
    day: dt.date
    timezone: str
    language: Literal["zh", "en"]
    source: str
    branch: str | None = None
    # How the commits were analysed, a code the template words: "llm", "no_connection", "no_model".
    analysis_note: str | None = None
    llm_model: str | None = None
    llm_conn_id: str | None = None
    # Set when the day had not ended in its timezone when its commits were read: the digest
    # holds the commits up to this moment (UTC), and a run after the day ends replaces it.
    partial_until: dt.datetime | None = None
    commits: list[DigestCommit] = Field(default_factory=list)
    stats: DigestStats


def _local(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def pr_url_of(commit_url: str | None, pr_number: int | None) -> str | None:
    """The PR link beside a commit link: '.../owner/name/commit/<sha>' -> '.../owner/name/pull/<n>'."""
    if not commit_url or pr_number is None or "/commit/" not in commit_url:
        return None
    return commit_url.rsplit("/commit/", 1)[0] + f"/pull/{pr_number}"


def to_digest_commit(record: CommitRecord, analysis: CommitAnalysis, tz: ZoneInfo) -> DigestCommit:
    return DigestCommit(
        sha=record.sha,
        short_sha=record.sha[:7],
        author_name=record.author_name,
        author_login=record.author_login,
        author_time=_local(record.author_date, tz),
        committer_time=_local(record.committer_date, tz),
        title=record.title,
        message=record.message,
        url=record.url,
        pr_number=record.pr_number,
        pr_url=pr_url_of(record.url, record.pr_number),
        is_merge=record.is_merge,
        additions=record.additions,
        deletions=record.deletions,
        files_changed=record.files_changed,
        analysis=analysis,
    )


def compute_stats(commits: Sequence[DigestCommit], prices: tuple[float, float] | None = None) -> DigestStats:
    """Counts and sums over the commits; ``prices`` are per million input and output tokens."""
    importance = Counter(commit.analysis.importance for commit in commits)
    usages = [commit.analysis.usage for commit in commits if commit.analysis.usage is not None]
    prompt_tokens = sum(usage.prompt_tokens for usage in usages)
    completion_tokens = sum(usage.completion_tokens for usage in usages)
    cost = None
    if prices is not None and usages:
        cost = round((prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000, 6)
    change_types = Counter(commit.analysis.change_types[0].value for commit in commits)
    return DigestStats(
        total=len(commits),
        by_importance={level: importance.get(level, 0) for level in IMPORTANCE_ORDER},
        additions=sum(commit.additions for commit in commits),
        deletions=sum(commit.deletions for commit in commits),
        files_changed=sum(commit.files_changed for commit in commits),
        authors=len({commit.author_login or commit.author_name for commit in commits}),
        merges=sum(commit.is_merge for commit in commits),
        change_types=dict(sorted(change_types.items(), key=lambda item: (-item[1], item[0]))),
        analyzers=dict(sorted(Counter(commit.analysis.analyzer for commit in commits).items())),
        fallbacks=sum(commit.analysis.fallback_reason is not None for commit in commits),
        importance_disagreements=sum(
            commit.analysis.importance != commit.analysis.rule_importance for commit in commits
        ),
        llm_requests=sum(usage.requests for usage in usages),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=cost,
    )


def build_digest(
    *,
    repo: str,
    day: dt.date,
    timezone: str,
    language: Literal["zh", "en"],
    source: str,
    branch: str | None,
    commits: Sequence[CommitRecord],
    analyses: Sequence[CommitAnalysis],
    analysis_note: str | None = None,
    llm_model: str | None = None,
    llm_conn_id: str | None = None,
    prices: tuple[float, float] | None = None,
    partial_until: dt.datetime | None = None,
) -> Digest:
    """Join the commit table with its analyses; every commit must have exactly one."""
    by_sha: dict[str, CommitAnalysis] = {}
    for analysis in analyses:
        if analysis.sha in by_sha:
            raise ValueError(f"commit {analysis.sha} was analysed twice")
        by_sha[analysis.sha] = analysis
    missing = [record.sha for record in commits if record.sha not in by_sha]
    if missing:
        raise ValueError(f"{len(missing)} commit(s) have no analysis: {', '.join(sha[:7] for sha in missing[:10])}")
    extra = set(by_sha) - {record.sha for record in commits}
    if extra:
        raise ValueError(f"analyses for commits not in the table: {', '.join(sorted(sha[:7] for sha in extra))}")
    tz = ZoneInfo(timezone)
    digest_commits = [to_digest_commit(record, by_sha[record.sha], tz) for record in commits]
    return Digest(
        repo=repo,
        day=day,
        timezone=timezone,
        language=language,
        source=source,
        branch=branch,
        analysis_note=analysis_note,
        llm_model=llm_model,
        llm_conn_id=llm_conn_id,
        partial_until=partial_until,
        commits=digest_commits,
        stats=compute_stats(digest_commits, prices),
    )
