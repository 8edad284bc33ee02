"""Commits from the GitHub REST API (or GitHub Enterprise, or any compatible server) via PyGithub.

Only called inside tasks: the hook and the client are created there, never at parse time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

from repo_digest.commits import CommitDetail, CommitRecord, FileChange, pr_number_of, title_of
from repo_digest.sources import SourceError
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


class GitHubError(SourceError):
    """A GitHub request failed; see :class:`ErrorContext` for the wording."""


def github_retry(allowed_methods: frozenset[str] | None = None) -> Any:
    """Rate limits and 5xx retried with bounded waits; ``allowed_methods`` narrows what is retried."""
    from github.GithubRetry import GithubRetry

    return GithubRetry(
        total=6,
        backoff_factor=1.0,
        backoff_max=60,
        max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        secondary_rate_wait=60,
        **({"allowed_methods": allowed_methods} if allowed_methods is not None else {}),
    )


def github_client(conn_id: str) -> Github:
    """A PyGithub client for ``conn_id``'s token and host, or an anonymous one without the connection."""
    from github import Github

    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    settings = dict(
        retry=github_retry(),
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


def list_day_commits(repo: Repository, branch: str | None, window: DayWindow) -> list[CommitRecord]:
    """Every commit reachable from ``branch`` (None: the default branch) whose committer date is in the window.

    GitHub filters since/until on the committer date with both ends inclusive; the window
    is half-open, so we filter again exactly.
    """
    from github import GithubException
    from github.GithubObject import NotSet

    listing = repo.get_commits(sha=branch or NotSet, since=window.start, until=window.end)
    try:
        return [record for record in map(_record, listing) if window.contains(record.committer_date)]
    except GithubException as exc:
        if exc.status == 409 and "empty" in _message(exc).lower():  # "Git Repository is empty."
            log.info("%s is an empty repository: no commits on any day", repo.full_name)
            return []
        raise


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


# --- errors as the task log shows them ---------------------------------------------------
def _message(exc: Any) -> str:
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])[:300]
    return (getattr(exc, "message", None) or str(exc)).splitlines()[0][:300]


def _header(exc: Any, name: str) -> str | None:
    for key, value in (getattr(exc, "headers", None) or {}).items():
        if key.lower() == name:
            return value
    return None


class ErrorContext:
    """Turns PyGithub's and requests' errors into :class:`GitHubError` naming the repository,
    the branch or commit, the connection, what failed and how to recover.

    ``with context:`` around every GitHub call of a task; ``branch`` and ``sha`` say what
    is being read. The token never appears: the messages are built from the response.
    """

    def __init__(self, repo: str, conn_id: str, branch: str | None = None) -> None:
        self.repo = repo
        self.conn_id = conn_id
        self.branch = branch
        self.sha: str | None = None

    def __enter__(self) -> ErrorContext:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if exc is None or isinstance(exc, SourceError):
            return
        explained = self.explain(exc)
        if explained is not None:
            raise explained from exc

    def explain(self, exc: BaseException) -> GitHubError | None:
        import requests
        from github import BadCredentialsException, GithubException, RateLimitExceededException

        repo, conn = self.repo, f"Airflow connection {self.conn_id!r}"
        clear = "then clear fetch_commits of this run"
        kept = "Nothing was published; the commit details already read are cached."
        if isinstance(exc, RateLimitExceededException):
            return GitHubError(f"{repo}: {self._rate_limit(exc)} {kept} Airflow retries fetch_commits later; "
                               f"if its retries run out first, clear it after the reset.")  # fmt: skip
        if isinstance(exc, BadCredentialsException):
            return GitHubError(
                f"{repo}: GitHub refused the credentials of {conn} (HTTP 401: {_message(exc)}). Fix the connection "
                f"(type 'github', password = a token that can read the repository's contents), {clear}.",
                permanent=True,
            )
        if isinstance(exc, GithubException):
            status, message = exc.status, _message(exc)
            if status == 403:
                return GitHubError(
                    f"{repo}: GitHub refused access with {conn} (HTTP 403: {message}). Give the token read access "
                    f"to the repository's contents (or check the organisation's token policy), {clear}.",
                    permanent=True,
                )
            if status in (404, 422) and "no commit found" in message.lower():
                if self.sha is not None:  # listed a moment ago, gone now: history rewritten during the run
                    return GitHubError(
                        f"{repo}: commit {self.sha} was listed but can no longer be read (HTTP {status}: {message}); "
                        f"the branch was probably force-pushed during the run. {kept} Airflow retries fetch_commits, "
                        "which lists the day again."
                    )
                return GitHubError(
                    f"{repo}: branch {self.branch!r} does not exist on GitHub (HTTP {status}: {message}). Fix 'branch' "
                    f"of this repo in repo_digest_repos (leave it out for the default branch), {clear}.",
                    permanent=True,
                )
            if status == 404:
                return GitHubError(
                    f"{repo}: GitHub has no repository {repo!r} that {conn} can see (HTTP 404: {message}). Check "
                    "'repo' in repo_digest_repos; a private repository also answers 404 to a token that cannot read "
                    f"it. Fix the entry or the token, {clear}.",
                    permanent=True,
                )
            where = f"commit {self.sha}" if self.sha else f"the commits of branch {self.branch!r}"
            return GitHubError(f"{repo}: GitHub failed while reading {where} (HTTP {status}: {message}). {kept} "
                               "Airflow retries fetch_commits; if the retries run out, clear it later.")  # fmt: skip
        if isinstance(exc, requests.RequestException):
            reason = str(exc).splitlines()[0][:300]
            return GitHubError(
                f"{repo}: GitHub could not be read ({type(exc).__name__}: {reason}), even after retrying each request "
                f"with back-off: GitHub or the network is failing. {kept} Airflow retries fetch_commits; if the "
                "retries run out, clear it once GitHub answers again."
            )
        return None

    def _rate_limit(self, exc: Any) -> str:
        from github import RateLimitExceededExceedsMaxWait

        reset = _header(exc, "x-ratelimit-reset")
        limit = f"GitHub's API rate limit for Airflow connection {self.conn_id!r} is used up"
        if reset and reset.isdigit():
            moment = dt.datetime.fromtimestamp(int(reset), dt.UTC)
            seconds = max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())
            limit += f" until {moment:%Y-%m-%d %H:%M:%S} UTC ({seconds:.0f} s from now)"
        limit += f" (HTTP {getattr(exc, 'status', '?')}: {_message(exc)})"
        if isinstance(exc, RateLimitExceededExceedsMaxWait):
            return (f"{limit}: longer than the {MAX_RATE_LIMIT_WAIT:.0f} s a task may wait for it "
                    "(REPO_DIGEST_GITHUB_MAX_WAIT), so this try stops instead of holding a worker slot.")  # fmt: skip
        return f"{limit}, still after the waits this task may make."
