from __future__ import annotations

import datetime as dt
import threading

from repo_digest.store import DigestStore, store_url


def test_plain_paths_become_absolute_file_urls(monkeypatch, tmp_path):
    monkeypatch.setenv("REPO_DIGEST_STORE", "relative/store")
    monkeypatch.chdir(tmp_path)
    assert store_url() == f"file://{tmp_path}/relative/store"


def test_default_store_is_digests_under_airflow_home(monkeypatch, tmp_path):
    monkeypatch.delenv("REPO_DIGEST_STORE")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert store_url() == f"file://{tmp_path}/digests"


def test_layout(tmp_path):
    store = DigestStore(f"file://{tmp_path}")
    day = dt.date(2026, 2, 19)
    assert store.digest_path("sgl-project/sglang", day, ".md").path == f"{tmp_path}/sgl-project/sglang/2026/2026-02-19.md"
    assert store.commit_detail_path("a/b", "abc").path == f"{tmp_path}/_cache/a/b/commits/abc.json"
    assert store.work_path("a/b", day, "abc.json").path == f"{tmp_path}/_work/a/b/2026-02-19/abc.json"


def test_writes_replace_atomically_and_leave_no_temporary_files(tmp_path):
    store = DigestStore(f"file://{tmp_path}")
    path = store.digest_path("a/b", dt.date(2026, 2, 19), ".md")
    big_old, big_new = "old\n" * 200_000, "new\n" * 200_000
    store.write_text(path, big_old)
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(store.read_text(path)[:4])
            assert store.read_text(path) in (big_old, big_new)

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(20):
        store.write_text(path, big_new)
        store.write_text(path, big_old)
    stop.set()
    thread.join()
    assert seen <= {"old\n", "new\n"}
    assert sorted(p.name for p in (tmp_path / "a/b/2026").iterdir()) == ["2026-02-19.md"]


def test_read_text_if_exists(tmp_path):
    store = DigestStore(f"file://{tmp_path}")
    path = store.commit_detail_path("a/b", "abc")
    assert store.read_text_if_exists(path) is None
    store.write_text(path, "{}")
    assert store.read_text_if_exists(path) == "{}"
