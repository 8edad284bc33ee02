"""Receipts: what was published where, so that a rerun sends nothing twice.

One receipt per target, repository and day, in the digest store:

    {store}/_receipts/{owner}/{name}/{YYYY-MM-DD}/{target-key}.json

It records the hash of what the target was last sent for that day (``content_hash``), when,
what happened (created / updated / sent / unchanged) and what the service answered that
a later run needs (the issue number, the file's blob sha, the commit). A run whose content
hash equals the receipt's sends nothing; a different hash means the digest changed: GitHub
targets are updated in place and chat targets get one message marked as an update.

A receipt is written only after the target accepted the delivery, and never holds a
secret: targets carry connection ids, and details come from the services' answers.
Owners cannot start with '_', so ``_receipts`` never collides with a repository folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from repo_digest.store import DigestStore

log = logging.getLogger(__name__)

RECEIPTS_FOLDER = "_receipts"
RECEIPT_SCHEMA_VERSION = 1
HISTORY_LIMIT = 50


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class ReceiptEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_hash: str
    action: str
    at: dt.datetime


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = RECEIPT_SCHEMA_VERSION
    key: str
    type: str
    label: str
    target: dict[str, Any]  # the target's configuration (connection ids, never secrets)
    repo: str
    day: dt.date
    content_hash: str
    action: str  # created | updated | sent | unchanged
    sent_at: dt.datetime
    details: dict[str, Any] = Field(default_factory=dict)
    history: list[ReceiptEvent] = Field(default_factory=list)  # oldest first, this delivery last


class ReceiptStore:
    """Reads and atomically writes receipts under ``{store}/_receipts``."""

    def __init__(self, store: DigestStore) -> None:
        self.store = store

    def folder(self, repo: str, day: dt.date) -> ObjectStoragePath:
        owner, name = repo.split("/")
        return self.store.root / RECEIPTS_FOLDER / owner / name / day.isoformat()

    def path(self, repo: str, day: dt.date, key: str) -> ObjectStoragePath:
        return self.folder(repo, day) / f"{key}.json"

    def read(self, repo: str, day: dt.date, key: str) -> Receipt | None:
        path = self.path(repo, day, key)
        text = self.store.read_text_if_exists(path)
        if text is None:
            return None
        try:
            return Receipt.model_validate_json(text)
        except ValidationError:
            # An unreadable receipt must not block publishing; treat it as absent (GitHub
            # targets still find their file or issue, so they are not duplicated).
            log.warning("Ignoring an unreadable receipt %s", path)
            return None

    def write(self, receipt: Receipt) -> None:
        self.store.write_text(
            self.path(receipt.repo, receipt.day, receipt.key), receipt.model_dump_json(indent=2) + "\n"
        )

    def record(
        self,
        previous: Receipt | None,
        *,
        key: str,
        type: str,
        label: str,
        target: dict[str, Any],
        repo: str,
        day: dt.date,
        content_hash: str,
        action: str,
        details: dict[str, Any],
        now: dt.datetime | None = None,
    ) -> Receipt:
        """Write the receipt of a delivery that just succeeded, keeping the earlier ones' history."""
        moment = now or dt.datetime.now(dt.UTC)
        history = list(previous.history) if previous is not None else []
        history.append(ReceiptEvent(content_hash=content_hash, action=action, at=moment))
        receipt = Receipt(
            key=key, type=type, label=label, target=target, repo=repo, day=day, content_hash=content_hash,
            action=action, sent_at=moment, details=details, history=history[-HISTORY_LIMIT:],
        )  # fmt: skip
        self.write(receipt)
        return receipt
