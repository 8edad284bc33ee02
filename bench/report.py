"""docs/BENCHMARKS.md from the results of one run (bench/out/results.json has the raw numbers)."""

from __future__ import annotations

import math
import statistics
from typing import Any

from bench.common import ideal_llm_seconds

TASKS = ["fetch_commits", "chunk_diffs", "llm_analyze", "aggregate_stats", "render_markdown", "publish"]


def _s(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f} s"


def _x(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}×"


def _n(value: Any) -> str:
    return "—" if value is None else f"{value:,}"


def _pct(part: float, whole: float) -> str:
    return "—" if not whole else f"{100 * part / whole:.1f} %"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _holds(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**holds**" if ok else "**MISSED**")


class Report:
    def __init__(self, results: dict[str, Any]) -> None:
        self.r = results
        self.parse = results.get("parse") or {}
        self.live = results.get("live") or {}
        self.runs = self.live.get("runs", [])
        # Runs of the code measured (older results have no version: all of them).
        self.after_runs = [r for r in self.runs if r.get("version", "after") == "after"]
        self.seq = results.get("sequential") or {}
        self.targets: list[list[Any]] = []

    # --- lookups ---------------------------------------------------------------------------
    def parse_case(self, repos: int | None) -> dict[str, Any] | None:
        return next((c for c in self.parse.get("cases", []) if c["repos"] == repos), None)

    def parse_set(self, repos: int) -> dict[str, Any] | None:
        """The DAG files as shipped, parsed one by one, at ``repos`` repos."""
        return next((c for c in self.parse.get("sets", []) if c["repos"] == repos), None)

    def run(
        self, commits: int, source: str, rerun: bool = False, version: str = "after"
    ) -> dict[str, Any] | None:
        return next(
            (
                r
                for r in self.runs
                if r["commits"] == commits
                and r["source"] == source
                and r["rerun"] == rerun
                and r.get("version", "after") == version
                and r.get("rep") in (None, 0)
                and not r["name"].startswith("token")
                and not r.get("variant")
            ),
            None,
        )

    def empty_run(self, version: str = "after") -> dict[str, Any] | None:
        return next(
            (r for r in self.runs if r["commits"] == 0 and r.get("version", "after") == version), None
        )

    def fixed_runs(self, commits: int, version: str) -> list[dict[str, Any]]:
        """The fixed-cost days of one kind (0 or 1 commit) on one code version, in order."""
        return [
            r
            for r in self.runs
            if r["commits"] == commits
            and r["source"] == "git"
            and not r["rerun"]
            and not r.get("variant")
            and r.get("version", "after") == version
        ]

    @property
    def versions(self) -> list[str]:
        """The code versions measured under a scheduler, before first."""
        seen = {r.get("version", "after") for r in self.runs}
        return [v for v in ("before", "after") if v in seen]

    def label(self, version: str) -> str:
        code = self.r.get(version) or {}
        kind = "batches" if version == "before" else "per commit"
        return f"{version} (`{code.get('head', '?')}`, {kind})"

    def code_line(self) -> str:
        start, end = self.r.get("code") or {}, self.r.get("code_end") or {}
        if not start:
            return "unknown"
        line = f"commit `{start['head']}` ({start['subject']})"
        if start.get("dirty"):
            line += f", with uncommitted changes to {len(start['dirty'])} file(s)"
        if end and (end.get("head") != start.get("head") or end.get("dirty") != start.get("dirty")):
            line += (
                f"; **changed during the run** (now `{end.get('head')}`): later rows may have run newer code"
            )
        else:
            line += "; unchanged during the run"
        return line

    def product_line(self, version: str) -> str:
        code = self.r.get(version)
        if not code:
            return "not measured"
        if not code.get("exported", True):
            return f"the working tree: {self.code_line()}"
        return f"commit `{code['head']}` ({code['subject']}), exported with `git archive`"

    def settings_line(self, version: str) -> str:
        settings = (self.live.get("versions", {}).get(version) or {}).get("settings") or {}
        if not settings:
            return "—"
        start = settings.get("mp_start_method") or "fork (the platform default)"
        preload = settings.get("mp_forkserver_preload") if start == "forkserver" else None
        parallelism = settings.get("parallelism") or "32 (Airflow's default)"
        return (
            f"`[core] parallelism` {parallelism}, `mp_start_method` {start}"
            + (f" (preload `{preload}`)" if preload else "")
            + f", `scheduler_idle_sleep_time` {settings.get('scheduler_idle_sleep_time') or '1'} s"
        )

    # --- sections --------------------------------------------------------------------------
    def header(self) -> str:
        m = self.r["machine"]
        quick = " (**--quick smoke run: smallest sizes only**)" if self.r.get("quick") else ""
        history = self.r.get("history") or {}
        rows = [
            ["date", m["date_utc"]],
            ["cores", m["cores"]],
            ["CPU", m["cpu_model"]],
            ["RAM", f"{m['ram_gib']} GiB"],
            ["kernel", m["kernel"]],
            ["Python", m["python"]],
            ["Airflow", f"{m['airflow']} (task SDK {m['task_sdk']}), LocalExecutor"],
            ["metadata DB", m["postgres"] + " on 127.0.0.1:5432"],
            ["others", f"langchain-openai {m['langchain_openai']}, PyGithub {m['pygithub']}, {m['git']}"],
            [
                "load average (1/5/15 min) at start → end",
                f"{' / '.join(f'{x:.2f}' for x in m['load_average'])} → "
                f"{' / '.join(f'{x:.2f}' for x in m.get('load_average_end', []))}",
            ],
            ["whole run", f"{self.r['duration_s'] / 60:.1f} min"],
            ["product code measured (after)", self.product_line("after")],
            ["its scheduler settings", self.settings_line("after")],
        ]
        if self.r.get("before"):
            rows += [
                ["code side by side (before)", self.product_line("before")],
                ["its scheduler settings", self.settings_line("before")],
            ]
        if (self.r.get("after") or {}).get("exported", False):
            start = self.r.get("code") or {}
            dirty = len(start.get("dirty") or [])
            rows.append(
                [
                    "working tree at the start (not measured)",
                    f"HEAD `{start.get('head')}`"
                    + (f", {dirty} uncommitted file(s) under dags/, plugins/, include/" if dirty else ", clean"),
                ]
            )
        if history:
            name = (self.live.get("backfill") or {}).get("repo")
            rows.append(
                [
                    "history replayed (backfill)",
                    (f"`{name}` " if name else "")
                    + f"at commit `{(history.get('last_sha') or '?')[:12]}` ({history.get('last_date')}; "
                    f"{history.get('commits', 0):,} commits on `{history.get('branch')}`), served from "
                    f"`{history.get('url') or history['path']}`",
                ]
            )
        return "\n".join(
            [
                "# Benchmarks",
                "",
                "Regenerate this file with **one command** from the project root (PostgreSQL on 127.0.0.1:5432, as for the",
                "live tests):",
                "",
                "```bash",
                ".venv/bin/python -m bench           # everything, writes docs/BENCHMARKS.md (~25-40 min on 2 cores)",
                ".venv/bin/python -m bench --quick   # smoke: each benchmark at its smallest size, writes bench/out/",
                "```",
                "",
                "The benchmarks live in `bench/` and are not part of the pytest suite. Raw numbers of the last run:",
                "`bench/out/results.json` (not committed). Every figure below comes from the run described here; where",
                "an ideal applies it was measured or computed in the same run and each figure is given as a ratio to it.",
                "The product code is never the working tree as it stands: `--after` (default `HEAD`) and `--before`",
                "(default `bb63a47`, the last commit with batched `llm_analyze`) are exported with `git archive`; the",
                "before code runs under a scheduler of its own, with the settings it had, one stack after the other.",
                "`--history PATH` (or `REPO_DIGEST_BENCH_HISTORY`) names the repository the backfill replays.",
                "",
                f"Command of this run: `{self.r['command']}`{quick}",
                "",
                "## Machine",
                "",
                _table(["", ""], rows),
                "",
                "The machine is shared and noisy: timings move by 10-20 % between runs (compare the load averages).",
            ]
        )

    def section_parse(self) -> str:
        if not self.parse:
            return "## 1. DAG parse time\n\nNot run (`--only`)."
        trivial = self.parse_case(None)
        rows = []
        for case in self.parse["cases"]:
            counts = case["counts"]
            network = sum(
                v for k, v in counts.items() if k.startswith(("socket_connect_inet", "dns", "create_conn"))
            )
            connections = sum(v for k, v in counts.items() if k.startswith("connection_lookup"))
            rows.append(
                [
                    case["label"],
                    _n(case["dags"]),
                    _s(case["parse_s"], 3),
                    _s(case["bag_s"], 3),
                    _s(case["serialize_s"], 3),
                    _x(case.get("ratio"), 1),
                    " ".join(f"{x:.3f}" for x in case["samples_s"]),
                    _n(counts.get("variable_get", 0)),
                    _n(connections),
                    _n(network),
                    _n(counts.get("db_statement", 0)),
                    "none" if not case["import_errors"] else "**" + ", ".join(case["import_errors"]) + "**",
                ]
            )
        out = [
            "## 1. DAG parse time",
            "",
            "Each measurement is a fresh interpreter (`bench/parse_child.py`) doing what the dag-processor's child",
            "does for one file: `BundleDagBag(file)` (imports the file: every repo_digest module, the Variable read,",
            "building the DAGs) and `DagSerialization.to_dict` of every DAG it made. Interpreter start, importing",
            "Airflow's parsing code and the pre-import of the `airflow.*` modules the file names (which the",
            "dag-processor does before forking) are not timed. The Variable comes from `AIRFLOW_VAR_REPO_DIGEST_REPOS`",
            "(entries varied: 37 owners, 4 time zones, a third `en`, a fifth `source: git`). While the file is",
            "parsed, the child counts `Variable.get` calls, connection lookups at every layer (SDK, hook, secrets",
            "backends), network attempts (Python socket `connect`, `getaddrinfo`) and metadata-DB statements.",
            f"Median of {self.parse['runs_per_size']} runs; the ideal is a trivial one-DAG, one-task file parsed the",
            "same way. The repo DAGs are spread over `dags/repo_digest_0.py` … (by a hash of the dag_id) and the",
            "combined report's DAG is in `dags/repo_digest_all.py`; the dag-processor parses (and times) each file",
            "on its own, two at a time by default. \"One file (before)\" is a generated file building every DAG, as",
            "`dags/` did before the split: the comparison row.",
            "",
            _table(
                [
                    "file",
                    "DAGs",
                    "parse (median)",
                    "of which import + build",
                    "of which serialize",
                    "× trivial",
                    "runs (s)",
                    "Variable reads",
                    "connection lookups",
                    "network attempts",
                    "DB statements",
                    "import errors",
                ],
                rows,
            ),
        ]
        sets = self.parse.get("sets") or []
        if sets:
            out += [
                "",
                "**The files as shipped**, each parsed on its own (the per-file medians are in the next table):",
                "",
                _table(
                    ["repos", "files", "DAGs in all", "largest file", "its parse", "sum over the files",
                     "one file (before)", "largest ÷ one file", "Variable reads per file", "import errors"],
                    [
                        [_n(c["repos"]), _n(c["files"]), _n(c["dags"]), f"`{c['largest_file']}`", _s(c["parse_s"], 3),
                         _s(c["total_s"], 3), _s(c["one_file_s"], 3), _x(c["ratio_to_one_file"], 2),
                         " ".join(str(n) for n in c["variable_reads"]),
                         "none" if not c["import_errors"] else "**" + ", ".join(c["import_errors"]) + "**"]
                        for c in sets
                    ],
                ),
                "",
                _table(
                    ["file", "DAGs", "parse (median)", "of which import + build", "of which serialize", "runs (s)"],
                    [
                        [f["label"], _n(f["dags"]), _s(f["parse_s"], 3), _s(f["bag_s"], 3), _s(f["serialize_s"], 3),
                         " ".join(f"{x:.3f}" for x in f["samples_s"])]
                        for f in self.parse.get("files", [])
                    ],
                ),
            ]  # fmt: skip
        one, large = self.parse_case(1), self.parse_case(1000)
        if one and large:
            marginal = (large["parse_s"] - one["parse_s"]) / 999
            out += [
                "",
                f"Marginal cost per tracked repository: **{marginal * 1000:.2f} ms** "
                f"(one file: (parse at 1,000 − parse at 1) / 999); the trivial file takes {_s(trivial['parse_s'], 3)}.",
            ]
        startup = self.parse.get("task_startup") or []
        if startup:
            out += [
                "",
                "**A task's start-up parse.** Before it runs one task, Airflow 3's task runner parses the whole DAG",
                "file again, with the parsing context set to the task's DAG (`_AIRFLOW_PARSING_CONTEXT_DAG_ID`); a",
                "file that honours it builds only that DAG. Measured the same way, with that variable set; a task",
                "does not serialize, so the figure is the import-and-build part:",
                "",
                _table(
                    [
                        "file",
                        "DAGs built",
                        "import + build (median)",
                        "× trivial (import + build)",
                        "Variable reads",
                    ],
                    [
                        [
                            c["label"],
                            _n(c["dags"]),
                            _s(c["bag_s"], 3),
                            _x(c.get("ratio"), 1),
                            _n(c["counts"].get("variable_get", 0)),
                        ]
                        for c in startup
                    ],
                ),
            ]
        profile = self.parse.get("profile") or []
        if profile:
            out += [
                "",
                f"Where the time goes: one parse at {self.parse['profile_repos']:,} repos under cProfile "
                "(which roughly doubles every figure; read them as shares):",
                "",
            ]
            out.append(
                _table(
                    ["what", "cumulative (profiled)", "calls"],
                    [[row["what"], _s(row["cumulative_s"], 2), _n(row["calls"])] for row in profile],
                )
            )
        return "\n".join(out)

    @staticmethod
    def headline(run: dict[str, Any]) -> float:
        """Request → digest file (the Markdown's mtime); older results: request → run end."""
        value = run.get("to_digest_s")
        return value if value is not None else run["wall_s"]

    def run_name(self, run: dict[str, Any]) -> str:
        name = run["name"]
        if run.get("rep") is not None:
            name += f" #{run['rep'] + 1} ({run['day']})"
        return name

    def section_days(self) -> str:
        if not self.runs:
            return "## 2. A day under the scheduler\n\nNot run (`--only`)."
        rows = []
        for run in self.runs:
            tasks = run.get("tasks", {})
            llm = run.get("llm", {})
            ideal = run["ideal_s"]
            target = ""
            if run["commits"] == 200 and not run["rerun"] and run.get("version", "after") == "after":
                limit = 2 * ideal + 60
                target = f"≤ {limit:.0f} s: {_holds(self.headline(run) <= limit)}"
            digest = run.get("digest", {})
            analysed = ""
            if digest.get("exists"):
                analysers = digest.get("analyzers") or {}
                analysed = ", ".join(f"{k} {v}" for k, v in analysers.items()) or "—"
            rows.append(
                [
                    run.get("version", "after"),
                    self.run_name(run),
                    run["source"],
                    _n(run["commits"]),
                    f"{run['state']}",
                    _s(run.get("to_digest_s")),
                    _s(run["wall_s"]),
                    "0 s (cached)" if run["rerun"] else _s(ideal, 0),
                    _x(run.get("ratio"), 1) if ideal and not run["rerun"] else "—",
                    target,
                    _n(tasks.get("llm_analyze", {}).get("instances")),
                    _n(llm.get("requests", 0)),
                    f"{llm['mean_in_flight']:.1f} / {llm['peak_in_flight']}" if llm.get("requests") else "—",
                    analysed,
                ]
            )
        slots = self.live.get("pool", {}).get("slots", "?")
        out = [
            "## 2. A day under the scheduler",
            "",
            "`AirflowStack` (api-server, scheduler, dag-processor; LocalExecutor; PostgreSQL), the pool",
            f"`llm_api` at {slots} slots, the fake OpenAI answering every request after "
            f"{self.live.get('llm_delay_s', 1.0):g} s. Two stacks, one after the",
            "other and never together: **before**, the batch code (an `llm_analyze` instance per batch of commits,",
            "4 LLM calls at once in 4 pool slots) with the settings it ran with, and **after**, the code measured",
            "(one `llm_analyze` instance per commit in 1 pool slot; two commits an instance only beyond",
            "`max_map_length` 1,024) with its settings (both in the machine table). Both stacks get the same",
            "repositories, the same fakes and the same days: three empty days, three 1-commit days and the",
            "200-commit day; only the after stack runs the rest.",
            "",
            "Synthetic repositories (git fast-import: small edits to Python sources, tests and docs, 1-3 files per",
            "commit, conventional titles, commits spread evenly over the day). `git` rows read a local path through",
            "the `git` source (a mirror clone, fetched before each run); `github` rows read the same repository",
            "through the fake GitHub (PyGithub, 100 commits per list page). Each day is triggered through REST",
            "(`POST …/dagRuns` with the logical date `D T00:00:00Z`, the same day on both versions) and timed from",
            "that request **to the digest file** (the mtime of the day's `.md` in the store, which the publish task",
            "writes atomically) and to the run's `end_date` in the metadata DB. One run at a time; before the first,",
            "every DAG's unpause-scheduled run (the latest real day: no commits) ran as a warm-up (mirror clones,",
            "tokenizer cache). The dag-processor re-parses every 30 s (Airflow's default; the test stack's 5 s would",
            f"re-parse 1,000 repos' files back to back). Ideal = ceil(N / {slots}) × 1 s: every pool slot busy with",
            "one call all the time. The last row is the 200-commit day again (a new repo name, so nothing cached)",
            "with 1,000 repos in the Variable, the others paused fillers that never run.",
            "",
            _table(
                [
                    "code",
                    "day",
                    "source",
                    "commits",
                    "state",
                    "request → digest file",
                    "request → run end",
                    "ideal",
                    "÷ ideal",
                    "target",
                    "llm_analyze instances",
                    "LLM requests",
                    "calls in flight mean / peak",
                    "digest analysers",
                ],
                rows,
            ),
        ]
        failures = {
            **{f"{version} stack": v["error"] for version, v in self.live.get("versions", {}).items() if v.get("error")},
            **(self.live.get("errors") or {}),
        }
        if failures:
            out += ["", "**Failed** (the rest of this section has what ran):", ""]
            out += [f"- {name}: `{error.splitlines()[0][:300]}`" for name, error in failures.items()]
        out += self.side_by_side()
        out += self.fixed_cost()
        out += self.idle_cpu()
        out += self.where_the_time_goes()
        out += self.batch_profile()
        return "\n".join(out)

    def side_by_side(self) -> list[str]:
        after = self.run(200, "git") or self.run(20, "git")
        if not after:
            return []
        n = after["commits"]
        before = self.run(n, "git", version="before")
        limit = 2 * after["ideal_s"] + 60

        def cells(label: str, get: Any, fmt: Any = _s, ratio: bool = True) -> list[Any]:
            values = [get(r) if r else None for r in (before, after)]
            row = [label] + [fmt(v) if v is not None else "—" for v in values]
            if ratio and all(isinstance(v, int | float) and v for v in values):
                row.append(_x(values[1] / values[0]))
            else:
                row.append("")
            return row

        def task(name: str, key: str = "span_s") -> Any:
            return lambda r: (r.get("tasks", {}).get(name) or {}).get(key)

        def tail(r: dict[str, Any]) -> float:
            return sum((r["tasks"].get(t) or {}).get("span_s", 0) for t in TASKS[3:])

        def llm(key: str) -> Any:
            return lambda r: (r.get("llm") or {}).get(key)

        def instances(r: dict[str, Any]) -> str:
            llm_task = r.get("tasks", {}).get("llm_analyze") or {}
            each = "4 pool slots, 4 calls at once" if r.get("version") == "before" else "1 pool slot, 1 call"
            return f"{_n(llm_task.get('instances'))} ({each})"

        rows = [
            cells("request → digest file", self.headline),
            cells("request → run end", lambda r: r["wall_s"]),
            cells("÷ ideal (request → digest file)", lambda r: r.get("ratio"), lambda v: _x(v, 1), ratio=False),
            cells("request → run started (queued)", lambda r: r["queued_s"]),
            cells("`fetch_commits`", task("fetch_commits")),
            cells("`chunk_diffs`", task("chunk_diffs")),
            cells("`llm_analyze` span (first start → last end)", task("llm_analyze")),
            cells("`llm_analyze` instances", instances, str, ratio=False),
            cells("`llm_analyze` mean instance", task("llm_analyze", "mean_s")),
            cells("LLM calls: span", llm("span_s")),
            cells("LLM calls in flight: mean", llm("mean_in_flight"), lambda v: f"{v:.1f}"),
            cells("LLM calls in flight: peak", llm("peak_in_flight"), str),
            cells("`aggregate_stats` + `render_markdown` + `publish`", tail),
            cells("no task of the run running, up to the digest file", lambda r: r.get("no_task_to_digest_s")),
        ]
        verdict = _holds(self.headline(after) <= limit and after["state"] == "success")
        text = [
            "",
            f"### 2a. The {n}-commit day: per commit against batches, same run",
            "",
            f"The {n}-commit day (`git` source) on both stacks, one after the other. Target for the code measured:",
            f"request → digest file ≤ 2 × ideal + 60 s = 2 × {after['ideal_s']:.0f} s + 60 s = **{limit:.0f} s**: "
            f"{verdict} ({_s(self.headline(after))}, {self.headline(after) / limit:.2f}× the limit).",
            "",
            _table(["", self.label("before"), self.label("after"), "after ÷ before"], rows),
        ]
        big = self.run(2000, "git")
        if big:
            llm_task = big["tasks"].get("llm_analyze", {})
            text += [
                "",
                f"The 2,000-commit day (more than `max_map_length` 1,024, so two commits an instance) on the after "
                f"stack: {big['state']}, {_n(big.get('digest', {}).get('commits'))} commits in the digest, "
                f"{_n(llm_task.get('instances'))} `llm_analyze` instances, request → digest file "
                f"{_s(self.headline(big))} ({_x(big.get('ratio'), 1)} the ideal of {_s(big['ideal_s'], 0)}), "
                f"{big['llm'].get('mean_in_flight', 0):.1f} of {self.live.get('pool_slots', 16)} LLM calls in flight "
                f"on average over {_s(big['llm'].get('span_s'))} of calls.",
            ]
        return text

    def fixed_summary(self, commits: int) -> dict[str, Any] | None:
        """Median request → digest file over the fixed-cost days of one kind, per version."""
        out: dict[str, Any] = {}
        for version in ("before", "after"):
            runs = self.fixed_runs(commits, version)
            if runs:
                values = [self.headline(r) for r in runs]
                out[version] = {"median": statistics.median(values), "values": values, "runs": runs}
        return out or None

    def fixed_cost(self) -> list[str]:
        rows = []
        for commits in (0, 1):
            summary = self.fixed_summary(commits)
            if not summary or "after" not in summary:
                continue
            after = summary["after"]
            before = summary.get("before")
            ratio = after["median"] / before["median"] if before else None
            rows.append(
                [
                    f"{commits} commit{'s' if commits != 1 else ''}",
                    f"{_s(before['median'])} ({', '.join(f'{v:.1f}' for v in before['values'])})"
                    if before
                    else "—",
                    f"{_s(after['median'])} ({', '.join(f'{v:.1f}' for v in after['values'])})",
                    _x(ratio) if ratio else "—",
                    "≤ 0.50×",
                    _holds(ratio <= 0.5) if ratio else _holds(None),
                ]
            )
        if not rows:
            return []
        out = [
            "",
            "### 2b. The fixed cost of a day",
            "",
            "Days with no commit and with one commit (one LLM call of 1 s), each kind on "
            f"{len(self.fixed_runs(0, 'after'))} different day(s)",
            "per stack (alternating, one run at a time), request → digest file; the median and, in brackets, every",
            "day in the order run. Target: after ≤ half of before (the report before this change had 6.5 s for the",
            "empty day, request → run end).",
            "",
            _table(
                ["day", self.label("before") + ": median (runs, s)", self.label("after") + ": median (runs, s)",
                 "after ÷ before", "target", "verdict"],
                rows,
            ),  # fmt: skip
        ]
        out += self.fixed_breakdown()
        return out

    def fixed_breakdown(self) -> list[str]:
        """Where a fixed-cost day's time goes: each task's duration and the gap before it (medians)."""
        columns = []
        for commits in (0, 1):
            for version in self.versions:
                runs = self.fixed_runs(commits, version)
                if runs:
                    columns.append((f"{commits} commit{'s' if commits != 1 else ''}, {version}", runs))
        if not columns:
            return []

        def steps(run: dict[str, Any]) -> dict[str, float]:
            """Request → run started, then per task: the gap before it and its duration (to the digest file)."""
            tasks = run.get("tasks", {})
            digest_at = self.headline(run)
            out = {"request → run started (queued)": run["queued_s"]}
            previous = run["queued_s"]
            for task_id in TASKS:
                task = tasks.get(task_id) or {}
                start, end = task.get("starts_after_trigger_s"), task.get("ends_after_trigger_s")
                if start is None or end is None:
                    continue
                end = min(end, digest_at) if task_id == "publish" else end
                out[f"gap before `{task_id}`"] = start - previous
                out[f"`{task_id}`" + (" (up to the digest file)" if task_id == "publish" else "")] = end - start
                previous = max(previous, end)
            out["total: request → digest file"] = digest_at
            busy = run.get("task_busy_to_digest_s")
            if busy is not None:
                out["· some task running"] = busy
                out["· no task running (queueing, scheduling, process starts)"] = digest_at - busy
            parses = [v["parse_ms"] for v in (run.get("task_logs") or {}).values() if v.get("parse_ms") is not None]
            if parses:
                out["task start-up DAG-file parse, mean per task (ms)"] = sum(parses) / len(parses)
            return out

        per_column = [[steps(r) for r in runs] for _, runs in columns]
        seen = {label for column in per_column for run_steps in column for label in run_steps}
        order = ["request → run started (queued)"]
        for task_id in TASKS:
            order += [f"gap before `{task_id}`", f"`{task_id}`", f"`{task_id}` (up to the digest file)"]
        order += [
            "total: request → digest file",
            "· some task running",
            "· no task running (queueing, scheduling, process starts)",
            "task start-up DAG-file parse, mean per task (ms)",
        ]
        order = [label for label in order if label in seen]
        rows = []
        for label in order:
            row = [label]
            for column in per_column:
                values = [s[label] for s in column if label in s]
                if not values:
                    row.append("—")
                elif label.endswith("(ms)"):
                    row.append(f"{statistics.median(values):,.0f} ms")
                else:
                    row.append(_s(statistics.median(values), 2))
            rows.append(row)
        return [
            "",
            "Where the time goes (medians over the days; from the task instances' `start_date`/`end_date`; a gap is",
            "the time from the previous task's end, or the run's start, to the task's start: the scheduler",
            "noticing the upstream task ended, queueing the task, the executor starting its process):",
            "",
            _table(["step"] + [label for label, _ in columns], rows),
        ]

    def idle_cpu(self) -> list[str]:
        idle = self.live.get("idle") or {}
        if not idle:
            return []
        rows = []
        for version in ("before", "after"):
            data = idle.get(version)
            if not data:
                continue
            settings = data.get("settings") or {}
            scheduler = data.get("scheduler") or {}
            rows.append(
                [
                    self.label(version),
                    f"{settings.get('scheduler_idle_sleep_time') or '1'} s",
                    _s(data["window_s"], 0),
                    f"{scheduler.get('cpu_s', 0):.2f} s ({100 * (scheduler.get('share') or 0):.1f} % of a core)",
                    f"{scheduler.get('group_cpu_s', 0):.2f} s ({scheduler.get('group_pids', 0)} processes)",
                    f"{(data.get('dag-processor') or {}).get('cpu_s', 0):.2f} s",
                    f"{(data.get('api-server') or {}).get('cpu_s', 0):.2f} s",
                ]
            )
        out = [
            "",
            "### 2c. The scheduler's idle CPU",
            "",
            "With nothing to run (after the stack's last measured day, no run active), the CPU each server used",
            "over the window: utime + stime from `/proc/<pid>/stat` at both ends, for the server's own process and",
            "for its process group (for the scheduler: the LocalExecutor's workers and, with forkserver, the fork",
            "server). The stacks differ in more than the idle sleep (parallelism, start method: machine table); an",
            "idle worker blocks on its queue and costs nothing, so the scheduler's own process shows the loop.",
            "",
            _table(
                ["code", "scheduler idle sleep", "window", "scheduler process", "scheduler's process group",
                 "dag-processor", "api-server"],
                rows,
            ),  # fmt: skip
        ]
        before, after = idle.get("before"), idle.get("after")
        if before and after and before.get("scheduler") and after.get("scheduler"):
            b, a = before["scheduler"]["cpu_s"], after["scheduler"]["cpu_s"]
            per_hour = (a / after["window_s"] - b / before["window_s"]) * 3600
            out += [
                "",
                f"The 0.2 s idle sleep costs the scheduler {a:.2f} s of CPU per {after['window_s']:.0f} s against "
                f"{b:.2f} s with 1 s ({_x(a / b if b else None, 1)}): {per_hour / 60:+.1f} CPU minutes an hour.",
            ]
        return out

    def where_the_time_goes(self) -> list[str]:
        out = [
            "",
            "### Where the time goes",
            "",
            "Per run: from the request until the scheduler started the run (queued); the mean time each task",
            "process spent parsing the whole DAG file at start-up (Airflow 3's task runner builds the DAG of",
            "the file: `Worker startup parse complete … dag_file_parse_ms` in the task logs); each task's span",
            "(first start to last end; for `llm_analyze` also the mean instance, and from its task log: from its",
            "first line to its first LLM request + from there to its end); the span of the LLM calls the fake",
            "received; and the time no task of the run was running up to the digest file (queueing and",
            "scheduling between tasks).",
            "",
        ]
        rows = []
        for run in self.runs:
            tasks = run.get("tasks", {})

            def span(task_id: str, tasks: dict[str, Any] = tasks) -> str:
                task = tasks.get(task_id)
                return _s(task["span_s"]) if task and task["sum_s"] else "—"

            llm_task = tasks.get("llm_analyze", {})
            mean = f"{llm_task['mean_s']:.1f} s × {llm_task['instances']}" if llm_task.get("sum_s") else "—"
            logs = run.get("task_logs") or {}
            parses = [v["parse_ms"] for v in logs.values() if v.get("parse_ms") is not None]
            parse_ms = f"{sum(parses) / len(parses):,.0f} ms" if parses else "—"
            llm_logs = logs.get("llm_analyze") or {}
            split = (
                f"{llm_logs['to_first_request_s']:.1f} s + {llm_logs['after_first_request_s']:.1f} s"
                if llm_logs.get("to_first_request_s") is not None
                else "—"
            )
            no_task = run.get("no_task_to_digest_s")
            rows.append(
                [
                    run.get("version", "after"),
                    self.run_name(run),
                    run["source"],
                    _s(self.headline(run)),
                    _s(run["queued_s"]),
                    parse_ms,
                    span("fetch_commits"),
                    span("chunk_diffs"),
                    span("llm_analyze"),
                    mean,
                    split,
                    _s(run.get("llm", {}).get("span_s")) if run.get("llm", {}).get("requests") else "—",
                    span("aggregate_stats"),
                    span("render_markdown"),
                    span("publish"),
                    _s(no_task if no_task is not None else run["idle_between_tasks_s"]),
                ]
            )
        out.append(
            _table(
                [
                    "code",
                    "day",
                    "source",
                    "request → digest file",
                    "queued",
                    "task start-up: DAG-file parse (mean)",
                    "fetch_commits",
                    "chunk_diffs",
                    "llm_analyze span",
                    "llm_analyze mean × n",
                    "llm_analyze: start → 1st request + after",
                    "LLM calls span",
                    "aggregate_stats",
                    "render_markdown",
                    "publish",
                    "no task running",
                ],
                rows,
            )
        )
        return out

    def batch_profile(self) -> list[str]:
        profile = self.live.get("batch_profile") or {}
        if not profile or "error" in profile:
            return (
                ["", f"(The `llm_analyze` profile failed: {profile.get('error', 'not run')[:500]})"]
                if profile
                else []
            )
        n = profile["commits"]
        rows = [[b["what"], _s(b["cumulative_s"], 3), _n(b["calls"])] for b in profile["buckets"]]
        return [
            "",
            f"The body of `llm_analyze` profiled in a fresh process over {n} commits, what {n} instances of the",
            "after code do one commit each (`bench/profile_batch.py`: the day's inputs written by",
            "`fetch_day`/`chunk_day`, then `analyze_commits` one call at a time against an in-process fake",
            f"answering at once): {_s(profile['wall_s'], 2)} wall, {_s(profile['analyzer_cpu_s'], 2)} CPU in the",
            f"analyzer's thread, {_s(profile['fake_cpu_s'], 2)} in the fake's threads; "
            f"{1000 * profile['analyzer_cpu_s'] / n:.0f} ms of analyzer CPU per commit, first-call imports included.",
            "",
            _table(["what (cumulative, profiled)", "time", "calls"], rows),
        ]

    def section_backfill(self) -> str:
        b = self.live.get("backfill")
        title = "## 2d. A backfill of a real repository's history"
        if not b:
            return f"{title}\n\nNot run (`--only`, or no history)."
        if "error" in b:
            return f"{title}\n\nFailed:\n\n```\n{b['error']}\n```"
        history = b.get("history") or {}
        days = b["days"]
        ideal = b["ideal_sum_s"]
        rows = [
            ["repository", f"`{b['repo']}` (`{history.get('url') or history.get('path')}`), branch "
             f"`{history.get('branch')}` at `{(history.get('last_sha') or '?')[:12]}` ({history.get('last_date')})"],
            ["days", f"{b['from']} … {b['to']} ({days} days, ending on the day of the last commit)"],
            ["commits in them", f"{b['commits']:,} on {b['days_with_commits']} days (at most {b['max_commits_a_day']} a "
             f"day); {b['digest_commits']:,} in the digests"],
            ["command", f"`{b['command']}` (the CLI itself: {_s(b['cli_s'])})"],
            ["runs", f"{b['runs']} ({', '.join(f'{k} {v}' for k, v in b['states'].items())}); at most "
             f"{b['peak_runs_at_once']} at once (the backfill's `max_active_runs`: {_n(b.get('max_active_runs'))}); "
             f"a run took {_s(b['run_duration_median_s'])} (median), {_s(b['run_duration_max_s'])} at most"],
            ["digests written", f"{b['digests_written']} of {days}"
             + (f"; {b['partial_days']} marked partial" if b.get("partial_days") else "; none partial")],
            ["**command → last digest file**", f"**{_s(b['wall_s'])}** (the first after {_s(b['first_digest_s'])}, "
             f"the last day's after {_s(b['last_day_digest_s'])})"],
            ["days per minute", f"**{b['days_per_min']:.1f}**" if b.get("days_per_min") else "—"],
            ["ideal: Σ ceil(commits / 16) × 1 s over the days", f"{_s(ideal, 0)}; measured ÷ ideal {_x(b.get('ratio'), 1)}"],
            ["GitHub requests", f"{b['github_total']:,} ({b['github_total'] / days:.1f} a day; "
             f"{', '.join(f'{k} {v}' for k, v in sorted(b['github'].items()))}); ideal {b['github_ideal']:,} "
             f"(per day one list page per 100 commits + one detail per commit): "
             f"{_x(b['github_total'] / b['github_ideal'] if b['github_ideal'] else None)}"],
            ["LLM requests", f"{b['llm_requests']:,} ({b['llm_requests'] / days:.1f} a day) for {b['commits']:,} commits"],
        ]  # fmt: skip
        busy = [d for d in b["per_day"] if d["commits"]]
        per_day = _table(
            ["day", "commits", "in the digest", "ideal", "digest file after the command"],
            [
                [d["day"], d["commits"], _n(d["digest_commits"]), _s(d["ideal_s"], 0), _s(d["md_after_request_s"])]
                for d in busy
            ],
        )
        return "\n".join(
            [
                title,
                "",
                f"{days} consecutive days of a real repository replayed on the after stack: the fake GitHub",
                "serves the history (the bare repository as it is; nothing of it is copied into this project), the",
                "repo is tracked through the GitHub source like any other, and one `airflow backfill create` (the",
                "CLI, with the stack's environment) creates a run per day, which the scheduler runs as the backfill",
                "allows; LLM at 1 s. Timed from the command to the last digest file written (mtimes in the store).",
                "",
                _table(["", ""], rows),
                "",
                f"<details><summary>The {len(busy)} days with commits</summary>",
                "",
                per_day,
                "",
                "</details>",
            ]
        )

    def section_tokens(self) -> str:
        tokens = self.live.get("tokens")
        if not tokens:
            return "## 3. Tokens\n\nNot run (`--only`)."
        rows = []
        for c in tokens["commits"]:
            skipped = ", ".join(f"{k} {v}" for k, v in sorted(c["skipped"].items())) or "—"
            rows.append(
                [
                    f"`{c['sha']}` {c['title']}",
                    f"{c['size_bytes'] / 1e6:.2f} MB",
                    _n(c["requests"]),
                    _n(c["max_prompt_tokens"]),
                    _n(c["max_prompt_tokens_with_tools"]),
                    f"{c['files_analysed']}/{c['files_total']} ({c['files_clipped']} clipped)",
                    skipped,
                    f"{c['meaningful_seen']:,}/{c['meaningful_lines']:,} ({_pct(c['meaningful_seen'], c['meaningful_lines'])})",
                    f"{c['ideal_lines']:,.0f}" if "ideal_lines" in c else "—",
                    _x(c["meaningful_seen"] / c["ideal_lines"]) if c.get("ideal_lines") else "—",
                    f"{c['noise_seen']:,}/{c['noise_lines']:,}",
                    c["analyzer"] or "—",
                ]
            )
        totals = tokens["totals"]
        budget = tokens["budget"]
        largest = tokens["largest_prompt_tokens_logged"] or tokens["largest_prompt_tokens_with_tools"]
        return "\n".join(
            [
                "## 3. Tokens",
                "",
                "One day of five commits served by the fake GitHub: a 2 MB commit (a 770 KB new source file, its package,",
                "tests and docs, beside a 570 KB `package-lock.json`, a 425 KB `*_pb2.py`, a 240 KB `*.min.js` and a",
                "100 KB PNG), a lock-file bump (`poetry.lock`, `go.sum`) with its `pyproject.toml` change, regenerated",
                "protobuf code (`*.pb.go`, `*_pb2.py`) beside a handler change, a small fix with its test, and a",
                "1,750-line refactor over five files. Every line carries a unique marker, so the lines that reached the",
                "model are found by searching the text of the requests the fake received. Prompt tokens: the fake's count",
                "(o200k_base over the messages), the same plus the function-calling tool schema, and the analyzer's own",
                "count from the task log (messages + schema + framing). Coverage comes from the digest JSON.",
                "",
                _table(
                    [
                        "commit",
                        "size",
                        "requests",
                        "prompt tokens (messages)",
                        "+ tool schema",
                        "files analysed",
                        "files skipped (reason)",
                        "meaningful lines seen",
                        "ideal",
                        "seen ÷ ideal",
                        "noise lines seen",
                        "analyser",
                    ],
                    rows,
                ),
                "",
                f"**Largest request: {_n(largest)} prompt tokens** (the analyzer's count; the fake counted "
                f"{_n(tokens['largest_prompt_tokens'])} in the messages, {_n(tokens['largest_prompt_tokens_with_tools'])} "
                f"with the tool schema) against the budget of {budget:,}: {_x(largest / budget)} the budget.",
                "",
                f"**Meaningful lines seen: {totals['meaningful_seen']:,} of {totals['meaningful_lines']:,} "
                f"({_pct(totals['meaningful_seen'], totals['meaningful_lines'])})**"
                + (
                    f", {_x(totals['meaningful_seen'] / totals['ideal_lines'])} the ideal of {totals['ideal_lines']:,.0f}"
                    if totals.get("ideal_lines")
                    else ""
                )
                + f"; noise lines sent: {totals['noise_seen']:,} of {totals['noise_lines']:,}. The ideal is the most",
                f"meaningful lines the budget can hold: per commit, all of them, or as many as "
                f"{tokens.get('patch_budget', 9000):,} patch tokens (the budget less",
                "the analyzer's reserve for the prompt) hold when filled with nothing else. Commits that fit are seen",
                "whole; the 2 MB commit's 11,000-line file and the refactor cannot fit, so the share is bounded by the",
                "budget, not by noise.",
            ]
        )

    def section_requests(self) -> str:
        rows = []
        for run in self.after_runs:
            if run["source"] != "github":
                continue
            gh = run.get("github", {})
            pages = max(1, math.ceil(run["commits"] / 100))
            ideal = pages if run["rerun"] else pages + run["commits"]
            rows.append(
                [
                    run["name"],
                    _n(gh.get("repository", 0)),
                    _n(gh.get("commit list page", 0)),
                    _n(gh.get("commit detail", 0)),
                    _n(gh.get("other", 0)),
                    _n(run["github_total"]),
                    _n(ideal),
                    _x(run["github_total"] / ideal),
                    _n(run.get("llm", {}).get("requests", 0)),
                ]
            )
        for run in self.after_runs:
            if run["source"] == "git" and run["rerun"]:
                rows.append(
                    [
                        run["name"] + " (git)",
                        "—",
                        "—",
                        "—",
                        "—",
                        "—",
                        "—",
                        "—",
                        _n(run["llm"].get("requests", 0)),
                    ]
                )
        return "\n".join(
            [
                "## 4. Requests per digest",
                "",
                "Counted by the fakes during each run. A rerun clears the whole run (`POST …/dagRuns/{run}/clear`), so",
                "every task runs again. Ideal: first run = the list pages (100 commits each) + one detail per commit;",
                "rerun = the list pages only (details cached by sha, analyses cached). A `repository` request is the",
                "lookup of the default branch when the entry names none (cached in the store after the first run:",
                "the warm-up run already made it here).",
                "",
                _table(
                    [
                        "run",
                        "repository",
                        "commit list pages",
                        "commit details",
                        "other",
                        "GitHub total",
                        "ideal",
                        "÷ ideal",
                        "LLM requests",
                    ],
                    rows,
                ),
            ]
        )

    def section_memory(self) -> str:
        rows = []
        wanted = sorted(
            (
                r
                for r in self.after_runs
                if not r["rerun"] and not r["name"].startswith("token") and r.get("rep") in (None, 0)
            ),
            key=lambda r: (bool(r.get("variant")), r["commits"], r["source"] != "git"),
        )
        base = self.run(1, "git") or {}
        reference = self.run(2000, "git") or (wanted[-1] if wanted else {})
        for task_id in TASKS:
            cells = [task_id]
            for run in wanted:
                peak = run.get("tasks", {}).get(task_id, {}).get("peak_rss_mib")
                cells.append(f"{peak:,.0f} MiB" if peak else "—")
            peak = reference.get("tasks", {}).get(task_id, {}).get("peak_rss_mib")
            base_peak = base.get("tasks", {}).get(task_id, {}).get("peak_rss_mib")
            cells.append(_x(peak / base_peak) if peak and base_peak else "—")
            rows.append(cells)
        header = (
            ["task"]
            + [
                f"{r['commits']:,} ({r['source']}{', ' + r['variant'] if r.get('variant') else ''})"
                for r in wanted
            ]
            + [f"{reference.get('commits', 0):,} ÷ 1 commit"]
        )
        items = [(v.get("peak_rss_mib", 0), k) for k, v in reference.get("tasks", {}).items()]
        heaviest = max(items) if items else None
        out = [
            "## 5. Peak memory",
            "",
            "Polled, not sampled from inside: every 0.2 s a thread reads `VmHWM` (the kernel's peak resident set) of",
            "each task process of the stack (proctitle `airflow worker -- <task instance id>`, matched to its task",
            "through REST), on the after stack. The figure is the task process's peak RSS, shared pages included",
            "(the process is forked from a LocalExecutor worker, which the fork server started with Airflow and",
            "`repo_digest.preload` imported, so much of it is Airflow itself). A task that ends before the next poll",
            "shows —; for mapped `llm_analyze` it is the highest instance. The ideal is the same task on a 1-commit",
            "day.",
            "",
            _table(header, rows),
        ]
        if heaviest:
            out += [
                "",
                f"**Heaviest task at {reference['commits']:,} commits: `{heaviest[1]}`, "
                f"{heaviest[0]:,.0f} MiB peak RSS.**",
            ]
        return "\n".join(out)

    def section_sequential(self) -> str:
        seq = self.seq
        if not seq:
            return "## 6. The sequential way\n\nNot run (`--only`)."
        if "error" in seq:
            return f"## 6. The sequential way\n\nFailed:\n\n```\n{seq['error']}\n```"
        rows = []
        for n in (20, 200, 2000):
            ours = self.run(n, "git") or self.run(n, "github")
            measured = seq["commits"] == n
            sequential = (
                seq["wall_s"] if measured else seq["computed_s"].get(str(n), seq["computed_s"].get(n))
            )
            ideal = ideal_llm_seconds(n)
            rows.append(
                [
                    _n(n),
                    f"{_s(sequential)} ({'measured' if measured else 'computed'})",
                    _x(sequential / ideal, 0),
                    _s(self.headline(ours)) if ours else "—",
                    _x(sequential / self.headline(ours), 1) if ours else "—",
                    _s(ideal, 0),
                ]
            )
        return "\n".join(
            [
                "## 6. The sequential way (the comparison row)",
                "",
                "One commit at a time, as the tool repo_digest replaces: read the commit (git), one LLM request through",
                "the same analyzer, prompt and budget, then a 10 s pause before the next; the same kind of fake",
                f"(1 s per answer). Measured for {seq['commits']} commits: {_s(seq['wall_s'])} in all, "
                f"{seq['per_commit_median_s']:.3f} s per commit (median; mean {seq['per_commit_mean_s']:.3f} s, the first "
                "call also imports LangChain). 200 and 2,000 are **computed**, not measured: "
                f"{seq['formula']}."
                + (
                    " It ran in the background while the live stack started and warmed up (it sleeps 90 % of the time);"
                    " no measured day ran beside it."
                    if self.r.get("sequential_overlapped_stack_start")
                    else ""
                ),
                "",
                _table(
                    [
                        "commits",
                        "sequential",
                        "÷ ideal",
                        "repo_digest (this run, request → digest file)",
                        "sequential ÷ repo_digest",
                        "ideal",
                    ],
                    rows,
                ),
            ]
        )

    # --- targets ---------------------------------------------------------------------------
    def summary(self) -> str:
        rows = []
        trivial = self.parse_case(None)
        for repos, limit in ((100, 0.5), (1000, 2.0)):
            case = self.parse_set(repos)
            if case and trivial:
                rows.append(
                    [
                        f"1. parse at {repos:,} repos (the slowest DAG file)",
                        f"{_s(case['parse_s'], 3)} (`{case['largest_file']}`; {case['files']} files, "
                        f"{_s(case['total_s'], 2)} in all)",
                        f"≤ {limit} s",
                        f"{case['parse_s'] / limit:.2f}× the limit; {_x(case['ratio_to_one_file'], 2)} the one-file "
                        f"parse ({_s(case['one_file_s'], 3)}); {_x(case['parse_s'] / trivial['parse_s'], 1)} trivial",
                        _holds(case["parse_s"] <= limit),
                    ]
                )
            else:
                rows.append([f"1. parse at {repos:,} repos", "—", f"≤ {limit} s", "", _holds(None)])
        sets = self.parse.get("sets", [])
        if sets:
            ok = all(
                set(c["variable_reads"]) == {1}
                and not any(
                    k.startswith(("connection_lookup", "socket_connect_inet", "dns", "create_conn"))
                    for k in c["counts"]
                )
                for c in sets
            )
            reads = "/".join(str(max(c["variable_reads"])) for c in sets)
            rows.append(
                [
                    "1. one Variable read per file, no network, no connection lookup",
                    f"reads {reads}",
                    "1 / 0 / 0 at every size",
                    "",
                    _holds(ok),
                ]
            )
        size = 200 if self.run(200, "git") or not self.r.get("quick") else 20  # a quick run has no 200
        for source in ("git", "github"):
            run = self.run(size, source)
            before = self.run(size, source, version="before")
            if run:
                limit = 2 * run["ideal_s"] + 60
                vs = (
                    f"; batches (before, `{self.r['before']['head']}`): {_s(self.headline(before))}, after ÷ before "
                    f"{_x(self.headline(run) / self.headline(before))}"
                    if before
                    else ""
                )
                rows.append(
                    [
                        f"2. {size} commits ({source}), request → digest file, per commit (after)",
                        _s(self.headline(run)),
                        f"≤ 2 × {run['ideal_s']:.0f} s + 60 s = {limit:.0f} s",
                        f"{self.headline(run) / limit:.2f}× the limit; {_x(run['ratio'], 1)} ideal{vs}",
                        _holds(self.headline(run) <= limit and run["state"] == "success"),
                    ]
                )
            elif source == "git":
                rows.append([f"2. 200 commits ({source})", "—", "≤ 2 × ideal + 60 s", "", _holds(None)])
        many = next((r for r in self.after_runs if (r.get("variant") or "").endswith("repos tracked")), None)
        if many and many["commits"] == 200:
            limit = 2 * many["ideal_s"] + 60
            rows.append(
                [
                    f"2. 200 commits (git) with {many['variant']}",
                    _s(self.headline(many)),
                    f"≤ {limit:.0f} s (same formula)",
                    f"{self.headline(many) / limit:.2f}× the limit; {_x(many['ratio'], 1)} ideal",
                    _holds(self.headline(many) <= limit and many["state"] == "success"),
                ]
            )
        big = self.run(2000, "git")
        if big:
            digest = big.get("digest", {})
            ok = big["state"] == "success" and digest.get("commits") == 2000
            rows.append(
                [
                    "2. 2,000 commits (> max_map_length 1,024) works",
                    f"{big['state']}, {_n(digest.get('commits'))} commits "
                    f"in the digest, {_n(big['tasks'].get('llm_analyze', {}).get('instances'))} mapped instances",
                    "success",
                    f"{_s(self.headline(big))}, {_x(big['ratio'], 1)} ideal",
                    _holds(ok),
                ]
            )
        elif not self.r.get("quick"):
            rows.append(["2. 2,000 commits works", "—", "success", "", _holds(None)])
        for commits in (0, 1):
            summary = self.fixed_summary(commits)
            if not summary or "after" not in summary:
                continue
            after, before = summary["after"], summary.get("before")
            ratio = after["median"] / before["median"] if before else None
            label = f"{commits} commit{'s' if commits != 1 else ''}"
            rows.append(
                [
                    f"2. fixed cost of a day, {label}: after ÷ before (median of {len(after['values'])} "
                    f"day{'s' if len(after['values']) != 1 else ''} each)",
                    f"{_s(after['median'])} after, " + (f"{_s(before['median'])} before" if before else "no before"),
                    "≤ 0.50×",
                    _x(ratio) if ratio else "",
                    _holds(ratio <= 0.5) if ratio else _holds(None),
                ]
            )
        backfill = self.live.get("backfill")
        if backfill and "error" not in backfill:
            ok = backfill["states"] == {"success": backfill["days"]} and backfill["digest_commits"] == backfill["commits"]
            rows.append(
                [
                    f"2. backfill of {backfill['days']} days of `{backfill['repo']}` ({backfill['commits']:,} commits)",
                    f"{_s(backfill['wall_s'])} to the last digest, {backfill['days_per_min']:.1f} days/min; "
                    f"{backfill['github_total'] / backfill['days']:.1f} GitHub and "
                    f"{backfill['llm_requests'] / backfill['days']:.1f} LLM requests a day",
                    "every day digested, every commit in it (no time target)",
                    f"{_x(backfill['ratio'], 1)} the ideal sum of {_s(backfill['ideal_sum_s'], 0)}",
                    _holds(ok),
                ]
            )
        elif backfill:
            rows.append(["2. backfill", "failed (see section 2d)", "", "", _holds(False)])
        idle = self.live.get("idle") or {}
        if idle.get("after"):
            after_idle = idle["after"].get("scheduler") or {}
            before_idle = (idle.get("before") or {}).get("scheduler") or {}
            rows.append(
                [
                    "2. scheduler's idle CPU, idle sleep 0.2 s (after) vs 1 s (before)",
                    f"{after_idle.get('cpu_s', 0):.2f} s vs {before_idle.get('cpu_s', 0):.2f} s per "
                    f"{idle['after']['window_s']:.0f} s" if before_idle else f"{after_idle.get('cpu_s', 0):.2f} s",
                    "(no target)",
                    _x(after_idle["cpu_s"] / before_idle["cpu_s"], 1) if before_idle.get("cpu_s") else "",
                    "—",
                ]
            )
        tokens = self.live.get("tokens")
        if tokens:
            largest = max(
                tokens["largest_prompt_tokens_logged"] or 0, tokens["largest_prompt_tokens_with_tools"]
            )
            rows.append(
                [
                    "3. largest request ≤ budget",
                    f"{largest:,} tokens",
                    f"≤ {tokens['budget']:,}",
                    _x(largest / tokens["budget"]),
                    _holds(largest <= tokens["budget"]),
                ]
            )
            totals = tokens["totals"]
            share_ratio = (
                f"{_x(totals['meaningful_seen'] / totals['ideal_lines'])} the budget-bound ideal"
                if totals.get("ideal_lines")
                else ""
            )
            rows.append(
                [
                    "3. meaningful lines seen / noise lines sent",
                    f"{_pct(totals['meaningful_seen'], totals['meaningful_lines'])} / {totals['noise_seen']}",
                    "(no target) / 0",
                    share_ratio,
                    _holds(totals["noise_seen"] == 0),
                ]
            )
        rerun = next((r for r in self.after_runs if r["rerun"] and r["source"] == "github"), None)
        if rerun:
            pages = max(1, math.ceil(rerun["commits"] / 100))
            gh = rerun["github"]
            rows.append(
                [
                    "4. GitHub requests on a rerun = list pages only",
                    f"{rerun['github_total']} ({', '.join(f'{k} {v}' for k, v in gh.items())})",
                    f"{pages} list page(s)",
                    _x(rerun["github_total"] / pages),
                    _holds(rerun["github_total"] <= pages),
                ]
            )
            rows.append(
                [
                    "4. LLM requests on a rerun",
                    _n(rerun["llm"].get("requests", 0)),
                    "0",
                    "",
                    _holds(rerun["llm"].get("requests", 0) == 0),
                ]
            )
        if big:
            items = [(v.get("peak_rss_mib", 0), k) for k, v in big["tasks"].items()]
            peak, task = max(items)
            rows.append(
                [
                    "5. peak RSS of the heaviest task at 2,000",
                    f"{peak:,.0f} MiB (`{task}`)",
                    "(no target)",
                    "",
                    "—",
                ]
            )
        if self.seq and "computed_s" in self.seq:
            ours = self.run(200, "git")
            computed = self.seq["computed_s"].get("200") or self.seq["computed_s"].get(200)
            rows.append(
                [
                    "6. sequential way at 200 (computed)",
                    _s(computed),
                    "(comparison)",
                    f"{computed / self.headline(ours):.0f}× slower than repo_digest" if ours else "",
                    "—",
                ]
            )
        return "\n".join(
            ["## Summary: targets", "", _table(["benchmark", "measured", "target", "ratio", "verdict"], rows)]
        )

    def render(self) -> str:
        parts = [
            self.header(),
            self.summary(),
            self.section_parse(),
            self.section_days(),
            self.section_backfill(),
            self.section_tokens(),
            self.section_requests(),
            self.section_memory(),
            self.section_sequential(),
        ]
        findings = self.r.get("findings")
        if findings:
            parts.append(findings)
        return "\n\n".join(parts) + "\n"


def render(results: dict[str, Any]) -> str:
    from bench.findings import findings

    results = dict(results)
    results["findings"] = findings(results)
    return Report(results).render()
