"""Feishu / Lark custom bots ("自定义机器人") with signature verification ("签名校验").

Signing, as the custom-bot guide documents it: ``timestamp`` is the current Unix time in
*seconds* (as a string); the string to sign is ``f"{timestamp}\\n{secret}"`` and it is used
as the HMAC-SHA256 **key** over an empty message; ``sign`` is the base64 of that digest.
Both go into the JSON body beside ``msg_type`` and ``content``. The server refuses a
timestamp more than an hour from its clock (code 19021, "sign match fail or timestamp is
not within one hour from current time").

Limits: a request body of at most 20 KB (kept under :data:`BODY_LIMIT` bytes of UTF-8
JSON); 100 requests a minute and 5 a second per bot. Errors often come with HTTP 200 and a
non-zero ``code`` in the JSON answer, so the answer is always read.

The message is a rich-text ``post``: the title, the counts line, one line per
high-importance title (a link to its commit) and a link to the full digest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from repo_digest.publishers.base import Delivery, PublishContext
from repo_digest.publishers.chat import ChatSummary, build_summary, fit
from repo_digest.publishers.credentials import DeliveryError, webhook_endpoint
from repo_digest.publishers.receipts import Receipt
from repo_digest.publishers.targets import FeishuTarget
from repo_digest.publishers.transport import answer_excerpt, post

BODY_LIMIT = 19_000
# What the signature fields add to the body at most (10-digit timestamp, 44-character sign).
_SIGNATURE_ROOM = len(',"timestamp":"0000000000","sign":""') + 44


def sign(timestamp: str, secret: str) -> str:
    string_to_sign = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(string_to_sign, b"", digestmod=hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def build_payload(summary: ChatSummary, shown: int) -> dict[str, Any]:
    rows: list[list[dict[str, str]]] = [[{"tag": "text", "text": summary.counts}]]
    if summary.total_high:
        rows.append([{"tag": "text", "text": summary.high_heading}])
        for item in summary.items[:shown]:
            if item.url:
                rows.append(
                    [{"tag": "text", "text": "• "}, {"tag": "a", "text": item.title, "href": item.url}]
                )
            else:
                rows.append([{"tag": "text", "text": f"• {item.title}"}])
        more = summary.more(shown)
        if more:
            rows.append([{"tag": "text", "text": more}])
    else:
        rows.append([{"tag": "text", "text": summary.no_high}])
    if summary.digest_url:
        rows.append([{"tag": "a", "text": summary.link_label, "href": summary.digest_url}])
    locale = "zh_cn" if summary.language == "zh" else "en_us"
    return {"msg_type": "post", "content": {"post": {locale: {"title": summary.heading, "content": rows}}}}


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fits(payload: dict[str, Any]) -> bool:
    return len(encode(payload)) + _SIGNATURE_ROOM <= BODY_LIMIT


def message(ctx: PublishContext, target: FeishuTarget, *, update: bool) -> dict[str, Any]:
    summary = build_summary(ctx.digest, ctx.digest_url, update=update, max_titles=target.max_titles)
    return fit(lambda shown: build_payload(summary, shown), fits, len(summary.items))


class FeishuPublisher:
    def content(self, target: FeishuTarget, ctx: PublishContext) -> bytes:
        return encode(message(ctx, target, update=False))

    def deliver(self, target: FeishuTarget, ctx: PublishContext, previous: Receipt | None) -> Delivery:
        endpoint = webhook_endpoint(target.conn_id, ctx.redactor, signed=True)
        assert endpoint.secret is not None
        payload = message(ctx, target, update=previous is not None)
        timestamp = str(int(time.time()))
        signature = sign(timestamp, endpoint.secret)
        ctx.redactor.add(signature)  # valid for an hour: as good as the secret meanwhile
        body = encode({"timestamp": timestamp, "sign": signature, **payload})
        response = post(endpoint.url, body, headers={"Content-Type": "application/json; charset=utf-8"},
                        redactor=ctx.redactor, service="Feishu")  # fmt: skip
        try:
            answer = response.json()
        except ValueError:
            answer = None
        code = None
        if isinstance(answer, dict):
            code = answer.get("code", answer.get("StatusCode"))
        if response.status_code != 200 or code != 0:
            excerpt = answer_excerpt(response, ctx.redactor)
            raise DeliveryError(f"Feishu answered HTTP {response.status_code}, code {code}: {excerpt}")
        return Delivery("updated" if previous is not None else "sent", {"bytes": len(body)})
