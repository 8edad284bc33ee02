"""Slack incoming webhooks: a short Block Kit message.

Limits (Slack's documentation on messages and Block Kit):

- a ``section`` block's text: at most 3,000 characters (longer is refused with 400
  ``invalid_blocks``); at most 50 blocks per message;
- the top-level ``text`` (the notification / fallback): Slack truncates past 40,000
  characters and recommends at most 4,000;
- messages whose blocks total around 13 k characters have been refused with
  ``msg_blocks_too_long`` below every documented limit, so the whole payload is kept
  under :data:`PAYLOAD_LIMIT`.

Counted in UTF-16 code units, which is never less than characters. The webhook answers
``200 ok``; errors come as 4xx with a word such as ``invalid_payload`` or ``no_service``.

mrkdwn escaping: ``&``, ``<`` and ``>`` become entities (Slack's rule); a link is
``<url|text>``, so the URL may not contain ``|``, ``<``, ``>`` or spaces (percent-encoded).
The apache-airflow-providers-slack package is not installed here, so this posts with
requests to the webhook URL from the Airflow connection.
"""

from __future__ import annotations

import json
from typing import Any

from repo_digest.publishers.base import Delivery, PublishContext
from repo_digest.publishers.chat import ChatSummary, build_summary, fit
from repo_digest.publishers.credentials import DeliveryError, webhook_endpoint
from repo_digest.publishers.receipts import Receipt
from repo_digest.publishers.targets import SlackTarget
from repo_digest.publishers.transport import answer_excerpt, post

SECTION_TEXT_LIMIT = 3000
TEXT_LIMIT = 3000
MAX_BLOCKS = 50
PAYLOAD_LIMIT = 12_000
# Where a bare webhook token (the connection's password, no host) goes, as in the Slack provider.
DEFAULT_HOST = "https://hooks.slack.com/services"


def u16len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _url(url: str) -> str:
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")


def link(url: str, text: str) -> str:
    return f"<{_url(url)}|{escape(text)}>"


def build_payload(summary: ChatSummary, shown: int) -> dict[str, Any]:
    head = f"*{escape(summary.heading)}*\n{escape(summary.counts)}"
    if summary.total_high:
        lines = [f"*{escape(summary.high_heading)}*"]
        for item in summary.items[:shown]:
            lines.append("• " + (link(item.url, item.title) if item.url else escape(item.title)))
        more = summary.more(shown)
        if more:
            lines.append(f"_{escape(more)}_")
    else:
        lines = [f"_{escape(summary.no_high)}_"]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
    ]
    if summary.digest_url:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": link(summary.digest_url, summary.link_label)},
            }
        )
    return {"text": escape(f"{summary.heading} — {summary.counts}"), "blocks": blocks, "unfurl_links": False}


def fits(payload: dict[str, Any]) -> bool:
    if u16len(payload["text"]) > TEXT_LIMIT or len(payload["blocks"]) > MAX_BLOCKS:
        return False
    if any(u16len(block["text"]["text"]) > SECTION_TEXT_LIMIT for block in payload["blocks"]):
        return False
    return u16len(json.dumps(payload, ensure_ascii=False)) <= PAYLOAD_LIMIT


def message(ctx: PublishContext, target: SlackTarget, *, update: bool) -> dict[str, Any]:
    summary = build_summary(ctx.digest, ctx.digest_url, update=update, max_titles=target.max_titles)
    return fit(lambda shown: build_payload(summary, shown), fits, len(summary.items))


class SlackPublisher:
    def content(self, target: SlackTarget, ctx: PublishContext) -> bytes:
        return json.dumps(message(ctx, target, update=False), ensure_ascii=False, sort_keys=True).encode()

    def deliver(self, target: SlackTarget, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        endpoint = webhook_endpoint(target.conn_id, ctx.redactor, signed=False, default_host=DEFAULT_HOST)
        payload = message(ctx, target, update=previous is not None)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        response = post(endpoint.url, body, headers={"Content-Type": "application/json; charset=utf-8"},
                        redactor=ctx.redactor, service="Slack")  # fmt: skip
        if response.status_code != 200:
            raise DeliveryError(
                f"Slack answered HTTP {response.status_code}: {answer_excerpt(response, ctx.redactor)}"
            )
        shown = sum(line.startswith("• ") for line in payload["blocks"][1]["text"]["text"].split("\n"))
        return Delivery(
            "updated" if previous is not None else "sent", {"titles_shown": shown, "bytes": len(body)}
        )
