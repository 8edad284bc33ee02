"""What the viewer's URLs may name, and the URLs it builds. Pure: no Airflow, no store.

Every URL segment that reaches the store passes one of these tight patterns first, so no
request can name anything but ``{owner}/{name}/{YYYY}/{YYYY-MM-DD}.(md|json)`` or
``_all/{YYYY}/{YYYY-MM-DD}.(md|json)``: no '..', no '/', no '_cache' or '_work', no
other suffix. The patterns are the ones the Variable's entries are validated with
(repo_digest.config), so every repository that can have a digest has a viewer URL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# The combined daily report's folder; owners cannot start with '_', so it never collides.
COMBINED = "_all"
# Also in repo_digest.config (the Variable's validation); repeated so this module stays pure.
OWNER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,38}")
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
YEAR_RE = re.compile(r"[0-9]{4}")
# The last URL segment of a digest: its day, optionally with the raw file's suffix.
DIGEST_FILE_RE = re.compile(r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})(?P<suffix>\.md|\.json)?")
SUFFIXES = (".md", ".json")


def valid_owner(owner: str) -> bool:
    return OWNER_RE.fullmatch(owner) is not None


def valid_name(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None and name not in {".", ".."}


def valid_repo(owner: str, name: str) -> bool:
    return valid_owner(owner) and valid_name(name)


def parse_day(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` that is a real date, else None."""
    if DAY_RE.fullmatch(text) is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_digest_file(text: str) -> tuple[dt.date, str] | None:
    """``2026-02-19`` -> (day, ''), ``2026-02-19.md`` -> (day, '.md'); None for anything else."""
    match = DIGEST_FILE_RE.fullmatch(text)
    if match is None:
        return None
    day = parse_day(match["day"])
    if day is None:
        return None
    return day, match["suffix"] or ""


@dataclass(frozen=True, order=True)
class DigestRef:
    """One digest: a repository's day, or the combined report's day (``repo`` None)."""

    repo: str | None
    day: dt.date

    @property
    def folder(self) -> str:
        """The store folder above the year: ``owner/name`` or ``_all``."""
        return self.repo or COMBINED

    @property
    def label(self) -> str:
        return f"{self.repo or 'All repositories'} · {self.day.isoformat()}"


def viewer_path(ref: DigestRef, suffix: str = "") -> str:
    """The digest's path inside the viewer app: ``/owner/name/2026-02-19`` (+ ``.md``/``.json``)."""
    if suffix not in ("", *SUFFIXES):
        raise ValueError(f"unknown suffix {suffix!r}")
    return f"/{quote(ref.folder)}/{ref.day.isoformat()}{suffix}"


def root_path_of(base_url: str | None) -> str:
    """The path the api-server is served under, from ``[api] base_url``: '/' or '/airflow/'."""
    path = urlsplit(base_url or "").path or "/"
    return path if path.endswith("/") else path + "/"


def _path_of(url_or_path: str) -> str:
    return urlsplit(url_or_path).path if "://" in url_or_path else url_or_path


def ref_from_store_path(markdown_path: str, store_root: str | None = None) -> DigestRef | None:
    """The digest a store path names, or None.

    ``markdown_path`` is what ``publish`` returns: ``{store}/{owner}/{name}/{YYYY}/{YYYY-MM-DD}.md``
    or ``{store}/_all/{YYYY}/{YYYY-MM-DD}.md``, a local path or any ``scheme://`` URL. With
    ``store_root`` the path must lie under it and the part below it must be exactly one of
    those layouts; without it only the last segments are read (a repository literally named
    ``_all`` is then read as the combined report). Each segment must pass the viewer's patterns.
    """
    if not isinstance(markdown_path, str) or not markdown_path:
        return None
    parts = _path_of(markdown_path).split("/")
    if store_root is not None:
        root = _path_of(store_root).rstrip("/").split("/")
        if parts[: len(root)] != root:
            return None
        parts = parts[len(root) :]
        if len(parts) not in (3, 4):
            return None
    if len(parts) < 3 or not parts[-1].endswith(".md"):
        return None
    day = parse_day(parts[-1][: -len(".md")])
    if day is None or parts[-2] != f"{day:%Y}":
        return None
    if parts[-3] == COMBINED and (store_root is None or len(parts) == 3):
        return DigestRef(None, day)
    if len(parts) < 4 or not valid_repo(parts[-4], parts[-3]):
        return None
    return DigestRef(f"{parts[-4]}/{parts[-3]}", day)
