"""A day whose history was rewritten (force-push) between two runs of it.

The rerun reads the branch as it is now: the digest is replaced by one of exactly the new
commits, nothing of the old ones remains in it (nor in the combined report), and the new
shas' details are fetched while the old shas' cached details are simply never read again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from tests.fakes.git_fixture import ALICE, BOB, commit, head_sha, init_repo, run_git
from tests.fakes.github_api import FakeGitHub
from tests.faults.helpers import TOKEN, assert_complete_digest, read_digest, run_dag, set_repos

REPO = "acme/rewritten"
DAG_ID = "repo_digest__acme__rewritten"
DAY = dt.date(2026, 3, 2)
UTC = dt.UTC


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC)


def build(path: Path) -> tuple[str, list[str]]:
    """A base commit the day before, then two commits on DAY; returns (base, day's shas newest first)."""
    init_repo(path)
    base = commit(path, {"README.md": "# rewritten\n"}, "docs: start", author=ALICE,
                  author_date=at(9) - dt.timedelta(days=1))  # fmt: skip
    first = commit(path, {"src/a.py": "A = 1\n"}, "feat: old commit one", author=ALICE, author_date=at(9))
    second = commit(path, {"src/a.py": "A = 2\n"}, "fix: old commit two", author=BOB, author_date=at(11))
    return base, [second, first]


def rewrite(path: Path, base: str) -> list[str]:
    """Force-push: DAY's commits replaced by three others (different content, times and titles)."""
    run_git(path, "reset", "-q", "--hard", base)
    shas = [
        commit(path, {"src/b.py": "B = 1\n"}, "feat: new commit one", author=BOB, author_date=at(8, 30)),
        commit(path, {"src/b.py": "B = 2\n"}, "perf: new commit two", author=ALICE, author_date=at(10, 15)),
        commit(path, {"src/c.py": "C = 3\n"}, "fix: new commit three", author=BOB, author_date=at(13, 45)),
    ]
    assert head_sha(path) == shas[-1]
    return shas[::-1]


@pytest.mark.parametrize("source", ["github", "git"])
def test_a_force_pushed_day_is_replaced_on_rerun_and_nothing_stale_remains(
    source, monkeypatch, airflow_db, store, tmp_path
):
    path = tmp_path / "rewritten"
    base, old = build(path)
    combined = store / "_all" / f"{DAY:%Y}" / f"{DAY.isoformat()}.md"
    with FakeGitHub(token=TOKEN) as github:
        github.add_repo(REPO, path)
        if source == "github":
            connection = {"conn_type": "github", "password": TOKEN, "host": github.base_url}
            monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", json.dumps(connection))
            set_repos(monkeypatch, {"repo": REPO, "timezone": "UTC"})
        else:
            set_repos(monkeypatch, {"repo": REPO, "timezone": "UTC", "source": "git", "url": str(path)})

        run_dag(DAY, dag_id=DAG_ID)
        markdown, data = read_digest(store, DAY, REPO)
        assert_complete_digest(markdown, data, old)
        run_dag(DAY, dag_id="repo_digest__all", conf={"day": DAY.isoformat()})  # as the digest's asset does
        assert "old commit one" in combined.read_text(encoding="utf-8")

        new = rewrite(path, base)
        github.clear_requests()
        run_dag(DAY, dag_id=DAG_ID)
        markdown, data = read_digest(store, DAY, REPO)
        assert_complete_digest(markdown, data, new)
        run_dag(DAY, dag_id="repo_digest__all", conf={"day": DAY.isoformat()})
        if source == "github":  # the new shas' details were fetched, the old ones' not asked for
            details = {r.path.rsplit("/", 1)[1] for r in github.requests if re.search(r"/commits/[0-9a-f]{40}$", r.path)}
            assert details == set(new)

    # Nothing of the old history in the digest, its data or the day's combined report.
    texts = [markdown, json.dumps(data), combined.read_text(encoding="utf-8")]
    for text in texts:
        for sha in old:
            assert sha[:7] not in text
        assert "old commit" not in text
    assert sorted(p.name for p in (store / REPO / f"{DAY:%Y}").iterdir()) == [f"{DAY}.json", f"{DAY}.md"]
    # The commit cache is by sha: the old entries stay, unused; the new ones were added.
    cached = {p.stem for p in (store / "_cache" / REPO / "commits").iterdir()}
    assert cached == set(old) | set(new)
