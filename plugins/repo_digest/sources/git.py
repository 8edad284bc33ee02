"""Commits from any git URL or local path, through a local mirror clone and the git CLI."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from repo_digest.commits import CommitDetail, CommitRecord, FileChange, FileStatus, pr_number_of, title_of
from repo_digest.names import redact_url
from repo_digest.sources import SourceError
from repo_digest.window import DayWindow

MAX_PATCH_CHARS = 1_000_000
# git stops walking history a few commits past --since; a margin keeps commits whose
# committer dates are slightly out of order, and the exact window is applied afterwards.
_SINCE_MARGIN_SECONDS = 2 * 86400
_FIELD, _RECORD = "\x1f", "\x1e"
_LOG_FORMAT = _RECORD + _FIELD.join(["%H", "%P", "%an", "%ae", "%aI", "%cI", "%B"])
_GITHUB_URL_RE = re.compile(r"^(?:https?://|ssh://git@|git@)github\.com[/:]([^/]+)/([^/]+?)(?:\.git)?/?$")
_STATUS: dict[str, FileStatus] = {"A": "added", "M": "modified", "D": "removed", "R": "renamed", "C": "copied"}


class GitError(SourceError):
    pass


def _git(git_dir: Path | None, *args: str) -> bytes:
    command = ["git", "-c", "core.quotepath=off"]
    if git_dir is not None:
        command += ["--git-dir", str(git_dir)]
    command += list(args)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    result = subprocess.run(command, capture_output=True, env=env, check=False)
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", errors="replace").strip()
        raise GitError(f"`git {' '.join(args[:2])}` failed ({result.returncode}): {stderr}")
    return result.stdout


def mirror_cache_dir() -> Path:
    configured = os.environ.get("REPO_DIGEST_GIT_CACHE")
    if configured:
        return Path(configured)
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return Path(home) / "repo_digest_cache" / "git"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One sync of a mirror at a time on this machine: git refuses concurrent ref updates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def local_path_of(url: str) -> Path | None:
    """The path of a local repository URL (a path or file://), None for a remote one."""
    if url.startswith("file://"):
        return Path(url.removeprefix("file://"))
    if "://" in url or ":" in url.split("/", 1)[0]:  # scheme://… or scp-like host:path
        return None
    return Path(url)


def sync_mirror(url: str, repo: str, cache_dir: Path | None = None) -> Path:
    """Clone ``url`` as a bare mirror, or fetch it if already cloned; returns the mirror's path.

    A failure names the repo and the URL; a local path that does not exist fails as
    permanent (no retry can create it), anything else (a network, a server) as transient.
    """
    owner, name = repo.split("/")
    mirror = (cache_dir or mirror_cache_dir()) / f"{owner}__{name}.git"
    local = local_path_of(url)
    if local is not None and not local.exists():
        raise GitError(
            f"{repo}: the git repository {url!r} does not exist on this worker. Fix 'url' of this repo in "
            "repo_digest_repos (a path every Airflow worker can read, or a git URL), then clear fetch_commits.",
            permanent=True,
        )
    cloned = False
    try:
        with _locked(mirror.with_suffix(".lock")):
            # Looked at under the lock: another process may have just cloned it.
            cloned = (mirror / "HEAD").exists()
            if cloned:
                _git(mirror, "remote", "set-url", "origin", url)
                _git(mirror, "fetch", "--prune", "--quiet", "origin")
            else:
                _git(None, "clone", "--mirror", "--quiet", url, str(mirror))
    except GitError as exc:
        raise GitError(
            f"{repo}: the git repository {redact_url(url)!r} could not be {'fetched' if cloned else 'cloned'} "
            f"({exc}). Every Airflow worker must reach it with its own git credentials; check 'url' of this repo "
            "in repo_digest_repos. Airflow retries fetch_commits; if its retries run out, clear it once git can "
            "reach the repository."
        ) from None
    return mirror


def default_branch(mirror: Path) -> str:
    ref = _git(mirror, "symbolic-ref", "HEAD").decode().strip()
    return ref.removeprefix("refs/heads/")


def web_commit_url(url: str, sha: str) -> str | None:
    """A browsable link for repositories on github.com; None where we cannot know one."""
    match = _GITHUB_URL_RE.match(url)
    return f"https://github.com/{match.group(1)}/{match.group(2)}/commit/{sha}" if match else None


def _parse_log(output: bytes, url: str) -> list[CommitRecord]:
    import datetime as dt

    records = []
    for chunk in output.decode("utf-8", errors="replace").split(_RECORD)[1:]:
        sha, parents, author_name, _email, author_date, committer_date, message = chunk.split(_FIELD, 6)
        message = message.strip("\n")
        title = title_of(message)
        records.append(
            CommitRecord(
                sha=sha,
                author_name=author_name or "unknown",
                author_date=dt.datetime.fromisoformat(author_date),
                committer_date=dt.datetime.fromisoformat(committer_date),
                title=title,
                message=message,
                url=web_commit_url(url, sha),
                pr_number=pr_number_of(title),
                is_merge=len(parents.split()) > 1,
            )
        )
    return records


def _has_branch(mirror: Path, branch: str) -> bool:
    try:
        _git(mirror, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    except GitError:
        return False
    return True


def list_day_commits(mirror: Path, branch: str, window: DayWindow, url: str) -> list[CommitRecord]:
    """Every commit reachable from ``branch`` whose committer date is in the window."""
    if not _has_branch(mirror, branch):
        branches = _git(mirror, "for-each-ref", "--format=%(refname:short)", "refs/heads/").decode().split()
        if not branches:  # an empty repository has no commits on any day
            return []
        raise GitError(
            f"branch {branch!r} does not exist in {url}; its branches: {', '.join(branches[:20])}. Fix 'branch' "
            "of this repo in repo_digest_repos (leave it out for the default branch), then clear fetch_commits.",
            permanent=True,
        )
    since = int(window.start.timestamp()) - _SINCE_MARGIN_SECONDS
    output = _git(mirror, "log", f"--since=@{since}", f"--format={_LOG_FORMAT}", f"refs/heads/{branch}", "--")
    return [record for record in _parse_log(output, url) if window.contains(record.committer_date)]


def _parse_changes(raw: bytes) -> list[tuple[FileStatus, str, str | None, int, int, bool]]:
    """`diff-tree --raw --numstat -z` output -> (status, path, previous path, +, -, binary) per file."""
    fields = raw.decode("utf-8", errors="replace").split("\0")
    raws, position = [], 0
    while position < len(fields) and fields[position].startswith(":"):
        letter = fields[position].split()[-1][0]
        if letter in "RC":
            raws.append((_STATUS[letter], fields[position + 2], fields[position + 1]))
            position += 3
        else:
            raws.append((_STATUS.get(letter, "changed"), fields[position + 1], None))
            position += 2
    changes = []
    for status, path, previous in raws:
        added, deleted, rest = fields[position].split("\t", 2)
        position += 3 if not rest else 1  # a rename's numstat names both paths in the next fields
        binary = added == "-"
        changes.append((status, path, previous, 0 if binary else int(added), 0 if binary else int(deleted), binary))
    return changes


def _split_patches(patch: bytes) -> list[str]:
    """One hunk text per file of a `git diff` (headers dropped, as GitHub shows patches), in order."""
    text = patch.decode("utf-8", errors="replace")
    blocks = re.split(r"^diff --git ", text, flags=re.MULTILINE)[1:]
    hunks = []
    for block in blocks:
        start = block.find("\n@@")
        hunks.append(block[start + 1 :].rstrip("\n") if start >= 0 else "")
    return hunks


def fetch_detail(mirror: Path, sha: str) -> CommitDetail:
    """Files and patches of one commit, against its first parent (as GitHub shows merges)."""
    parents = _git(mirror, "rev-list", "--parents", "-n", "1", sha).decode().split()[1:]
    base = [parents[0], sha] if parents else ["--root", sha]
    raw = _git(mirror, "diff-tree", "-r", "-M", "-z", "--raw", "--numstat", "--no-commit-id", *base)
    changes = _parse_changes(raw)
    diff_base = [parents[0], sha] if parents else [_empty_tree(mirror), sha]
    patches = _split_patches(_git(mirror, "diff", "-M", "--no-color", "--no-ext-diff", *diff_base))
    if len(patches) != len(changes):
        raise GitError(f"commit {sha}: {len(changes)} changed files but {len(patches)} diff blocks")
    files = []
    for (status, path, previous, added, deleted, binary), patch in zip(changes, patches, strict=True):
        truncated = len(patch) > MAX_PATCH_CHARS
        files.append(
            FileChange(
                path=path,
                previous_path=previous,
                status=status,
                additions=added,
                deletions=deleted,
                binary=binary,
                patch=None if binary or not patch else patch[:MAX_PATCH_CHARS],
                patch_truncated=truncated,
            )
        )
    return CommitDetail(sha=sha, files=files)


def _empty_tree(mirror: Path) -> str:
    return _git(mirror, "hash-object", "-t", "tree", "/dev/null").decode().strip()
