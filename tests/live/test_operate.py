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


def digest_files(stack: AirflowStack, day: dt.date) -> tuple[Path, Path]:
    base = stack.store / "acme" / "widgets" / f"{day:%Y}" / day.isoformat()
    return base.with_suffix(".md"), base.with_suffix(".json")


def shanghai_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(TZ)).astimezone(dt.UTC)


def parse_time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# A row of the digest's commit table: | local time | … | [title](#repo-acme-widgets-<sha12>) |
TABLE_SHA_RE = re.compile(
    r"^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| .*\]\(#repo-acme-widgets-([0-9a-f]{12})\) \|$"
)


def assert_digest_is_the_fixtures_day(stack: AirflowStack, fixture_repo: FixtureRepo, day: dt.date) -> None:
    """Both files of the day list exactly the fixture's commits of that Shanghai day, newest first."""
    markdown_path, json_path = digest_files(stack, day)
    assert markdown_path.is_file() and json_path.is_file(), f"no digest for {day} in {stack.store}"
    markdown = markdown_path.read_text(encoding="utf-8")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    expected = fixture_repo.commits_on(day, TZ)
    assert data["day"] == day.isoformat() and data["repo"] == REPO and data["timezone"] == TZ
    assert [c["sha"] for c in data["commits"]] == [c.sha for c in expected], day
    assert [c["title"] for c in data["commits"]] == [c.title for c in expected], day
    rows = [m.group(1) for line in markdown.splitlines() if (m := TABLE_SHA_RE.match(line))]
    assert rows == [c.sha[:12] for c in expected], day
    assert f"> 本日共 {len(expected)} 个提交 |" in markdown


def backfill_days(runs: list[dict]) -> list[dt.date]:
    """The Shanghai day each run covers, from its data interval (asserting it is one whole day)."""
    days = []
    for run in runs:
        start, end = parse_time(run["data_interval_start"]), parse_time(run["data_interval_end"])
        day = start.astimezone(ZoneInfo(TZ)).date()
        assert (start, end) == (shanghai_midnight(day), shanghai_midnight(day + dt.timedelta(days=1))), run
        days.append(day)
    return sorted(days)


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
    assert "RepoConfigError" in trace, trace
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
    (run,) = [r for r in runs if parse_time(r["data_interval_start"]) == shanghai_midnight(day)]
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


def test_revoked_llm_credentials_fail_the_run_and_clearing_after_the_fix_completes_it(stack, llm, fixture_repo):
    day = dt.date(2026, 2, 22)
    markdown_path, json_path = digest_files(stack, day)
    before = (markdown_path.stat().st_ino, json_path.stat().st_ino)
    llm.answer = lambda request: Fault.status(403, "This key has been revoked")
    llm.clear_requests()
    run = stack.rest(
        "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": utc(day), "conf": {"force_reanalysis": True}}
    ).json()
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


def test_rest_triggers_with_a_logical_date_and_without(stack, fixture_repo):
    day = dt.date(2026, 2, 19)
    for path in digest_files(stack, day):  # written by the backfill: make this run write them anew
        path.unlink()
    dated = trigger(stack, utc(day))
    # A bare date is that date, even though midnight UTC is 08:00 in Shanghai.
    assert parse_time(dated["data_interval_start"]) == shanghai_midnight(day)
    undated = trigger(stack, None)
    assert undated["logical_date"] is None and undated["data_interval_start"] is None

    stack.wait_for_run(DAG_ID, dated["dag_run_id"], timeout=120)
    assert_digest_is_the_fixtures_day(stack, fixture_repo, day)

    stack.wait_for_run(DAG_ID, undated["dag_run_id"], timeout=120)
    run_after = parse_time(undated["run_after"])
    last_day = run_after.astimezone(ZoneInfo(TZ)).date() - dt.timedelta(days=1)
    xcom = stack.rest(
        "GET", f"{run_path(undated['dag_run_id'])}/taskInstances/publish/xcomEntries/return_value"
    ).json()
    value = xcom["value"] if isinstance(xcom["value"], dict) else json.loads(xcom["value"])
    assert value["markdown"].endswith(f"/acme/widgets/{last_day:%Y}/{last_day.isoformat()}.md"), value
    assert_digest_is_the_fixtures_day(stack, fixture_repo, last_day)


def test_removing_the_repo_makes_its_dag_stale_and_keeps_its_digests(stack):
    stack.admin("remove-repo", REPO)
    assert variable_entries(stack) == []
    dag = stack.wait_for_dag_stale(DAG_ID, timeout=90)
    assert dag is None or dag["is_stale"]
    # Its digests stay in the store, and its run history in Airflow.
    for day in CLI_DAYS + REST_DAYS:
        assert all(path.is_file() for path in digest_files(stack, day)), day
    assert len(stack.get_runs(DAG_ID, run_type="backfill")) == 6
    # The malformed entry is gone, and so is its import error.
    stack.poll("the import errors to clear", 30, lambda: True if not stack.import_errors() else None)
