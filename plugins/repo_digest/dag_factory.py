"""Builds one Airflow DAG per tracked repository.

Parse-time work is only this wiring: no network, no connection, no pandas/PyGithub import.
Every task imports what it needs when it runs.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING, Any

from repo_digest.config import RepoEntry
from repo_digest.timetable import DigestDayTimetable
from repo_digest.window import day_of_interval_start, last_complete_day

if TYPE_CHECKING:
    from airflow.sdk import DAG

# With catchup off, the start date only bounds how far back a backfill can reach.
DEFAULT_START_DATE = dt.date(2008, 1, 1)
MAX_ACTIVE_RUNS = int(os.environ.get("REPO_DIGEST_MAX_ACTIVE_RUNS", "3"))
# Rule-based analysis; the LLM analyzer replaces this note when it is configured.
RULES_ONLY_NOTE = "rules_only"


def run_day(entry: RepoEntry, context: Any) -> dt.date:
    """The day this run covers: its data interval's local day, or the last full day without one.

    A REST trigger with ``logical_date: null`` has no data interval; such a "run now"
    covers the latest day that has ended in the repo's timezone.
    """
    start = context.get("data_interval_start")
    if start is not None:
        return day_of_interval_start(start, entry.timezone)
    return last_complete_day(context["dag_run"].run_after, entry.timezone)


def _doc(entry: RepoEntry) -> str:
    source = entry.url if entry.source == "git" else f"GitHub, connection `{entry.github_conn_id}`"
    return (
        f"Daily digest of **{entry.repo}** ({source}; branch {entry.branch or 'default'}; "
        f"language {entry.language}).\n\n"
        f"The run for day D covers commits whose committer date is in [D 00:00, D+1 00:00) "
        f"{entry.timezone}. Trigger a past day with its date as the logical date, or backfill a range."
    )


def build_repo_dag(entry: RepoEntry) -> DAG:
    from airflow.sdk import DAG, get_current_context, task

    from repo_digest import pipeline
    from repo_digest.store import DigestStore

    start = entry.start_date or DEFAULT_START_DATE
    with DAG(
        dag_id=entry.dag_id,
        description=f"Daily digest of {entry.repo}",
        doc_md=_doc(entry),
        schedule=DigestDayTimetable(entry.timezone),
        start_date=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=MAX_ACTIVE_RUNS,
        tags=["repo_digest", entry.owner],
        default_args={"owner": "repo_digest", "retries": 1, "retry_delay": dt.timedelta(minutes=1)},
    ) as dag:

        @task(retries=3, retry_delay=dt.timedelta(minutes=1), retry_exponential_backoff=True)
        def fetch_commits(**context: Any):  # -> pd.DataFrame (annotation would import pandas at parse)
            frame, branch = pipeline.fetch_day(entry, run_day(entry, context), DigestStore())
            context["ti"].xcom_push(key="branch", value=branch)
            return frame

        @task
        def chunk_diffs(frame: Any, **context: Any) -> list[dict[str, Any]]:
            from airflow.configuration import conf

            max_map_length = conf.getint("core", "max_map_length", fallback=pipeline.DEFAULT_MAX_MAP_LENGTH)
            return pipeline.chunk_day(
                entry, run_day(entry, context), frame, DigestStore(), max_map_length=max_map_length
            )

        @task(map_index_template="{{ commit_label }}", retries=2)
        def llm_analyze(batch: dict[str, Any], **context: Any) -> list[dict[str, Any]]:
            get_current_context()["commit_label"] = pipeline.batch_label(batch)  # type: ignore[typeddict-unknown-key]
            return pipeline.analyze_batch(entry, run_day(entry, context), batch, DigestStore())

        # none_failed: a day without commits maps over nothing, which skips llm_analyze;
        # the digest of an empty day must still be written.
        @task(trigger_rule="none_failed")
        def aggregate_stats(frame: Any, analyses: Any, **context: Any) -> dict[str, Any]:
            branch = context["ti"].xcom_pull(task_ids="fetch_commits", key="branch")
            # Indexing, not iterating: iteration finds the end by a failed lookup that
            # Airflow logs as an error.
            batches = [analyses[i] for i in range(len(analyses))] if analyses else []
            digest = pipeline.aggregate(entry, run_day(entry, context), frame, batches, branch, RULES_ONLY_NOTE)
            return digest.model_dump(mode="json")

        @task
        def render_markdown(digest: dict[str, Any]) -> str:
            from repo_digest.digest import Digest
            from repo_digest.render import render_markdown as render

            return render(Digest.model_validate(digest))

        @task(retries=2)
        def publish(digest: dict[str, Any], markdown: str) -> dict[str, str]:
            from repo_digest.digest import Digest

            paths = pipeline.publish_to_store(Digest.model_validate(digest), markdown, DigestStore())
            print(f"Digest written: {paths['markdown']}")
            return paths

        frame = fetch_commits()
        batches = chunk_diffs(frame)
        analyses = llm_analyze.expand(batch=batches)
        digest = aggregate_stats(frame, analyses)
        publish(digest, render_markdown(digest))
    return dag


def build_repo_dags(entries: list[RepoEntry]) -> dict[str, DAG]:
    """DAGs by dag_id for the enabled entries."""
    return {entry.dag_id: build_repo_dag(entry) for entry in entries if entry.enabled}
