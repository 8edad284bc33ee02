"""Builds one Airflow DAG per tracked repository.

Parse-time work is only this wiring: no network, no connection, no pandas/PyGithub import.
Every task imports what it needs when it runs.
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from typing import TYPE_CHECKING, Any

from repo_digest.config import RepoEntry
from repo_digest.pool import LLM_POOL
from repo_digest.timetable import DigestDayTimetable
from repo_digest.window import day_of_logical_date, last_complete_day

if TYPE_CHECKING:
    from airflow.sdk import DAG, Asset

# With catchup off, the start date only bounds how far back a backfill can reach.
DEFAULT_START_DATE = dt.date(2008, 1, 1)
MAX_ACTIVE_RUNS = int(os.environ.get("REPO_DIGEST_MAX_ACTIVE_RUNS", "3"))
COMBINED_DAG_ID = "repo_digest__all"
# The repo DAGs are spread over dags/repo_digest_0.py … _{REPO_DAG_FILES - 1}.py. The
# dag-processor parses files in parallel and times each one; building and serializing a
# repo's DAG costs ~4 ms, so one file would take ~4 s at 1,000 repos, four ~1 s each.
REPO_DAG_FILES = 4


def digest_asset(entry: RepoEntry) -> Asset:
    """Updated by a repo DAG's publish task, with the day in the event's extra."""
    from airflow.sdk import Asset

    return Asset(name=f"repo_digest/{entry.repo}", uri=f"repo-digest://{entry.owner}/{entry.name}",
                 group="repo_digest")  # fmt: skip


def run_day(entry: RepoEntry, context: Any) -> dt.date:
    """The day this run digests: that of its logical date, however the run was started.

    Not the data interval: ``airflow dags trigger -l D`` computes that from the trigger
    time. A REST trigger with ``logical_date: null`` (a "run now") covers the latest day
    that has ended in the repo's timezone.
    """
    logical_date = context["dag_run"].logical_date
    if logical_date is not None:
        return day_of_logical_date(logical_date, entry.timezone)
    return last_complete_day(context["dag_run"].run_after, entry.timezone)


def _default_args() -> dict[str, Any]:
    from repo_digest.alerts import notify_failure

    # notify_failure is the one place to hook alerts (see alerts.py).
    return {"owner": "repo_digest", "retries": 1, "retry_delay": dt.timedelta(minutes=1),
            "on_failure_callback": notify_failure}  # fmt: skip


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
    from repo_digest.viewer.links import OpenDigestLink

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
        default_args=_default_args(),
    ) as dag:

        # A rate limit can take up to an hour to reset: tries at about 0, 1, 3, 7, 15, 31 and
        # 61 minutes outlast it. Permanent errors (bad token, missing repo) fail at once.
        @task(retries=6, retry_delay=dt.timedelta(minutes=1), retry_exponential_backoff=True,
              max_retry_delay=dt.timedelta(minutes=30))  # fmt: skip
        def fetch_commits(**context: Any):  # -> pd.DataFrame (annotation would import pandas at parse)
            # Taken before listing: a commit of an unfinished day made after this moment is
            # left to the run that replaces the partial digest.
            read_at = dt.datetime.now(dt.UTC)
            day = run_day(entry, context)
            frame, branch = pipeline.fetch_day(entry, day, DigestStore())
            context["ti"].xcom_push(key="branch", value=branch)
            context["ti"].xcom_push(key="read_at", value=read_at.isoformat())
            if pipeline.partial_until(entry, day, read_at) is not None:
                print(f"{day} has not ended in {entry.timezone}: this digest is partial, up to {read_at:%H:%M} UTC; "
                      "the run after the day ends replaces it")  # fmt: skip
            return frame

        @task
        def chunk_diffs(frame: Any, **context: Any) -> list[dict[str, Any]]:
            from airflow.configuration import conf

            max_map_length = conf.getint("core", "max_map_length", fallback=pipeline.DEFAULT_MAX_MAP_LENGTH)
            return pipeline.chunk_day(
                entry, run_day(entry, context), frame, DigestStore(), max_map_length=max_map_length
            )

        # One instance per commit, labelled with it in the grid. The pool bounds concurrent
        # LLM calls across all repos: each instance makes one call at a time, in one slot.
        @task(map_index_template="{{ commit_label }}", retries=2, pool=LLM_POOL, pool_slots=1)
        def llm_analyze(commits: dict[str, Any], **context: Any) -> list[dict[str, Any]]:
            from airflow.sdk.exceptions import AirflowFailException

            from repo_digest.analysis.llm import FatalLLMError
            from repo_digest.analysis.llm_settings import resolve_llm

            get_current_context()["commit_label"] = commits["label"]  # type: ignore[typeddict-unknown-key]
            # A run conf flag, not a DAG Param: a Param is copied into every task and
            # validated at each serialization, which was most of a 1,000-repo file's parse.
            force = bool((context["dag_run"].conf or {}).get("force_reanalysis"))
            try:
                return pipeline.analyze_commits(
                    entry, run_day(entry, context), commits["shas"], DigestStore(), resolve_llm(entry), force=force
                )
            except FatalLLMError as exc:
                # No retry can fix credentials; fail now, publish nothing. Once the
                # connection is fixed, clearing the failed tasks completes the day and
                # reuses every analysis already cached.
                raise AirflowFailException(
                    f"{exc}. Fix the Airflow connection {entry.llm_conn_id!r}, then clear the failed "
                    "llm_analyze tasks of this run."
                ) from None

        # none_failed: a day without commits maps over nothing, which skips llm_analyze;
        # the digest of an empty day must still be written.
        # multiple_outputs=False: a dict return type would also push every key as its own XCom.
        @task(trigger_rule="none_failed", multiple_outputs=False)
        def aggregate_stats(frame: Any, analyses: Any, **context: Any) -> dict[str, Any]:
            branch = context["ti"].xcom_pull(task_ids="fetch_commits", key="branch")
            read_at = context["ti"].xcom_pull(task_ids="fetch_commits", key="read_at")
            # Indexing, not iterating: iteration finds the end by a failed lookup that
            # Airflow logs as an error.
            analysed = [analyses[i] for i in range(len(analyses))] if analyses else []
            from repo_digest.analysis.llm_settings import resolve_llm

            digest = pipeline.aggregate(entry, run_day(entry, context), frame, analysed, branch, resolve_llm(entry),
                                        dt.datetime.fromisoformat(read_at) if read_at else None)  # fmt: skip
            return digest.model_dump(mode="json")

        @task
        def render_markdown(digest: dict[str, Any]) -> str:
            from repo_digest.digest import Digest
            from repo_digest.render import render_markdown as render

            return render(Digest.model_validate(digest))

        asset = digest_asset(entry)

        # One publish of this repo at a time: two runs of the same day (a manual trigger
        # during a backfill) then leave both files from one run, never a mix of the two.
        @task(retries=2, outlets=[asset], max_active_tis_per_dag=1, multiple_outputs=False)
        def publish(digest: dict[str, Any], markdown: str, **context: Any) -> dict[str, str]:
            from airflow.configuration import conf

            from repo_digest.digest import Digest
            from repo_digest.viewer.links import printable_ui_url
            from repo_digest.viewer.paths import DigestRef

            model = Digest.model_validate(digest)
            store = DigestStore()
            paths = pipeline.publish_to_store(model, markdown, store)
            base_url = conf.get("api", "base_url", fallback="")
            print(f"Digest written: {paths['markdown']}")
            # The task's log is where users look first; the "Open digest" extra link is in Details.
            print(f"Read it in Airflow: {printable_ui_url(DigestRef(entry.repo, model.day), base_url)}")
            if entry.publish and model.partial_until is not None:
                # The team hears of a day once, complete: the run after the day ends sends it.
                print(f"Partial day: not sent to the {len(entry.publish)} publish target(s) until the day has ended")
            elif entry.publish:
                # Fails naming the targets that failed; the retry sends only to those.
                pipeline.publish_to_targets(entry, model, markdown, store, base_url)
            # The combined report of this day is rewritten from this event.
            context["outlet_events"][asset].extra = {"repo": entry.repo, "day": model.day.isoformat()}
            return paths

        frame = fetch_commits()
        analyses = llm_analyze.expand(commits=chunk_diffs(frame))
        digest = aggregate_stats(frame, analyses)
        published = publish(digest, render_markdown(digest))
        published.operator.operator_extra_links = [OpenDigestLink()]
    return dag


def combined_language(entries: list[RepoEntry]) -> str:
    configured = os.environ.get("REPO_DIGEST_COMBINED_LANGUAGE")
    if configured in ("zh", "en"):
        return configured
    languages = [entry.language for entry in entries]
    return max(("zh", "en"), key=lambda language: (languages.count(language), language == languages[0]))


def combined_days(context: Any) -> list[dt.date]:
    """The days a combined-report run rewrites: those of the digests that triggered it.

    A manual run takes its ``day`` param, else the date of its logical date.
    """
    days = set()
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            day = (event.extra or {}).get("day")
            if day:
                days.add(dt.date.fromisoformat(day))
    if days:
        return sorted(days)
    if context["params"].get("day"):
        return [dt.date.fromisoformat(context["params"]["day"])]
    logical = context.get("logical_date")
    return [logical.date() if logical else last_complete_day(context["dag_run"].run_after, "UTC")]


def build_combined_dag(entries: list[RepoEntry]) -> DAG:
    from airflow.sdk import DAG, AssetAny, Param, task

    from repo_digest.store import DigestStore
    from repo_digest.viewer.links import OpenDigestLink

    language = combined_language(entries)
    with DAG(
        dag_id=COMBINED_DAG_ID,
        description="The combined daily report of every tracked repository",
        doc_md="Rewrites `{store}/_all/YYYY/YYYY-MM-DD.md` whenever a repo DAG publishes its digest of that day; "
        "repos whose digest is not there yet are listed as pending. Trigger it with a `day` to rebuild one.",
        schedule=AssetAny(*(digest_asset(entry) for entry in entries)),
        start_date=dt.datetime.combine(DEFAULT_START_DATE, dt.time(), tzinfo=dt.UTC),
        catchup=False,
        max_active_runs=1,  # one writer of the combined files at a time
        tags=["repo_digest"],
        params={"day": Param(None, type=["null", "string"], format="date", description="Day to rebuild (YYYY-MM-DD)")},
        default_args=_default_args(),
    ) as dag:

        @task
        def write_combined(**context: Any) -> list[dict[str, str]]:
            from repo_digest.combined import build_combined, publish_combined

            store = DigestStore()
            written = []
            for day in combined_days(context):
                report = build_combined(day, entries, store, language)  # type: ignore[arg-type]
                written.append(publish_combined(report, store))
                print(f"Combined report for {day}: {written[-1]['markdown']} (pending: {report.pending or 'none'})")
            return written

        write_combined().operator.operator_extra_links = [OpenDigestLink()]
    return dag


def repo_dag_file(dag_id: str) -> int:
    """Which of the REPO_DAG_FILES files builds this repo's DAG: the same in every process."""
    return zlib.crc32(dag_id.encode()) % REPO_DAG_FILES


def build_repo_dags(entries: list[RepoEntry], file_index: int) -> dict[str, DAG]:
    """The DAGs of the enabled entries that fall to DAG file ``file_index``, by dag_id.

    A task process parses the whole DAG file before running one task; Airflow tells it
    which DAG it is for (the parsing context), and only that DAG is built then, so a
    task's start-up does not grow with the number of tracked repos.
    """
    from airflow.sdk import get_parsing_context

    wanted = get_parsing_context().dag_id
    return {
        entry.dag_id: build_repo_dag(entry)
        for entry in entries
        if entry.enabled and repo_dag_file(entry.dag_id) == file_index and wanted in (None, entry.dag_id)
    }


def build_combined_dags(entries: list[RepoEntry]) -> dict[str, DAG]:
    """The combined report's DAG, when any entry is enabled (and not in another DAG's task process)."""
    from airflow.sdk import get_parsing_context

    enabled = [entry for entry in entries if entry.enabled]
    if enabled and get_parsing_context().dag_id in (None, COMBINED_DAG_ID):
        return {COMBINED_DAG_ID: build_combined_dag(enabled)}
    return {}
