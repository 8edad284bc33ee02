"""Benchmarks 2-5: days under a real scheduler (AirflowStack: PostgreSQL, LocalExecutor).

One fake GitHub and one fake OpenAI (answering after 1 s) serve every stack. Two stacks run
one after the other, never together (2 cores): the "before" code (an export of the commit
before llm_analyze was mapped per commit, with the settings it ran with: parallelism 8, fork,
scheduler idle sleep 1 s) and the "after" code (the commit measured, with its settings:
forkserver with repo_digest.preload, idle sleep 0.2 s, Airflow's default parallelism). Both
measure the same fixed-cost days (three empty days, three 1-commit days), the 200-commit
day and the scheduler's idle CPU; the after stack then runs the other days, a 60-day
backfill of a real repository's history through ``airflow backfill create`` and the day
with 1,000 repos tracked.

Each day is triggered through REST with its logical date and timed from the request to
the digest file (the Markdown's mtime in the store: the publish task writes it atomically)
and to the run's end_date as the metadata DB records it. Runs go one at a time; the
combined-report DAG stays paused so nothing else runs beside the day being measured.

While everything runs, a poller reads the peak RSS (VmHWM in /proc/<pid>/status, every
0.2 s) of every task process of the stack (proctitle ``airflow worker -- <ti id>``) and
attributes it to its task instance through the REST API.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import Clock, ideal_llm_seconds, log
from bench.synth import TokenCommit, busy_repo, token_repo

GITHUB_TOKEN = "ghp_bench_not_real"
LLM_KEY = "sk-bench-not-real"
MODEL = "gpt-4o-mini"
LLM_DELAY = 1.0
POOL_SLOTS = 16
BUDGET = 12_000

# The fixed cost of a day is measured on three different days of each kind (median).
EMPTY_DAYS = [dt.date(2026, 3, 1), dt.date(2026, 2, 28), dt.date(2026, 2, 27)]
ONE_COMMIT_DAYS = [dt.date(2026, 3, 3), dt.date(2026, 3, 10), dt.date(2026, 3, 11)]
EMPTY_DAY = EMPTY_DAYS[0]
DAYS = {1: ONE_COMMIT_DAYS[0], 20: dt.date(2026, 3, 4), 200: dt.date(2026, 3, 5), 2000: dt.date(2026, 3, 6)}
TOKEN_DAY = dt.date(2026, 3, 7)
TASK_ORDER = ["fetch_commits", "chunk_diffs", "llm_analyze", "aggregate_stats", "render_markdown", "publish"]
# What the before code's stack ran with (its tests/live/airflow_stack.py): parallelism 8,
# the platform's fork (an empty start method), no forkserver preload, idle sleep 1 s.
BEFORE_ENV = {
    "AIRFLOW__SCHEDULER__MP_START_METHOD": "",
    "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": "",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1",
    "AIRFLOW__CORE__PARALLELISM": "8",
}
SETTINGS_SHOWN = {
    "AIRFLOW__CORE__PARALLELISM": "parallelism",
    "AIRFLOW__SCHEDULER__MP_START_METHOD": "mp_start_method",
    "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": "mp_forkserver_preload",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "scheduler_idle_sleep_time",
}
HISTORY_DAYS = 60
TI_PAGE = 100  # the REST API's [api] maximum_page_limit: a 200-commit run has 205 task instances
_TI_TITLE_RE = re.compile(
    r"^airflow worker -- ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_REQUEST_TOKENS_RE = re.compile(r"request of (\d+) prompt tokens \(budget (\d+)\)")
_MARKER_RE = re.compile(r"M\d{7}Q")
_GITHUB_NAME_RE = re.compile(r"github\.com[/:]([^/]+)/([^/]+?)(?:\.git)?/?$")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _ts(text: str | None) -> float | None:
    return None if text is None else dt.datetime.fromisoformat(text).timestamp()


class RssPoller(threading.Thread):
    """Peak RSS of every task process of one stack, by task-instance id."""

    def __init__(self, tmp: Path, interval: float = 0.2) -> None:
        super().__init__(name="rss-poller", daemon=True)
        self.tmp = str(tmp)
        self.interval = interval
        self.peaks_kib: dict[str, int] = {}
        self._halt = threading.Event()
        self._ours: dict[tuple[int, str], str] = {}  # (pid, start time) -> task instance id
        self._others: set[tuple[int, str]] = set()  # processes that are not Airflow's

    @staticmethod
    def _maybe_airflow(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"airflow")
        except OSError:
            return False

    def _classify(self, pid: int) -> str | None:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            return None
        match = _TI_TITLE_RE.match(title)
        if not match:
            return None
        try:
            cwd = str(Path(f"/proc/{pid}/cwd").readlink())
        except OSError:
            return None
        return match.group(1) if cwd.startswith(self.tmp) else None

    def run(self) -> None:
        while not self._halt.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:  # pids wrap (pid_max may be 32768): a process is its pid and its start time
                    key = (int(entry.name), (entry / "stat").read_text().rsplit(")", 1)[1].split()[19])
                except (OSError, IndexError):
                    continue
                if key in self._others:
                    continue
                if key not in self._ours:
                    # A task process gets its title just after it starts: look again until it has one.
                    ti = self._classify(key[0])
                    if ti is None:
                        if not self._maybe_airflow(key[0]):
                            self._others.add(key)
                        continue
                    self._ours[key] = ti
                ti = self._ours[key]
                try:
                    status = (entry / "status").read_text()
                except OSError:
                    self._ours.pop(key, None)
                    continue
                hwm = re.search(r"VmHWM:\s+(\d+) kB", status)
                if hwm and ti:
                    self.peaks_kib[ti] = max(self.peaks_kib.get(ti, 0), int(hwm.group(1)))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def github_kind(path: str) -> str:
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "repos":
        return "repository"
    if len(parts) == 4 and parts[3] == "commits":
        return "commit list page"
    if len(parts) == 5 and parts[3] == "commits":
        return "commit detail"
    return "other"


def llm_profile(requests: list[Any], delay: float, clock: Clock) -> dict[str, Any]:
    """How busy the LLM was: requests, their span, mean and peak calls in flight (each ~``delay`` s)."""
    if not requests:
        return {"requests": 0}
    starts = sorted(clock.to_wall(r.received_at) for r in requests)
    span = starts[-1] + delay - starts[0]
    events = sorted([(s, 1) for s in starts] + [(s + delay, -1) for s in starts])
    peak = current = 0
    for _, change in events:
        current += change
        peak = max(peak, current)
    return {
        "requests": len(requests),
        "first": starts[0],
        "span_s": span,
        "mean_in_flight": len(starts) * delay / span,
        "peak_in_flight": peak,
    }


def busy_union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -math.inf
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one process so far (/proc/<pid>/stat), None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_group(pgid: int) -> list[int]:
    """The pids of a process group (a stack's server and what it forked without a group of its own)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids


def history_name(history: dict[str, Any]) -> str:
    """owner/name of the history repository: from its GitHub URL, or a mirror folder ``owner+name``,
    else bench-history/<folder>."""
    match = _GITHUB_NAME_RE.search(history.get("url") or "")
    if match:
        return f"{match.group(1)}/{match.group(2)}"
    folder = Path(history["path"]).name
    if folder in ("repo", ".git") or folder.endswith(".git"):
        folder = Path(history["path"]).parent.name or "history"
    owner, plus, name = folder.partition("+")  # a mirror folder named owner+name
    if plus and owner and name:
        return f"{owner}/{name}"
    return f"bench-history/{re.sub(r'[^A-Za-z0-9_.-]', '-', folder)}"


def history_days(path: Path, branch: str, days: int) -> dict[dt.date, int]:
    """Commits per UTC day (committer date, as the digest counts them) over the ``days`` days
    ending on the day of the branch's last commit."""
    out = subprocess.run(
        ["git", "log", "--format=%ct", branch, "--"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.split()
    dates = [dt.datetime.fromtimestamp(int(stamp), dt.UTC).date() for stamp in out]
    last = max(dates)
    window = [last - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]
    counts = Counter(dates)
    return {day: counts.get(day, 0) for day in window}


class LiveBench:
    def __init__(
        self, quick: bool, after: Path, before: Path | None = None, history: dict[str, Any] | None = None
    ) -> None:
        self.quick = quick
        self.trees = {"after": after, **({"before": before} if before else {})}
        self.history = history
        self.work = Path(tempfile.mkdtemp(prefix="repo_digest_bench_live_"))
        self.results: dict[str, Any] = {
            "runs": [],
            "llm_delay_s": LLM_DELAY,
            "pool_slots": POOL_SLOTS,
            "versions": {},
            "idle": {},
        }
        self.stack: Any = None
        self.version = "after"
        self.tracked: list[dict[str, Any]] = []
        self.github: Any = None
        self.llm: Any = None
        self.poller: RssPoller | None = None
        self.token_commits: list[TokenCommit] = []

    @property
    def reps(self) -> int:
        """How many different days of each fixed-cost kind (0 and 1 commit) are measured."""
        return 1 if self.quick else len(EMPTY_DAYS)

    @property
    def size(self) -> int:
        """The day measured side by side (200 commits; 20 in a quick run)."""
        return 20 if self.quick else 200

    # --- setup ----------------------------------------------------------------------------
    def build_repos(self) -> dict[str, Path]:
        sizes = [20] if self.quick else [20, 200, 2000]
        paths = {}
        # One commit on each of the 1-commit days (the empty days have none).
        paths["d1"] = self.work / "d1"
        busy_repo(paths["d1"], dict.fromkeys(ONE_COMMIT_DAYS, 1), seed=1)
        for size in sizes:
            started = time.monotonic()
            paths[f"d{size}"] = self.work / f"d{size}"
            busy_repo(paths[f"d{size}"], {DAYS[size]: size}, seed=size)
            log(
                f"synthetic repo d{size}: {size} commits on {DAYS[size]} in {time.monotonic() - started:.1f}s"
            )
        paths["tokens"] = self.work / "tokens"
        self.token_commits = token_repo(paths["tokens"], TOKEN_DAY)
        return paths

    @staticmethod
    def git_entry(name: str, paths: dict[str, Path]) -> dict[str, Any]:
        return {"repo": f"bench-git/{name}", "source": "git", "url": str(paths[name])}

    def start_fakes(self, paths: dict[str, Path]) -> None:
        from tests.fakes.github_api import FakeGitHub
        from tests.fakes.openai_api import FakeOpenAI

        self.github = FakeGitHub(token=GITHUB_TOKEN, max_per_page=100).start()
        self.github.add_repo(f"bench-gh/d{self.size}", paths[f"d{self.size}"])
        self.github.add_repo("bench-gh/tokens", paths["tokens"])
        if self.history:
            # A bare repository serves as it is: the fake reads it with git log / diff-tree only.
            self.github.add_repo(history_name(self.history), Path(self.history["path"]))
        self.llm = FakeOpenAI(api_key=LLM_KEY, models=(MODEL,), delay=LLM_DELAY).start()

    def start_stack(self, version: str) -> None:
        from tests.live.airflow_stack import FAST_SETTINGS, AirflowStack

        github_conn = {"conn_type": "github", "password": GITHUB_TOKEN, "host": self.github.base_url}
        llm_conn = {
            "conn_type": "openai",
            "password": LLM_KEY,
            "host": self.llm.base_url,
            "extra": {"model": MODEL},
        }
        env = {
            "AIRFLOW_CONN_GITHUB_DEFAULT": json.dumps(github_conn),
            "AIRFLOW_CONN_OPENAI_DEFAULT": json.dumps(llm_conn),
            # Airflow's default (the test stack's 5 s would re-parse a 1,000-repo file back to back).
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            **(BEFORE_ENV if version == "before" else {}),
        }
        self.version = version
        self.tracked = []
        self.stack = AirflowStack(extra_env=env, project=self.trees[version])
        self.stack.start()
        effective = {**FAST_SETTINGS, **env}
        self.results["versions"][version] = {
            "project": str(self.trees[version]),
            "settings": {
                label: effective.get(key) for key, label in SETTINGS_SHOWN.items()
            },
            "stack_startup": dict(self.stack.timings),
        }
        log(f"{version} stack up: {', '.join(f'{k} {v:.1f}s' for k, v in self.stack.timings.items())}")
        self.poller = RssPoller(self.stack.tmp)
        self.poller.start()

    def stop_stack(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        if self.stack is not None:
            self.stack.stop()
            self.stack = None

    def track(self, new: list[dict[str, Any]]) -> list[str]:
        """Add ``new`` entries to the Variable, wait for their DAGs and their warm-up runs."""
        stack = self.stack
        self.tracked += new
        value = json.dumps(self.tracked)
        if stack.rest("GET", "/api/v2/variables/repo_digest_repos", check=False).status_code == 404:
            stack.rest("POST", "/api/v2/variables", {"key": "repo_digest_repos", "value": value})
        else:
            body = {"key": "repo_digest_repos", "value": value}
            stack.rest("PATCH", "/api/v2/variables/repo_digest_repos", body)
        pool = stack.rest("GET", "/api/v2/pools/llm_api").json()
        self.results["pool"] = {"name": pool["name"], "slots": pool["slots"]}
        assert pool["slots"] == POOL_SLOTS, pool
        dag_ids = [f"repo_digest__{e['repo'].replace('/', '__')}" for e in new]
        for dag_id in dag_ids:
            stack.wait_for_dag(dag_id, timeout=180)
        # Unpausing schedules the latest complete day (catchup is off): let those runs end
        # first; they also warm up what a first run pays once (git mirrors, tokenizer cache).
        for dag_id in dag_ids:
            stack.unpause(dag_id)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            runs = [run for dag_id in dag_ids for run in stack.get_runs(dag_id)]
            if (
                runs
                and all(run["state"] in ("success", "failed") for run in runs)
                and len(runs) >= len(dag_ids)
            ):
                break
            time.sleep(2)
        warm = [(run["dag_id"], run["state"]) for dag_id in dag_ids for run in stack.get_runs(dag_id)]
        self.results.setdefault("warmup_runs", []).append({"version": self.version, "runs": warm})
        log(f"{self.version}: warm-up runs ended: {warm}")
        return dag_ids

    # --- one measured run ------------------------------------------------------------------
    def measure(
        self,
        name: str,
        dag_id: str,
        day: dt.date,
        commits: int,
        source: str,
        rerun_of: dict[str, Any] | None = None,
        timeout: float = 1500,
        variant: str | None = None,
        rep: int | None = None,
    ) -> dict[str, Any]:
        stack = self.stack
        self.github.clear_requests()
        self.llm.clear_requests()
        clock = Clock()
        if rerun_of is None:
            body = {"logical_date": f"{day.isoformat()}T00:00:00Z"}
            run_id = stack.rest("POST", f"/api/v2/dags/{dag_id}/dagRuns", body).json()["dag_run_id"]
            previous_end = None
        else:
            run_id = rerun_of["run_id"]
            previous_end = rerun_of["end_date"]
            stack.rest("POST", f"{stack.run_path(dag_id, run_id)}/clear", {"dry_run": False})
        log(f"{self.version} {name}: triggered {dag_id} {run_id}")
        deadline = time.monotonic() + timeout
        while True:
            run = stack.get_run(dag_id, run_id)
            if run["state"] in ("success", "failed") and run["end_date"] and run["end_date"] != previous_end:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name}: run {run_id} not done after {timeout}s\n{stack.run_report(dag_id, run_id)}"
                )
            time.sleep(0.5)
        observed = time.time() - clock.wall
        tis = self.task_instances(dag_id, run_id)
        end = _ts(run["end_date"])
        wall = end - clock.wall
        digest = self._digest(dag_id, day)
        to_digest = digest["md_mtime"] - clock.wall if digest.get("md_mtime") else None
        result: dict[str, Any] = {
            "name": name,
            "version": self.version,
            "rep": rep,
            "dag_id": dag_id,
            "run_id": run_id,
            "day": day.isoformat(),
            "commits": commits,
            "source": source,
            "rerun": rerun_of is not None,
            "variant": variant,
            "state": run["state"],
            "end_date": run["end_date"],
            "wall_s": wall,
            "to_digest_s": to_digest,
            "observed_s": observed,
            "queued_s": (_ts(run["start_date"]) or end) - clock.wall,
        }
        if run["state"] != "success":
            result["failure"] = stack.run_report(dag_id, run_id)[-6000:]
        result.update(self._tasks(tis, clock, end, digest.get("md_mtime")))
        result["llm"] = llm_profile(self.llm.requests, LLM_DELAY, clock)
        if result["llm"].get("requests"):
            result["llm"]["first_after_trigger_s"] = result["llm"].pop("first") - clock.wall
        result["github"] = dict(Counter(github_kind(r.path) for r in self.github.requests))
        result["github_total"] = sum(result["github"].values())
        result["digest"] = digest
        result["prompt_tokens_logged"] = self._logged_prompt_tokens(dag_id, run_id)
        result["task_logs"] = self._log_metrics(dag_id, run_id)
        ideal = ideal_llm_seconds(commits, POOL_SLOTS, LLM_DELAY)
        result["ideal_s"] = ideal
        headline = to_digest if to_digest is not None else wall
        result["ratio"] = headline / ideal if ideal else None
        self.results["runs"].append(result)
        log(
            f"{self.version} {name}: {run['state']}; request -> digest file "
            f"{'—' if to_digest is None else f'{to_digest:.1f}s'}, -> run end {wall:.1f}s (ideal {ideal:.0f}s); "
            f"LLM requests {result['llm'].get('requests')}; GitHub requests {result['github_total']}"
        )
        return result

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run: the REST API pages them (at most 100 a page)."""
        path = f"{self.stack.run_path(dag_id, run_id)}/taskInstances"
        found: list[dict[str, Any]] = []
        while True:
            params = {"limit": TI_PAGE, "offset": len(found), "order_by": "id"}  # id: a stable order
            page = self.stack.rest("GET", path, params=params).json()
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page.get("total_entries", 0):
                return found

    def _tasks(
        self, tis: list[dict[str, Any]], clock: Clock, end: float, digest_at: float | None = None
    ) -> dict[str, Any]:
        """Per task: instances, durations, first start and last end (from the trigger), peak RSS;
        for the run: the time some task ran and the time none did, up to the run's end and up to
        the digest file."""
        peaks = self.poller.peaks_kib if self.poller else {}
        tasks: dict[str, dict[str, Any]] = {}
        intervals = []
        for ti in tis:
            start, stop = _ts(ti.get("start_date")), _ts(ti.get("end_date"))
            entry = tasks.setdefault(
                ti["task_id"],
                {
                    "instances": 0,
                    "durations": [],
                    "start": math.inf,
                    "end": 0.0,
                    "peak_rss_mib": 0.0,
                    "states": Counter(),
                },
            )
            entry["instances"] += 1
            entry["states"][ti["state"]] += 1
            if start and stop:
                entry["durations"].append(stop - start)
                entry["start"], entry["end"] = min(entry["start"], start), max(entry["end"], stop)
                intervals.append((start, stop))
            peak = peaks.get(ti.get("id", ""), 0) / 1024
            entry["peak_rss_mib"] = max(entry["peak_rss_mib"], peak)
        summary = {}
        for task_id in TASK_ORDER:
            entry = tasks.get(task_id)
            if entry is None:
                continue
            durations = entry["durations"]
            summary[task_id] = {
                "instances": entry["instances"],
                "states": dict(entry["states"]),
                "span_s": (entry["end"] - entry["start"]) if durations else 0.0,
                "sum_s": sum(durations),
                "mean_s": sum(durations) / len(durations) if durations else 0.0,
                "max_s": max(durations) if durations else 0.0,
                "starts_after_trigger_s": (entry["start"] - clock.wall) if durations else None,
                "ends_after_trigger_s": (entry["end"] - clock.wall) if durations else None,
                "peak_rss_mib": entry["peak_rss_mib"],
            }
        busy = busy_union(intervals)
        out: dict[str, Any] = {
            "tasks": summary,
            "task_busy_s": busy,
            "idle_between_tasks_s": (end - clock.wall) - busy,
        }
        if digest_at is not None:
            # Up to the digest file: time some task of the run was running (publish up to the
            # write) and time none was (the request's queueing, the scheduler's hops, starts).
            clipped = [(a, min(b, digest_at)) for a, b in intervals if a < digest_at]
            busy_to_digest = busy_union(clipped)
            out["task_busy_to_digest_s"] = busy_to_digest
            out["no_task_to_digest_s"] = (digest_at - clock.wall) - busy_to_digest
        return out

    def _digest(self, dag_id: str, day: dt.date) -> dict[str, Any]:
        owner, name = dag_id.removeprefix("repo_digest__").split("__")
        path = self.stack.store / owner / name / f"{day:%Y}" / f"{day.isoformat()}.json"
        if not path.exists():
            return {"exists": False}
        data = json.loads(path.read_text())
        stats = data["stats"]
        markdown = path.with_suffix(".md")
        return {
            "exists": True,
            "commits": len(data["commits"]),
            "analyzers": stats.get("analyzers"),
            "fallbacks": stats.get("fallbacks"),
            "llm_requests": stats.get("llm_requests"),
            "partial_until": data.get("partial_until"),
            "path": str(path),
            # The publish task writes the Markdown atomically (a temporary file renamed): its
            # mtime is when the digest became readable.
            "md_mtime": markdown.stat().st_mtime if markdown.exists() else None,
        }

    def _log_metrics(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """From the task logs (JSON lines): each task's DAG-file parse at start-up, and for llm_analyze
        the time from the task's first log line to its first LLM request and from there to its last line."""
        per_task: dict[str, dict[str, list[float]]] = {}
        latest: dict[
            str, tuple[int, str, Path]
        ] = {}  # a rerun adds attempt=2: only the latest attempt counts
        for name, log_path in self.stack.task_logs(dag_id, run_id).items():
            instance, _, attempt = name.rpartition("/attempt=")
            number = int(attempt.removesuffix(".log")) if attempt.removesuffix(".log").isdigit() else 0
            if instance not in latest or latest[instance][0] < number:
                latest[instance] = (number, name, log_path)
        for _number, name, log_path in latest.values():
            task_id = name.split("/", 1)[0].removeprefix("task_id=")
            first = parsed = first_request = last = None
            parse_ms = None
            with contextlib.suppress(OSError):
                for line in log_path.read_text(errors="replace").splitlines():
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    stamp = _ts(event.get("timestamp"))
                    if stamp is None:
                        continue
                    first = stamp if first is None else first
                    last = stamp
                    text = str(event.get("event", ""))
                    if text == "Worker startup parse complete":
                        parsed, parse_ms = stamp, event.get("dag_file_parse_ms")
                    elif first_request is None and _REQUEST_TOKENS_RE.search(text):
                        first_request = stamp
            entry = per_task.setdefault(
                task_id,
                {
                    "parse_ms": [],
                    "to_parsed_s": [],
                    "to_first_request_s": [],
                    "after_first_request_s": [],
                    "log_span_s": [],
                },
            )
            if parse_ms is not None:
                entry["parse_ms"].append(float(parse_ms))
            if first is not None and last is not None:
                entry["log_span_s"].append(last - first)
                if parsed is not None:
                    entry["to_parsed_s"].append(parsed - first)
                if first_request is not None:
                    entry["to_first_request_s"].append(first_request - first)
                    entry["after_first_request_s"].append(last - first_request)
        return {
            task: {key: (sum(values) / len(values) if values else None) for key, values in entry.items()}
            for task, entry in per_task.items()
        }

    def _logged_prompt_tokens(self, dag_id: str, run_id: str) -> int | None:
        found = []
        for name, log_path in self.stack.task_logs(dag_id, run_id).items():
            if name.startswith("task_id=llm_analyze"):
                with contextlib.suppress(OSError):
                    found += [
                        int(m.group(1))
                        for m in _REQUEST_TOKENS_RE.finditer(log_path.read_text(errors="replace"))
                    ]
        return max(found) if found else None

    # --- benchmark 3: tokens ------------------------------------------------------------------
    def token_report(self, run: dict[str, Any]) -> dict[str, Any]:
        from repo_digest.pipeline import PROMPT_RESERVE_TOKENS
        from repo_digest.tokens import count_tokens

        patch_budget = max(BUDGET - PROMPT_RESERVE_TOKENS, BUDGET // 4)
        requests = self.llm.requests  # the token day's run was the last one measured
        digest_path = Path(run["digest"]["path"]) if run["digest"].get("exists") else None
        digest = json.loads(digest_path.read_text()) if digest_path else {"commits": []}
        by_sha = {c["sha"]: c for c in digest["commits"]}
        rows = []
        largest = {"messages": 0, "with_tools": 0}
        totals = Counter()
        for commit in self.token_commits:
            texts, tokens = [], []
            for request in requests:
                text = "\n".join(str(m.get("content") or "") for m in request.messages)
                if commit.sha in text:
                    texts.append(text)
                    tool_tokens = (
                        count_tokens(json.dumps(request.tools, ensure_ascii=False)) if request.tools else 0
                    )
                    tokens.append((request.prompt_tokens, request.prompt_tokens + tool_tokens))
            seen = set(_MARKER_RE.findall("\n".join(texts)))
            meaningful = set().union(*commit.meaningful.values()) if commit.meaningful else set()
            noise = set().union(*commit.noise.values()) if commit.noise else set()
            coverage = (by_sha.get(commit.sha) or {}).get("analysis", {}).get("coverage") or {}
            # The most meaningful lines the budget can hold: the patch budget filled with them alone.
            meaningful_tokens = sum(count_tokens(text) for text in commit.meaningful_text.values())
            ideal_lines = (
                len(meaningful) * min(1.0, patch_budget / meaningful_tokens) if meaningful_tokens else 0.0
            )
            skipped = Counter(item["reason"] for item in coverage.get("skipped", []))
            row = {
                "title": commit.title,
                "sha": commit.sha[:7],
                "size_bytes": commit.size_bytes,
                "requests": len(texts),
                "max_prompt_tokens": max((t[0] for t in tokens), default=0),
                "max_prompt_tokens_with_tools": max((t[1] for t in tokens), default=0),
                "meaningful_lines": len(meaningful),
                "meaningful_seen": len(seen & meaningful),
                "meaningful_tokens": meaningful_tokens,
                "ideal_lines": round(ideal_lines, 1),
                "noise_lines": len(noise),
                "noise_seen": len(seen & noise),
                "files_total": coverage.get("files_total"),
                "files_analysed": coverage.get("files_analysed"),
                "files_clipped": coverage.get("files_clipped"),
                "skipped": dict(skipped),
                "analyzer": (by_sha.get(commit.sha) or {}).get("analysis", {}).get("analyzer"),
            }
            rows.append(row)
            largest["messages"] = max(largest["messages"], row["max_prompt_tokens"])
            largest["with_tools"] = max(largest["with_tools"], row["max_prompt_tokens_with_tools"])
            for key in ("meaningful_lines", "meaningful_seen", "noise_lines", "noise_seen", "ideal_lines"):
                totals[key] += row[key]
        return {
            "budget": BUDGET,
            "patch_budget": patch_budget,
            "commits": rows,
            "largest_prompt_tokens": largest["messages"],
            "largest_prompt_tokens_with_tools": largest["with_tools"],
            "largest_prompt_tokens_logged": run.get("prompt_tokens_logged"),
            "meaningful_share": totals["meaningful_seen"] / totals["meaningful_lines"]
            if totals["meaningful_lines"]
            else None,
            "totals": dict(totals),
        }

    # --- the fixed cost of a day, the scheduler's idle CPU -------------------------------------
    def fixed_cost(self) -> None:
        """Empty days and 1-commit days, alternating, each on a different day."""
        dag_id = "repo_digest__bench-git__d1"
        for rep in range(self.reps):
            self.measure("empty day (0 commits)", dag_id, EMPTY_DAYS[rep], 0, "git", rep=rep)
            self.measure("1 commit", dag_id, ONE_COMMIT_DAYS[rep], 1, "git", rep=rep)

    def _task_processes(self) -> list[int]:
        found = []
        for pid in self.stack.pids():
            with contextlib.suppress(OSError):
                title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                if _TI_TITLE_RE.match(title):
                    found.append(pid)
        return found

    def idle_cpu(self, seconds: float) -> dict[str, Any]:
        """CPU seconds each server of the stack uses over ``seconds`` with nothing to do.

        From /proc/<pid>/stat (utime + stime) at both ends of the window: the server's own
        process, and its process group (for the scheduler: the LocalExecutor's workers and, with
        forkserver, the fork server). No run is active and the bench sends no request meanwhile.
        """
        settle = time.monotonic() + 60
        while time.monotonic() < settle and self._task_processes():
            time.sleep(1)
        time.sleep(5)
        servers = self.stack.server_pids()

        def sample() -> dict[str, tuple[float | None, dict[int, float | None]]]:
            return {
                name: (proc_cpu_s(pid), {member: proc_cpu_s(member) for member in process_group(pid)})
                for name, pid in servers.items()
            }

        log(f"{self.version}: scheduler idle CPU over {seconds:.0f}s")
        first, started = sample(), time.monotonic()
        time.sleep(seconds)
        second, window = sample(), time.monotonic() - started
        out: dict[str, Any] = {
            "window_s": window,
            "task_processes_after": len(self._task_processes()),
            "settings": self.results["versions"][self.version]["settings"],
        }
        for name in servers:
            (own0, group0), (own1, group1) = first[name], second[name]
            group = sum(
                (value or 0.0) - (group0.get(pid) or 0.0) for pid, value in group1.items() if value is not None
            )
            own = (own1 - own0) if own0 is not None and own1 is not None else None
            out[name] = {
                "cpu_s": own,
                "share": own / window if own is not None else None,
                "group_cpu_s": group,
                "group_pids": len(group1),
            }
        log(
            f"{self.version}: idle CPU over {window:.0f}s: "
            + ", ".join(f"{name} {out[name]['cpu_s'] or 0:.2f}s (group {out[name]['group_cpu_s']:.2f}s)" for name in servers)
        )
        return out

    # --- backfill of a real repository's history ------------------------------------------------
    def backfill(self) -> dict[str, Any]:
        """``airflow backfill create`` over the last days of the history, served by the fake GitHub."""
        assert self.history is not None
        stack = self.stack
        name = history_name(self.history)
        days = history_days(Path(self.history["path"]), self.history["branch"], HISTORY_DAYS)
        if self.quick:
            days = dict(list(days.items())[-5:])
        first, last = min(days), max(days)
        dag_id = f"repo_digest__{name.replace('/', '__')}"
        self.track([{"repo": name}])  # the GitHub source (the default), through the fake
        self.github.clear_requests()
        self.llm.clear_requests()
        command = ["backfill", "create", "--dag-id", dag_id, "--from-date", first.isoformat(),
                   "--to-date", last.isoformat()]  # fmt: skip
        log(f"backfill: airflow {' '.join(command)} ({len(days)} days, {sum(days.values())} commits)")
        clock = Clock()
        done = stack.cli(*command, timeout=600)
        cli_s = time.time() - clock.wall
        deadline = time.monotonic() + 5400
        while True:
            runs = stack.get_runs(dag_id, run_type="backfill")
            if len(runs) >= len(days) and all(run["state"] in ("success", "failed") for run in runs):
                break
            if time.monotonic() > deadline:
                states = Counter(run["state"] for run in runs)
                raise RuntimeError(f"backfill of {dag_id} not done after 5400s: {dict(states)}")
            time.sleep(2)
        observed = time.time() - clock.wall
        owner, repo = name.split("/")
        per_day = []
        for day, commits in days.items():
            base = stack.store / owner / repo / f"{day:%Y}" / f"{day.isoformat()}"
            markdown, data_path = base.with_suffix(".md"), base.with_suffix(".json")
            data = json.loads(data_path.read_text()) if data_path.exists() else None
            per_day.append(
                {
                    "day": day.isoformat(),
                    "commits": commits,
                    "ideal_s": ideal_llm_seconds(commits, POOL_SLOTS, LLM_DELAY),
                    "digest_commits": len(data["commits"]) if data else None,
                    "analyzers": (data or {}).get("stats", {}).get("analyzers"),
                    "partial_until": (data or {}).get("partial_until"),
                    "md_after_request_s": markdown.stat().st_mtime - clock.wall if markdown.exists() else None,
                }
            )
        written = [d["md_after_request_s"] for d in per_day if d["md_after_request_s"] is not None]
        spans = [(_ts(r["start_date"]), _ts(r["end_date"])) for r in runs if r.get("start_date") and r.get("end_date")]
        durations = [b - a for a, b in spans]
        events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
        peak = current = 0
        for _, change in events:
            current += change
            peak = max(peak, current)
        info: dict[str, Any] = {}
        with contextlib.suppress(Exception):  # only a label in the report
            listed = stack.rest("GET", "/api/v2/backfills", params={"dag_id": dag_id}).json()["backfills"]
            info = listed[0] if listed else {}
        github = Counter(github_kind(r.path) for r in self.github.requests)
        llm_requests = len(self.llm.requests)
        wall = max(written) if written else None
        ideal = sum(d["ideal_s"] for d in per_day)
        result = {
            "repo": name,
            "dag_id": dag_id,
            "history": self.history,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "days": len(days),
            "days_with_commits": sum(1 for n in days.values() if n),
            "commits": sum(days.values()),
            "max_commits_a_day": max(days.values()),
            "command": "airflow " + " ".join(command),
            "cli_s": cli_s,
            "cli_output": (done.stdout + done.stderr)[-1500:],
            "max_active_runs": info.get("max_active_runs"),
            "runs": len(runs),
            "states": dict(Counter(run["state"] for run in runs)),
            "wall_s": wall,
            "last_day_digest_s": per_day[-1]["md_after_request_s"],
            "first_digest_s": min(written) if written else None,
            "observed_s": observed,
            "digests_written": len(written),
            "digest_commits": sum(d["digest_commits"] or 0 for d in per_day),
            "partial_days": sum(1 for d in per_day if d["partial_until"]),
            "run_duration_median_s": statistics.median(durations) if durations else None,
            "run_duration_max_s": max(durations) if durations else None,
            "peak_runs_at_once": peak,
            "days_per_min": len(written) / (wall / 60) if wall else None,
            "github": dict(github),
            "github_total": sum(github.values()),
            "github_ideal": sum(max(1, math.ceil(n / 100)) + n for n in days.values()),
            "llm_requests": llm_requests,
            "ideal_sum_s": ideal,
            "ratio": wall / ideal if wall and ideal else None,
            "per_day": per_day,
        }
        log(
            f"backfill: {result['states']} in {wall or 0:.1f}s to the last digest file (ideal sum {ideal:.0f}s); "
            f"GitHub {result['github_total']} requests, LLM {llm_requests}"
        )
        return result

    # --- the whole benchmark ----------------------------------------------------------------
    def track_many(self, total: int, name: str, path: Path) -> str:
        """Track ``total`` repos: those tracked, one new git repo ``name`` at ``path``, and paused fillers."""
        new = {"repo": f"bench-git/{name}", "source": "git", "url": str(path)}
        fillers = [
            {
                "repo": f"filler{i % 37}/project-{i:04d}",
                "timezone": "Asia/Shanghai",
                "source": "git",
                "url": f"/nonexistent/p{i}.git",
            }
            for i in range(total - len(self.tracked) - 1)
        ]
        value = json.dumps([*self.tracked, new, *fillers])
        started = time.monotonic()
        self.stack.rest(
            "PATCH", "/api/v2/variables/repo_digest_repos", {"key": "repo_digest_repos", "value": value}
        )
        dag_id = f"repo_digest__bench-git__{name}"
        self.stack.wait_for_dag(dag_id, timeout=600)
        self.results["tracked_dags_visible_s"] = time.monotonic() - started
        self.stack.unpause(dag_id)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            runs = self.stack.get_runs(dag_id)
            if runs and all(run["state"] in ("success", "failed") for run in runs):
                break
            time.sleep(2)
        log(f"{total} repos tracked; {dag_id} visible after {self.results['tracked_dags_visible_s']:.0f}s")
        return dag_id

    def profile_batch(self, path: Path, day: dt.date, commits: int) -> dict[str, Any]:
        from bench.common import PYTHON, ROOT, child_env

        work = self.work / "profile_batch"
        work.mkdir(exist_ok=True)
        env = child_env(
            work / "home",
            {"REPO_DIGEST_STORE": str(work / "store"), "REPO_DIGEST_GIT_CACHE": str(work / "git")},
        )
        (work / "home").mkdir(exist_ok=True)
        cmd = [
            PYTHON,
            str(ROOT / "bench" / "profile_batch.py"),
            str(path),
            day.isoformat(),
            str(commits),
            str(work / "batch.prof"),
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
        if done.returncode != 0 or "@@RESULT@@" not in done.stdout:
            return {"error": f"{done.returncode}: {done.stderr[-3000:]}"}
        return json.loads(done.stdout.rsplit("@@RESULT@@", 1)[1])

    def after_only(self, paths: dict[str, Path]) -> None:
        """What only the measured code runs: the other days, the backfill, 1,000 repos tracked."""
        size = self.size
        new = [{"repo": f"bench-gh/d{size}"}, {"repo": "bench-gh/tokens"}]
        if not self.quick:
            new = [self.git_entry("d20", paths), *new, self.git_entry("d2000", paths)]
        self.track(new)
        if not self.quick:
            self.measure("20 commits", "repo_digest__bench-git__d20", DAYS[20], 20, "git")
        first = self.measure(f"{size} commits", f"repo_digest__bench-gh__d{size}", DAYS[size], size, "github")
        self.measure(
            f"{size} commits, rerun (clear)", first["dag_id"], DAYS[size], size, "github", rerun_of=first
        )
        tokens_run = self.measure(
            "token day (5 commits, one of 2 MB)",
            "repo_digest__bench-gh__tokens",
            TOKEN_DAY,
            len(self.token_commits),
            "github",
        )
        self.results["tokens"] = self.token_report(tokens_run)
        if not self.quick:
            self.step(
                "2,000 commits",
                lambda: self.measure(
                    "2,000 commits", "repo_digest__bench-git__d2000", DAYS[2000], 2000, "git", timeout=2400
                ),
            )
        if self.history:
            self.results["backfill"] = self.step("backfill", self.backfill)

        # The same kind of day with many repos tracked: every task re-parses the whole DAG file.
        def many_repos() -> None:
            many = 100 if self.quick else 1000
            dag_id = self.track_many(many, f"d{size}many", paths[f"d{size}"])
            self.measure(
                f"{size} commits, {many:,} repos tracked",
                dag_id,
                DAYS[size],
                size,
                "git",
                variant=f"{many:,} repos tracked",
            )
            self.results["many_repos"] = many

        self.step("many repos tracked", many_repos)

    def step(self, name: str, action: Any) -> Any:
        """Run one benchmark; a failure is recorded (and reported) and the others go on."""
        try:
            return action()
        except Exception as exc:
            import traceback

            error = f"{exc!r}\n{traceback.format_exc()[-3000:]}"
            self.results.setdefault("errors", {})[name] = error
            log(f"{name} failed: {exc!r}")
            return {"error": error}

    def run(self, before_measuring: Any = None) -> dict[str, Any]:
        paths = self.build_repos()
        self.results["repos_dir"] = str(self.work)
        self.results["fixed_cost_days"] = {
            "empty": [d.isoformat() for d in EMPTY_DAYS[: self.reps]],
            "one_commit": [d.isoformat() for d in ONE_COMMIT_DAYS[: self.reps]],
        }
        waited = False
        try:
            self.start_fakes(paths)
            # One stack at a time (2 cores): the before code first, then the code measured.
            for version in [v for v in ("before", "after") if v in self.trees]:
                try:
                    self.start_stack(version)
                    self.track([self.git_entry("d1", paths), self.git_entry(f"d{self.size}", paths)])
                    if before_measuring is not None and not waited:
                        before_measuring()
                        waited = True
                    self.fixed_cost()
                    self.measure(
                        f"{self.size} commits",
                        f"repo_digest__bench-git__d{self.size}",
                        DAYS[self.size],
                        self.size,
                        "git",
                    )
                    self.results["idle"][version] = self.idle_cpu(15 if self.quick else 60)
                    if version == "after":
                        self.after_only(paths)
                except Exception as exc:  # reported in the results; the other version still runs
                    import traceback

                    self.results["versions"].setdefault(version, {})["error"] = (
                        f"{exc!r}\n{traceback.format_exc()[-4000:]}"
                    )
                    log(f"{version}: failed: {exc!r}")
                finally:
                    self.stop_stack()
        finally:
            self.stop_stack()
            for server in (self.github, self.llm):
                if server is not None:
                    server.stop()
                    if server.errors:
                        self.results.setdefault("fake_errors", []).append(server.errors[0][-2000:])
        commits = 8  # one llm_analyze instance analyses one commit: eight, for steadier figures
        log(f"profiling llm_analyze's body over {commits} commits in a fresh process")
        self.results["batch_profile"] = self.profile_batch(paths[f"d{self.size}"], DAYS[self.size], commits)
        return self.results
