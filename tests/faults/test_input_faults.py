"""Hostile or extreme input: the Variable, repository names, timezones, commit text, patches that
are not UTF-8, a commit of 5,000 files, a day of 2,000 commits, an empty repository.

Each gets a clear error naming what and where, or a correct digest.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from markdown_it import MarkdownIt

from repo_digest.analysis.llm_settings import settings_from_connection
from repo_digest.config import RepoEntry, parse_repo_entries
from repo_digest.markdown import display_width
from tests.fakes.git_fixture import ALICE, build_empty_repo, commit, init_repo, run_git
from tests.fakes.github_api import FakeGitHub
from tests.fakes.openai_api import FakeOpenAI
from tests.faults.helpers import (
    ROOT, TOKEN, assert_complete_digest, digest_day, fast_import, read_digest, run_dag, set_repos, task_states,
)  # fmt: skip

DAY = dt.date(2026, 3, 5)
NOON = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)


def dagbag(monkeypatch, raw: str):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", raw)
    return DagBag(dag_folder=str(ROOT / "dags"))


def use_fake_github(monkeypatch, github: FakeGitHub) -> None:
    connection = {"conn_type": "github", "password": TOKEN, "host": github.base_url}
    monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", json.dumps(connection))


# --- the Variable ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("[{\"repo\": \"acme/widgets\",}]", "repo_digest_repos: is not valid JSON: "),
        ('{"repo": "acme/widgets"}', 'repo_digest_repos: must be a JSON list like [{"repo": "owner/name"}], got dict'),
        ('"acme/widgets"', "repo_digest_repos: must be a JSON list like [{\"repo\": \"owner/name\"}], got str"),
    ],
    ids=["not_json", "an_object", "a_string"],
)
def test_a_variable_that_is_not_a_json_list_is_one_named_import_error(raw, says, monkeypatch, airflow_db):
    bag = dagbag(monkeypatch, raw)
    assert bag.dag_ids == []
    assert [says in message for message in bag.import_errors.values()] == [True]
    assert list(bag.import_errors) == [str(ROOT / "dags" / "repo_digest_config_check.py")]


def test_bad_entries_are_each_named_by_index_key_and_value_and_the_good_ones_keep_their_dags(monkeypatch, airflow_db):
    entries = [
        {"repo": "acme/widgets"},
        {"repo": "ACME/Widgets"},  # the same repository: GitHub names are case-insensitive
        {"repo": "acme/../etc"},
        {"repo": "acme/.."},
        {"repo": "../widgets"},
        {"repo": "acme/my widgets"},
        {"repo": "acme\\widgets"},
        {"repo": "acme/gadgets", "timezone": "Mars/Olympus"},
        {"repo": "acme/gizmos", "timezone": "../../etc/passwd"},
        {"repo": "acme/doohickeys", "timezone": "Asia/Shanghai"},
    ]
    bag = dagbag(monkeypatch, json.dumps(entries))
    assert sorted(bag.dag_ids) == ["repo_digest__acme__doohickeys", "repo_digest__acme__widgets", "repo_digest__all"]
    (message,) = bag.import_errors.values()
    for says in [
        "repo_digest_repos has 8 problems; the other entries' DAGs are unaffected",
        "repo_digest_repos[1] (repo 'ACME/Widgets'), key 'repo': duplicates entry 0; kept the first",
        "repo_digest_repos[2] (repo 'acme/../etc'), key 'repo': 'acme/../etc' must be 'owner/name' with exactly one '/'",
        "repo_digest_repos[3] (repo 'acme/..'), key 'repo': 'acme/..' name '..' must be",
        "repo_digest_repos[4] (repo '../widgets'), key 'repo': '../widgets' owner '..' must be",
        "repo_digest_repos[5] (repo 'acme/my widgets'), key 'repo': 'acme/my widgets' name 'my widgets' must be",
        "repo_digest_repos[6] (repo 'acme\\\\widgets'), key 'repo'",
        "repo_digest_repos[7] (repo 'acme/gadgets'), key 'timezone': 'Mars/Olympus' is not an IANA timezone name",
        "repo_digest_repos[8] (repo 'acme/gizmos'), key 'timezone': '../../etc/passwd' is not an IANA timezone name",
    ]:
        assert says in message, message


def test_no_accepted_repo_name_leaves_the_store():
    from repo_digest.store import DigestStore

    store = DigestStore("file:///srv/digests")
    accepted = [e.repo for e in parse_repo_entries(json.dumps(
        [{"repo": r} for r in ("a/...", "a/.hidden", "a/b.c", "a-b/c_d", "0/0", "a/..", "a/.", "a/b/../c")]
    )).entries]  # fmt: skip
    assert accepted == ["a/...", "a/.hidden", "a/b.c", "a-b/c_d", "0/0"]
    for repo in accepted:
        path = store.digest_path(repo, DAY, ".md").path
        assert path.startswith("/srv/digests/") and "/../" not in path and "/./" not in path


# --- commit text and patches ------------------------------------------------------------
LONG_TITLE = "feat: " + " ".join(f"word{i}" for i in range(2000))[: 10_000 - 6]
HOSTILE_TITLE = (
    "fix: a | b `code` ``x`` <script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[click](javascript:alert(3)) ![i](javascript:alert(4)) <https://evil.example>"
)
BREAKING_TITLE = "docs: one\rtwo\u2028three\u0085four\x0bfive\ttab"
HOSTILE_BODY = "\n\n## Injected heading\n| a | b |\n|---|---|\n<details><summary>x</summary></details>\n```\nfence"
NOT_UTF8_MESSAGE = b"chore: caf\xe9 cr\xe8me \xff\xfe end\n\nbody \x80\n"
NOT_UTF8_PATCH = b"caf\xe9 au lait\n\xff\xfe not utf-8 \x80\x81\n"


def build_hostile(path):
    init_repo(path)
    commit(path, {"README.md": "# hostile\n"}, "docs: start", author=ALICE, author_date=NOON - dt.timedelta(days=1))
    shas = [
        commit(path, {"src/a.py": "A = 1\n"}, LONG_TITLE, author=ALICE, author_date=NOON),
        commit(path, {"docs/a | b `c` <x>.md": "text\n"}, HOSTILE_TITLE + HOSTILE_BODY,
               author=("<b>Mallory</b> | `x` [y](javascript:z)", "mallory@example.com"),
               author_date=NOON + dt.timedelta(minutes=1)),
        commit(path, {"src/b.py": "B = 2\n"}, BREAKING_TITLE, author=ALICE, author_date=NOON + dt.timedelta(minutes=2)),
        commit(path, {"data/latin1.txt": NOT_UTF8_PATCH}, "feat: a patch that is not UTF-8", author=ALICE,
               author_date=NOON + dt.timedelta(minutes=3)),
    ]  # fmt: skip
    # A message in no valid encoding, written as a raw commit object: `git commit` would
    # have re-read the bytes as Latin-1.
    (path / "src" / "c.py").write_text("C = 3\n")
    run_git(path, "add", "src/c.py")
    tree = run_git(path, "write-tree").decode().strip()
    stamp = f"{int((NOON + dt.timedelta(minutes=4)).timestamp())} +0000"
    raw = (f"tree {tree}\nparent {shas[-1]}\nauthor Alice <a@example.com> {stamp}\n"
           f"committer Alice <a@example.com> {stamp}\n\n").encode() + NOT_UTF8_MESSAGE  # fmt: skip
    sha = run_git(path, "hash-object", "-w", "-t", "commit", "--stdin", stdin=raw).decode().strip()
    run_git(path, "update-ref", "refs/heads/main", sha)
    run_git(path, "reset", "-q", "--hard", sha)
    shas.append(sha)
    return shas[::-1]  # newest first


@pytest.mark.parametrize("source", ["github", "git"])
def test_hostile_commit_text_and_non_utf8_patches_give_a_correct_digest(source, monkeypatch, airflow_db, store,
                                                                         tmp_path):  # fmt: skip
    path = tmp_path / "hostile"
    shas = build_hostile(path)
    with FakeGitHub(token=TOKEN) as github:
        github.add_repo("acme/hostile", path)
        use_fake_github(monkeypatch, github)
        entry = {"repo": "acme/hostile", "timezone": "UTC"}
        set_repos(monkeypatch, entry if source == "github" else {**entry, "source": "git", "url": str(path)})
        run_dag(DAY, dag_id="repo_digest__acme__hostile")
    markdown, data = read_digest(store, DAY, "acme/hostile")
    assert_complete_digest(markdown, data, shas)

    # Nothing lost: the data keeps every title whole, the undecodable bytes as U+FFFD.
    titles = {c["sha"]: c["title"] for c in data["commits"]}
    assert titles[shas[4]] == LONG_TITLE and len(LONG_TITLE) == 10_000
    assert titles[shas[3]] == HOSTILE_TITLE
    assert titles[shas[0]] == "chore: caf\ufffd cr\ufffdme \ufffd\ufffd end"
    cached = json.loads((store / "_cache" / "acme" / "hostile" / "commits" / f"{shas[1]}.json").read_text())
    assert "caf\ufffd au lait" in cached["files"][0]["patch"]

    # The report shows them as text: cut titles, one table, one heading per commit, no markup.
    long_lines = [line for line in markdown.splitlines() if "word0 word1" in line]
    heading = next(line for line in long_lines if line.startswith("#### "))
    toc = next(line for line in long_lines if line.startswith("  - ["))
    row = next(line for line in long_lines if line.startswith("| "))
    assert heading.endswith("…") and display_width(heading.removeprefix("#### ")) <= 200
    assert display_width(toc.split("](")[0].removeprefix("  - [")) <= 40
    assert display_width(row.split("[", 1)[1].split("](")[0]) <= 200
    assert max(display_width(line) for line in markdown.splitlines()) < 1200
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert html.count("<table>") == 1 and html.count("<h4>") == len(shas) and html.count("<h2>") == 1
    for bad in ("<script", "<img", "<details", 'href="javascript', 'src="javascript', "<b>Mallory", "<h2>Injected"):
        assert bad not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, not run
    assert "<code>docs/a | b `c` &lt;x&gt;.md</code>" in html  # a path with backticks, quoted whole
    assert len(re.findall(r"^\| ", markdown, re.MULTILINE)) == len(shas) + 1  # the header, one row per commit


# --- a commit of 5,000 files -------------------------------------------------------------
@pytest.mark.parametrize("analyzer", ["llm", "rules"])
def test_a_commit_of_5000_files_says_its_file_list_was_truncated(analyzer, monkeypatch, airflow_db, store, tmp_path):
    path = tmp_path / "huge"
    files = {f"pkg{i // 500}/mod{i}.py": f"VALUE_{i} = {i}\n".encode() for i in range(5000)}
    fast_import(path, [(NOON - dt.timedelta(days=1), b"docs: start\n", {"README.md": b"# huge\n"}),
                       (NOON, b"refactor: touch five thousand files\n", files)])  # fmt: skip
    with FakeGitHub(token=TOKEN) as github, FakeOpenAI(api_key="sk-huge") as llm:
        github.add_repo("acme/huge", path)
        use_fake_github(monkeypatch, github)
        choice = None
        if analyzer == "llm":
            choice = settings_from_connection("openai_default", "sk-huge", llm.base_url, {"model": "gpt-4o-mini"}, None)
        entry = RepoEntry(repo="acme/huge", timezone="UTC", language="en")
        markdown, data = digest_day(entry, DAY, choice=choice)
    (commit_data,) = data["commits"]
    assert commit_data["analysis"]["analyzer"] == analyzer and commit_data["analysis"]["fallback_reason"] is None
    # GitHub listed 3,000 of the 5,000: the digest says so where the commit's coverage is shown.
    assert commit_data["files_changed"] == 3000 and commit_data["analysis"]["coverage"]["files_truncated"] is True
    assert "the source listed only the first 3000 files (the file list was truncated; the commit changes more)" in markdown


# --- a day of 2,000 commits ---------------------------------------------------------------
def test_a_day_of_2000_commits_is_mapped_within_max_map_length_and_loses_none(airflow_db, store, tmp_path):
    path = tmp_path / "busy"
    start = dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC)
    history = [(start - dt.timedelta(days=1), b"docs: start\n", {"README.md": b"# busy\n"})]
    history += [(start + dt.timedelta(seconds=40 * i + 1), f"fix: change number {i}\n".encode(),
                 {f"src/f{i % 50}.py": f"X = {i}\n".encode()}) for i in range(2000)]  # fmt: skip
    fast_import(path, history)
    entry = RepoEntry(repo="acme/busy", timezone="UTC", source="git", url=str(path))
    mapped: list = []
    markdown, data = digest_day(entry, DAY, mapped_out=mapped)
    expected = run_git(path, "rev-list", "--max-count=2000", "main").decode().split()
    assert_complete_digest(markdown, data, expected)
    # What llm_analyze is mapped over: within Airflow's default max_map_length (1024), so
    # two commits an instance, every commit in exactly one, labelled by its first commit.
    assert len(mapped) == 1000 and {len(item["shas"]) for item in mapped} == {2}
    assert sorted(sha for item in mapped for sha in item["shas"]) == sorted(expected)
    assert all(item["label"].startswith(item["shas"][0][:7]) and item["label"].endswith("(+1 more)") for item in mapped)


def test_a_small_max_map_length_is_honoured_by_the_dag(monkeypatch, airflow_db, store, fixture_repo):
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "4")
    set_repos(monkeypatch, {"repo": "acme/widgets", "timezone": "Asia/Shanghai", "source": "git",
                            "url": str(fixture_repo.path)})  # fmt: skip
    day = dt.date(2026, 2, 18)  # 48 commits: one instance each would exceed the limit of 4
    dag_run = run_dag(day)
    instances = [name for name in task_states(dag_run) if name.startswith("llm_analyze[")]
    assert len(instances) == 4
    markdown, data = read_digest(store, day)
    assert_complete_digest(markdown, data, [c.sha for c in fixture_repo.commits_on(day, "Asia/Shanghai")])


# --- an empty repository -------------------------------------------------------------------
@pytest.mark.parametrize("source", ["github", "git"])
def test_an_empty_repository_gives_a_digest_of_no_commits(source, monkeypatch, airflow_db, store, tmp_path):
    path = build_empty_repo(tmp_path / "empty")
    with FakeGitHub(token=TOKEN) as github:
        github.add_repo("acme/empty", path)
        use_fake_github(monkeypatch, github)
        keys = {"source": "git", "url": str(path)} if source == "git" else {}
        markdown, data = digest_day(RepoEntry(repo="acme/empty", timezone="UTC", **keys), DAY)
        if source == "github":  # GitHub answers the commit list of an empty repository with 409
            statuses = [r.path for r in github.requests]
            assert "/repos/acme/empty/commits" in statuses
    assert_complete_digest(markdown, data, [])
    assert f"{DAY} 没有新的提交。" in markdown


# --- a git repository without the configured branch ---------------------------------------
def test_a_branch_missing_from_a_git_repository_fails_fast_naming_it(airflow_db, store, fixture_repo):
    from airflow.sdk.exceptions import AirflowFailException

    from repo_digest import pipeline
    from repo_digest.store import DigestStore

    entry = RepoEntry(repo="acme/widgets", source="git", url=str(fixture_repo.path), branch="release/9.9")
    with pytest.raises(AirflowFailException) as failure:  # no retry: the entry must change
        pipeline.fetch_day(entry, DAY, DigestStore())
    message = str(failure.value)
    assert f"branch 'release/9.9' does not exist in {fixture_repo.path}; its branches: " in message
    assert "Fix 'branch' of this repo in repo_digest_repos" in message
