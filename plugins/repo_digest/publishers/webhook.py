"""A signed POST of the digest's JSON to any HTTP endpoint.

The body is JSON (UTF-8)::

    {"event": "digest.published" | "digest.updated", "delivery": "<id>", "repo": "owner/name",
     "day": "YYYY-MM-DD", "digest_url": "...", "content_hash": "sha256:...",
     "digest": {...the Digest...}, "markdown": "..."}

Headers:

    X-Repo-Digest-Event: digest.published | digest.updated
    X-Repo-Digest-Delivery: <id>       the same for every attempt of one content: dedupe on it
    X-Repo-Digest-Timestamp: <unix seconds>
    X-Repo-Digest-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + body)>

The secret is the connection's password. A receiver recomputes the HMAC over the exact
body bytes it received with the timestamp header, compares in constant time, and refuses
a timestamp older than a few minutes: a captured request cannot be replayed later, and a
changed timestamp breaks the signature (see :func:`verify`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from repo_digest.publishers.base import Delivery, PublishContext
from repo_digest.publishers.credentials import webhook_endpoint
from repo_digest.publishers.receipts import Receipt, content_hash
from repo_digest.publishers.targets import WebhookTarget
from repo_digest.publishers.transport import post, require_success

EVENT_HEADER = "X-Repo-Digest-Event"
DELIVERY_HEADER = "X-Repo-Digest-Delivery"
TIMESTAMP_HEADER = "X-Repo-Digest-Timestamp"
SIGNATURE_HEADER = "X-Repo-Digest-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature_header: str, *, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:  # fmt: skip
    """What a receiver should do: a fresh timestamp and a matching signature."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), signature_header)


def _basis(target: WebhookTarget, ctx: PublishContext) -> dict[str, Any]:
    basis: dict[str, Any] = {
        "repo": ctx.digest.repo,
        "day": ctx.digest.day.isoformat(),
        "digest_url": ctx.digest_url,
        "digest": ctx.digest.model_dump(mode="json"),
    }
    if target.include_markdown:
        basis["markdown"] = ctx.markdown
    return basis


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


class WebhookPublisher:
    def content(self, target: WebhookTarget, ctx: PublishContext) -> bytes:
        return _canonical(_basis(target, ctx))

    def deliver(self, target: WebhookTarget, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        endpoint = webhook_endpoint(target.conn_id, ctx.redactor, signed=True)
        assert endpoint.secret is not None
        basis = _basis(target, ctx)
        digest_hash = content_hash(_canonical(basis))
        # Stable for a given target and content: a receiver can drop a repeated delivery.
        delivery = hashlib.sha256(f"{target.identity()}|{digest_hash}".encode()).hexdigest()[:32]
        event = "digest.updated" if previous is not None else "digest.published"
        body = _canonical({"event": event, "delivery": delivery, "content_hash": digest_hash, **basis})
        timestamp = str(int(time.time()))
        signed = signature(endpoint.secret, timestamp, body)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signed,
        }
        response = post(endpoint.url, body, headers=headers, redactor=ctx.redactor, service="Webhook")
        require_success(response, redactor=ctx.redactor, service="Webhook")
        details = {"event": event, "delivery": delivery, "status": response.status_code, "bytes": len(body)}
        return Delivery("updated" if previous is not None else "sent", details)
