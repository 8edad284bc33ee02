"""Two runs of the same repo and day at once: one coherent digest, never a Markdown of one run
beside the JSON of the other.

Airflow runs one ``publish`` per repo DAG at a time (``max_active_tis_per_dag=1``,
tests/dags/test_dagbag.py::test_dag_shape); the store's day lock also covers what Airflow does
not see, such as ``airflow dags test`` of a day while the scheduler runs it. Here
``publish_to_store`` races itself in threads, with the gap between its two writes widened
so that an unguarded interleaving would be certain.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from repo_digest.pipeline import publish_to_store
from repo_digest.store import DigestStore
from tests.faults.helpers import REPO, coherent, synthetic_digest


@pytest.fixture
def slow_json(monkeypatch) -> dict[str, float]:
    """Each thread pauses after writing the day's JSON for ``pause[thread name]`` seconds."""
    pause: dict[str, float] = {}
    real = DigestStore.write_text

    def write_text(self, path, text):
        real(self, path, text)
        if str(path).endswith(".json"):
            time.sleep(pause.get(threading.current_thread().name, 0.0))

    monkeypatch.setattr(DigestStore, "write_text", write_text)
    return pause


def read_pair(tmp_path: Path, day) -> tuple[str, dict]:
    base = tmp_path / REPO / f"{day:%Y}" / day.isoformat()
    return base.with_suffix(".md").read_text(encoding="utf-8"), json.loads(base.with_suffix(".json").read_text())


def test_two_publishes_of_one_day_racing_leave_both_files_from_one_run(tmp_path, slow_json):
    store = DigestStore(f"file://{tmp_path}")
    first, first_md = synthetic_digest(["feat: run A one", "fix: run A two"])
    second, second_md = synthetic_digest(["feat: run B one", "fix: run B two", "docs: run B three"])
    # A writes its JSON, then dawdles; B starts meanwhile and is quick. Unguarded, B's pair
    # lands inside A's gap and A's Markdown lands last: A's table beside B's data.
    slow_json.update({"run-A": 0.4, "run-B": 0.0})
    a = threading.Thread(target=publish_to_store, args=(first, first_md, store), name="run-A")
    b = threading.Thread(target=publish_to_store, args=(second, second_md, store), name="run-B")
    a.start()
    time.sleep(0.1)
    b.start()
    a.join()
    b.join()
    markdown, data = read_pair(tmp_path, first.day)
    assert coherent(markdown, data), "the Markdown and the JSON come from different runs"
    assert markdown in (first_md, second_md)


def test_many_publishes_racing_end_coherent_every_time(tmp_path, slow_json):
    store = DigestStore(f"file://{tmp_path}")
    runs = [synthetic_digest([f"feat: run {n} change {i}" for i in range(n + 1)]) for n in range(6)]
    for round_ in range(3):
        threads = []
        for n, (digest, markdown) in enumerate(runs):
            name = f"round{round_}-run{n}"
            slow_json[name] = 0.02 * ((n + round_) % 3)
            threads.append(threading.Thread(target=publish_to_store, args=(digest, markdown, store), name=name))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        markdown, data = read_pair(tmp_path, runs[0][0].day)
        assert coherent(markdown, data) and markdown in [md for _, md in runs]
    folder = tmp_path / REPO / f"{runs[0][0].day:%Y}"
    assert sorted(p.name for p in folder.iterdir()) == [f"{runs[0][0].day}.json", f"{runs[0][0].day}.md"]
