"""What the store holds, as the viewer lists it: repositories and combined reports by day.

Only names that pass repo_digest.viewer.paths' patterns are listed, so ``_cache``,
``_work``, temporary files and anything else in the store never show (and could not be
requested: the same patterns guard every URL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from repo_digest.viewer.paths import COMBINED, YEAR_RE, DigestRef, parse_digest_file, valid_name, valid_owner

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath


@dataclass(frozen=True)
class RepoDays:
    """A repository and the days it has a digest for, newest first."""

    repo: str
    days: tuple[dt.date, ...]

    @property
    def owner(self) -> str:
        return self.repo.split("/")[0]

    @property
    def name(self) -> str:
        return self.repo.split("/")[1]


def _children(path: ObjectStoragePath) -> list[ObjectStoragePath]:
    try:
        return list(path.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def days_in(folder: ObjectStoragePath) -> tuple[dt.date, ...]:
    """Days with a Markdown digest under ``folder/{YYYY}/``, newest first."""
    days: set[dt.date] = set()
    for year in _children(folder):
        if not YEAR_RE.fullmatch(year.name):
            continue
        for entry in _children(year):
            parsed = parse_digest_file(entry.name)
            if parsed is not None and parsed[1] == ".md" and f"{parsed[0]:%Y}" == year.name:
                days.add(parsed[0])
    return tuple(sorted(days, reverse=True))


def list_repos(root: ObjectStoragePath) -> list[RepoDays]:
    """Every repository with at least one digest, by name (case-insensitive)."""
    repos: list[RepoDays] = []
    for owner in _children(root):
        if not valid_owner(owner.name):  # also skips _all, _cache, _work, dot folders
            continue
        for name in _children(owner):
            if not valid_name(name.name):
                continue
            days = days_in(name)
            if days:
                repos.append(RepoDays(f"{owner.name}/{name.name}", days))
    return sorted(repos, key=lambda repo: (repo.repo.lower(), repo.repo))


def combined_days(root: ObjectStoragePath) -> tuple[dt.date, ...]:
    """Days with a combined report (``_all``), newest first."""
    return days_in(root / COMBINED)


def repo_days(root: ObjectStoragePath, repo: str) -> tuple[dt.date, ...]:
    owner, name = repo.split("/")
    return days_in(root / owner / name)


def digest_file(root: ObjectStoragePath, ref: DigestRef, suffix: str) -> ObjectStoragePath:
    """The stored file of ``ref`` (``suffix`` '.md' or '.json'); the caller validated ``ref``."""
    return root.joinpath(*ref.folder.split("/"), f"{ref.day:%Y}", f"{ref.day.isoformat()}{suffix}")


def read_if_exists(path: ObjectStoragePath) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
