"""The repo DAG end to end with dag.test(): fake GitHub over a socket, a real git fixture, the store.

What a manual run (`airflow dags test DAG D`) must produce: a digest whose table is exactly
the fixture's commits of day D in the repo's timezone, newest first, one section per commit,
the counts line matching, every internal link resolving.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pendulum
import pytest
from markdown_it import MarkdownIt

from repo_digest.markdown import unresolved_links
from tests.fakes.git_fixture import FixtureRepo, build_fixture_repo
from tests.fakes.github_api import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
TZ = "Asia/Shanghai"
REPO = "acme/widgets"
DAG_ID = "repo_digest__acme__widgets"
TOKEN = "ghp_test_token_not_real"


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory) -> FixtureRepo:
    return build_fixture_repo(tmp_path_factory.mktemp("fixture") / "widgets")


@pytest.fixture(scope="module")
def github(fixture_repo):
    # A small page size makes the busy day span several pages of the commit list.
    with FakeGitHub(token=TOKEN, max_per_page=10) as server:
        server.add_repo(REPO, fixture_repo.path, logins=fixture_repo.logins)
        yield server


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REPO_DIGEST_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("REPO_DIGEST_GIT_CACHE", str(tmp_path / "git-cache"))
    return tmp_path / "store"


def use_github(monkeypatch, github: FakeGitHub, **entry: object) -> None:
    connection = {"conn_type": "github", "password": TOKEN, "host": github.base_url}
    monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", json.dumps([{"repo": REPO, "timezone": TZ, **entry}]))


def run_day(day: dt.date):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    dag_run = bag.dags[DAG_ID].test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"))
    assert dag_run.state == "success"
    return dag_run


def read_digest(store: Path, day: dt.date) -> tuple[str, dict]:
    base = store / "acme" / "widgets" / f"{day:%Y}" / day.isoformat()
    return base.with_suffix(".md").read_text(encoding="utf-8"), json.loads(base.with_suffix(".json").read_text())


TABLE_ROW_RE = re.compile(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \| (.*?) \| \[.*\]\(#repo-acme-widgets-([0-9a-f]{12})\) \|$")


def table_rows(markdown: str) -> list[tuple[str, str, str]]:
    return [m.groups() for line in markdown.splitlines() if (m := TABLE_ROW_RE.match(line))]


def assert_digest_matches_fixture(markdown: str, data: dict, fixture_repo: FixtureRepo, day: dt.date) -> None:
    expected = fixture_repo.commits_on(day, TZ)
    local = pendulum.timezone(TZ)
    rows = table_rows(markdown)
    # The table: every commit of the day, newest first, nothing else.
    assert [sha for _, _, sha in rows] == [c.sha[:12] for c in expected]
    assert [time for time, _, _ in rows] == [
        c.committer_date.astimezone(local).strftime("%Y-%m-%d %H:%M:%S") for c in expected
    ]
    # The JSON beside it carries the same commits with their exact authors and titles.
    assert [c["sha"] for c in data["commits"]] == [c.sha for c in expected]
    assert [c["author_name"] for c in data["commits"]] == [c.author_name for c in expected]
    assert [c["title"] for c in data["commits"]] == [c.title for c in expected]
    assert [c["is_merge"] for c in data["commits"]] == [c.is_merge for c in expected]
    # One section per commit, counts line matching the table, links resolving.
    sections = re.findall(r'^<a id="repo-acme-widgets-([0-9a-f]{12})"></a>\n#### ', markdown, re.MULTILINE)
    assert sorted(sections) == sorted(c.sha[:12] for c in expected)
    levels = data["stats"]["by_importance"]
    assert f"> 本日共 {len(expected)} 个提交 | 🔴高 {levels['high']} | 🟡中 {levels['medium']} | 🟢低 {levels['low']}" in markdown
    assert sum(levels.values()) == len(expected)
    assert unresolved_links(markdown) == []


def test_a_day_from_github_is_exactly_the_fixtures_day(monkeypatch, airflow_db, github, store, fixture_repo):
    use_github(monkeypatch, github)
    day = dt.date(2026, 2, 19)
    run_day(day)
    markdown, data = read_digest(store, day)
    assert_digest_matches_fixture(markdown, data, fixture_repo, day)
    # Day-boundary cases: 23:59:59 is in, 00:00:00 of the 20th is out, the commit
    # authored on the 17th but committed on the 19th is in.
    titles = [c["title"] for c in data["commits"]]
    assert "chore: last commit of the 19th" in titles
    assert "docs: first commit of the 20th" not in titles
    assert "fix(api): retry on timeout" in titles
    merge = next(c for c in data["commits"] if c["is_merge"])
    assert merge["pr_number"] == 12 and merge["pr_url"].endswith("/acme/widgets/pull/12")
    assert {c["author_login"] for c in data["commits"]} >= {"alice", None}
    # The hostile title is one escaped table row, not markup.
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script" not in html and 'href="javascript' not in html
    assert len(table_rows(markdown)) == 7
    assert data["language"] == "zh" and data["timezone"] == TZ and data["branch"] == "main"


def test_a_dags_test_run_looks_like_any_other_run(monkeypatch, airflow_db, github, store):
    """`airflow dags test DAG 2026-02-19` (the quickstart's run) in the UI: its start, its day, its note."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    use_github(monkeypatch, github)
    day = dt.date(2026, 2, 19)
    began = pendulum.now("UTC")
    run_id = run_day(day).run_id
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id).one()
        # Airflow starts a dags-test run at its logical date: a duration of months in the UI's charts.
        assert began <= run.start_date <= run.end_date <= pendulum.now("UTC")
        assert run.end_date - run.start_date < dt.timedelta(minutes=5)
        assert run.logical_date == pendulum.datetime(2026, 2, 19, tz="UTC")
        assert run.note == "Digest of 2026-02-19 (Asia/Shanghai): commits from 2026-02-18 16:00 to 2026-02-19 16:00 UTC."


def test_a_busy_day_spans_several_pages(monkeypatch, airflow_db, github, store, fixture_repo):
    use_github(monkeypatch, github)
    github.clear_requests()
    day = dt.date(2026, 2, 18)
    run_day(day)
    markdown, data = read_digest(store, day)
    assert len(data["commits"]) == 48
    assert_digest_matches_fixture(markdown, data, fixture_repo, day)
    pages = [r for r in github.requests if r.path == f"/repos/{REPO}/commits"]
    assert len(pages) >= 5
    assert all(r.has_auth for r in github.requests)


def test_a_day_without_commits_says_so(monkeypatch, airflow_db, github, store, fixture_repo):
    use_github(monkeypatch, github)
    day = dt.date(2026, 2, 21)
    assert fixture_repo.commits_on(day, TZ) == []
    run_day(day)
    markdown, data = read_digest(store, day)
    assert data["commits"] == [] and data["stats"]["total"] == 0
    assert "2026-02-21 没有新的提交。" in markdown
    assert "> 本日共 0 个提交 | 🔴高 0 | 🟡中 0 | 🟢低 0" in markdown


def test_a_rerun_replaces_the_digest_and_reuses_cached_commit_details(
    monkeypatch, airflow_db, github, store, fixture_repo
):
    use_github(monkeypatch, github)
    day = dt.date(2026, 2, 20)
    run_day(day)
    first_markdown, first_data = read_digest(store, day)
    github.clear_requests()
    run_day(day)
    markdown, data = read_digest(store, day)
    assert (markdown, data) == (first_markdown, first_data)
    assert sorted(p.name for p in (store / "acme" / "widgets" / "2026").iterdir()) == [
        "2026-02-20.json", "2026-02-20.md",
    ]  # fmt: skip
    # Commit details never change for a sha: the rerun lists commits and fetches none.
    detail_requests = [r for r in github.requests if re.fullmatch(rf"/repos/{REPO}/commits/[0-9a-f]{{40}}", r.path)]
    assert detail_requests == []
    # Nothing but the commit list's pages: not even the repository (its default branch is cached).
    assert {r.path for r in github.requests} == {f"/repos/{REPO}/commits"}
    assert_digest_matches_fixture(markdown, data, fixture_repo, day)


def test_english_digest(monkeypatch, airflow_db, github, store, fixture_repo):
    use_github(monkeypatch, github, language="en")
    day = dt.date(2026, 2, 22)
    run_day(day)
    markdown, data = read_digest(store, day)
    assert markdown.startswith("# Daily Update Report (2026-02-22)\n")
    expected = fixture_repo.commits_on(day, TZ)
    assert [c["sha"] for c in data["commits"]] == [c.sha for c in expected]
    assert f"> {len(expected)} commits today | " in markdown
    assert not re.search(r"[\u4e00-\u9fff]", markdown)
    assert unresolved_links(markdown) == []


def test_the_git_source_gives_the_same_table(monkeypatch, airflow_db, store, fixture_repo):
    entry = {"repo": REPO, "timezone": TZ, "source": "git", "url": str(fixture_repo.path)}
    monkeypatch.setenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", json.dumps([entry]))
    day = dt.date(2026, 2, 19)
    run_day(day)
    markdown, data = read_digest(store, day)
    assert_digest_matches_fixture(markdown, data, fixture_repo, day)
    assert all(c["url"] is None for c in data["commits"])  # a local path has no web page


def test_the_combined_report_lists_every_repo_and_marks_the_pending(monkeypatch, airflow_db, github, store, fixture_repo):
    from airflow.dag_processing.dagbag import DagBag

    use_github(monkeypatch, github)
    gadgets = {"repo": "acme/gadgets", "timezone": TZ, "source": "git", "url": str(fixture_repo.path), "language": "en"}
    entries = [{"repo": REPO, "timezone": TZ}, gadgets]
    monkeypatch.setenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", json.dumps(entries))
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    day = dt.date(2026, 2, 20)
    combined_md = store / "_all" / "2026" / "2026-02-20.md"

    assert bag.dags[DAG_ID].test(logical_date=pendulum.datetime(2026, 2, 20, tz="UTC")).state == "success"
    assert bag.dags["repo_digest__all"].test(run_conf={"day": day.isoformat()}).state == "success"
    first = combined_md.read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", first, re.MULTILINE)
    assert sections == ["acme/widgets", "acme/gadgets"]
    assert "acme/gadgets" in json.loads(combined_md.with_suffix(".json").read_text())["repos"][1]["repo"]
    assert "⏳" in first.split("## acme/gadgets", 1)[1]  # pending, not left out
    assert "> 跟踪 2 个仓库：已生成 1 个，待生成 1 个" in first

    assert bag.dags["repo_digest__acme__gadgets"].test(
        logical_date=pendulum.datetime(2026, 2, 20, tz="UTC")
    ).state == "success"
    assert bag.dags["repo_digest__all"].test(run_conf={"day": day.isoformat()}).state == "success"
    second = combined_md.read_text(encoding="utf-8")
    assert "⏳" not in second and "> 跟踪 2 个仓库：已生成 2 个，待生成 0 个" in second
    expected = len(fixture_repo.commits_on(day, TZ))
    assert len(table_rows(second)) == expected  # the acme/widgets table; gadgets' rows name its own anchors
    assert len(re.findall(r"#repo-acme-gadgets-[0-9a-f]{12}\) \|$", second, re.MULTILINE)) == expected
    assert unresolved_links(second) == []


def test_publishing_to_chat_and_an_issue_happens_once_per_content(monkeypatch, airflow_db, github, store, fixture_repo):
    from tests.fakes.receivers import SlackReceiver

    with SlackReceiver() as slack:
        use_github(monkeypatch, github, publish=[
            {"type": "slack", "conn_id": "slack_team"},
            {"type": "github_issue", "repo": REPO, "labels": ["repo-digest"]},
        ])  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_TEAM", json.dumps({"conn_type": "slackwebhook", "password": slack.url}))
        day = dt.date(2026, 2, 19)
        run_day(day)
        run_day(day)  # a rerun of an unchanged day sends nothing again
        assert len(slack.messages) == 1
        assert "7" in json.dumps(slack.messages[0].json(), ensure_ascii=False)  # the counts line
        issues = [r for r in github.requests if r.method == "POST" and r.path == f"/repos/{REPO}/issues"]
        assert len(issues) == 1
        assert slack.token not in "".join(path.read_text() for path in store.rglob("*.json"))


def test_a_day_not_over_is_digested_partial_and_kept_from_the_team(monkeypatch, airflow_db, github, store):
    """A run for today (the Trigger dialog's "now"): the digest says it is partial; no target hears of it yet."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.fakes.receivers import SlackReceiver

    with SlackReceiver() as slack:
        use_github(monkeypatch, github, publish=[{"type": "slack", "conn_id": "slack_team"}])
        monkeypatch.setenv("AIRFLOW_CONN_SLACK_TEAM", json.dumps({"conn_type": "slackwebhook", "password": slack.url}))
        now = pendulum.now("UTC").replace(microsecond=0)
        bag = DagBag(dag_folder=str(ROOT / "dags"))
        assert bag.dags[DAG_ID].test(logical_date=now).state == "success"
        assert slack.messages == []
    day = now.in_timezone(TZ).date()
    markdown, data = read_digest(store, day)
    until = pendulum.parse(data["partial_until"])
    assert now <= until <= pendulum.now("UTC")
    assert f"> ⚠️ 部分日：{day} 尚未结束，本摘要只含截至 {until.in_timezone(TZ):%H:%M}（{TZ}）的提交" in markdown
