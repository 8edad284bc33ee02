"""Operating repo_digest through Airflow's own processes: api-server, scheduler, dag-processor.

What dag.test() cannot show: DAGs appearing and going stale as the Variable changes (the
dag-processor re-parses), import errors for a bad entry, backfills run by the scheduler,
a cleared run rerunning, REST triggers with and without a logical date. One stack and one
fake GitHub serve the whole module (starting Airflow is the expensive part); the tests run
in file order, and each first puts the Variable in the state it needs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from repo_digest.markdown import commit_anchor
from tests.fakes.git_fixture import FixtureRepo, build_fixture_repo
from tests.fakes.github_api import FakeGitHub
from tests.fakes.openai_api import Fault, FakeOpenAI
from tests.live import report_line
from tests.live.airflow_stack import AirflowStack, StackError, utc

pytestmark = pytest.mark.airflow_live

TZ = "Asia/Shanghai"
REPO = "acme/widgets"
DAG_ID = "repo_digest__acme__widgets"
OTHER_REPO = "acme/gadgets"  # never run: its DAG stays paused
OTHER_DAG_ID = "repo_digest__acme__gadgets"
TOKEN = "ghp_live_test_token_not_real"
LLM_KEY = "sk-live-test-not-real"
COMBINED_DAG_ID = "repo_digest__all"
VARIABLE = "repo_digest_repos"
WIDGETS = {"repo": REPO, "timezone": TZ}
GADGETS = {"repo": OTHER_REPO, "timezone": TZ, "language": "en"}
# The fixture repository twice more, as a plain git source: DAGs without runs yet, in a
# timezone ahead of UTC and one behind it.
EAST_REPO, EAST_DAG_ID = "acme/widgets-east", "repo_digest__acme__widgets-east"
WEST_REPO, WEST_DAG_ID, WEST_TZ = "acme/widgets-west", "repo_digest__acme__widgets-west", "America/Los_Angeles"
# The fixture's commits per Shanghai day: 17th 2, 18th 48, 19th 7, 20th 6, 21st 0, 22nd 4.
CLI_DAYS = [dt.date(2026, 2, 17), dt.date(2026, 2, 18), dt.date(2026, 2, 19)]
REST_DAYS = [dt.date(2026, 2, 20), dt.date(2026, 2, 21), dt.date(2026, 2, 22)]
DETAIL_PATH_RE = re.compile(rf"/repos/{REPO}/commits/[0-9a-f]{{40}}")


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory) -> FixtureRepo:
    return build_fixture_repo(tmp_path_factory.mktemp("live_fixture") / "widgets")


@pytest.fixture(scope="module")
def github(fixture_repo):
    # Pages of 10: the busy day's list spans several requests, as on GitHub with many commits.
    with FakeGitHub(token=TOKEN, max_per_page=10) as server:
        server.add_repo(REPO, fixture_repo.path, logins=fixture_repo.logins)
        yield server
        assert server.errors == [], server.errors[0]


@pytest.fixture(scope="module")
def llm():
    with FakeOpenAI(api_key=LLM_KEY, models=("gpt-4o-mini",)) as server:
        yield server
        assert server.errors == [], server.errors[0]


@pytest.fixture(scope="module")
def stack(github, llm, request):
    connection = {"conn_type": "github", "password": TOKEN, "host": github.base_url}
    llm_connection = {"conn_type": "openai", "password": LLM_KEY, "host": llm.base_url, "extra": {"model": "gpt-4o-mini"}}
    env = {"AIRFLOW_CONN_GITHUB_DEFAULT": json.dumps(connection), "AIRFLOW_CONN_OPENAI_DEFAULT": json.dumps(llm_connection)}
    with AirflowStack(extra_env=env) as live:
        timings = ", ".join(f"{key} {value:.1f}s" for key, value in live.timings.items())
        report_line(request, f"[airflow_live] stack started: {timings}")
        yield live
        stopping = time.monotonic()
    report_line(request, f"[airflow_live] stack stopped in {time.monotonic() - stopping:.1f}s")


# --- helpers -----------------------------------------------------------------------------


def set_variable_cli(stack: AirflowStack, entries: list) -> None:
    # The raw JSON text, as the README says (`--json` would encode it a second time).
    stack.cli("variables", "set", VARIABLE, json.dumps(entries))


def variable_entries(stack: AirflowStack) -> list:
    return json.loads(stack.rest("GET", f"/api/v2/variables/{VARIABLE}").json()["value"])


def track_only_widgets(stack: AirflowStack) -> None:
    set_variable_cli(stack, [WIDGETS])
    stack.wait_for_dag(DAG_ID)


def digest_files(stack: AirflowStack, day: dt.date, repo: str = REPO) -> tuple[Path, Path]:
    base = stack.store.joinpath(*repo.split("/")) / f"{day:%Y}" / day.isoformat()
    return base.with_suffix(".md"), base.with_suffix(".json")


def shanghai_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(TZ)).astimezone(dt.UTC)


def parse_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_digest_is_the_fixtures_day(stack: AirflowStack, fixture_repo: FixtureRepo, day: dt.date,
                                      repo: str = REPO, tz: str = TZ) -> None:  # fmt: skip
    """Both files of the day list exactly the fixture's commits of that local day, newest first."""
    markdown_path, json_path = digest_files(stack, day, repo)
    assert markdown_path.is_file() and json_path.is_file(), f"no digest for {day} in {stack.store}"
    markdown = markdown_path.read_text(encoding="utf-8")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    expected = fixture_repo.commits_on(day, tz)
    assert data["day"] == day.isoformat() and data["repo"] == repo and data["timezone"] == tz
    assert data["partial_until"] is None, "a past day is complete"
    assert [c["sha"] for c in data["commits"]] == [c.sha for c in expected], day
    assert [c["title"] for c in data["commits"]] == [c.title for c in expected], day
    # A row of the commit table: | local time | author | [title](#<the commit's anchor>) |
    rows = [m.group(1) for line in markdown.splitlines()
            if (m := re.match(r"^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| .*\]\(#([a-z0-9-]+)\) \|$", line))]  # fmt: skip
    assert rows == [commit_anchor(repo, c.sha) for c in expected], day
    assert f"> 本日共 {len(expected)} 个提交 |" in markdown


def run_of_day(run: dict) -> dt.date:
    """The day a run digests: its logical date, that day at 00:00 UTC (asserted, with its interval)."""
    logical = parse_time(run["logical_date"])
    day = logical.date()
    assert logical == dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC), run
    # The interval ends when the day ends in the repo's timezone.
    assert parse_time(run["data_interval_start"]) == logical, run
    assert parse_time(run["data_interval_end"]) == shanghai_midnight(day + dt.timedelta(days=1)), run
    return day


def backfill_days(runs: list[dict]) -> list[dt.date]:
    """The Shanghai day each run covers, sorted."""
    return sorted(run_of_day(run) for run in runs)


def run_path(run_id: str) -> str:
    return AirflowStack.run_path(DAG_ID, run_id)


def trigger(stack: AirflowStack, logical_date: str | None) -> dict:
    return stack.rest("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": logical_date}).json()


# --- tests -------------------------------------------------------------------------------


def test_repos_added_through_the_cli_and_the_rest_api_become_dags(stack):
    set_variable_cli(stack, [WIDGETS])
    dag = stack.wait_for_dag(DAG_ID)
    assert dag["timetable_summary"] == f"daily, 00:00-24:00 {TZ}"
    assert dag["is_paused"], "new DAGs start paused ([core] dags_are_paused_at_creation)"
    # Stored as the raw JSON text, not encoded twice.
    assert variable_entries(stack) == [WIDGETS]
    assert stack.get_dag(OTHER_DAG_ID) is None

    # The second repo through REST: PATCH the existing Variable with the whole new list.
    new_value = json.dumps([WIDGETS, GADGETS])
    stack.rest("PATCH", f"/api/v2/variables/{VARIABLE}", {"key": VARIABLE, "value": new_value})
    other = stack.wait_for_dag(OTHER_DAG_ID)
    assert other["description"] == f"Daily digest of {OTHER_REPO}"
    assert variable_entries(stack) == [WIDGETS, GADGETS]
    assert not stack.get_dag(DAG_ID)["is_stale"]


def test_a_malformed_entry_is_an_import_error_and_the_good_dag_stays(stack):
    bad = {"repo": "acme/bad", "timezone": "Mars/Olympus"}
    # Through REST this time; gadgets is dropped, so its DAG going stale shows when the
    # dag-processor has re-parsed and cleaned up after this change.
    body = {"key": VARIABLE, "value": json.dumps([WIDGETS, bad])}
    stack.rest("PATCH", f"/api/v2/variables/{VARIABLE}", body)

    def config_error() -> dict | None:
        found = [e for e in stack.import_errors() if e["filename"].endswith("repo_digest_config_check.py")]
        return found[0] if found else None

    error = stack.poll("the config-check import error", 60, config_error)
    trace = error["stack_trace"]
    assert "repo_digest_repos[1]" in trace, trace
    assert "'timezone'" in trace and "'Mars/Olympus'" in trace, trace
    # It ends in one sentence, without Airflow's internal module name for the file.
    assert trace.rstrip().splitlines()[-1].startswith("RepoConfigError: repo_digest_repos[1] (repo 'acme/bad')"), trace
    # Only that file is in error: the files that make the DAGs are not.
    assert all(e["filename"].endswith("repo_digest_config_check.py") for e in stack.import_errors())

    stack.wait_for_dag_stale(OTHER_DAG_ID, timeout=90)
    dag = stack.get_dag(DAG_ID)
    assert dag is not None and not dag["is_stale"], dag
    assert not dag["has_import_errors"], dag


def test_backfills_from_the_cli_and_the_rest_api_digest_each_local_day(stack, github, llm, fixture_repo):
    track_only_widgets(stack)
    # The combined report runs on the repo DAGs' digest assets; it must be unpaused to.
    stack.wait_for_dag(COMBINED_DAG_ID)
    assert not stack.unpause(COMBINED_DAG_ID)["is_paused"]
    # Backfill runs are queued by `backfill create`, but the scheduler runs them only for an
    # unpaused DAG. (Unpausing also schedules the latest complete day, as catchup is off.)
    assert not stack.unpause(DAG_ID)["is_paused"]
    github.clear_requests()

    created = stack.cli(
        "backfill", "create", "--dag-id", DAG_ID, "--from-date", CLI_DAYS[0].isoformat(),
        "--to-date", CLI_DAYS[-1].isoformat(),
    )  # fmt: skip
    assert created.returncode == 0
    # The runs exist once the command returns; bare dates are the repo's local days.
    assert backfill_days(stack.get_runs(DAG_ID, run_type="backfill")) == CLI_DAYS
    runs = stack.wait_for_runs(DAG_ID, 3, timeout=180, run_type="backfill")
    assert backfill_days(runs) == CLI_DAYS
    for day in CLI_DAYS:
        assert_digest_is_the_fixtures_day(stack, fixture_repo, day)
    assert len(fixture_repo.commits_on(dt.date(2026, 2, 18), TZ)) == 48
    assert all(r.has_auth for r in github.requests), "the connection's token must be used"

    # One active backfill per DAG: the scheduler marks the first complete within ~30 s.
    body = {"dag_id": DAG_ID, "from_date": utc(REST_DAYS[0]), "to_date": utc(REST_DAYS[-1])}

    def create_backfill() -> dict | None:
        response = stack.rest("POST", "/api/v2/backfills", body, check=False)
        if response.status_code == 409:
            return None
        if not response.ok:
            raise StackError(f"POST /api/v2/backfills: {response.status_code} {response.text}")
        return response.json()

    backfill = stack.poll("the first backfill to complete", 60, create_backfill)
    assert backfill["dag_id"] == DAG_ID and backfill["completed_at"] is None
    assert backfill_days(stack.get_runs(DAG_ID, run_type="backfill")) == CLI_DAYS + REST_DAYS
    runs = stack.wait_for_runs(DAG_ID, 6, timeout=180, run_type="backfill")
    assert backfill_days(runs) == CLI_DAYS + REST_DAYS
    for day in REST_DAYS:
        assert_digest_is_the_fixtures_day(stack, fixture_repo, day)
    listed = stack.rest("GET", "/api/v2/backfills", params={"dag_id": DAG_ID}).json()
    assert listed["total_entries"] == 2

    # Every commit of the six days was analysed by the LLM, once.
    commits = sum(len(fixture_repo.commits_on(day, TZ)) for day in CLI_DAYS + REST_DAYS)
    analysed = [r for r in llm.requests if r.status == 200]
    assert len(analysed) >= commits  # plus the latest complete day's, scheduled by the unpause
    for day in CLI_DAYS + REST_DAYS:
        data = json.loads(digest_files(stack, day)[1].read_text(encoding="utf-8"))
        assert {c["analysis"]["analyzer"] for c in data["commits"]} <= {"llm"}, day

    # Each published digest updated its asset, and the combined report of that day followed.
    def combined_reports() -> list[Path] | None:
        paths = [stack.store / "_all" / "2026" / f"{day.isoformat()}.md" for day in CLI_DAYS + REST_DAYS]
        return paths if all(path.is_file() for path in paths) else None

    for path in stack.poll("the combined reports of the six days", 120, combined_reports):
        report = path.read_text(encoding="utf-8")
        assert re.findall(r"^## (.+)$", report, re.MULTILINE) == [REPO], path
        assert "> 跟踪 1 个仓库：已生成 1 个，待生成 0 个" in report, path


def test_clearing_a_run_republishes_the_same_digest_from_cached_details(stack, github, llm, fixture_repo):
    day = dt.date(2026, 2, 20)
    runs = stack.get_runs(DAG_ID, run_type="backfill")
    (run,) = [r for r in runs if run_of_day(r) == day]
    markdown_path, json_path = digest_files(stack, day)
    before = (markdown_path.read_bytes(), json_path.read_bytes())
    inodes = (markdown_path.stat().st_ino, json_path.stat().st_ino)
    github.clear_requests()
    llm.clear_requests()

    stack.rest("POST", f"{run_path(run['dag_run_id'])}/clear", {"dry_run": False})
    assert stack.get_run(DAG_ID, run["dag_run_id"])["state"] in ("queued", "running")
    stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=120)

    # Republished (publish writes a new file and renames it over the old one)...
    assert (markdown_path.stat().st_ino, json_path.stat().st_ino) != inodes
    # ...byte for byte the same digest.
    assert (markdown_path.read_bytes(), json_path.read_bytes()) == before
    assert_digest_is_the_fixtures_day(stack, fixture_repo, day)
    # The rerun listed the day's commits again but read every commit's details from the cache.
    paths = [r.path for r in github.requests]
    assert f"/repos/{REPO}/commits" in paths
    assert [p for p in paths if DETAIL_PATH_RE.fullmatch(p)] == []
    # ...and every analysis from the analysis cache: no LLM request at all.
    assert llm.requests == []


def test_clearing_one_commits_instance_reruns_only_that_commit(stack, llm, fixture_repo):
    """The grid has one llm_analyze instance per commit, labelled; clearing one reruns it alone (and what follows)."""
    day = dt.date(2026, 2, 19)
    (run,) = [r for r in stack.get_runs(DAG_ID) if r["logical_date"] and run_of_day(r) == day]
    tis_path = f"{run_path(run['dag_run_id'])}/taskInstances"
    before = {(ti["task_id"], ti["map_index"]): ti for ti in stack.rest("GET", tis_path).json()["task_instances"]}
    expected = fixture_repo.commits_on(day, TZ)
    instances = {key[1]: ti for key, ti in before.items() if key[0] == "llm_analyze"}
    assert sorted(instances) == list(range(len(expected)))
    labels = {ti["rendered_map_index"] for ti in instances.values()}
    assert {label.split(" ", 1)[0] for label in labels} == {c.sha[:7] for c in expected}
    markdown_path, json_path = digest_files(stack, day)
    published = (markdown_path.read_bytes(), json_path.read_bytes(), markdown_path.stat().st_ino)
    llm.clear_requests()

    body = {"dry_run": False, "only_failed": False, "dag_run_id": run["dag_run_id"],
            "task_ids": [["llm_analyze", 3]], "include_downstream": True}  # fmt: skip
    cleared = stack.rest("POST", f"/api/v2/dags/{DAG_ID}/clearTaskInstances", body).json()["task_instances"]
    assert sorted((ti["task_id"], ti["map_index"]) for ti in cleared) == [
        ("aggregate_stats", -1), ("llm_analyze", 3), ("publish", -1), ("render_markdown", -1),
    ]  # fmt: skip
    stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=120)
    after = {(ti["task_id"], ti["map_index"]): ti for ti in stack.rest("GET", tis_path).json()["task_instances"]}
    reran = sorted(key for key in after if after[key]["try_number"] > before[key]["try_number"])
    assert reran == [("aggregate_stats", -1), ("llm_analyze", 3), ("publish", -1), ("render_markdown", -1)]
    # The cleared commit's analysis came from the cache; the digest was republished, byte for byte.
    assert llm.requests == []
    assert markdown_path.stat().st_ino != published[2]
    assert (markdown_path.read_bytes(), json_path.read_bytes()) == published[:2]


def test_revoked_llm_credentials_fail_the_run_and_clearing_after_the_fix_completes_it(stack, llm, fixture_repo):
    day = dt.date(2026, 2, 22)
    markdown_path, json_path = digest_files(stack, day)
    before = (markdown_path.stat().st_ino, json_path.stat().st_ino)
    llm.answer = lambda request: Fault.status(403, "This key has been revoked")
    llm.clear_requests()
    # The day has its run (the backfill's): asking the LLM again is a backfill that reprocesses
    # it with the run-conf flag, as the README says (a second run of one day is refused).
    (run,) = [r for r in stack.get_runs(DAG_ID) if run_of_day(r) == day]
    body = {"dag_id": DAG_ID, "from_date": utc(day), "to_date": utc(day), "reprocess_behavior": "completed",
            "dag_run_conf": {"force_reanalysis": True}}  # fmt: skip
    stack.poll("the backfill to be accepted", 60,
               lambda: stack.rest("POST", "/api/v2/backfills", body, check=False).ok or None)  # fmt: skip
    assert stack.get_run(DAG_ID, run["dag_run_id"])["conf"] == {"force_reanalysis": True}
    assert stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=120, expect="failed") == "failed"
    # Nothing was published: the day's files are the backfill's, untouched.
    assert (markdown_path.stat().st_ino, json_path.stat().st_ino) == before
    # One request per commit, each refused once: no retries spent on a revoked key.
    assert len(llm.requests) == len(fixture_repo.commits_on(day, TZ))
    tis = stack.rest("GET", f"{run_path(run['dag_run_id'])}/taskInstances").json()["task_instances"]
    states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in tis}
    assert {state for (task, _), state in states.items() if task == "llm_analyze"} == {"failed"}
    assert states[("publish", -1)] in ("upstream_failed", None)
    logs = stack.task_logs(DAG_ID, run["dag_run_id"])
    log = "".join(path.read_text(errors="replace") for name, path in logs.items() if "llm_analyze" in name)
    assert "HTTP 403: This key has been revoked" in log and LLM_KEY not in log

    llm.answer = None  # the key is fixed
    stack.rest("POST", f"{run_path(run['dag_run_id'])}/clear", {"dry_run": False, "only_failed": True})
    assert stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=120) == "success"
    assert (markdown_path.stat().st_ino, json_path.stat().st_ino) != before
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert {c["analysis"]["analyzer"] for c in data["commits"]} == {"llm"}
    assert_digest_is_the_fixtures_day(stack, fixture_repo, day)


def track_east_and_west(stack: AirflowStack, fixture_repo: FixtureRepo) -> None:
    git = {"source": "git", "url": str(fixture_repo.path)}
    set_variable_cli(stack, [WIDGETS, {"repo": EAST_REPO, "timezone": TZ, **git},
                             {"repo": WEST_REPO, "timezone": WEST_TZ, **git}])  # fmt: skip
    for dag_id in (EAST_DAG_ID, WEST_DAG_ID):
        stack.wait_for_dag(dag_id)
        stack.unpause(dag_id)


def test_rest_triggers_with_a_logical_date_and_without(stack, fixture_repo):
    track_east_and_west(stack, fixture_repo)
    day = dt.date(2026, 2, 20)
    dated = stack.rest("POST", f"/api/v2/dags/{EAST_DAG_ID}/dagRuns", {"logical_date": utc(day)}).json()
    # A bare date is that date, even though midnight UTC is 08:00 in Shanghai.
    assert run_of_day(dated) == day
    undated = trigger(stack, None)
    assert undated["logical_date"] is None and undated["data_interval_start"] is None

    stack.wait_for_run(EAST_DAG_ID, dated["dag_run_id"], timeout=120)
    assert_digest_is_the_fixtures_day(stack, fixture_repo, day, EAST_REPO)
    # A day has one logical date: triggering it again is refused (Clear reruns it).
    again = stack.rest("POST", f"/api/v2/dags/{EAST_DAG_ID}/dagRuns", {"logical_date": utc(day)}, check=False)
    assert again.status_code == 409, again.text

    stack.wait_for_run(DAG_ID, undated["dag_run_id"], timeout=120)
    run_after = parse_time(undated["run_after"])
    last_day = run_after.astimezone(ZoneInfo(TZ)).date() - dt.timedelta(days=1)
    xcom = stack.rest(
        "GET", f"{run_path(undated['dag_run_id'])}/taskInstances/publish/xcomEntries/return_value"
    ).json()
    value = xcom["value"] if isinstance(xcom["value"], dict) else json.loads(xcom["value"])
    assert value["markdown"].endswith(f"/acme/widgets/{last_day:%Y}/{last_day.isoformat()}.md"), value
    assert_digest_is_the_fixtures_day(stack, fixture_repo, last_day)
    assert stack.get_run(DAG_ID, undated["dag_run_id"])["note"].startswith(
        f"Digest of the last complete day, {last_day} ({TZ}): commits from"
    )


def cli_trigger(stack: AirflowStack, dag_id: str, logical_date: str) -> str:
    """``airflow dags trigger DAG -l DATE``, as a user types it; the run's id."""
    out = stack.cli("dags", "trigger", dag_id, "-l", logical_date, "-o", "json").stdout
    (created,) = json.loads(out[out.index("[{") :])  # after Airflow's warnings
    return created["dag_run_id"]


def test_the_cli_trigger_digests_the_day_asked_for_ahead_of_and_behind_utc(stack, fixture_repo):
    """`airflow dags trigger -l D`: Airflow's CLI takes the data interval from the trigger time; the run digests D."""
    # Unpausing scheduled the last day that has ended in Los Angeles: its run ID names it.
    (scheduled,) = stack.poll("the scheduled run", 60, lambda: stack.get_runs(WEST_DAG_ID, run_type="scheduled") or None)
    last_day = dt.datetime.now(ZoneInfo(WEST_TZ)).date() - dt.timedelta(days=1)
    assert scheduled["dag_run_id"] == f"scheduled__{last_day.isoformat()}_America-Los_Angeles"
    assert parse_time(scheduled["logical_date"]) == dt.datetime.combine(last_day, dt.time(), tzinfo=dt.UTC)

    asked = [("2026-02-19", dt.date(2026, 2, 19)), ("2026-02-18T00:00:00+00:00", dt.date(2026, 2, 18))]
    started = []
    for dag_id, repo, tz in [(EAST_DAG_ID, EAST_REPO, TZ), (WEST_DAG_ID, WEST_REPO, WEST_TZ)]:
        for text, day in asked:
            started.append((dag_id, repo, tz, day, cli_trigger(stack, dag_id, text)))
    for dag_id, repo, tz, day, run_id in started:
        stack.wait_for_run(dag_id, run_id, timeout=180)
        assert_digest_is_the_fixtures_day(stack, fixture_repo, day, repo, tz)
        run = stack.get_run(dag_id, run_id)
        assert run["run_type"] == "manual" and parse_time(run["logical_date"]).date() == day
        # The scheduler put the interval right (the CLI's was the trigger time's day) and
        # wrote the day into the run's note.
        window_start = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
        window_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)
        assert parse_time(run["data_interval_start"]) == dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        assert parse_time(run["data_interval_end"]) == window_end
        assert run["note"] == (f"Digest of {day} ({tz}): commits from {window_start:%Y-%m-%d %H:%M} "
                               f"to {window_end:%Y-%m-%d %H:%M} UTC.")  # fmt: skip
    # The publish task's log says where to read the digest in Airflow.
    dag_id, _, _, day, run_id = started[0]
    (publish_log,) = [path for name, path in stack.task_logs(dag_id, run_id).items() if "task_id=publish" in name]
    assert f"Read it in Airflow: {stack.api_url}/plugin/digests/repo-digest/acme/widgets-east/{day}" in (
        publish_log.read_text(errors="replace")
    )
    # The fixture's days differ between the two timezones: each digest is its own day's.
    assert [c.sha for c in fixture_repo.commits_on(asked[0][1], TZ)] != [
        c.sha for c in fixture_repo.commits_on(asked[0][1], WEST_TZ)
    ]


def test_the_trigger_dialogs_default_now_writes_a_partial_digest_marked_as_such(stack):
    """The UI's Trigger dialog defaults the logical date to now: the day still going on, marked partial."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    run = trigger(stack, now.isoformat())
    day = now.astimezone(ZoneInfo(TZ)).date()
    assert "has not ended in Asia/Shanghai yet: this run writes a partial digest" in (
        stack.poll("the run's note", 60, lambda: stack.get_run(DAG_ID, run["dag_run_id"])["note"])
    )
    stack.wait_for_run(DAG_ID, run["dag_run_id"], timeout=120)
    markdown_path, json_path = digest_files(stack, day)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    until = parse_time(data["partial_until"])
    assert now <= until <= dt.datetime.now(dt.UTC)
    markdown = markdown_path.read_text(encoding="utf-8")
    local = until.astimezone(ZoneInfo(TZ))
    assert f"> ⚠️ 部分日：{day} 尚未结束，本摘要只含截至 {local:%H:%M}（{TZ}）的提交；当天结束后的运行会替换它。" in markdown


def test_removing_the_repo_makes_its_dag_stale_and_keeps_its_digests(stack):
    for repo in (EAST_REPO, WEST_REPO, REPO):
        stack.admin("remove-repo", repo)
    assert variable_entries(stack) == []
    dag = stack.wait_for_dag_stale(DAG_ID, timeout=90)
    assert dag is None or dag["is_stale"]
    # Its digests stay in the store, and its run history in Airflow.
    for day in CLI_DAYS + REST_DAYS:
        assert all(path.is_file() for path in digest_files(stack, day)), day
    assert len(stack.get_runs(DAG_ID, run_type="backfill")) == 6
    # The malformed entry is gone, and so is its import error.
    stack.poll("the import errors to clear", 30, lambda: True if not stack.import_errors() else None)
