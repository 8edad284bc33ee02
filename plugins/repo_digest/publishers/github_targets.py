"""GitHub targets: a file in a reports repository, and one issue per repository and day.

Writes are never repeated blindly. PyGithub's default retry repeats POSTs (and urllib3's
repeats PUTs) on 5xx, and a write GitHub applied but answered 502 then happens twice
(three ``create_issue`` calls made three issues). The client for writes
(:func:`write_client`) retries reads only; when a write fails with a 5xx or a broken
connection, the publisher pauses and *looks* whether it took effect (the file has the new
content; an issue with the day's marker exists) before giving up, and the task's own
retry looks again before writing. Writes are paced by ``seconds_between_writes``
(GitHub asks for at least a second between mutating requests; ``REPO_DIGEST_GITHUB_WRITE_PAUSE``).

github_file: the file's git blob sha is computed locally and compared with the sha GitHub
reports for the path: equal means no commit at all; otherwise one create or update commit
(the update names the sha it replaces, so a concurrent change is a 409, not lost).

github_issue: the body starts with a hidden marker ``<!-- repo_digest:{owner}/{name}:{day} -->``.
The issue is found by the receipt's issue number (checked against the marker), else by
listing the repository's issues (all states) with the target's labels and created by the
token's user, newest first, bounded by :data:`MAX_ISSUES_SCANNED`. Found: the title and
body are edited if they differ (labels added if missing); not found: created.
GitHub refuses titles over 256 and bodies over 65,536 characters: a longer digest is cut
at a heading or line boundary and ends with a note and the link to the full digest.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from repo_digest.publishers.base import Delivery, PublishContext
from repo_digest.publishers.chat import shorten_words
from repo_digest.publishers.credentials import DeliveryError, Redactor
from repo_digest.publishers.receipts import Receipt
from repo_digest.publishers.targets import GithubFileTarget, GithubIssueTarget, render_template

if TYPE_CHECKING:
    from github import Github
    from github.Issue import Issue
    from github.Repository import Repository

log = logging.getLogger(__name__)

WRITE_PAUSE_ENV = "REPO_DIGEST_GITHUB_WRITE_PAUSE"
DEFAULT_WRITE_PAUSE = 1.0
RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ISSUE_TITLE_LIMIT = 256
ISSUE_BODY_LIMIT = 65_536
MAX_ISSUES_SCANNED = 2_000
TRUNCATED_NOTE = {
    "zh": "*摘要过长，此处只显示前面部分。*",
    "en": "*This digest is too long for an issue; only its beginning is shown.*",
}
FULL_DIGEST = {"zh": "完整摘要", "en": "Full digest"}

T = TypeVar("T")


def write_pause() -> float:
    try:
        return max(0.0, float(os.environ.get(WRITE_PAUSE_ENV, DEFAULT_WRITE_PAUSE)))
    except ValueError:
        return DEFAULT_WRITE_PAUSE


def write_retry() -> Any:
    """GithubRetry as for reads (rate limits, 5xx, bounded waits) but never for POST/PUT/PATCH/DELETE."""
    from repo_digest.sources.github import github_retry

    return github_retry(allowed_methods=RETRYABLE_METHODS)


def write_client(conn_id: str, ctx: PublishContext) -> Github:
    """A client for writes with ``conn_id``'s credentials (shared by the run's targets)."""
    cache_key = f"github:{conn_id}"
    if cache_key not in ctx.cache:
        from github import Github

        from repo_digest.publishers.credentials import get_connection
        from repo_digest.sources.github import github_client

        try:
            get_connection(conn_id, ctx.redactor)  # registers the token with the redactor
        except Exception:
            pass  # github_client says what it does without the connection
        kwargs = dict(github_client(conn_id).requester.kwargs)
        kwargs.update(retry=write_retry(), seconds_between_writes=write_pause())
        ctx.cache[cache_key] = Github(**kwargs)
    return ctx.cache[cache_key]


def blob_sha(data: bytes) -> str:
    """Git's object id of a blob with ``data``: what GitHub reports as a file's ``sha``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _is_uncertain(exc: BaseException) -> bool:
    """A failure after which the write may or may not have happened."""
    from github.GithubException import GithubException
    from requests import RequestException

    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, (RequestException, ConnectionError, TimeoutError))


def write_checked(write: Callable[[], T], landed: Callable[[], T | None], what: str, redactor: Redactor) -> T:
    """``write()`` once; if it fails uncertainly, pause and return ``landed()`` when it did land."""
    try:
        return write()
    except Exception as exc:
        if not _is_uncertain(exc):
            raise
        log.warning("%s failed (%s); checking whether it took effect", what, redactor.reason(exc))
        time.sleep(write_pause())
        try:
            found = landed()
        except Exception as check_exc:
            log.warning("%s: the check failed too (%s)", what, redactor.reason(check_exc))
            found = None
        if found is None:
            raise
        log.info("%s had taken effect despite the error; not repeating it", what)
        return found


def _github_error(exc: BaseException, what: str, redactor: Redactor) -> DeliveryError:
    return DeliveryError(f"{what}: {redactor.reason(exc)}")


# --- github_file -----------------------------------------------------------------------------


class GithubFilePublisher:
    def path(self, target: GithubFileTarget, ctx: PublishContext) -> str:
        return render_template(target.path, ctx.values)

    def content(self, target: GithubFileTarget, ctx: PublishContext) -> bytes:
        return f"{self.path(target, ctx)}\0".encode() + ctx.markdown.encode("utf-8")

    def deliver(self, target: GithubFileTarget, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        from github.GithubException import GithubException

        path = self.path(target, ctx)
        data = ctx.markdown.encode("utf-8")
        new_sha = blob_sha(data)
        try:
            repo = write_client(target.conn_id, ctx).get_repo(target.repo)
            branch = target.branch or repo.default_branch
            current = _file_sha(repo, path, branch)
        except GithubException as exc:
            raise _github_error(exc, f"reading {target.repo}:{path}", ctx.redactor) from None
        details: dict[str, Any] = {"repo": target.repo, "branch": branch, "path": path, "blob_sha": new_sha}
        if current == new_sha:
            return Delivery("unchanged", {**details, "commit_sha": None})
        message = render_template(target.commit_message, ctx.values)
        if current is not None:
            message = f"{message} (update)"

        def write() -> str | None:
            if current is None:
                result = repo.create_file(path, message, data, branch=branch)
            else:
                result = repo.update_file(path, message, data, current, branch=branch)
            return result["commit"].sha

        def landed() -> str | None:
            return "" if _file_sha(repo, path, branch) == new_sha else None

        try:
            commit_sha = write_checked(write, landed, f"committing {target.repo}:{path}", ctx.redactor)
        except GithubException as exc:
            raise _github_error(exc, f"committing {target.repo}:{path}", ctx.redactor) from None
        return Delivery(
            "created" if current is None else "updated", {**details, "commit_sha": commit_sha or None}
        )


def _file_sha(repo: Repository, path: str, branch: str) -> str | None:
    """The blob sha of ``path`` on ``branch``, None if absent (also: empty repo, new branch)."""
    from github.GithubException import GithubException

    try:
        content = repo.get_contents(path, ref=branch)
    except GithubException as exc:
        # 404 "Not Found" (UnknownObjectException), "This repository is empty." and
        # "No commit found for the ref" (plain GithubException): nothing there yet.
        if exc.status == 404:
            return None
        raise
    if isinstance(content, list):
        raise DeliveryError(f"{path} is a folder in {repo.full_name}")
    return content.sha


# --- github_issue ----------------------------------------------------------------------------


def marker(repo: str, day: str) -> str:
    return f"<!-- repo_digest:{repo}:{day} -->"


def issue_body(mark: str, markdown: str, digest_url: str | None, language: str) -> str:
    body = f"{mark}\n\n{markdown}"
    if len(body) <= ISSUE_BODY_LIMIT:
        return body
    note = f"\n\n---\n\n{TRUNCATED_NOTE[language]}"
    if digest_url:
        note += f" [{FULL_DIGEST[language]}]({digest_url})"
    note += "\n"
    room = ISSUE_BODY_LIMIT - len(mark) - 2 - len(note)
    head = markdown[:room]
    # Cut before the last heading that leaves most of the room used, else at a line break.
    heading = max(head.rfind("\n#"), head.rfind("\n<a id="))
    cut = heading if heading > room // 2 else head.rfind("\n")
    return f"{mark}\n\n{head[: max(cut, 0)].rstrip()}{note}"


class GithubIssuePublisher:
    def title(self, target: GithubIssueTarget, ctx: PublishContext) -> str:
        return shorten_words(render_template(target.title, ctx.values), ISSUE_TITLE_LIMIT)

    def body(self, ctx: PublishContext) -> str:
        day = ctx.digest.day.isoformat()
        return issue_body(marker(ctx.digest.repo, day), ctx.markdown, ctx.digest_url, ctx.digest.language)

    def content(self, target: GithubIssueTarget, ctx: PublishContext) -> bytes:
        return f"{self.title(target, ctx)}\0{self.body(ctx)}".encode()

    def deliver(self, target: GithubIssueTarget, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        from github.GithubException import GithubException

        title, body = self.title(target, ctx), self.body(ctx)
        mark = marker(ctx.digest.repo, ctx.digest.day.isoformat())
        known = previous.details.get("issue_number") if previous is not None else None
        try:
            gh = write_client(target.conn_id, ctx)
            repo = gh.get_repo(target.repo)
            login = _login(gh, ctx)
            issue = find_issue(repo, mark, known, target.labels, login)
        except GithubException as exc:
            raise _github_error(exc, f"looking for the issue in {target.repo}", ctx.redactor) from None
        what = f"issue in {target.repo}"
        try:
            if issue is None:
                issue = write_checked(
                    lambda: repo.create_issue(title=title, body=body, labels=list(target.labels)),
                    lambda: find_issue(repo, mark, None, target.labels, login),
                    f"creating the {what}", ctx.redactor,
                )  # fmt: skip
                action = "created"
            else:
                action = _edit(issue, title, body, target.labels, what, ctx.redactor)
        except GithubException as exc:
            raise _github_error(exc, f"writing the {what}", ctx.redactor) from None
        labels = {label.name for label in issue.labels}
        if not set(target.labels) <= labels:
            log.warning("%s #%d lacks the labels %s (does the token have push access?)", what, issue.number,
                        sorted(set(target.labels) - labels))  # fmt: skip
        return Delivery(
            action, {"repo": target.repo, "issue_number": issue.number, "issue_url": issue.html_url}
        )


def _login(gh: Github, ctx: PublishContext) -> str | None:
    """The token's user, to list only our own issues; None when the token cannot say (an App)."""
    from github.GithubException import GithubException

    key = f"login:{id(gh)}"
    if key not in ctx.cache:
        try:
            ctx.cache[key] = gh.get_user().login
        except GithubException:
            ctx.cache[key] = None
    return ctx.cache[key]


def find_issue(
    repo: Repository, mark: str, number: int | None, labels: list[str], login: str | None
) -> Issue | None:
    from github.GithubException import UnknownObjectException

    if number is not None:
        try:
            issue = repo.get_issue(number)
            if _has_marker(issue, mark) and (login is None or issue.user.login == login):
                return issue
        except UnknownObjectException:
            pass
    filters: dict[str, Any] = {"state": "all", "sort": "created", "direction": "desc"}
    if labels:
        filters["labels"] = list(labels)
    if login:
        filters["creator"] = login
    for index, issue in enumerate(repo.get_issues(**filters)):
        if index >= MAX_ISSUES_SCANNED:
            log.warning("Gave up looking for %s after %d issues", mark, MAX_ISSUES_SCANNED)
            break
        if _has_marker(issue, mark):
            return issue
    return None


def _has_marker(issue: Issue, mark: str) -> bool:
    # GitHub names are case-insensitive: a marker written as Octo/Repo is the same day's.
    return mark.lower() in (issue.body or "").lower()


def _edit(issue: Issue, title: str, body: str, labels: list[str], what: str, redactor: Redactor) -> str:
    current_labels = [label.name for label in issue.labels]
    missing = [label for label in labels if label not in current_labels]
    if issue.title == title and (issue.body or "") == body and not missing:
        return "unchanged"
    changes: dict[str, Any] = {"title": title, "body": body}
    if missing:
        changes["labels"] = current_labels + missing

    def landed() -> Issue | None:
        issue.update()
        return issue if issue.title == title and (issue.body or "") == body else None

    write_checked(lambda: issue.edit(**changes), landed, f"editing the {what} #{issue.number}", redactor)
    return "updated"
