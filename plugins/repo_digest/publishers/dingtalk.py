"""DingTalk custom robots ("自定义机器人") with signing ("加签").

Signing, as DingTalk's robot guide documents it: ``timestamp`` is the current Unix time in
*milliseconds*; the string to sign is ``f"{timestamp}\\n{secret}"``, signed with
HMAC-SHA256 **keyed with the secret**; ``sign`` is the base64 of the digest, URL-encoded.
Both are added to the webhook URL as query parameters beside ``access_token``
(``...&timestamp=...&sign=...``). The server refuses a timestamp more than an hour from
its clock, and a wrong sign (errcode 310000).

Limits: a request body of at most 20,000 bytes (errcode 460101, "message too long, exceed
20000 bytes"; kept under :data:`BODY_LIMIT`); 20 messages a minute per robot. Errors
come with HTTP 200 and a non-zero ``errcode``, so the answer is always read.

The message is ``markdown``: the title, the counts line, the high-importance titles as
links to their commits, a link to the full digest. A robot with the "custom keywords"
security setting only accepts messages containing a keyword: the repository name and
the digest's heading are in every message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote_plus

from repo_digest.publishers.base import Delivery, PublishContext
from repo_digest.publishers.chat import ChatSummary, build_summary, fit
from repo_digest.publishers.credentials import DeliveryError, webhook_endpoint
from repo_digest.publishers.receipts import Receipt
from repo_digest.publishers.targets import DingTalkTarget
from repo_digest.publishers.transport import answer_excerpt, post

BODY_LIMIT = 19_000

# DingTalk's Markdown has no escaping; these would open links, HTML or emphasis in a title.
_MARKDOWN_LOOKALIKES = str.maketrans(
    {"[": "［", "]": "］", "<": "＜", ">": "＞", "*": "＊", "`": "｀", "#": "＃"}
)


def sign(timestamp: str, secret: str) -> str:
    """The base64 signature (not yet URL-encoded)."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, timestamp: str, signature: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp}&sign={quote_plus(signature)}"


def text(value: str) -> str:
    return value.translate(_MARKDOWN_LOOKALIKES)


def _url(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def build_payload(summary: ChatSummary, shown: int) -> dict[str, Any]:
    lines = [f"#### {text(summary.heading)}", "", text(summary.counts), ""]
    if summary.total_high:
        lines.append(f"**{text(summary.high_heading)}**")
        lines.append("")
        for item in summary.items[:shown]:
            lines.append(f"- [{text(item.title)}]({_url(item.url)})" if item.url else f"- {text(item.title)}")
        more = summary.more(shown)
        if more:
            lines += ["", text(more)]
    else:
        lines.append(text(summary.no_high))
    if summary.digest_url:
        lines += ["", f"[{text(summary.link_label)}]({_url(summary.digest_url)})"]
    return {"msgtype": "markdown", "markdown": {"title": summary.heading, "text": "\n".join(lines)}}


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fits(payload: dict[str, Any]) -> bool:
    return len(encode(payload)) <= BODY_LIMIT


def message(ctx: PublishContext, target: DingTalkTarget, *, update: bool) -> dict[str, Any]:
    summary = build_summary(ctx.digest, ctx.digest_url, update=update, max_titles=target.max_titles)
    return fit(lambda shown: build_payload(summary, shown), fits, len(summary.items))


class DingTalkPublisher:
    def content(self, target: DingTalkTarget, ctx: PublishContext) -> bytes:
        return encode(message(ctx, target, update=False))

    def deliver(self, target: DingTalkTarget, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        endpoint = webhook_endpoint(target.conn_id, ctx.redactor, signed=True)
        assert endpoint.secret is not None
        body = encode(message(ctx, target, update=previous is not None))
        timestamp = str(int(time.time() * 1000))
        signature = sign(timestamp, endpoint.secret)
        ctx.redactor.add(signature)
        response = post(signed_url(endpoint.url, timestamp, signature), body,
                        headers={"Content-Type": "application/json; charset=utf-8"},
                        redactor=ctx.redactor, service="DingTalk")  # fmt: skip
        try:
            answer = response.json()
        except ValueError:
            answer = None
        errcode = answer.get("errcode") if isinstance(answer, dict) else None
        if response.status_code != 200 or errcode != 0:
            raise DeliveryError(
                f"DingTalk answered HTTP {response.status_code}, errcode {errcode}: "
                f"{answer_excerpt(response, ctx.redactor)}"
            )
        return Delivery("updated" if previous is not None else "sent", {"bytes": len(body)})
