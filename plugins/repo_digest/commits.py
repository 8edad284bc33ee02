"""The commit table and the per-commit details every source produces.

The table (one row per commit, no diffs) travels between tasks as a pandas DataFrame
over XCom. The details (files and patches) are large, so they go to the commit cache in
the digest store, keyed by sha, and never into XCom.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pandas as pd

# Column -> pandas dtype. Order is the table's order.
COMMIT_COLUMNS: dict[str, str] = {
    "sha": "string",
    "author_name": "string",
    "author_login": "string",
    "author_date": "datetime64[us, UTC]",
    "committer_date": "datetime64[us, UTC]",
    "title": "string",
    "message": "string",
    "url": "string",
    "pr_number": "Int64",
    "is_merge": "bool",
    "additions": "int64",
    "deletions": "int64",
    "files_changed": "int64",
}

FileStatus = Literal["added", "modified", "removed", "renamed", "copied", "changed", "unchanged"]

# "Title (#123)" as squash merges write it, and "Merge pull request #123 from ..." as merges do.
_PR_SUFFIX_RE = re.compile(r"\(#(\d+)\)\s*$")
_PR_MERGE_RE = re.compile(r"^Merge pull request #(\d+)\b")


class CommitRecord(BaseModel):
    """One row of the commit table."""

    model_config = ConfigDict(extra="forbid")

    sha: str
    author_name: str
    author_login: str | None = None
    author_date: dt.datetime
    committer_date: dt.datetime
    title: str
    message: str
    url: str | None = None
    pr_number: int | None = None
    is_merge: bool = False
    additions: int = 0
    deletions: int = 0
    files_changed: int = 0


class FileChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    previous_path: str | None = None
    status: FileStatus = "modified"
    additions: int = 0
    deletions: int = 0
    binary: bool = False
    # None when the source gave no patch (binary, too large, or omitted by the server).
    patch: str | None = None
    patch_truncated: bool = False


class CommitDetail(BaseModel):
    """What a commit changed, as the commit cache stores it (immutable for a sha)."""

    model_config = ConfigDict(extra="forbid")

    sha: str
    files: list[FileChange]
    # True when the source listed fewer files than the commit touched (GitHub stops at 3,000).
    files_truncated: bool = False


def title_of(message: str) -> str:
    """The first line of a commit message."""
    return message.strip().splitlines()[0].strip() if message.strip() else ""


def pr_number_of(title: str) -> int | None:
    for pattern in (_PR_SUFFIX_RE, _PR_MERGE_RE):
        match = pattern.search(title)
        if match:
            return int(match.group(1))
    return None


def commits_to_frame(records: list[CommitRecord]) -> pd.DataFrame:
    """The commit table, newest committer date first; an empty day gives an empty typed table."""
    import pandas as pd

    rows = [record.model_dump() for record in records]
    frame = pd.DataFrame(rows, columns=list(COMMIT_COLUMNS))
    for column in ("author_date", "committer_date"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame = frame.astype(COMMIT_COLUMNS)
    frame = frame.sort_values(["committer_date", "author_date", "sha"], ascending=False, kind="stable")
    return frame.reset_index(drop=True)


def frame_to_commits(frame: pd.DataFrame) -> list[CommitRecord]:
    """Rows back to records, in the table's order."""
    import pandas as pd

    records = []
    for row in frame.to_dict(orient="records"):
        clean = {key: (None if value is pd.NA or value is pd.NaT else value) for key, value in row.items()}
        for column in ("author_date", "committer_date"):
            clean[column] = clean[column].to_pydatetime()
        records.append(CommitRecord.model_validate(clean))
    return records
