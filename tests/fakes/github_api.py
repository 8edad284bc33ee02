"""A fake GitHub REST v3 API over real git repositories, on a real socket.

Serves just what a commit digest reads, in the JSON shapes PyGithub parses:

    GET /repos/{owner}/{name}                 the repository
    GET /repos/{owner}/{name}/commits         list (sha, path, since, until, page, per_page)
    GET /repos/{owner}/{name}/commits/{ref}   one commit with stats and paginated files
    GET /rate_limit
    GET /user                                 the token's user (``login``)

and what a publisher writes:

    GET /repos/{owner}/{name}/contents/{path}       a file (base64) or a folder listing, at ``ref``
    PUT /repos/{owner}/{name}/contents/{path}       create or update a file: a real commit
    GET /repos/{owner}/{name}/issues                list (state, labels, creator, since, sort,
                                                    direction, page, per_page)
    POST /repos/{owner}/{name}/issues               create
    GET/PATCH /repos/{owner}/{name}/issues/{number} read, edit

Contents writes are real commits in the backing git repository (a blob, a tree built in a
private index, ``commit-tree``, ``update-ref`` checked against the old value), so a test
counts commits with git itself. Like GitHub: the ``sha`` of a file is its git blob sha; an
update must send the current ``sha`` (missing: 422, stale: 409); the first file of an empty
repository creates its branch; ``GET`` on an empty repository is 404 "This repository is
empty." (PyGithub raises a plain GithubException for it, not UnknownObjectException).
Issues live in memory: numbers count from 1 per repository, titles over 256 and bodies
over 65,536 characters are 422, labels filter with AND, and lists page like the others.

Behaviour copied from GitHub because clients depend on it: ``since``/``until`` filter on
the committer date and are both inclusive; lists page with a ``Link`` header (30 per
page by default, at most ``max_per_page``); a commit's files page separately (300 per
page, at most 300) and stop at 3,000 (``max_commit_files``; the rest are left out
silently); a merge is diffed against its first parent; patches carry no
``diff --git``/``---``/``+++`` headers and are absent for binary files; an unknown ref is
404 on the list and 422 on the single commit; an empty repository is 409.

Usage::

    with FakeGitHub(token="t") as server:
        server.add_repo("octo/demo", repo_path, logins={"alice@example.com": "alice"})
        gh = github.Github(base_url=server.base_url, auth=github.Auth.Token("t"))

or in the foreground: ``python -m tests.fakes.github_api --port 8765 --repo octo/demo=/path``.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hmac
import json
import math
import tempfile
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tests.fakes import BackgroundServer, serve_until_stopped
from tests.fakes.git_fixture import GitError, run_git

DOCS_URL = "https://docs.github.com/rest"
COMMITS_PER_PAGE = 30  # GitHub's default page size for lists
FILES_PER_PAGE = 300  # GitHub's default and maximum for a commit's files
MAX_COMMIT_FILES = 3000  # GitHub lists at most this many files of one commit
RATE_LIMIT = 5000

Json = dict[str, Any]
ResponseBody = bytes | str | Mapping[str, Any] | list[Any]
FaultResponse = tuple[int, Mapping[str, str], ResponseBody]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it. The token itself is never kept."""

    method: str
    path: str  # without the query string, still percent-encoded
    query: dict[str, str]  # last value wins, like GitHub
    has_auth: bool  # an Authorization header was sent (right or wrong)
    body: bytes = field(default=b"", repr=False)

    def json(self) -> Any:
        """The body parsed as JSON (ApiError 400 when it is not JSON)."""
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "Problems parsing JSON") from None


FaultHook = Callable[[RecordedRequest], FaultResponse | None]
# Sees a request after it was applied, with the status it got; a non-None answer replaces
# the real one (a write that happened but was answered 502).
AfterHook = Callable[[RecordedRequest, int], FaultResponse | None]


class ApiError(Exception):
    """Turned into a GitHub-style JSON error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------------------------------
# Reading git


@dataclass(frozen=True)
class GitCommit:
    sha: str
    parents: tuple[str, ...]
    tree: str
    author_name: str
    author_email: str
    author_time: datetime  # UTC
    committer_name: str
    committer_email: str
    committer_time: datetime  # UTC
    message: str  # trailing newlines stripped, as GitHub returns it


@dataclass(frozen=True)
class FileChange:
    path: str
    previous_path: str | None
    status: str  # GitHub's words: added, modified, removed, renamed, copied, changed
    blob_sha: str
    additions: int
    deletions: int
    binary: bool
    patch: str | None


_LOG_FORMAT = "%x1f".join(["%H", "%P", "%T", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%B"])
_STATUS_WORDS = {"A": "added", "M": "modified", "D": "removed", "R": "renamed", "C": "copied", "T": "changed"}
_NULL_SHA = "0" * 40


def _text(raw: bytes) -> str:
    # Repositories hold whatever bytes people committed; never fail on them.
    return raw.decode("utf-8", errors="replace")


def _utc(epoch: str) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc)


def resolve_ref(repo_path: Path, ref: str) -> str | None:
    """The commit sha ``ref`` (branch, tag, full or short sha) names, or None."""
    if not ref or ref.startswith("-"):
        return None
    try:
        out = run_git(repo_path, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except GitError:
        return None
    return out.decode().strip() or None


def is_empty(repo_path: Path) -> bool:
    return not run_git(repo_path, "rev-list", "-n", "1", "--all").strip()


def default_branch(repo_path: Path) -> str:
    try:
        return run_git(repo_path, "symbolic-ref", "--short", "HEAD").decode().strip()
    except GitError:  # detached HEAD
        return "main"


# Commits are immutable, so everything keyed by sha can be cached for the process's life.
@functools.lru_cache(maxsize=256)
def git_log(repo_path: Path, sha: str, path_filter: str | None = None) -> tuple[GitCommit, ...]:
    """``git log sha [-- path]``, newest first (git's default order, as GitHub lists)."""
    args = ["log", "-z", f"--format={_LOG_FORMAT}", sha, "--"]
    out = run_git(repo_path, *args, *([path_filter] if path_filter else []))
    return tuple(_parse_log_record(record) for record in out.split(b"\0") if record.strip())


def _parse_log_record(record: bytes) -> GitCommit:
    sha, parents, tree, a_name, a_email, a_time, c_name, c_email, c_time, message = (
        _text(record).split("\x1f", 9)
    )
    return GitCommit(
        sha=sha.strip(), parents=tuple(parents.split()), tree=tree,
        author_name=a_name, author_email=a_email, author_time=_utc(a_time),
        committer_name=c_name, committer_email=c_email, committer_time=_utc(c_time),
        message=message.rstrip("\n"),
    )


@functools.lru_cache(maxsize=1024)
def git_commit(repo_path: Path, sha: str) -> GitCommit:
    out = run_git(repo_path, "log", "-z", "-n", "1", f"--format={_LOG_FORMAT}", sha, "--")
    return _parse_log_record(out.rstrip(b"\0"))


@functools.lru_cache(maxsize=256)
def git_changes(repo_path: Path, commit: GitCommit) -> tuple[FileChange, ...]:
    """What ``commit`` changed against its first parent (the empty tree for a root)."""
    trees = [commit.parents[0], commit.sha] if commit.parents else ["--root", commit.sha]
    common = ["diff-tree", "-r", "-M", "--no-commit-id", "--no-ext-diff", "--no-textconv"]
    entries = _parse_raw_numstat(run_git(repo_path, *common, "-z", "--raw", "--numstat", *trees))
    patches = _split_patches(run_git(repo_path, *common, "-p", "--no-color", "--full-index", *trees))
    if len(patches) != len(entries):  # same diff queue, so never expected; fail loudly if so
        raise RuntimeError(f"{len(entries)} changes but {len(patches)} patches in {commit.sha}")
    return tuple(
        FileChange(path, old, status, blob, adds, dels, binary, None if binary else patch)
        for (path, old, status, blob, adds, dels, binary), patch in zip(entries, patches, strict=True)
    )


_RawEntry = tuple[str, str | None, str, str, int, int, bool]


def _parse_raw_numstat(out: bytes) -> list[_RawEntry]:
    """Zip ``--raw -z`` records with the ``--numstat -z`` records git prints after them."""
    tokens = [_text(t) for t in out.split(b"\0")]
    raws: list[tuple[str, str | None, str, str]] = []
    stats: list[tuple[int, int, bool]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token:
            i += 1
        elif token.startswith(":"):  # ":old_mode new_mode old_sha new_sha STATUS" then path(s)
            _, _, old_blob, new_blob, letter = token[1:].split()
            status = _STATUS_WORDS.get(letter[0], "modified")
            two_paths = letter[0] in "RC"
            old, path = (tokens[i + 1], tokens[i + 2]) if two_paths else (None, tokens[i + 1])
            raws.append((path, old, status, old_blob if new_blob == _NULL_SHA else new_blob))
            i += 3 if two_paths else 2
        else:  # "adds\tdels\tpath", or "adds\tdels\t" then old and new path for a rename
            adds, dels, path = token.split("\t", 2)
            binary = adds == "-"
            stats.append((0 if binary else int(adds), 0 if binary else int(dels), binary))
            i += 1 if path else 3
    return [(p, old, st, blob, a, d, b) for (p, old, st, blob), (a, d, b) in zip(raws, stats, strict=True)]


def _split_patches(out: bytes) -> list[str | None]:
    """One entry per file: its hunks from the first ``@@`` on, or None if it has none."""
    sections: list[list[bytes]] = []
    for line in out.split(b"\n"):
        if line.startswith(b"diff --git "):  # hunk lines start with ' ', '+', '-' or '\\'
            sections.append([])
        elif sections:
            sections[-1].append(line)
    patches: list[str | None] = []
    for lines in sections:
        first_hunk = next((k for k, line in enumerate(lines) if line.startswith(b"@@")), None)
        patches.append(None if first_hunk is None else _text(b"\n".join(lines[first_hunk:]).rstrip(b"\n")))
    return patches


# ---------------------------------------------------------------------------------------
# The API


@dataclass(frozen=True)
class HostedRepo:
    full_name: str
    path: Path
    logins: Mapping[str, str]  # lower-cased email -> login

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


def _stable_id(text: str) -> int:
    # Same object, same id across runs, as clients may key on ids.
    return zlib.crc32(text.encode("utf-8")) % 900_000_000 + 1_000


def _node_id(kind: str, key: str) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(name: str, value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "+"))  # a '+' sent unencoded arrives as ' '
    except ValueError:
        raise ApiError(422, f"Invalid value for {name}: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(query[name])
    except (KeyError, ValueError):
        return default


@dataclass
class _Page:
    items: list[Any]
    link: str | None


class FakeGitHub(BackgroundServer):
    """A threaded HTTP server on 127.0.0.1 that answers like api.github.com.

    ``fault`` (settable at any time) sees every request first; returning
    ``(status, headers, body)`` sends that instead of the normal answer.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        max_per_page: int = 100,
        html_base: str = "https://github.com",
        max_patch_chars: int | None = None,
        login: str = "repo-digest-bot",
        max_commit_files: int = MAX_COMMIT_FILES,
    ) -> None:
        self.token = token
        self.max_commit_files = max_commit_files
        self.login = login  # the user the token belongs to (GET /user, issue authors)
        self.max_per_page = max_per_page
        self.html_base = html_base.rstrip("/")
        # GitHub drops the patch of a huge file diff; None keeps every patch.
        self.max_patch_chars = max_patch_chars
        self.fault: FaultHook | None = None
        self.after: AfterHook | None = None
        self.errors: list[str] = []  # tracebacks of the fake's own bugs (sent as 500)
        self._repos: dict[str, HostedRepo] = {}
        self._issues: dict[str, list[_Issue]] = {}
        self._write_lock = threading.Lock()  # one write at a time, as git refs need
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._used = 0
        self._server = _Server((host, port), _Handler, self)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


    # -- configuration and inspection ---------------------------------------------------

    def add_repo(self, full_name: str, path: Path | str, logins: Mapping[str, str] | None = None) -> None:
        """Serve the git repository at ``path`` as ``owner/name``; ``logins`` maps commit
        emails to GitHub logins (unmapped emails get ``author: null`` like on GitHub)."""
        owner, sep, name = full_name.partition("/")
        if not (owner and sep and name) or "/" in name:
            raise ValueError(f"expected 'owner/name', got {full_name!r}")
        mapped = {email.lower(): login for email, login in (logins or {}).items()}
        with self._lock:
            self._repos[full_name.lower()] = HostedRepo(full_name, Path(path).resolve(), mapped)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def writes(self) -> list[RecordedRequest]:
        """The requests that could change something (POST, PUT, PATCH, DELETE)."""
        return [request for request in self.requests if request.method in _WRITE_METHODS]

    def issues(self, full_name: str) -> list[Json]:
        """The repository's issues as the API shows them, by number."""
        repo = self._repo(full_name)
        with self._lock:
            issues = list(self._issues.get(repo.full_name.lower(), []))
        return [self._issue_json(repo, issue) for issue in issues]

    def add_issue(
        self, full_name: str, title: str, body: str | None = None, labels: list[str] | None = None,
        *, user: str | None = None, state: str = "open",
    ) -> int:
        """An issue somebody else wrote (``user``), for tests of finding one's own."""
        repo = self._repo(full_name)
        with self._lock:
            issue = self._new_issue(repo, title, body, labels or [], user or self.login)
            issue.state = state
        return issue.number

    def read_file(self, full_name: str, path: str, ref: str | None = None) -> bytes | None:
        """The file's bytes at ``ref`` (default branch), or None."""
        repo = self._repo(full_name)
        if is_empty(repo.path):
            return None
        sha = resolve_ref(repo.path, ref or default_branch(repo.path))
        entry = _tree_entry(repo.path, sha, path) if sha else None
        if entry is None or entry[1] != "blob":
            return None
        return run_git(repo.path, "cat-file", "blob", entry[2])

    def file_commits(self, full_name: str, path: str, ref: str | None = None) -> list[str]:
        """Shas of the commits on ``ref`` (default branch) that touched ``path``, newest first."""
        repo = self._repo(full_name)
        if is_empty(repo.path):
            return []
        sha = resolve_ref(repo.path, ref or default_branch(repo.path))
        if sha is None:
            return []
        out = run_git(repo.path, "log", "--format=%H", sha, "--", path, env=_LITERAL)
        return out.decode().split()

    # -- request handling ---------------------------------------------------------------

    def handle(
        self, method: str, target: str, authorization: str | None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: (status, headers, body). Called from handler threads."""
        split = urlsplit(target)
        record = RecordedRequest(
            method, split.path, dict(parse_qsl(split.query)), authorization is not None, body
        )
        with self._lock:
            self._requests.append(record)
            self._used += 1
        fault = self.fault
        response = fault(record) if fault is not None else None
        if response is not None:
            status, headers, body = response
            return status, {**self._headers(), **headers}, _encode(body)
        try:
            status, body, extra = self._route(record, authorization)
        except ApiError as error:
            status, body, extra = error.status, {"message": error.message, "documentation_url": DOCS_URL}, {}
        except Exception:  # a bug in the fake: answer 500 and keep the traceback for the test
            self.errors.append(traceback.format_exc())
            status, body, extra = 500, {"message": "Fake GitHub error", "documentation_url": DOCS_URL}, {}
        after = self.after
        replaced = after(record, status) if after is not None else None
        if replaced is not None:
            status, headers, body = replaced
            return status, {**self._headers(), **headers}, _encode(body)
        return status, {**self._headers(), **extra}, _encode(body)

    def _headers(self) -> dict[str, str]:
        with self._lock:
            used = self._used
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(RATE_LIMIT - used, 0)),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": "core",
        }

    def _authorized(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, value = (authorization or "").partition(" ")
        return scheme.lower() in ("token", "bearer") and hmac.compare_digest(value.strip(), self.token)

    def _route(self, record: RecordedRequest, authorization: str | None) -> tuple[int, Any, dict[str, str]]:
        if not self._authorized(authorization):
            raise ApiError(401, "Bad credentials")
        # Split before unquoting: PyGithub sends a ref like "feature/x" as one "%2F" segment.
        parts = [unquote(part) for part in record.path.strip("/").split("/")]
        if record.method in _WRITE_METHODS and not record.has_auth:
            raise ApiError(401, "Requires authentication")
        if parts == ["user"] and record.method == "GET":
            return 200, self._user_json(self.login), {}
        if len(parts) >= 4 and parts[0] == "repos" and parts[3] == "contents":
            repo = self._repo(f"{parts[1]}/{parts[2]}")
            path = "/".join(parts[4:]).strip("/")
            if record.method == "GET":
                return 200, self._get_contents(repo, path, record), {}
            if record.method == "PUT":
                return self._put_contents(repo, path, record)
            raise ApiError(404, "Not Found")
        if len(parts) >= 4 and parts[0] == "repos" and parts[3] == "issues":
            return self._route_issues(self._repo(f"{parts[1]}/{parts[2]}"), parts[4:], record)
        if record.method != "GET":
            raise ApiError(404, "Not Found")
        if parts == ["rate_limit"]:
            return 200, self._rate_limit_json(), {}
        if len(parts) < 3 or parts[0] != "repos":
            raise ApiError(404, "Not Found")
        repo = self._repo(f"{parts[1]}/{parts[2]}")
        rest = parts[3:]
        if not rest:
            return 200, self._repo_json(repo), {}
        if rest == ["commits"]:
            page = self._list_commits(repo, record)
            return 200, page.items, _link(page.link)
        if rest[0] == "commits" and len(rest) >= 2:
            body, link = self._get_commit(repo, "/".join(rest[1:]), record)
            return 200, body, _link(link)
        raise ApiError(404, "Not Found")

    def _repo(self, full_name: str) -> HostedRepo:
        with self._lock:
            repo = self._repos.get(full_name.lower())
        if repo is None:
            raise ApiError(404, "Not Found")
        return repo

    def _list_commits(self, repo: HostedRepo, record: RecordedRequest) -> _Page:
        query = record.query
        if is_empty(repo.path):
            raise ApiError(409, "Git Repository is empty.")
        ref = query.get("sha") or default_branch(repo.path)
        sha = resolve_ref(repo.path, ref)
        if sha is None:
            raise ApiError(404, f"No commit found for SHA: {ref}")
        since = _parse_time("since", query.get("since"))
        until = _parse_time("until", query.get("until"))
        commits = [
            c for c in git_log(repo.path, sha, query.get("path") or None)
            if (since is None or c.committer_time >= since) and (until is None or c.committer_time <= until)
        ]
        page = self._paginate(commits, record, COMMITS_PER_PAGE, self.max_per_page)
        return _Page([self._commit_json(repo, c) for c in page.items], page.link)

    def _get_commit(self, repo: HostedRepo, ref: str, record: RecordedRequest) -> tuple[Json, str | None]:
        if is_empty(repo.path):
            raise ApiError(409, "Git Repository is empty.")
        sha = resolve_ref(repo.path, ref)
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        commit = git_commit(repo.path, sha)
        changes = git_changes(repo.path, commit)
        additions = sum(change.additions for change in changes)
        deletions = sum(change.deletions for change in changes)
        page = self._paginate(list(changes)[: self.max_commit_files], record, FILES_PER_PAGE, FILES_PER_PAGE)
        body = self._commit_json(repo, commit)
        body["stats"] = {"total": additions + deletions, "additions": additions, "deletions": deletions}
        body["files"] = [self._file_json(repo, commit, change) for change in page.items]
        return body, page.link

    # -- contents -----------------------------------------------------------------------

    def _get_contents(self, repo: HostedRepo, path: str, record: RecordedRequest) -> Json | list[Json]:
        if is_empty(repo.path):
            raise ApiError(404, "This repository is empty.")
        ref = record.query.get("ref") or default_branch(repo.path)
        sha = resolve_ref(repo.path, ref)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        entry = _tree_entry(repo.path, sha, path) if path else ("040000", "tree", "", "")
        if entry is None:
            raise ApiError(404, "Not Found")
        _, kind, object_sha, _ = entry
        if kind == "tree":
            prefix = f"{path}/" if path else ""
            listing = _ls_tree(repo.path, f"{sha}:{path}" if path else sha)
            return [
                self._content_json(repo, prefix + name, child_sha, ref, kind=child_kind)
                for _, child_kind, child_sha, name in listing
            ]
        if kind != "blob":
            raise ApiError(404, "Not Found")
        data = run_git(repo.path, "cat-file", "blob", object_sha)
        return self._content_json(repo, path, object_sha, ref, data=data)

    def _put_contents(self, repo: HostedRepo, path: str, record: RecordedRequest) -> tuple[int, Json, dict[str, str]]:
        data = record.json()
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        message, encoded = data.get("message"), data.get("content")
        if not isinstance(message, str) or not message.strip():
            raise ApiError(422, 'Invalid request.\n\n"message" wasn\'t supplied.')
        if not isinstance(encoded, str):
            raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
        try:
            content = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise ApiError(422, "content is not valid Base64") from None
        segments = path.split("/")
        if not path or any(part in ("", ".", "..") for part in segments) or ".git" in segments:
            raise ApiError(422, f"path {path!r} is not a valid file path")
        with self._write_lock:
            empty = is_empty(repo.path)
            branch = data.get("branch") or default_branch(repo.path)
            parent = None if empty else resolve_ref(repo.path, f"refs/heads/{branch}")
            if not empty and parent is None:
                raise ApiError(404, f"Branch {branch} not found")
            entry = _tree_entry(repo.path, parent, path) if parent else None
            if entry is not None and entry[1] != "blob":
                raise ApiError(422, f"{path} is a directory")
            current = entry[2] if entry is not None else None
            sent_sha = data.get("sha")
            if current is not None and not sent_sha:
                raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
            if sent_sha and sent_sha != current:
                raise ApiError(409, f"{path} does not match {sent_sha}")
            commit_sha, blob_sha = self._commit_file(repo, branch, parent, path, content, message)
        body = {
            "content": self._content_json(repo, path, blob_sha, branch, size=len(content)),
            "commit": self._git_commit_json(repo, git_commit(repo.path, commit_sha)),
        }
        return (200 if current is not None else 201), body, {}

    def _commit_file(
        self, repo: HostedRepo, branch: str, parent: str | None, path: str, content: bytes, message: str
    ) -> tuple[str, str]:
        """Commit ``content`` at ``path`` on ``branch`` without touching the work tree."""
        blob = run_git(repo.path, "hash-object", "-w", "--stdin", stdin=content).decode().strip()
        with tempfile.TemporaryDirectory(prefix="fake-github-index-") as folder:
            env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
            run_git(repo.path, "read-tree", *([parent] if parent else ["--empty"]), env=env)
            run_git(repo.path, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = run_git(repo.path, "write-tree", env=env).decode().strip()
        now = f"@{int(time.time())} +0000"
        identity = {
            "GIT_AUTHOR_NAME": self.login, "GIT_AUTHOR_EMAIL": f"{self.login}@users.noreply.github.com",
            "GIT_AUTHOR_DATE": now, "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com", "GIT_COMMITTER_DATE": now,
        }
        parents = ["-p", parent] if parent else []
        commit = run_git(repo.path, "commit-tree", tree, *parents, "-m", message, env=identity).decode().strip()
        run_git(repo.path, "update-ref", f"refs/heads/{branch}", commit, parent or _NULL_SHA)
        return commit, blob

    def _content_json(
        self, repo: HostedRepo, path: str, sha: str, ref: str, *, kind: str = "blob",
        data: bytes | None = None, size: int | None = None,
    ) -> Json:
        api = f"{self.base_url}/repos/{repo.full_name}"
        html = f"{self.html_base}/{repo.full_name}"
        quoted = quote(path)
        is_file = kind == "blob"
        body: Json = {
            "type": "file" if is_file else "dir",
            "size": len(data) if data is not None else (size or 0),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": f"{api}/contents/{quoted}?ref={quote(ref)}",
            "git_url": f"{api}/git/{'blobs' if is_file else 'trees'}/{sha}",
            "html_url": f"{html}/{'blob' if is_file else 'tree'}/{quote(ref)}/{quoted}",
            "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{quote(ref)}/{quoted}"
            if is_file else None,
        }
        body["_links"] = {"self": body["url"], "git": body["git_url"], "html": body["html_url"]}
        if data is not None:
            encoded = base64.b64encode(data).decode()
            # GitHub wraps the base64 text at 60 characters.
            body["content"] = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
            body["encoding"] = "base64"
        return body

    def _git_commit_json(self, repo: HostedRepo, c: GitCommit) -> Json:
        api = f"{self.base_url}/repos/{repo.full_name}"
        html = f"{self.html_base}/{repo.full_name}"
        return {
            "sha": c.sha,
            "node_id": _node_id("Commit", c.sha),
            "url": f"{api}/git/commits/{c.sha}",
            "html_url": f"{html}/commit/{c.sha}",
            "author": {"name": c.author_name, "email": c.author_email, "date": _iso(c.author_time)},
            "committer": {"name": c.committer_name, "email": c.committer_email, "date": _iso(c.committer_time)},
            "message": c.message,
            "tree": {"sha": c.tree, "url": f"{api}/git/trees/{c.tree}"},
            "parents": [
                {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in c.parents
            ],
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        }

    # -- issues -------------------------------------------------------------------------

    def _route_issues(self, repo: HostedRepo, rest: list[str], record: RecordedRequest) -> tuple[int, Any, dict[str, str]]:
        if not rest:
            if record.method == "GET":
                page = self._list_issues(repo, record)
                return 200, page.items, _link(page.link)
            if record.method == "POST":
                return 201, self._create_issue(repo, record), {}
            raise ApiError(404, "Not Found")
        if len(rest) == 1 and rest[0].isdigit():
            number = int(rest[0])
            if record.method == "GET":
                return 200, self._issue_json(repo, self._find_issue(repo, number)), {}
            if record.method == "PATCH":
                return 200, self._edit_issue(repo, number, record), {}
        raise ApiError(404, "Not Found")

    def _find_issue(self, repo: HostedRepo, number: int) -> _Issue:
        with self._lock:
            for issue in self._issues.get(repo.full_name.lower(), []):
                if issue.number == number:
                    return issue
        raise ApiError(404, "Not Found")

    def _list_issues(self, repo: HostedRepo, record: RecordedRequest) -> _Page:
        query = record.query
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise ApiError(422, f"Invalid value for state: {state!r}")
        wanted = {label.strip().lower() for label in query.get("labels", "").split(",") if label.strip()}
        creator = query.get("creator")
        since = _parse_time("since", query.get("since"))
        sort = query.get("sort", "created")
        if sort not in ("created", "updated", "comments"):
            raise ApiError(422, f"Invalid value for sort: {sort!r}")
        direction = query.get("direction", "desc")
        with self._lock:
            issues = list(self._issues.get(repo.full_name.lower(), []))
        selected = [
            issue for issue in issues
            if (state == "all" or issue.state == state)
            and wanted <= {label.lower() for label in issue.labels}
            and (creator is None or issue.user.lower() == creator.lower())
            and (since is None or issue.updated_at >= since)
        ]
        key = {"created": lambda i: (i.created_at, i.number), "updated": lambda i: (i.updated_at, i.number),
               "comments": lambda i: (0, i.number)}[sort]
        selected.sort(key=key, reverse=direction != "asc")
        page = self._paginate(selected, record, COMMITS_PER_PAGE, self.max_per_page)
        return _Page([self._issue_json(repo, issue) for issue in page.items], page.link)

    def _create_issue(self, repo: HostedRepo, record: RecordedRequest) -> Json:
        data = record.json()
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ApiError(422, "Validation Failed: title is missing")
        body = data.get("body")
        _check_issue_text(title, body)
        labels = _label_names(data.get("labels", []))
        with self._lock:
            issue = self._new_issue(repo, title, body, labels, self.login)
        return self._issue_json(repo, issue)

    def _new_issue(self, repo: HostedRepo, title: str, body: str | None, labels: list[str], user: str) -> _Issue:
        # Caller holds self._lock.
        issues = self._issues.setdefault(repo.full_name.lower(), [])
        now = datetime.now(timezone.utc)
        issue = _Issue(len(issues) + 1, title, body, labels, "open", user, now, now)
        issues.append(issue)
        return issue

    def _edit_issue(self, repo: HostedRepo, number: int, record: RecordedRequest) -> Json:
        data = record.json()
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        issue = self._find_issue(repo, number)
        title = data.get("title", issue.title)
        body = data.get("body", issue.body)
        if not isinstance(title, str) or not title.strip():
            raise ApiError(422, "Validation Failed: title is missing")
        _check_issue_text(title, body)
        state = data.get("state", issue.state)
        if state not in ("open", "closed"):
            raise ApiError(422, f"Invalid value for state: {state!r}")
        with self._lock:
            issue.title, issue.body, issue.state = title, body, state
            if "labels" in data:
                issue.labels = _label_names(data["labels"])
            issue.updated_at = datetime.now(timezone.utc)
            issue.edits += 1
        return self._issue_json(repo, issue)

    def _issue_json(self, repo: HostedRepo, issue: _Issue) -> Json:
        api = f"{self.base_url}/repos/{repo.full_name}"
        html = f"{self.html_base}/{repo.full_name}"
        return {
            "id": _stable_id(f"{repo.full_name}#{issue.number}"),
            "node_id": _node_id("Issue", f"{repo.full_name}#{issue.number}"),
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": None,
            "locked": False,
            "labels": [self._label_json(repo, name) for name in issue.labels],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": 0,
            "user": self._user_json(issue.user),
            "author_association": "OWNER",
            "created_at": _iso(issue.created_at),
            "updated_at": _iso(issue.updated_at),
            "closed_at": _iso(issue.updated_at) if issue.state == "closed" else None,
            "url": f"{api}/issues/{issue.number}",
            "html_url": f"{html}/issues/{issue.number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{issue.number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{issue.number}/comments",
            "events_url": f"{api}/issues/{issue.number}/events",
            # Only this fake's bookkeeping: how often the issue was edited.
            "x_edits": issue.edits,
        }

    def _label_json(self, repo: HostedRepo, name: str) -> Json:
        return {
            "id": _stable_id(f"{repo.full_name}:label:{name}"),
            "node_id": _node_id("Label", f"{repo.full_name}:{name}"),
            "url": f"{self.base_url}/repos/{repo.full_name}/labels/{quote(name)}",
            "name": name,
            "color": "ededed",
            "default": False,
            "description": None,
        }

    def _paginate(self, items: list[Any], record: RecordedRequest, default: int, maximum: int) -> _Page:
        """GitHub-style page/per_page slicing plus the ``Link`` header for it."""
        per_page = _int_param(record.query, "per_page", default)
        per_page = default if per_page < 1 else min(per_page, maximum)
        page = max(_int_param(record.query, "page", 1), 1)
        last = max(math.ceil(len(items) / per_page), 1)
        rels: list[tuple[str, int]] = []
        if page > 1:
            rels += [("prev", min(page - 1, last)), ("first", 1)]
        if page < last:
            rels += [("next", page + 1), ("last", last)]
        # GitHub orders them prev, next, last, first.
        order = {"prev": 0, "next": 1, "last": 2, "first": 3}
        rels.sort(key=lambda rel: order[rel[0]])
        links = [f'<{self._page_url(record, n)}>; rel="{rel}"' for rel, n in rels]
        start = (page - 1) * per_page
        return _Page(items[start : start + per_page], ", ".join(links) or None)

    def _page_url(self, record: RecordedRequest, page: int) -> str:
        query = {key: value for key, value in record.query.items() if key != "page"}
        return f"{self.base_url}{record.path}?{urlencode({**query, 'page': page})}"

    # -- JSON shapes --------------------------------------------------------------------

    def _user_json(self, login: str, kind: str = "User") -> Json:
        api = f"{self.base_url}/users/{login}"
        return {
            "login": login,
            "id": _stable_id(login),
            "node_id": _node_id(kind, login),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{_stable_id(login)}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.html_base}/{login}",
            "followers_url": f"{api}/followers",
            "repos_url": f"{api}/repos",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _commit_user(self, repo: HostedRepo, email: str) -> Json | None:
        login = repo.logins.get(email.lower())
        return self._user_json(login) if login else None

    def _repo_json(self, repo: HostedRepo) -> Json:
        api = f"{self.base_url}/repos/{repo.full_name}"
        return {
            "id": _stable_id(repo.full_name),
            "node_id": _node_id("Repository", repo.full_name),
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self._user_json(repo.owner, "Organization"),
            "private": False,
            "visibility": "public",
            "html_url": f"{self.html_base}/{repo.full_name}",
            "description": None,
            "fork": False,
            "url": api,
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "default_branch": default_branch(repo.path),
            "archived": False,
            "disabled": False,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "pushed_at": "2026-01-01T00:00:00Z",
            "size": 0,
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
        }

    def _commit_json(self, repo: HostedRepo, c: GitCommit) -> Json:
        api = f"{self.base_url}/repos/{repo.full_name}"
        html = f"{self.html_base}/{repo.full_name}"
        return {
            "sha": c.sha,
            "node_id": _node_id("Commit", c.sha),
            "commit": {
                "author": {"name": c.author_name, "email": c.author_email, "date": _iso(c.author_time)},
                "committer": {
                    "name": c.committer_name, "email": c.committer_email, "date": _iso(c.committer_time),
                },
                "message": c.message,
                "tree": {"sha": c.tree, "url": f"{api}/git/trees/{c.tree}"},
                "url": f"{api}/git/commits/{c.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False, "reason": "unsigned",
                    "signature": None, "payload": None, "verified_at": None,
                },
            },
            "url": f"{api}/commits/{c.sha}",
            "html_url": f"{html}/commit/{c.sha}",
            "comments_url": f"{api}/commits/{c.sha}/comments",
            "author": self._commit_user(repo, c.author_email),
            "committer": self._commit_user(repo, c.committer_email),
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in c.parents
            ],
        }

    def _file_json(self, repo: HostedRepo, c: GitCommit, change: FileChange) -> Json:
        html = f"{self.html_base}/{repo.full_name}"
        path = quote(change.path)
        body: Json = {
            "sha": change.blob_sha,
            "filename": change.path,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{html}/blob/{c.sha}/{path}",
            "raw_url": f"{html}/raw/{c.sha}/{path}",
            "contents_url": f"{self.base_url}/repos/{repo.full_name}/contents/{path}?ref={c.sha}",
        }
        too_big = self.max_patch_chars is not None and len(change.patch or "") > self.max_patch_chars
        if change.patch is not None and not too_big:
            body["patch"] = change.patch
        if change.previous_path is not None:
            body["previous_filename"] = change.previous_path
        return body

    def _rate_limit_json(self) -> Json:
        headers = self._headers()
        core = {
            "limit": RATE_LIMIT,
            "remaining": int(headers["X-RateLimit-Remaining"]),
            "reset": int(headers["X-RateLimit-Reset"]),
            "used": int(headers["X-RateLimit-Used"]),
            "resource": "core",
        }
        reset = core["reset"]
        search = {"limit": 30, "remaining": 30, "reset": reset, "used": 0, "resource": "search"}
        graphql = {**core, "remaining": RATE_LIMIT, "used": 0, "resource": "graphql"}
        return {"resources": {"core": core, "search": search, "graphql": graphql}, "rate": core}


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths given to git are literal, never globs.
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
ISSUE_TITLE_LIMIT = 256
ISSUE_BODY_LIMIT = 65_536


@dataclass
class _Issue:
    number: int
    title: str
    body: str | None
    labels: list[str]
    state: str
    user: str
    created_at: datetime
    updated_at: datetime
    edits: int = 0


def _check_issue_text(title: str, body: Any) -> None:
    if len(title) > ISSUE_TITLE_LIMIT:
        raise ApiError(422, f"Validation Failed: title is too long (maximum is {ISSUE_TITLE_LIMIT} characters)")
    if body is not None and not isinstance(body, str):
        raise ApiError(422, "Validation Failed: body must be a string")
    if body is not None and len(body) > ISSUE_BODY_LIMIT:
        raise ApiError(422, f"Validation Failed: body is too long (maximum is {ISSUE_BODY_LIMIT} characters)")


def _label_names(labels: Any) -> list[str]:
    if not isinstance(labels, list):
        raise ApiError(422, "Validation Failed: labels must be a list")
    names = []
    for label in labels:
        name = label.get("name") if isinstance(label, dict) else label
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, f"Validation Failed: invalid label {label!r}")
        if name not in names:
            names.append(name)
    return names


def _ls_tree(repo_path: Path, treeish: str, *paths: str) -> list[tuple[str, str, str, str]]:
    """``git ls-tree -z``: (mode, type, sha, path) per entry."""
    out = run_git(repo_path, "ls-tree", "-z", treeish, "--", *paths, env=_LITERAL)
    entries = []
    for record in out.split(b"\0"):
        if record:
            meta, _, name = _text(record).partition("\t")
            mode, kind, sha = meta.split()
            entries.append((mode, kind, sha, name))
    return entries


def _tree_entry(repo_path: Path, commit: str, path: str) -> tuple[str, str, str, str] | None:
    """The tree entry at ``path`` in ``commit`` (a blob or a tree), or None."""
    path = path.strip("/")
    if not path:
        return None
    matches = [entry for entry in _ls_tree(repo_path, commit, path) if entry[3] == path]
    return matches[0] if matches else None


def _link(value: str | None) -> dict[str, str]:
    return {"Link": value} if value else {}


def _encode(body: ResponseBody) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------------------
# HTTP plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block shutdown

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeGitHub
    ) -> None:
        super().__init__(address, handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients dropping connections is normal in tests; keep stderr quiet


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like PyGithub's requests session expects
    timeout = 30  # close idle keep-alive connections eventually
    # Headers and body go out as separate writes; with Nagle on, a keep-alive client waits
    # ~40 ms for the delayed ACK on every request.
    disable_nagle_algorithm = True
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""  # read it all so the connection stays usable
        authorization = self.headers.get("Authorization")
        status, headers, body = self.server.fake.handle(self.command, self.path, authorization, raw)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


# ---------------------------------------------------------------------------------------
# Command line


def _parse_repo_arg(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or name.count("/") != 1:
        raise argparse.ArgumentTypeError(f"expected owner/name=/path/to/repo, got {value!r}")
    return name, Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.github_api", description="Serve git repositories as a fake GitHub API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--repo", type=_parse_repo_arg, action="append", required=True,
                        metavar="OWNER/NAME=PATH", help="a git repository to serve (repeatable)")
    parser.add_argument("--login", action="append", default=[], metavar="EMAIL=LOGIN",
                        help="map a commit email to a GitHub login, for every repo (repeatable)")
    parser.add_argument("--token", help="require this token (Authorization: token/Bearer)")
    parser.add_argument("--html-base", default="https://github.com")
    parser.add_argument("--max-per-page", type=int, default=100)
    args = parser.parse_args(argv)

    logins = dict(item.split("=", 1) for item in args.login)
    server = FakeGitHub(host=args.host, port=args.port, token=args.token, html_base=args.html_base,
                        max_per_page=args.max_per_page)
    for name, path in args.repo:
        server.add_repo(name, path, logins)
    served = ", ".join(n for n, _ in args.repo)
    return serve_until_stopped(server, "FakeGitHub serving " + served + " at {server.base_url}")


if __name__ == "__main__":
    raise SystemExit(main())
