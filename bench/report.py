"""docs/BENCHMARKS.md from the results of one run (bench/out/results.json has the raw numbers)."""

from __future__ import annotations

import math
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
        self.seq = results.get("sequential") or {}
        self.targets: list[list[Any]] = []

    # --- lookups ---------------------------------------------------------------------------
    def parse_case(self, repos: int | None) -> dict[str, Any] | None:
        return next((c for c in self.parse.get("cases", []) if c["repos"] == repos), None)

    def parse_set(self, repos: int) -> dict[str, Any] | None:
        """The DAG files as shipped, parsed one by one, at ``repos`` repos."""
        return next((c for c in self.parse.get("sets", []) if c["repos"] == repos), None)

    def run(self, commits: int, source: str, rerun: bool = False) -> dict[str, Any] | None:
        return next(
            (
                r
                for r in self.runs
                if r["commits"] == commits
                and r["source"] == source
                and r["rerun"] == rerun
                and not r["name"].startswith("token")
                and not r.get("variant")
            ),
            None,
        )

    def empty_run(self) -> dict[str, Any] | None:
        return next((r for r in self.runs if r["commits"] == 0), None)

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

    # --- sections --------------------------------------------------------------------------
    def header(self) -> str:
        m = self.r["machine"]
        quick = " (**--quick smoke run: smallest sizes only**)" if self.r.get("quick") else ""
        rows = [
            ["date", m["date_utc"]],
            ["cores", m["cores"]],
            ["CPU", m["cpu_model"]],
            ["RAM", f"{m['ram_gib']} GiB"],
            ["kernel", m["kernel"]],
            ["Python", m["python"]],
            ["Airflow", f"{m['airflow']} (task SDK {m['task_sdk']}), LocalExecutor, `[core] parallelism` 8"],
            ["metadata DB", m["postgres"] + " on 127.0.0.1:5432"],
            ["others", f"langchain-openai {m['langchain_openai']}, PyGithub {m['pygithub']}, {m['git']}"],
            [
                "load average (1/5/15 min) at start → end",
                f"{' / '.join(f'{x:.2f}' for x in m['load_average'])} → "
                f"{' / '.join(f'{x:.2f}' for x in m.get('load_average_end', []))}",
            ],
            ["whole run", f"{self.r['duration_s'] / 60:.1f} min"],
            ["product code", self.code_line()],
        ]
        return "\n".join(
            [
                "# Benchmarks",
                "",
                "Regenerate this file with **one command** from the project root (PostgreSQL on 127.0.0.1:5432, as for the",
                "live tests):",
                "",
                "```bash",
                ".venv/bin/python -m bench           # everything, writes docs/BENCHMARKS.md (~15-30 min on 2 cores)",
                ".venv/bin/python -m bench --quick   # smoke: each benchmark at its smallest size, writes bench/out/",
                "```",
                "",
                "The benchmarks live in `bench/` and are not part of the pytest suite. Raw numbers of the last run:",
                "`bench/out/results.json` (not committed). Every figure below comes from the run described here; where",
                "an ideal applies it was measured or computed in the same run and each figure is given as a ratio to it.",
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

    def section_days(self) -> str:
        if not self.runs:
            return "## 2. A day under the scheduler\n\nNot run (`--only`)."
        rows = []
        for run in self.runs:
            tasks = run.get("tasks", {})
            llm = run.get("llm", {})
            ideal = run["ideal_s"]
            target = ""
            if run["commits"] == 200 and not run["rerun"]:
                limit = 2 * ideal + 60
                target = f"≤ {limit:.0f} s: {_holds(run['wall_s'] <= limit)}"
            digest = run.get("digest", {})
            analysed = ""
            if digest.get("exists"):
                analysers = digest.get("analyzers") or {}
                analysed = ", ".join(f"{k} {v}" for k, v in analysers.items()) or "—"
            rows.append(
                [
                    run["name"],
                    run["source"],
                    _n(run["commits"]),
                    f"{run['state']}",
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
        empty, one = self.empty_run(), self.run(1, "git")
        out = [
            "## 2. A day under the scheduler",
            "",
            "`AirflowStack` (api-server, scheduler, dag-processor; LocalExecutor, parallelism 8; PostgreSQL), the pool",
            f"`llm_api` at {self.live.get('pool', {}).get('slots', '?')} slots, the fake OpenAI answering every request "
            f"after {self.live.get('llm_delay_s', 1.0):g} s. Synthetic repositories",
            "(git fast-import: small edits to Python sources, tests and docs, 1-3 files per commit, conventional",
            "titles, commits spread evenly over the day). `git` rows read a local path through the `git` source (a",
            "mirror clone, fetched before each run); `github` rows read the same repository through the fake GitHub",
            "(PyGithub, 100 commits per list page). Each day is triggered through REST with its logical date and",
            "timed from the trigger to the run's `end_date` in the metadata DB. One run at a time; before the first,",
            "every DAG's unpause-scheduled run (the latest real day: no commits) ran as a warm-up (mirror clones,",
            "tokenizer cache). The dag-processor re-parses every 30 s (Airflow's default; the test stack's 5 s would",
            "re-parse 1,000 repos' files back to back). Ideal = ceil(N / 16) × 1 s: every pool slot busy with one call",
            "all the time. The last row is the 200-commit day again (a new repo name, so nothing cached) with",
            "1,000 repos in the Variable, the others paused fillers that never run.",
            "",
            _table(
                [
                    "day",
                    "source",
                    "commits",
                    "state",
                    "trigger → end",
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
        if empty and one:
            out += [
                "",
                f"**Fixed overhead** of a day: {_s(empty['wall_s'])} with 0 commits, {_s(one['wall_s'])} with 1 "
                "commit (one LLM call of 1 s).",
            ]
        out += [
            "",
            "### Where the time goes",
            "",
            "Per run: from the trigger until the scheduler started the run (queued); the mean time each task",
            "process spent parsing the whole DAG file at start-up (Airflow 3's task runner builds every DAG of",
            "the file: `Worker startup parse complete … dag_file_parse_ms` in the task logs); each task's span",
            "(first start to last end; for `llm_analyze` also the mean instance, and from its task log: from its",
            "first line to its first LLM request + from there to its end); the span of the LLM calls the fake",
            "received; and the time no task of the run was running (scheduling between tasks).",
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
            rows.append(
                [
                    run["name"],
                    run["source"],
                    _s(run["wall_s"]),
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
                    _s(run["idle_between_tasks_s"]),
                ]
            )
        out.append(
            _table(
                [
                    "day",
                    "source",
                    "total",
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
        out += self.batch_profile()
        return "\n".join(out)

    def batch_profile(self) -> list[str]:
        profile = self.live.get("batch_profile") or {}
        if not profile or "error" in profile:
            return (
                ["", f"(The batch profile failed: {profile.get('error', 'not run')[:500]})"]
                if profile
                else []
            )
        n = profile["commits"]
        rows = [[b["what"], _s(b["cumulative_s"], 3), _n(b["calls"])] for b in profile["buckets"]]
        return [
            "",
            f"One `llm_analyze` batch of {n} commits profiled in a fresh process (`bench/profile_batch.py`: the",
            "day's inputs written by `fetch_day`/`chunk_day`, then `analyze_commits` one call at a time against an",
            f"in-process fake answering at once): {_s(profile['wall_s'], 2)} wall, {_s(profile['analyzer_cpu_s'], 2)} CPU in",
            f"the analyzer's thread, {_s(profile['fake_cpu_s'], 2)} in the fake's threads; "
            f"{1000 * profile['analyzer_cpu_s'] / n:.0f} ms of analyzer CPU per commit, first-call imports included.",
            "",
            _table(["what (cumulative, profiled)", "time", "calls"], rows),
        ]

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
        for run in self.runs:
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
        for run in self.runs:
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
        wanted = [r for r in self.runs if not r["rerun"] and not r["name"].startswith("token")]
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
            "through REST). The figure is the task process's peak RSS, shared pages included (the process is forked",
            "from the LocalExecutor worker, so about 150 MiB of it is Airflow itself). A task that ends before the",
            "next poll shows —; for mapped `llm_analyze` it is the highest instance. The ideal is the same task on a",
            "1-commit day.",
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
                    _s(ours["wall_s"]) if ours else "—",
                    _x(sequential / ours["wall_s"], 1) if ours else "—",
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
                        "repo_digest (this run)",
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
        for source in ("git", "github"):
            run = self.run(200, source)
            if run:
                limit = 2 * run["ideal_s"] + 60
                rows.append(
                    [
                        f"2. 200 commits ({source})",
                        _s(run["wall_s"]),
                        f"≤ 2 × {run['ideal_s']:.0f} s + 60 s = {limit:.0f} s",
                        f"{run['wall_s'] / limit:.2f}× the limit; {_x(run['ratio'], 1)} ideal",
                        _holds(run["wall_s"] <= limit and run["state"] == "success"),
                    ]
                )
            else:
                rows.append([f"2. 200 commits ({source})", "—", "≤ 2 × ideal + 60 s", "", _holds(None)])
        many = next((r for r in self.runs if (r.get("variant") or "").endswith("repos tracked")), None)
        if many and many["commits"] == 200:
            limit = 2 * many["ideal_s"] + 60
            rows.append(
                [
                    f"2. 200 commits (git) with {many['variant']}",
                    _s(many["wall_s"]),
                    f"≤ {limit:.0f} s (same formula)",
                    f"{many['wall_s'] / limit:.2f}× the limit; {_x(many['ratio'], 1)} ideal",
                    _holds(many["wall_s"] <= limit and many["state"] == "success"),
                ]
            )
        empty, one = self.empty_run(), self.run(1, "git")
        if empty and one:
            rows.append(
                [
                    "2. fixed overhead of a day",
                    f"{_s(empty['wall_s'])} (0 commits), {_s(one['wall_s'])} (1)",
                    "(no target)",
                    f"{one['wall_s'] / one['ideal_s']:.1f}× the 1 s ideal of 1 commit",
                    "—",
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
                    f"in the digest, {big['tasks'].get('llm_analyze', {}).get('instances')} mapped instances",
                    "success",
                    f"{_s(big['wall_s'])}, {_x(big['ratio'], 1)} ideal",
                    _holds(ok),
                ]
            )
        else:
            rows.append(["2. 2,000 commits works", "—", "success", "", _holds(None)])
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
        rerun = next((r for r in self.runs if r["rerun"] and r["source"] == "github"), None)
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
                    f"{computed / ours['wall_s']:.0f}× slower than repo_digest" if ours else "",
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
