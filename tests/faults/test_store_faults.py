"""The digest store failing: a read-only folder, a full disk mid-write, a folder where a file goes.

No partial digest is ever visible: the day's Markdown and JSON are both the new ones, or
both what they were before (absent on a first run). The failing task names the file and
the cause and says how to recover; once the store is fixed, a rerun completes the day.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import pathlib
import shutil

import pytest

from repo_digest.pipeline import publish_to_store
from repo_digest.store import DigestStore, StoreWriteError
from tests.faults.helpers import (
    REPO, TZ, assert_complete_digest, assert_failed_cleanly, captured, coherent, digest_day, read_digest, run_dag,
    set_repos, synthetic_digest,
)  # fmt: skip

DAY = dt.date(2026, 2, 19)
ROOT_IGNORES_PERMISSIONS = os.geteuid() == 0


def install(fault: str, folder: pathlib.Path, monkeypatch) -> tuple[str, str, callable]:
    """Break the store for the day's ``folder``; returns (the file named, the cause named, undo)."""
    folder.mkdir(parents=True, exist_ok=True)
    md_name, json_name = f"{DAY}.md", f"{DAY}.json"
    if fault == "read_only_folder":
        if not ROOT_IGNORES_PERMISSIONS:
            folder.chmod(0o555)
            return json_name, "PermissionError: [Errno 13] Permission denied", lambda: folder.chmod(0o755)
        # root writes through permission bits: refuse the way a read-only folder does.
        real = pathlib.Path.write_text

        def refuse(self, *args, **kwargs):
            if self.parent == folder:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, "write_text", refuse)
        return json_name, "PermissionError: [Errno 13] Permission denied", lambda: monkeypatch.undo()
    if fault == "disk_full_mid_write":
        real = pathlib.Path.write_text

        def half_then_full(self, text, *args, **kwargs):
            if self.parent == folder and self.name.startswith(f".{md_name}."):
                real(self, text[: len(text) // 2], *args, **kwargs)  # what fitted on the disk
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
            return real(self, text, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, "write_text", half_then_full)
        return md_name, "OSError: [Errno 28] No space left on device", lambda: monkeypatch.undo()
    if fault == "path_is_a_directory":
        blocker = folder / md_name
        blocker.unlink(missing_ok=True)  # on a rerun: the earlier Markdown was replaced by a folder
        blocker.mkdir()
        (blocker / "something").write_text("in the way")
        return md_name, "IsADirectoryError: [Errno 21] Is a directory", lambda: shutil.rmtree(blocker)
    raise AssertionError(fault)


@pytest.mark.parametrize("before", ["first_run", "rerun"])
@pytest.mark.parametrize("fault", ["read_only_folder", "disk_full_mid_write", "path_is_a_directory"])
def test_a_failing_store_shows_no_partial_digest_and_names_the_file_and_the_cause(fault, before, tmp_path,
                                                                                 monkeypatch):  # fmt: skip
    store = DigestStore(f"file://{tmp_path}")
    folder = tmp_path / REPO / "2026"
    md_path, json_path = folder / f"{DAY}.md", folder / f"{DAY}.json"
    old, old_md = synthetic_digest(["feat: old one", "fix: old two"], DAY)
    new, new_md = synthetic_digest(["feat: new one", "fix: new two", "perf: new three"], DAY)
    previous = None
    if before == "rerun":
        publish_to_store(old, old_md, store)
        previous = (md_path.read_text(encoding="utf-8"), json_path.read_text(encoding="utf-8"))

    named, cause, undo = install(fault, folder, monkeypatch)
    with pytest.raises(StoreWriteError) as failure:
        publish_to_store(new, new_md, store)
    message = str(failure.value)
    assert f"could not write file://{folder / named} ({cause})" in message
    assert "its previous version, if any, is unchanged" in message and "then clear the failed task" in message

    # Nothing half-published: both files as they were, no temporary file left.
    if previous is None:
        assert not json_path.exists() and (not md_path.exists() or md_path.is_dir())
    elif md_path.is_dir():  # the JSON written before the Markdown failed was put back
        assert json_path.read_text(encoding="utf-8") == previous[1]
    else:
        assert (md_path.read_text(encoding="utf-8"), json_path.read_text(encoding="utf-8")) == previous
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []

    undo()
    publish_to_store(new, new_md, store)
    markdown, data = md_path.read_text(encoding="utf-8"), json.loads(json_path.read_text(encoding="utf-8"))
    assert markdown == new_md and coherent(markdown, data) and len(data["commits"]) == 3


def test_a_folder_in_the_digests_place_fails_publish_with_path_and_cause_and_a_rerun_succeeds(
    monkeypatch, airflow_db, store, fixture_repo, capfd
):
    set_repos(monkeypatch, {"repo": REPO, "timezone": TZ, "source": "git", "url": str(fixture_repo.path)})
    blocker = store / REPO / "2026" / f"{DAY}.md"
    blocker.mkdir(parents=True)
    dag_run = run_dag(DAY, expect="failed")
    says = [f"could not write file://{blocker} (IsADirectoryError: [Errno 21] Is a directory)",
            "Fix the store (REPO_DIGEST_STORE"]  # fmt: skip
    # publish's own retries (2) were spent; the day's JSON was put back (here: removed).
    assert_failed_cleanly(dag_run, "publish", captured(capfd), says, store, DAY, tries=3)
    assert blocker.is_dir() and not blocker.with_suffix(".json").exists()

    blocker.rmdir()
    run_dag(DAY)
    markdown, data = read_digest(store, DAY)
    assert_complete_digest(markdown, data, [c.sha for c in fixture_repo.commits_on(DAY, TZ)])


def test_an_unwritable_commit_cache_fails_fetch_naming_the_file(monkeypatch, airflow_db, store, fixture_repo):
    from repo_digest.config import RepoEntry

    entry = RepoEntry(repo=REPO, timezone=TZ, source="git", url=str(fixture_repo.path))
    commits = store / "_cache" / REPO / "commits"
    commits.parent.mkdir(parents=True)
    commits.write_text("a file where the cache folder goes")
    with pytest.raises(StoreWriteError, match=rf"could not write file://{commits}/[0-9a-f]{{40}}\.json \(FileExistsError"):
        digest_day(entry, DAY)
    assert not (store / REPO).exists()  # nothing published
    commits.unlink()
    markdown, data = digest_day(entry, DAY)
    assert_complete_digest(markdown, data, [c.sha for c in fixture_repo.commits_on(DAY, TZ)])
