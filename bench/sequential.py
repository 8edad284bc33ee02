"""Benchmark 6: the sequential way, like the tool repo_digest replaces.

One commit at a time: read it (git, local mirror), one LLM request through the project's
own analyzer (same prompt, same budget), then a 10 s pause before the next call. Measured
for the 20-commit day against the same kind of fake (1 s per answer); 200 and 2,000 are
computed from the measured per-commit time: N x per-commit + (N - 1) x pause.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import log, median

PAUSE_S = 10.0
MODEL = "gpt-4o-mini"
KEY = "sk-bench-sequential"


def run(repo_path: Path, day: dt.date, limit: int, delay: float = 1.0) -> dict[str, Any]:
    from repo_digest.analysis.llm import PROMPT_NAME, analyze_with_llm
    from repo_digest.analysis.llm_settings import LLMSettings
    from repo_digest.analysis.prompts import load_prompt
    from repo_digest.analysis.rules import analyze_by_rules
    from repo_digest.config import DEFAULT_BUDGET_TOKENS
    from repo_digest.diffs import prepare_input
    from repo_digest.pipeline import PROMPT_RESERVE_TOKENS, with_stats
    from repo_digest.sources import git
    from repo_digest.window import window_for_day

    from tests.fakes.openai_api import FakeOpenAI

    cache = Path(tempfile.mkdtemp(prefix="repo_digest_bench_seq_"))
    mirror = git.sync_mirror(str(repo_path), "bench/sequential", cache_dir=cache)
    listed = git.list_day_commits(mirror, "main", window_for_day(day, "UTC"), str(repo_path))
    listed = sorted(listed, key=lambda record: record.committer_date)[:limit]
    prompt = load_prompt(PROMPT_NAME, "zh")
    per_commit: list[float] = []
    with FakeOpenAI(api_key=KEY, models=(MODEL,), delay=delay) as server:
        settings = LLMSettings(conn_id="bench", model=MODEL, base_url=server.base_url, api_key=KEY)
        started = time.monotonic()
        for index, record in enumerate(listed):
            if index:
                time.sleep(PAUSE_S)
            begin = time.monotonic()
            detail = git.fetch_detail(mirror, record.sha)
            record = with_stats(record, detail)
            analysis_input = prepare_input(record, detail, DEFAULT_BUDGET_TOKENS - PROMPT_RESERVE_TOKENS)
            rules = analyze_by_rules(analysis_input, "zh")
            analysis = analyze_with_llm(
                analysis_input,
                repo="bench/sequential",
                language="zh",
                rules=rules,
                settings=settings,
                prompt=prompt,
                budget_tokens=DEFAULT_BUDGET_TOKENS,
            )
            per_commit.append(time.monotonic() - begin)
            log(f"sequential {index + 1}/{len(listed)}: {per_commit[-1]:.2f}s ({analysis.analyzer})")
        wall = time.monotonic() - started
        requests = len(server.requests)
    mean = sum(per_commit) / len(per_commit)
    # The first call also imports LangChain and opens the connection: the median is the steady state.
    typical = median(per_commit)

    def computed(n: int) -> float:
        return n * typical + (n - 1) * PAUSE_S

    return {
        "commits": len(listed),
        "wall_s": wall,
        "per_commit_mean_s": mean,
        "per_commit_median_s": typical,
        "per_commit_s": [round(x, 3) for x in per_commit],
        "requests": requests,
        "pause_s": PAUSE_S,
        "computed_s": {20: computed(20), 200: computed(200), 2000: computed(2000)},
        "formula": f"N x {typical:.3f} s (median per commit) + (N - 1) x {PAUSE_S:g} s",
    }
