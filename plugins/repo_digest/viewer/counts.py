"""What the day lists show beside each day: its commit and importance counts, read from its JSON.

A digest's JSON (repo_digest.digest.Digest) carries ``stats.total`` and
``stats.by_importance``; the combined report's (repo_digest.combined.CombinedReport) carries
each tracked repo's digest, or none while the repo's digest of the day is pending. Only those
fields are read, with lenient models that ignore everything else, so a file written by an
older or newer version of the models still counts; pydantic parses even a combined report of
a hundred repos in a few milliseconds. A digest may carry ``partial_until`` (an ISO
datetime: the day was digested before it ended); older files do not have it.

Only the days a page lists are read (the index: repo_digest.viewer.app.INDEX_DAYS per
repository), concurrently, since on an object store each file is a request. A day whose
JSON is missing, unreadable or not a digest has no counts: the page lists it without them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from repo_digest.analysis.record import IMPORTANCE_ORDER
from repo_digest.viewer import listing
from repo_digest.viewer.paths import DigestRef

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

# Files read at once (each is a GET on an object store).
READERS = 8
# The keys of ``stats.by_importance``, in the order of the digest's counts line (🔴 🟡 🟢).
LEVELS = tuple(level.value for level in IMPORTANCE_ORDER)


class _Stats(BaseModel):
    model_config = ConfigDict(extra="ignore")

    total: NonNegativeInt
    by_importance: dict[str, NonNegativeInt] = Field(default_factory=dict)


class _Digest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    stats: _Stats
    partial_until: str | None = None


class _CombinedRepo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    repo: str
    digest: _Digest | None = None


class _Combined(BaseModel):
    model_config = ConfigDict(extra="ignore")

    repos: list[_CombinedRepo]


@dataclass(frozen=True)
class DayCounts:
    """A day's counts. For a combined report: summed over its published repos, plus ``repos``/``pending``."""

    commits: int
    high: int
    medium: int
    low: int
    # Digested before the day ended (for a combined report: any of its repos' digests).
    partial: bool = False
    # Up to when, if the file says so in a form that parses (a combined report: the earliest).
    partial_until: dt.datetime | None = None
    repos: int | None = None
    pending: int | None = None


def _partial_until(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _digest_counts(digest: _Digest) -> DayCounts:
    levels = {level: digest.stats.by_importance.get(level, 0) for level in LEVELS}
    return DayCounts(
        commits=digest.stats.total,
        partial=digest.partial_until is not None,
        partial_until=_partial_until(digest.partial_until),
        **levels,
    )


def _combined_counts(report: _Combined) -> DayCounts:
    published = [_digest_counts(item.digest) for item in report.repos if item.digest is not None]
    partial_untils = [counts.partial_until for counts in published if counts.partial_until is not None]
    try:
        earliest = min(partial_untils, default=None)
    except TypeError:  # naive and aware datetimes do not compare
        earliest = None
    return DayCounts(
        commits=sum(counts.commits for counts in published),
        high=sum(counts.high for counts in published),
        medium=sum(counts.medium for counts in published),
        low=sum(counts.low for counts in published),
        partial=any(counts.partial for counts in published),
        partial_until=earliest,
        repos=len(report.repos),
        pending=len(report.repos) - len(published),
    )


def parse_counts(text: str, combined: bool) -> DayCounts:
    """The counts in a digest's JSON (``combined``: a combined report's); ValueError if it is neither."""
    if combined:
        return _combined_counts(_Combined.model_validate_json(text))
    return _digest_counts(_Digest.model_validate_json(text))


def day_counts(root: ObjectStoragePath, ref: DigestRef) -> DayCounts | None:
    """The counts of ``ref``'s stored JSON; None when it is missing or cannot be read as a digest."""
    try:
        text = listing.read_if_exists(listing.digest_file(root, ref, ".json"))
        if text is None:
            return None
        return parse_counts(text, combined=ref.repo is None)
    except Exception as error:  # a badge is never worth a broken page
        log.warning("No counts for %s: %s: %s", ref.label, type(error).__name__, error)
        return None


def counts_of(root: ObjectStoragePath, refs: Sequence[DigestRef]) -> dict[DigestRef, DayCounts]:
    """The counts of each of ``refs`` that has them, read concurrently."""
    if not refs:
        return {}
    workers = min(READERS, len(refs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="repo-digest-counts") as pool:
        found = list(pool.map(lambda ref: day_counts(root, ref), refs))
    return {ref: counts for ref, counts in zip(refs, found, strict=True) if counts is not None}
