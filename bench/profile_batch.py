"""Where an llm_analyze instance spends its time besides waiting for the LLM: one batch, profiled.

Run by bench/live.py in a fresh interpreter (like a task process, without Airflow's task
runner around it):

    python bench/profile_batch.py REPO_PATH YYYY-MM-DD COMMITS PROFILE_OUT

It reads the day through the ``git`` source, writes the analysis inputs (``fetch_day``,
``chunk_day``), then runs ``analyze_commits`` over the first COMMITS commits one call at a
time (as an llm_analyze instance does; cProfile follows the one thread) against
an in-process fake OpenAI that answers at once. Prints one JSON object: wall and CPU
times, the fake's share of the CPU, and the profile's buckets.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import json
import sys
import time

MODEL = "gpt-4o-mini"
KEY = "sk-bench-profile"
BUCKETS = [
    ("repo_digest/pipeline.py", "analyze_commits", "analyze_commits, all commits"),
    (
        "repo_digest/analysis/llm.py",
        "default_chat_model",
        "· ChatOpenAI(...) built per request, first import included",
    ),
    ("langchain_openai/__init__.py", "<module>", "· · import langchain_openai (first request only)"),
    (
        "langchain_openai/chat_models/base.py",
        "with_structured_output",
        "· with_structured_output per request",
    ),
    (
        "langchain_core/runnables/base.py",
        "invoke",
        "· invoke: request, the fake's answer (no delay), parsing",
    ),
    ("repo_digest/analysis/llm.py", "build_messages", "· build_messages (prompt fitting)"),
    ("repo_digest/tokens.py", "count_tokens", "· · count_tokens, all callers"),
    ("repo_digest/analysis/rules.py", "analyze_by_rules", "· analyze_by_rules"),
    ("repo_digest/analysis/llm.py", "_grounded", "· grounding the answer's paths"),
    ("repo_digest/pipeline.py", "load_input", "· load_input (store read)"),
    ("repo_digest/analysis/cache.py", "put", "· cache put (store write)"),
]


def main(repo_path: str, day_text: str, commits: int, profile_out: str) -> dict[str, object]:
    from repo_digest import pipeline
    from repo_digest.analysis.llm_settings import LLMChoice, LLMSettings
    from repo_digest.config import RepoEntry
    from repo_digest.store import DigestStore

    from bench.common import profile_buckets
    from tests.fakes.openai_api import FakeOpenAI

    day = dt.date.fromisoformat(day_text)
    entry = RepoEntry(repo="bench/profile", source="git", url=repo_path)
    store = DigestStore()
    frame, _branch = pipeline.fetch_day(entry, day, store)
    pipeline.chunk_day(entry, day, frame, store)
    shas = list(frame["sha"])[:commits]
    with FakeOpenAI(api_key=KEY, models=(MODEL,), delay=0.0) as server:
        choice = LLMChoice(LLMSettings(conn_id="bench", model=MODEL, base_url=server.base_url, api_key=KEY))
        profiler = cProfile.Profile()
        wall, process, thread = time.perf_counter(), time.process_time(), time.thread_time()
        profiler.enable()
        records = pipeline.analyze_commits(entry, day, shas, store, choice)
        profiler.disable()
        wall, process, thread = (
            time.perf_counter() - wall,
            time.process_time() - process,
            time.thread_time() - thread,
        )
        requests = len(server.requests)
    profiler.dump_stats(profile_out)
    buckets = profile_buckets(profile_out, BUCKETS)
    return {
        "commits": len(records),
        "requests": requests,
        "wall_s": wall,
        "analyzer_cpu_s": thread,
        "fake_cpu_s": process - thread,
        "buckets": buckets,
        "analyzers": sorted({r["analyzer"] for r in records}),
    }


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
    sys.stdout.write("\n@@RESULT@@" + json.dumps(result) + "\n")
