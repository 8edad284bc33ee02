"""Commits from the GitHub REST API (or GitHub Enterprise, or any compatible server) via PyGithub.

Only called inside tasks: the hook and the client are created there, never at parse time.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from repo_digest.commits import CommitDetail, CommitRecord, FileChange, pr_number_of, title_of
from repo_digest.window import DayWindow

if TYPE_CHECKING:
    from github import Github
    from github.Commit import Commit
    from github.Repository import Repository

log = logging.getLogger(__name__)

# PyGithub's default retry sleeps until the rate limit resets: up to an hour inside a worker
# slot. Past this many seconds we fail instead, and Airflow's task retry comes back later.
MAX_RATE_LIMIT_WAIT = float(os.environ.get("REPO_DIGEST_GITHUB_MAX_WAIT", "180"))
# A task's requests are serial; GitHub's pacing advice is about concurrency and writes, so
# reads need no pause of their own (PyGithub's default 0.25 s cost ~50 s on a 200-commit day).
SECONDS_BETWEEN_READS = float(os.environ.get("REPO_DIGEST_GITHUB_PAUSE", "0"))
REQUEST_TIMEOUT = 30
# GitHub lists at most 3,000 files of a commit.
GITHUB_FILE_LIMIT = 3000
MAX_PATCH_CHARS = 1_000_000


def _retry() -> object:
    from github.GithubRetry import GithubRetry

    return GithubRetry(
        total=6,
        backoff_factor=1.0,
        backoff_max=60,
        max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        secondary_rate_wait=60,
    )


def github_client(conn_id: str) -> Github:
    """A PyGithub client for ``conn_id``'s token and host, or an anonymous one without the connection."""
    from github import Github

    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    settings = dict(
        retry=_retry(),
        timeout=REQUEST_TIMEOUT,
        per_page=100,
        seconds_between_requests=SECONDS_BETWEEN_READS,
    )
    try:
        connection = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.warning(
            "No Airflow connection %r: using GitHub anonymously, which allows 60 requests per hour "
            "(about 50 commits a day). Add a connection of type 'github' with a token.",
            conn_id,
        )
        return Github(**settings)
    if not connection.password and not connection.extra_dejson:
        log.warning("Connection %r has no token: anonymous requests to %s", conn_id, connection.host or "GitHub")
        return Github(base_url=connection.host, **settings) if connection.host else Github(**settings)

    from airflow.providers.github.hooks.github import GithubHook

    # The hook owns the authentication rules (token, GitHub App); we keep its auth and
    # base URL and choose the retry, timeout and pacing ourselves.
    hook_client = GithubHook(github_conn_id=conn_id).get_conn()
    kwargs = hook_client.requester.kwargs
    return Github(auth=kwargs["auth"], base_url=kwargs["base_url"], **settings)


def _record(commit: Commit) -> CommitRecord:
    git = commit.commit
    message = git.message or ""
    title = title_of(message)
    return CommitRecord(
        sha=commit.sha,
        author_name=git.author.name or (commit.author.login if commit.author else "") or "unknown",
        author_login=commit.author.login if commit.author else None,
        author_date=git.author.date,
        committer_date=git.committer.date,
        title=title,
        message=message,
        url=commit.html_url,
        pr_number=pr_number_of(title),
        is_merge=len(commit.parents) > 1,
    )


def list_day_commits(repo: Repository, branch: str, window: DayWindow) -> list[CommitRecord]:
    """Every commit reachable from ``branch`` whose committer date is in the window.

    GitHub filters since/until on the committer date with both ends inclusive; the window
    is half-open, so we filter again exactly.
    """
    listing = repo.get_commits(sha=branch, since=window.start, until=window.end)
    return [record for record in map(_record, listing) if window.contains(record.committer_date)]


def _file_change(file: object) -> FileChange:
    patch = file.patch
    truncated = False
    if patch is not None and len(patch) > MAX_PATCH_CHARS:
        patch, truncated = patch[:MAX_PATCH_CHARS], True
    # GitHub has no binary flag: a binary file comes without a patch and with no line counts.
    binary = patch is None and file.changes == 0 and file.status in {"added", "removed", "modified"}
    return FileChange(
        path=file.filename,
        previous_path=file.previous_filename,
        status=file.status,
        additions=file.additions,
        deletions=file.deletions,
        binary=binary,
        patch=patch,
        patch_truncated=truncated,
    )


def fetch_detail(repo: Repository, sha: str) -> CommitDetail:
    """Files, stats and patches of one commit: one request, more for commits with over 300 files."""
    files = [_file_change(file) for file in repo.get_commit(sha).files]
    return CommitDetail(sha=sha, files=files, files_truncated=len(files) >= GITHUB_FILE_LIMIT)
