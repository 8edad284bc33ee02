"""One POST to a webhook, without repeating it and without leaking its URL.

A chat message is not idempotent: a POST that reached the service but whose answer was
lost (a 5xx from a proxy, a read time-out) would post twice if retried. So nothing is
retried here except an explicit rate limit (429: the service did not take the message),
after its ``Retry-After`` (bounded). Anything else fails the target; the task's retry
comes back later and resends only targets without a receipt.

Errors are turned into :class:`DeliveryError` whose text went through the run's Redactor:
requests puts the URL (for Slack, the secret) into its exception messages.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import requests

from repo_digest.publishers.credentials import DeliveryError, Redactor

log = logging.getLogger(__name__)

TIMEOUT = (10, 30)  # connect, read (seconds)
RATE_LIMIT_RETRIES = 2
MAX_RETRY_AFTER = float(os.environ.get("REPO_DIGEST_PUBLISH_MAX_RETRY_AFTER", "30"))
ANSWER_EXCERPT = 200


def post(
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    redactor: Redactor,
    service: str,
) -> requests.Response:
    """POST ``body``; returns any HTTP answer (3xx–5xx included) except a 429 it waited out."""
    with requests.Session() as session:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                response = session.post(
                    url, data=body, headers=dict(headers), timeout=TIMEOUT, allow_redirects=False
                )
            except requests.RequestException as exc:
                raise DeliveryError(f"{service}: {type(exc).__name__}: {redactor.redact(str(exc))}") from None
            if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                return response
            wait = _retry_after(response)
            log.info("%s: rate limited (429); waiting %.1f s before the next attempt", service, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(response: requests.Response) -> float:
    try:
        wait = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), MAX_RETRY_AFTER)


def answer_excerpt(response: requests.Response, redactor: Redactor) -> str:
    text = " ".join(response.text[:ANSWER_EXCERPT].split())
    return redactor.redact(text) or "(empty answer)"


def require_success(response: requests.Response, *, redactor: Redactor, service: str) -> None:
    if not 200 <= response.status_code < 300:
        raise DeliveryError(
            f"{service} answered HTTP {response.status_code}: {answer_excerpt(response, redactor)}"
        )
