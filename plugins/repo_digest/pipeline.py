"""The bodies of the DAG's tasks, as plain functions of plain arguments.

The DAG (dag_factory.py) only wires these to Airflow: what day a run covers, XCom in
and out. Tests call them directly, without a running Airflow.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from repo_digest.analysis.llm_settings import LLMChoice
from repo_digest.analysis.record import CommitAnalysis
from repo_digest.commits import CommitDetail, CommitRecord, commits_to_frame, frame_to_commits
from repo_digest.config import RepoEntry
from repo_digest.diffs import AnalysisInput, NoiseRule, prepare_input
from repo_digest.digest import Digest, build_digest
from repo_digest.store import DigestStore
from repo_digest.window import window_for_day

if TYPE_CHECKING:
    import pandas as pd

    from repo_digest.analysis.llm import ChatFactory

log = logging.getLogger(__name__)

DEFAULT_MAX_MAP_LENGTH = 1024
# How long a mapped llm_analyze instance's label (its commit's title) may be in the grid.
LABEL_TITLE_CHARS = 60
# What of a commit's budget the prompt around the patches takes (instructions, answer
# schema, metadata, file list); the LLM analyzer trims further if a prompt needs more.
PROMPT_RESERVE_TOKENS = 3_000


# --- fetch_commits -------------------------------------------------------------------
def with_stats(record: CommitRecord, detail: CommitDetail) -> CommitRecord:
    return record.model_copy(
        update={
            "additions": sum(file.additions for file in detail.files),
            "deletions": sum(file.deletions for file in detail.files),
            "files_changed": len(detail.files),
        }
    )


def cached_detail(
    store: DigestStore, repo: str, sha: str, fetch: Callable[[str], CommitDetail]
) -> tuple[CommitDetail, bool]:
    """A commit's details from the cache, else fetched and cached; a sha's details never change."""
    path = store.commit_detail_path(repo, sha)
    text = store.read_text_if_exists(path)
    if text is not None:
        return CommitDetail.model_validate_json(text), True
    detail = fetch(sha)
    store.write_text(path, detail.model_dump_json())
    return detail, False


def fetch_day(entry: RepoEntry, day: dt.date, store: DigestStore) -> tuple[pd.DataFrame, str]:
    """The day's commit table (details cached in the store) and the branch it was read from.

    A failure is a SourceError naming the repository, what failed and how to recover; one
    that no retry can fix (credentials, a repository or branch that does not exist) fails
    the task at once (AirflowFailException) instead of spending its retries.
    """
    from repo_digest.sources import SourceError

    window = window_for_day(day, entry.timezone)
    try:
        listed, fetch, branch = _open_source(entry, window, store)
        records, hits = [], 0
        for record in listed:
            detail, hit = cached_detail(store, entry.repo, record.sha, fetch)
            hits += hit
            records.append(with_stats(record, detail))
    except SourceError as exc:
        if not exc.permanent:
            raise
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from exc
    log.info(
        "%s %s: %d commits on branch %s in [%s, %s) UTC; %d commit details from cache",
        entry.repo, day, len(records), branch, window.start, window.end, hits,
    )  # fmt: skip
    return commits_to_frame(records), branch


def default_branch_name(store: DigestStore, repo: str, read: Callable[[], str]) -> str:
    """The repository's default branch as last read, kept in the store: a rerun needs no request for it.

    Only the digest's header shows it; without a configured branch the commits are listed
    from GitHub's current default branch whatever this says.
    """
    path = store.root / "_cache" / repo.split("/")[0] / repo.split("/")[1] / "default_branch"
    name = store.read_text_if_exists(path)
    if not name:
        name = read()
        store.write_text(path, name)
    return name.strip()


def _open_source(entry: RepoEntry, window: Any,
                 store: DigestStore) -> tuple[list[CommitRecord], Callable[[str], CommitDetail], str]:  # fmt: skip
    if entry.source == "github":
        from repo_digest.sources import github

        errors = github.ErrorContext(entry.repo, entry.github_conn_id, entry.branch)
        with errors:
            # Lazy: no request for the repository itself; the commit list is the first.
            repository = github.github_client(entry.github_conn_id).get_repo(entry.repo, lazy=True)
            listed = github.list_day_commits(repository, entry.branch, window)
            branch = errors.branch = entry.branch or default_branch_name(
                store, entry.repo, lambda: repository.default_branch
            )

        def fetch(sha: str) -> CommitDetail:
            errors.sha = sha
            with errors:
                return github.fetch_detail(repository, sha)

        return listed, fetch, branch
    from repo_digest.sources import git

    assert entry.url is not None  # guaranteed by RepoEntry's validation
    mirror = git.sync_mirror(entry.url, entry.repo)
    branch = entry.branch or git.default_branch(mirror)
    listed = git.list_day_commits(mirror, branch, window, entry.url)
    return listed, lambda sha: git.fetch_detail(mirror, sha), branch


# --- chunk_diffs ---------------------------------------------------------------------
def group_commits(shas: Sequence[str], max_map_length: int = DEFAULT_MAX_MAP_LENGTH) -> list[list[str]]:
    """What llm_analyze is mapped over: one commit per instance, as Airflow users expect.

    Only a day with more commits than Airflow's ``[core] max_map_length`` (beyond which
    the run would fail) puts consecutive commits together, as few per instance as fit.
    """
    if not shas:
        return []
    size = math.ceil(len(shas) / max_map_length)
    return [list(shas[i : i + size]) for i in range(0, len(shas), size)]


def commits_label(records: Sequence[CommitRecord]) -> str:
    """A mapped instance's label in the grid: ``{short sha} {title}``, and how many more it holds."""
    title = "".join(ch for ch in records[0].title if unicodedata.category(ch)[0] != "C").strip()
    if len(title) > LABEL_TITLE_CHARS:
        title = title[: LABEL_TITLE_CHARS - 1].rstrip() + "…"
    more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
    return f"{records[0].sha[:7]} {title}{more}".strip()


def chunk_day(
    entry: RepoEntry,
    day: dt.date,
    frame: pd.DataFrame,
    store: DigestStore,
    max_map_length: int = DEFAULT_MAX_MAP_LENGTH,
) -> list[dict[str, Any]]:
    """Write each commit's analysis input to the store; return what llm_analyze is mapped over.

    Each item: ``{"shas": [...], "label": ...}``, one commit (several only beyond max_map_length).
    """
    records = frame_to_commits(frame)
    noise = [NoiseRule("user", pattern) for pattern in entry.noise_paths]
    patch_budget = max(entry.budget_tokens - PROMPT_RESERVE_TOKENS, entry.budget_tokens // 4)
    for record in records:
        detail, _ = cached_detail(store, entry.repo, record.sha, _missing_detail(entry.repo))
        analysis_input = prepare_input(record, detail, patch_budget, noise)
        store.write_text(store.work_path(entry.repo, day, f"{record.sha}.json"), analysis_input.model_dump_json())
    by_sha = {record.sha: record for record in records}
    groups = group_commits([record.sha for record in records], max_map_length)
    return [{"shas": shas, "label": commits_label([by_sha[sha] for sha in shas])} for shas in groups]


def _missing_detail(repo: str) -> Callable[[str], CommitDetail]:
    def fail(sha: str) -> CommitDetail:
        raise RuntimeError(f"{repo}: details of commit {sha} are not in the commit cache; rerun fetch_commits")

    return fail


# --- llm_analyze ---------------------------------------------------------------------
def load_input(store: DigestStore, entry: RepoEntry, day: dt.date, sha: str) -> AnalysisInput:
    return AnalysisInput.model_validate_json(store.read_text(store.work_path(entry.repo, day, f"{sha}.json")))


def analyze_commits(
    entry: RepoEntry,
    day: dt.date,
    shas: Sequence[str],
    store: DigestStore,
    choice: LLMChoice,
    *,
    force: bool = False,
    chat_factory: ChatFactory | None = None,
) -> list[dict[str, Any]]:
    """Analyse an instance's commit (or commits, one after another); the records go back over XCom.

    With an LLM: a cached analysis for (repo, sha, model, prompt, language) is reused
    unless ``force``; otherwise the LLM is asked and a usable answer cached. The
    rule-based analysis always runs: it is the LLM's signal and its stand-in.
    Raises FatalLLMError when the endpoint refuses the credentials or the model.
    One call at a time: an instance takes one slot of the llm_api pool.
    """
    from repo_digest.analysis.rules import analyze_by_rules

    settings = choice.settings
    if settings is not None:
        from repo_digest.analysis import llm
        from repo_digest.analysis.cache import AnalysisCache
        from repo_digest.analysis.prompts import load_prompt

        prompt = load_prompt(llm.PROMPT_NAME, entry.language)
        cache = AnalysisCache(store, entry.repo, settings.model, prompt.content_hash, entry.language)

    def analyze_one(sha: str) -> dict[str, Any]:
        analysis_input = load_input(store, entry, day, sha)
        analysis = analyze_by_rules(analysis_input, entry.language)
        source = "rules"
        if settings is not None:
            cached = None if force else cache.get(sha)
            if cached is not None:
                analysis, source = cached, "cache"
            else:
                analysis = llm.analyze_with_llm(
                    analysis_input, repo=entry.repo, language=entry.language, rules=analysis, settings=settings,
                    prompt=prompt, budget_tokens=entry.budget_tokens,
                    **({"chat_factory": chat_factory} if chat_factory else {}),
                )  # fmt: skip
                source = "llm" if analysis.fallback_reason is None else "fallback"
                if source == "llm":
                    cache.put(analysis)
        log.info("%s %s: %s, %s (%s%s)", entry.repo, sha[:7], analysis.importance, analysis.change_types[0], source,
                 f": {analysis.fallback_reason}" if analysis.fallback_reason else "")  # fmt: skip
        return analysis.model_dump(mode="json")

    return [analyze_one(sha) for sha in shas]


# --- aggregate_stats -----------------------------------------------------------------
def aggregate(
    entry: RepoEntry,
    day: dt.date,
    frame: pd.DataFrame,
    analysed: Sequence[Sequence[dict[str, Any]]],
    branch: str | None,
    choice: LLMChoice,
    read_at: dt.datetime | None = None,
) -> Digest:
    """The day's Digest; ``read_at`` (when fetch_commits read the commits) marks an unfinished day partial."""
    analyses = [CommitAnalysis.model_validate(item) for records in analysed for item in records]
    settings = choice.settings
    prices = None
    if settings is not None and settings.price_per_1m_input_tokens is not None:
        prices = (settings.price_per_1m_input_tokens, settings.price_per_1m_output_tokens or 0.0)
    return build_digest(
        repo=entry.repo,
        day=day,
        timezone=entry.timezone,
        language=entry.language,
        source=entry.source,
        branch=branch,
        commits=frame_to_commits(frame),
        analyses=analyses,
        analysis_note="llm" if settings is not None else choice.reason,
        llm_model=settings.model if settings is not None else None,
        llm_conn_id=entry.llm_conn_id,
        prices=prices,
        partial_until=partial_until(entry, day, read_at),
    )


def partial_until(entry: RepoEntry, day: dt.date, read_at: dt.datetime | None) -> dt.datetime | None:
    """``read_at`` when the day had not ended in the repo's timezone then, else None (the day is complete)."""
    if read_at is None or read_at >= window_for_day(day, entry.timezone).end:
        return None
    return read_at.astimezone(dt.UTC)


# --- publish -------------------------------------------------------------------------
def publish_to_store(digest: Digest, markdown: str, store: DigestStore) -> dict[str, str]:
    """Write the Markdown and its JSON data; a rerun replaces both, atomically, never duplicates.

    The two files are always of one run: the day's lock keeps two writers from
    interleaving them, and when the Markdown cannot be written the JSON written just
    before is put back as it was (or removed), so no half-published digest is visible
    (the combined report reads the JSON).
    """
    json_path = store.digest_path(digest.repo, digest.day, ".json")
    markdown_path = store.digest_path(digest.repo, digest.day, ".md")
    with store.day_lock(digest.repo, digest.day):
        previous_json = store.read_text_if_exists(json_path)
        # JSON first: a reader that finds the Markdown can always find the data that made it.
        store.write_text(json_path, digest.model_dump_json(indent=2) + "\n")
        try:
            store.write_text(markdown_path, markdown)
        except BaseException:
            try:
                if previous_json is None:
                    store.delete(json_path)
                else:
                    store.write_text(json_path, previous_json)
            except Exception:
                log.exception("Could not put back %s after the Markdown failed", json_path)
            raise
    return {"markdown": str(markdown_path), "json": str(json_path)}


def publish_to_targets(entry: RepoEntry, digest: Digest, markdown: str, store: DigestStore,
                       base_url: str | None) -> dict[str, Any]:  # fmt: skip
    """Deliver the day's digest to ``entry.publish``; raises PublishError naming the failed targets.

    Every target is attempted; a delivered content leaves a receipt, so a retry sends only
    to the targets that failed, and a rerun of an unchanged day sends nothing.
    """
    from repo_digest.publishers import publish_targets, raise_for_failures, viewer_url

    report = publish_targets(digest, markdown, entry.publish, store,
                             digest_url=viewer_url(base_url, digest.repo, digest.day))  # fmt: skip
    log.info("%s", report.summary())
    raise_for_failures(report)
    return report.to_dict()
