"""The fault matrix's two verdicts and ways to run a day (docs/RELIABILITY.md).

Every fault must end in one of two states, and the tests say which with these helpers:

- :func:`assert_complete_digest`: the day's Markdown and JSON are there and carry exactly
  the expected commits (table, sections, counts line, JSON, links);
- :func:`assert_failed_cleanly`: the run failed, the failing task's log says what failed
  and how to recover, and the day's digest is absent or, after an earlier success, exactly
  what it was.

Runs go through ``dag.test()`` where Airflow's part matters (task states, retries, logs,
XCom), and through the pipeline functions directly (:func:`digest_day`, the DAG's wiring
without Airflow) where it does not, which keeps the suite fast.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pendulum

from tests.fakes.github_api import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
TZ = "Asia/Shanghai"
REPO = "acme/widgets"
DAG_ID = "repo_digest__acme__widgets"
TOKEN = "ghp_faultMatrixToken0123456789abcdefABCD"


def set_repos(monkeypatch, *entries: dict[str, Any]) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", json.dumps(list(entries)))


def use_github(monkeypatch, github: FakeGitHub, *, token: str = TOKEN, **entry: Any) -> None:
    """Track ``REPO`` (or ``entry['repo']``) on the fake GitHub through ``github_default``."""
    connection = {"conn_type": "github", "password": token, "host": github.base_url}
    monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", json.dumps(connection))
    set_repos(monkeypatch, {"repo": REPO, "timezone": TZ, **entry})


def use_llm(monkeypatch, base_url: str, key: str, **extra: Any) -> None:
    connection = {"conn_type": "openai", "password": key, "host": base_url, "extra": {"model": "gpt-4o-mini", **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_OPENAI_DEFAULT", json.dumps(connection))


# --- running a day ---------------------------------------------------------------------
def load_dag(dag_id: str = DAG_ID):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}, bag.import_errors
    return bag.dags[dag_id]


def run_dag(day: dt.date, expect: str = "success", *, dag_id: str = DAG_ID, conf: dict | None = None):
    """``dag.test()`` for ``day`` with every task's configured retries, taken without delay.

    Only the delay changes (a minute, growing, in the DAG): how often a task is tried is
    the product's, so a test sees whether a fault ends a task at once or after retries.
    """
    dag = load_dag(dag_id)
    for task in dag.tasks:
        task.retry_delay = dt.timedelta(0)
        task.retry_exponential_backoff = False
    dag_run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"), run_conf=conf)
    assert dag_run.state == expect, task_states(dag_run)
    return dag_run


@dataclass(frozen=True)
class TaskState:
    state: str | None
    try_number: int


def task_states(dag_run) -> dict[str, TaskState]:
    """``task_id`` (``task_id[i]`` for mapped instances) -> final state and how often it was tried."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
        )
        return {
            (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): TaskState(
                str(ti.state) if ti.state else None, ti.try_number
            )
            for ti in tis
        }


def digest_day(entry, day: dt.date, store_url: str | None = None, choice=None,
               mapped_out: list | None = None) -> tuple[str, dict]:  # fmt: skip
    """The DAG's tasks as plain calls (fetch, chunk, analyse each mapped item, aggregate, render, publish).

    Returns the published Markdown and JSON; ``mapped_out`` receives the items llm_analyze
    would be mapped over.
    """
    from repo_digest import pipeline
    from repo_digest.analysis.llm_settings import LLMChoice
    from repo_digest.render import render_markdown
    from repo_digest.store import DigestStore

    store = DigestStore(store_url)
    choice = choice or LLMChoice(None, "no_connection")
    frame, branch = pipeline.fetch_day(entry, day, store)
    mapped = pipeline.chunk_day(entry, day, frame, store)
    if mapped_out is not None:
        mapped_out.extend(mapped)
    analyses = [pipeline.analyze_commits(entry, day, item["shas"], store, choice) for item in mapped]
    digest = pipeline.aggregate(entry, day, frame, analyses, branch, choice)
    markdown = render_markdown(digest)
    paths = pipeline.publish_to_store(digest, markdown, store)
    return Path(paths["markdown"].removeprefix("file://")).read_text(encoding="utf-8"), json.loads(
        Path(paths["json"].removeprefix("file://")).read_text(encoding="utf-8")
    )


# --- reading what was published --------------------------------------------------------
def digest_files(store: Path, day: dt.date, repo: str = REPO) -> tuple[Path, Path]:
    base = store / repo / f"{day:%Y}" / day.isoformat()
    return base.with_suffix(".md"), base.with_suffix(".json")


def read_digest(store: Path, day: dt.date, repo: str = REPO) -> tuple[str, dict]:
    markdown, data = digest_files(store, day, repo)
    return markdown.read_text(encoding="utf-8"), json.loads(data.read_text(encoding="utf-8"))


def table_shas(markdown: str) -> list[str]:
    """The 12-character shas the commit table links to, in table order."""
    rows = re.findall(r"^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| .* \| \[.*\]\(#repo-[a-z0-9-]+?-([0-9a-f]{12})\) \|$",
                      markdown, re.MULTILINE)  # fmt: skip
    return rows


def section_shas(markdown: str) -> list[str]:
    return re.findall(r'^<a id="repo-[a-z0-9-]+?-([0-9a-f]{12})"></a>\n#### ', markdown, re.MULTILINE)


def counts_line(data: dict) -> str:
    levels = data["stats"]["by_importance"]
    if data["language"] == "en":
        return (f"> {data['stats']['total']} commits today | 🔴High {levels['high']} | "
                f"🟡Medium {levels['medium']} | 🟢Low {levels['low']}")  # fmt: skip
    return f"> 本日共 {data['stats']['total']} 个提交 | 🔴高 {levels['high']} | 🟡中 {levels['medium']} | 🟢低 {levels['low']}"


def assert_complete_digest(markdown: str, data: dict, shas: Sequence[str]) -> None:
    """Exactly ``shas`` (newest first), each once in the table, the sections and the JSON; counts match."""
    from repo_digest.markdown import unresolved_links

    assert [commit["sha"] for commit in data["commits"]] == list(shas)
    assert table_shas(markdown) == [sha[:12] for sha in shas]
    assert sorted(section_shas(markdown)) == sorted(sha[:12] for sha in shas)
    assert data["stats"]["total"] == len(shas) == sum(data["stats"]["by_importance"].values())
    assert counts_line(data) in markdown
    assert unresolved_links(markdown) == []


def assert_failed_cleanly(
    dag_run,
    task_id: str,
    log: str,
    says: Sequence[str],
    store: Path,
    day: dt.date,
    *,
    previous: tuple[str, str] | None = None,
    tries: int | None = None,
) -> None:
    """The run failed at ``task_id`` (tried ``tries`` times), its log ``says`` each phrase, and the
    day's digest is absent, or byte for byte the ``previous`` (markdown, json) texts."""
    states = task_states(dag_run)
    assert dag_run.state == "failed"
    failed = {name: state for name, state in states.items() if state.state == "failed"}
    assert any(name == task_id or name.startswith(f"{task_id}[") for name in failed), states
    if tries is not None:
        assert {state.try_number for name, state in failed.items() if name.split("[")[0] == task_id} == {tries}
    assert states["publish"].state in ("upstream_failed", "failed")
    for phrase in says:
        assert phrase in log, f"{phrase!r} is not in the task log"
    markdown, data = digest_files(store, day, dag_run_repo(dag_run))
    if previous is None:
        assert not markdown.is_file() and not data.is_file()
    else:
        assert (markdown.read_text(encoding="utf-8"), data.read_text(encoding="utf-8")) == previous


def dag_run_repo(dag_run) -> str:
    owner, name = dag_run.dag_id.removeprefix("repo_digest__").split("__")
    return f"{owner}/{name}"


def captured(capfd) -> str:
    out = capfd.readouterr()
    return out.out + out.err


def synthetic_digest(titles: Sequence[str], day: dt.date = dt.date(2026, 2, 19), repo: str = REPO):
    """A digest of commits with these titles (rule-based analyses) and its Markdown, without any source."""
    import hashlib

    from repo_digest.analysis.rules import analyze_by_rules
    from repo_digest.commits import CommitDetail, CommitRecord, FileChange
    from repo_digest.diffs import prepare_input
    from repo_digest.digest import build_digest
    from repo_digest.render import render_markdown

    records, analyses = [], []
    for index, title in enumerate(titles):
        sha = hashlib.sha1(f"{repo}|{title}|{index}".encode()).hexdigest()
        moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC) - dt.timedelta(minutes=index)
        record = CommitRecord(sha=sha, author_name="Alice", author_date=moment, committer_date=moment, title=title,
                              message=title, url=f"https://github.com/{repo}/commit/{sha}", additions=1,
                              files_changed=1)  # fmt: skip
        detail = CommitDetail(sha=sha, files=[FileChange(path=f"src/m{index}.py", additions=1, patch="@@ -0,0 +1 @@\n+x")])
        records.append(record)
        analyses.append(analyze_by_rules(prepare_input(record, detail), "en"))
    digest = build_digest(repo=repo, day=day, timezone="UTC", language="en", source="github", branch="main",
                          commits=records, analyses=analyses, analysis_note="no_connection")  # fmt: skip
    return digest, render_markdown(digest)


def coherent(markdown: str, data: dict) -> bool:
    """The Markdown's table lists exactly the JSON's commits: both files come from one run."""
    return table_shas(markdown) == [commit["sha"][:12] for commit in data["commits"]]


def fast_import(path: Path, commits: Sequence[tuple[dt.datetime, bytes, dict[str, bytes]]], branch: str = "main") -> None:
    """Build a repository's history in one ``git fast-import``: (committer time, raw message, files) per commit.

    Thousands of commits, or a commit of thousands of files, in a second.
    """
    from tests.fakes.git_fixture import init_repo, run_git

    init_repo(path)
    stream: list[bytes] = []
    for mark, (when, message, files) in enumerate(commits, start=1):
        stamp = f"{int(when.timestamp())} +0000".encode()
        stream += [f"commit refs/heads/{branch}\nmark :{mark}\n".encode(),
                   b"author Alice <alice@example.com> " + stamp + b"\n",
                   b"committer Alice <alice@example.com> " + stamp + b"\n",
                   b"data %d\n" % len(message), message, b"\n"]  # fmt: skip
        if mark > 1:
            stream.append(f"from :{mark - 1}\n".encode())
        for name, content in files.items():
            stream += [f"M 100644 inline {name}\n".encode(), b"data %d\n" % len(content), content, b"\n"]
    run_git(path, "fast-import", "--quiet", stdin=b"".join(stream))
    run_git(path, "checkout", "-q", "-f", branch)
