"""The digest store: where digests, the commit cache and per-day work files live.

A URL that Airflow's ObjectStoragePath (fsspec) understands, from ``REPO_DIGEST_STORE``:
a local folder by default (``$AIRFLOW_HOME/digests``), or ``s3://…``, ``gs://…`` etc.
with a ``conn_id``-less URL or Airflow's object-storage connections. Layout:

    {store}/{owner}/{name}/{YYYY}/{YYYY-MM-DD}.md and .json    digests
    {store}/_cache/{owner}/{name}/commits/{sha}.json            commit details (immutable)
    {store}/_work/{owner}/{name}/{YYYY-MM-DD}/{sha}.json        analysis inputs of a day
    {store}/_locks/{owner}/{name}/{YYYY-MM-DD}.lock             held while a day's digest is written

Owners cannot start with '_', so the '_' folders never collide with a repository.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

STORE_ENV = "REPO_DIGEST_STORE"
_LOCAL_PROTOCOLS = {"file", "local"}


def default_store_url() -> str:
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return str(Path(home, "digests").resolve())


def store_url() -> str:
    url = os.environ.get(STORE_ENV) or default_store_url()
    if "://" not in url:  # a plain path: make it absolute so every process agrees on it
        url = "file://" + str(Path(url).expanduser().resolve())
    return url


class StoreWriteError(OSError):
    """A store file could not be written; the message names the file, the cause and the fix."""


def _write_error(path: ObjectStoragePath, exc: OSError) -> StoreWriteError:
    cause = f"{type(exc).__name__}: {exc}"
    if exc.strerror:  # without the temporary file's name, which says nothing to the reader
        cause = f"{type(exc).__name__}: [Errno {exc.errno}] {exc.strerror}"
    error = StoreWriteError(
        f"could not write {path} ({cause}); its previous version, if any, is unchanged. Fix the store "
        "(REPO_DIGEST_STORE: permissions, free space, nothing else at that path), then clear the failed task"
    )
    error.errno = exc.errno
    return error


class DigestStore:
    """Paths and atomic writes under one store root."""

    def __init__(self, url: str | None = None) -> None:
        from airflow.sdk import ObjectStoragePath

        self.url = url or store_url()
        self.root = ObjectStoragePath(self.url)

    # --- paths -------------------------------------------------------------------
    def digest_path(self, repo: str, day: dt.date, suffix: str) -> ObjectStoragePath:
        owner, name = repo.split("/")
        return self.root / owner / name / f"{day:%Y}" / f"{day.isoformat()}{suffix}"

    def commit_detail_path(self, repo: str, sha: str) -> ObjectStoragePath:
        owner, name = repo.split("/")
        return self.root / "_cache" / owner / name / "commits" / f"{sha}.json"

    def work_path(self, repo: str, day: dt.date, name: str) -> ObjectStoragePath:
        owner, repo_name = repo.split("/")
        return self.root / "_work" / owner / repo_name / day.isoformat() / name

    # --- io ----------------------------------------------------------------------
    def write_text(self, path: ObjectStoragePath, text: str) -> None:
        """Replace ``path`` with ``text`` so that a reader sees the old file or the new, never half.

        Locally: a temporary file in the same folder, then an atomic rename. On object
        stores a single PUT is already all-or-nothing. A failure (a read-only folder, a
        full disk, a folder where the file should be) raises StoreWriteError naming the
        file and the cause; the file keeps its previous content.
        """
        try:
            self._write_text(path, text)
        except OSError as exc:
            raise _write_error(path, exc) from exc

    def _write_text(self, path: ObjectStoragePath, text: str) -> None:
        if path.protocol in _LOCAL_PROTOCOLS:
            target = Path(path.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            try:
                temporary.write_text(text, encoding="utf-8")
                os.replace(temporary, target)
            finally:
                temporary.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            handle.write(text)

    def delete(self, path: ObjectStoragePath) -> None:
        """Remove ``path``; nothing happens when it does not exist."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    @contextlib.contextmanager
    def day_lock(self, repo: str, day: dt.date) -> Iterator[None]:
        """Hold the day's lock: one writer of a repo's digest pair at a time on this machine.

        Airflow already runs one publish per repo DAG at a time; this also covers what it
        does not see (``airflow dags test`` of a day beside a scheduled run). Object
        stores get no lock here: there only Airflow's limit applies.
        """
        if self.root.protocol not in _LOCAL_PROTOCOLS:
            yield
            return
        import fcntl

        owner, name = repo.split("/")
        lock_path = Path(self.root.path) / "_locks" / owner / name / f"{day.isoformat()}.lock"
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(lock_path, "a")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _write_error(self.root / "_locks" / owner / name / lock_path.name, exc) from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read_text(self, path: ObjectStoragePath) -> str:
        return path.read_text(encoding="utf-8")

    def read_text_if_exists(self, path: ObjectStoragePath) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):  # no such file (a file where a folder should be)
            return None
