"""Benchmarks 2-5: days under a real scheduler (AirflowStack: PostgreSQL, LocalExecutor).

One stack, one fake GitHub, one fake OpenAI answering after 1 s. The Variable tracks one
repository per day size (synthetic, built with git fast-import); each day is triggered
through REST with its logical date and timed from the trigger to the run's end_date as
the metadata DB records it. Runs go one at a time; the combined-report DAG stays paused
so nothing else runs beside the day being measured.

While everything runs, a poller reads the peak RSS (VmHWM in /proc/<pid>/status, every
0.2 s) of every task process of the stack (proctitle ``airflow worker -- <ti id>``) and
attributes it to its task instance through the REST API.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
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

EMPTY_DAY = dt.date(2026, 3, 1)
DAYS = {1: dt.date(2026, 3, 3), 20: dt.date(2026, 3, 4), 200: dt.date(2026, 3, 5), 2000: dt.date(2026, 3, 6)}
TOKEN_DAY = dt.date(2026, 3, 7)
TASK_ORDER = ["fetch_commits", "chunk_diffs", "llm_analyze", "aggregate_stats", "render_markdown", "publish"]
_TI_TITLE_RE = re.compile(
    r"^airflow worker -- ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_REQUEST_TOKENS_RE = re.compile(r"request of (\d+) prompt tokens \(budget (\d+)\)")
_MARKER_RE = re.compile(r"M\d{7}Q")


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


class LiveBench:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.work = Path(tempfile.mkdtemp(prefix="repo_digest_bench_live_"))
        self.results: dict[str, Any] = {"runs": [], "llm_delay_s": LLM_DELAY, "pool_slots": POOL_SLOTS}
        self.stack: Any = None
        self.github: Any = None
        self.llm: Any = None
        self.poller: RssPoller | None = None
        self.token_commits: list[TokenCommit] = []

    # --- setup ----------------------------------------------------------------------------
    def build_repos(self) -> dict[str, Path]:
        sizes = [1, 20] if self.quick else [1, 20, 200, 2000]
        paths = {}
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

    def entries(self, paths: dict[str, Path]) -> list[dict[str, Any]]:
        def git(name: str) -> dict[str, Any]:
            return {"repo": f"bench-git/{name}", "source": "git", "url": str(paths[name])}

        gh_size = "d20" if self.quick else "d200"
        entries = [git(name) for name in paths if name != "tokens"]
        entries += [{"repo": f"bench-gh/{gh_size}"}, {"repo": "bench-gh/tokens"}]
        return entries

    def start_fakes(self, paths: dict[str, Path]) -> None:
        from tests.fakes.github_api import FakeGitHub
        from tests.fakes.openai_api import FakeOpenAI

        self.github = FakeGitHub(token=GITHUB_TOKEN, max_per_page=100).start()
        gh_size = "d20" if self.quick else "d200"
        self.github.add_repo(f"bench-gh/{gh_size}", paths[gh_size])
        self.github.add_repo("bench-gh/tokens", paths["tokens"])
        self.llm = FakeOpenAI(api_key=LLM_KEY, models=(MODEL,), delay=LLM_DELAY).start()

    def start_stack(self, extra_env: dict[str, str] | None = None) -> None:
        from tests.live.airflow_stack import AirflowStack

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
            **(extra_env or {}),
        }
        self.stack = AirflowStack(extra_env=env)
        self.stack.start()
        self.results.setdefault("stack_startup", []).append(dict(self.stack.timings))
        log(f"stack up: {', '.join(f'{k} {v:.1f}s' for k, v in self.stack.timings.items())}")
        self.poller = RssPoller(self.stack.tmp)
        self.poller.start()

    def stop_stack(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        if self.stack is not None:
            self.stack.stop()
            self.stack = None

    def track(self, entries: list[dict[str, Any]]) -> list[str]:
        stack = self.stack
        value = json.dumps(entries)
        stack.rest("POST", "/api/v2/variables", {"key": "repo_digest_repos", "value": value})
        pool = stack.rest("GET", "/api/v2/pools/llm_api").json()
        self.results["pool"] = {"name": pool["name"], "slots": pool["slots"]}
        assert pool["slots"] == POOL_SLOTS, pool
        dag_ids = [f"repo_digest__{e['repo'].replace('/', '__')}" for e in entries]
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
        self.results["warmup_runs"] = warm
        log(f"warm-up runs ended: {warm}")
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
        log(f"{name}: triggered {dag_id} {run_id}")
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
        path = f"{stack.run_path(dag_id, run_id)}/taskInstances"
        tis = stack.rest("GET", path, params={"limit": 1000}).json()["task_instances"]
        end = _ts(run["end_date"])
        wall = end - clock.wall
        result: dict[str, Any] = {
            "name": name,
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
            "observed_s": observed,
            "queued_s": (_ts(run["start_date"]) or end) - clock.wall,
        }
        if run["state"] != "success":
            result["failure"] = stack.run_report(dag_id, run_id)[-6000:]
        result.update(self._tasks(tis, clock, end))
        result["llm"] = llm_profile(self.llm.requests, LLM_DELAY, clock)
        if result["llm"].get("requests"):
            result["llm"]["first_after_trigger_s"] = result["llm"].pop("first") - clock.wall
        result["github"] = dict(Counter(github_kind(r.path) for r in self.github.requests))
        result["github_total"] = sum(result["github"].values())
        result["digest"] = self._digest(dag_id, day)
        result["prompt_tokens_logged"] = self._logged_prompt_tokens(dag_id, run_id)
        result["task_logs"] = self._log_metrics(dag_id, run_id)
        ideal = ideal_llm_seconds(commits, POOL_SLOTS, LLM_DELAY)
        result["ideal_s"] = ideal
        result["ratio"] = wall / ideal if ideal else None
        self.results["runs"].append(result)
        log(
            f"{name}: {run['state']} in {wall:.1f}s (ideal {ideal:.0f}s); LLM requests {result['llm'].get('requests')}; "
            f"GitHub requests {result['github_total']}"
        )
        return result

    def _tasks(self, tis: list[dict[str, Any]], clock: Clock, end: float) -> dict[str, Any]:
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
                "peak_rss_mib": entry["peak_rss_mib"],
            }
        busy = busy_union(intervals)
        return {"tasks": summary, "task_busy_s": busy, "idle_between_tasks_s": (end - clock.wall) - busy}

    def _digest(self, dag_id: str, day: dt.date) -> dict[str, Any]:
        owner, name = dag_id.removeprefix("repo_digest__").split("__")
        path = self.stack.store / owner / name / f"{day:%Y}" / f"{day.isoformat()}.json"
        if not path.exists():
            return {"exists": False}
        data = json.loads(path.read_text())
        stats = data["stats"]
        return {
            "exists": True,
            "commits": len(data["commits"]),
            "analyzers": stats.get("analyzers"),
            "fallbacks": stats.get("fallbacks"),
            "llm_requests": stats.get("llm_requests"),
            "path": str(path),
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

    # --- the whole benchmark ----------------------------------------------------------------
    def track_many(self, entries: list[dict[str, Any]], total: int, name: str, path: Path) -> str:
        """Track ``total`` repos: ``entries``, one new git repo ``name`` at ``path``, and paused fillers."""
        new = {"repo": f"bench-git/{name}", "source": "git", "url": str(path)}
        fillers = [
            {
                "repo": f"filler{i % 37}/project-{i:04d}",
                "timezone": "Asia/Shanghai",
                "source": "git",
                "url": f"/nonexistent/p{i}.git",
            }
            for i in range(total - len(entries) - 1)
        ]
        value = json.dumps([*entries, new, *fillers])
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
        import subprocess

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

    def run(self, before_measuring: Any = None) -> dict[str, Any]:
        paths = self.build_repos()
        self.results["repos_dir"] = str(self.work)
        entries = self.entries(paths)
        try:
            self.start_fakes(paths)
            self.start_stack()
            self.track(entries)
            if before_measuring is not None:
                before_measuring()
            git1 = "repo_digest__bench-git__d1"
            self.measure("empty day (0 commits)", git1, EMPTY_DAY, 0, "git")
            self.measure("1 commit", git1, DAYS[1], 1, "git")
            self.measure("20 commits", "repo_digest__bench-git__d20", DAYS[20], 20, "git")
            gh_size = 20 if self.quick else 200
            if not self.quick:
                self.measure("200 commits", "repo_digest__bench-git__d200", DAYS[200], 200, "git")
            first = self.measure(
                f"{gh_size} commits", f"repo_digest__bench-gh__d{gh_size}", DAYS[gh_size], gh_size, "github"
            )
            self.measure(
                f"{gh_size} commits, rerun (clear)",
                first["dag_id"],
                DAYS[gh_size],
                gh_size,
                "github",
                rerun_of=first,
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
                self.measure(
                    "2,000 commits", "repo_digest__bench-git__d2000", DAYS[2000], 2000, "git", timeout=2400
                )
            # The same kind of day with many repos tracked: every task re-parses the whole DAG file.
            many, size = (100, 20) if self.quick else (1000, 200)
            dag_id = self.track_many(entries, many, f"d{size}many", paths[f"d{size}"])
            self.measure(
                f"{size} commits, {many:,} repos tracked",
                dag_id,
                DAYS[size],
                size,
                "git",
                variant=f"{many:,} repos tracked",
            )
            self.results["many_repos"] = many
        finally:
            self.stop_stack()
            for server in (self.github, self.llm):
                if server is not None:
                    server.stop()
                    if server.errors:
                        self.results.setdefault("fake_errors", []).append(server.errors[0][-2000:])
        size = 20 if self.quick else 200
        commits = 8  # one llm_analyze instance analyses one commit: eight, for steadier figures
        log(f"profiling llm_analyze's body over {commits} commits in a fresh process")
        self.results["batch_profile"] = self.profile_batch(paths[f"d{size}"], DAYS[size], commits)
        return self.results
