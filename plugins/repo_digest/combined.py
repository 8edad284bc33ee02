"""The combined daily report: one ``## owner/name`` section per tracked repo, as the example.

Built from the repos' saved JSON digests (nothing is fetched or analysed again) and
re-rendered in the report's language; a repo whose digest for the day is not there yet
is listed as pending, never left out. Written to ``{store}/_all/{YYYY}/{YYYY-MM-DD}.md``
and ``.json``; every repo digest published for a day rewrites that day's report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from repo_digest.config import RepoEntry
from repo_digest.digest import Digest
from repo_digest.store import DigestStore

COMBINED_DIR = "_all"


class CombinedRepo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str
    digest: Digest | None = None  # None: not published for this day yet


class CombinedReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    day: dt.date
    language: Literal["zh", "en"]
    repos: list[CombinedRepo]

    @property
    def pending(self) -> list[str]:
        return [item.repo for item in self.repos if item.digest is None]


def combined_path(store: DigestStore, day: dt.date, suffix: str):
    return store.root / COMBINED_DIR / f"{day:%Y}" / f"{day.isoformat()}{suffix}"


def build_combined(day: dt.date, entries: Sequence[RepoEntry], store: DigestStore,
                   language: Literal["zh", "en"]) -> CombinedReport:  # fmt: skip
    repos = []
    for entry in entries:
        text = store.read_text_if_exists(store.digest_path(entry.repo, day, ".json"))
        repos.append(CombinedRepo(repo=entry.repo, digest=Digest.model_validate_json(text) if text else None))
    return CombinedReport(day=day, language=language, repos=repos)


def publish_combined(report: CombinedReport, store: DigestStore) -> dict[str, str]:
    from repo_digest.render import render_combined

    markdown = render_combined(report)
    json_path, markdown_path = combined_path(store, report.day, ".json"), combined_path(store, report.day, ".md")
    store.write_text(json_path, report.model_dump_json(indent=2) + "\n")
    store.write_text(markdown_path, markdown)
    return {"markdown": str(markdown_path), "json": str(json_path)}
