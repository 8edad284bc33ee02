"""What every publisher gets and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from repo_digest.digest import Digest
    from repo_digest.publishers.credentials import Redactor
    from repo_digest.publishers.receipts import Receipt

Action = Literal["created", "updated", "sent", "unchanged"]


@dataclass
class PublishContext:
    digest: Digest
    markdown: str
    digest_url: str | None
    values: dict[str, str]  # the template placeholders' values for this digest
    redactor: Redactor
    # Shared for the run: GitHub write clients by connection id (so their write pacing
    # spans targets), the authenticated login, ...
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    action: Action
    details: dict[str, Any] = field(default_factory=dict)


class Publisher(Protocol):
    def content(self, target: Any, ctx: PublishContext) -> bytes:
        """What this target would be sent, as bytes to hash: no network, no clock, no secrets."""

    def deliver(self, target: Any, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        """Send (or update) it; ``previous`` is the receipt of an earlier, different content."""
