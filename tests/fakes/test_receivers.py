"""The local chat, webhook and SMTP receivers check requests the way the services do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
from email.message import EmailMessage
from urllib.parse import quote_plus

import pytest
import requests

from tests.fakes.receivers import (
    DingTalkReceiver,
    FakeSMTP,
    FeishuReceiver,
    SlackReceiver,
    WebhookReceiver,
    dingtalk_sign,
    feishu_sign,
)


def post_json(url: str, payload: object, **kwargs) -> requests.Response:
    return requests.post(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"},
                         timeout=5, **kwargs)  # fmt: skip


def test_slack_accepts_a_message_and_refuses_what_slack_refuses():
    with SlackReceiver() as slack:
        ok = post_json(
            slack.url,
            {"text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]},
        )
        assert (ok.status_code, ok.text) == (200, "ok")
        too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
        assert post_json(slack.url, {"text": "t", "blocks": [too_long]}).text == "invalid_blocks"
        assert post_json(slack.url, {"text": "t", "blocks": [{"type": "divider"}] * 51}).status_code == 400
        assert post_json(slack.url, {}).text == "no_text"
        assert post_json(slack.base_url + "/services/T/B/wrong", {"text": "x"}).status_code == 404
        slack.fail_with(500)
        assert post_json(slack.url, {"text": "x"}).status_code == 500
        assert post_json(slack.url, {"text": "x"}).status_code == 200  # times=1
        assert [message.json()["text"] for message in slack.messages] == ["hi", "x"]
        assert len(slack.refused) == 4


def test_feishu_checks_the_signature_the_timestamp_and_the_size():
    with FeishuReceiver() as feishu:
        now = str(int(time.time()))
        good = {
            "timestamp": now,
            "sign": feishu_sign(now, feishu.secret),
            "msg_type": "text",
            "content": {"text": "hi"},
        }
        assert post_json(feishu.url, good).json()["code"] == 0
        wrong = {**good, "sign": feishu_sign(now, "another-secret")}
        answer = post_json(feishu.url, wrong)
        assert answer.status_code == 200 and answer.json()["code"] == 19021  # Feishu errors come as 200
        stale_time = str(int(time.time()) - 3700)
        stale = {**good, "timestamp": stale_time, "sign": feishu_sign(stale_time, feishu.secret)}
        assert post_json(feishu.url, stale).json()["code"] == 19021
        huge = {**good, "content": {"text": "x" * 20_000}}
        assert post_json(feishu.url, huge).status_code == 400
        # The documented algorithm: HMAC keyed with "timestamp\nsecret" over nothing.
        expected = base64.b64encode(
            hmac.new(f"{now}\n{feishu.secret}".encode(), b"", hashlib.sha256).digest()
        ).decode()
        assert feishu_sign(now, feishu.secret) == expected
        assert len(feishu.messages) == 1


def test_dingtalk_checks_token_signature_and_size():
    with DingTalkReceiver() as dingtalk:
        ts = str(int(time.time() * 1000))
        signed = f"{dingtalk.url}&timestamp={ts}&sign={quote_plus(dingtalk_sign(ts, dingtalk.secret))}"
        payload = {"msgtype": "markdown", "markdown": {"title": "t", "text": "# hi"}}
        assert post_json(signed, payload).json() == {"errcode": 0, "errmsg": "ok"}
        unencoded = f"{dingtalk.url}&timestamp={ts}&sign={dingtalk_sign(ts, dingtalk.secret)}"
        if "+" in dingtalk_sign(ts, dingtalk.secret):  # a raw '+' arrives as a space: refused
            assert post_json(unencoded, payload).json()["errcode"] == 310000
        other = f"{dingtalk.url}&timestamp={ts}&sign={quote_plus(dingtalk_sign(ts, 'SECother'))}"
        assert post_json(other, payload).json()["errcode"] == 310000
        big = {"msgtype": "markdown", "markdown": {"title": "t", "text": "x" * 20_001}}
        assert post_json(signed, big).json()["errcode"] == 460101
        assert post_json(signed.replace(dingtalk.access_token, "nope"), payload).json()["errcode"] == 300001
        assert len(dingtalk.messages) == 1


def test_webhook_checks_the_hmac_over_timestamp_and_body():
    with WebhookReceiver() as hook:
        body = b'{"event":"digest.published"}'
        ts = str(int(time.time()))
        mac = (
            "sha256=" + hmac.new(hook.secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        headers = {
            "Content-Type": "application/json",
            "X-Repo-Digest-Timestamp": ts,
            "X-Repo-Digest-Signature": mac,
        }
        assert requests.post(hook.url, data=body, headers=headers, timeout=5).status_code == 200
        assert requests.post(hook.url, data=body + b" ", headers=headers, timeout=5).status_code == 401
        old = str(int(time.time()) - 600)
        replay = {**headers, "X-Repo-Digest-Timestamp": old,
                  "X-Repo-Digest-Signature": "sha256=" + hmac.new(hook.secret.encode(), old.encode() + b"." + body,
                                                                   hashlib.sha256).hexdigest()}  # fmt: skip
        assert requests.post(hook.url, data=body, headers=replay, timeout=5).status_code == 401
        assert len(hook.messages) == 1 and len(hook.refused) == 2


def test_fake_smtp_requires_auth_records_mail_and_can_refuse():
    with FakeSMTP(user="u", password="p4ssword") as server:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = "Hi 你好", "a@example.com", "b@example.com"
        message.set_content("body ünïcode")
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPSenderRefused):
                client.send_message(message)  # not logged in
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("u", "wrong")
            client.login("u", "p4ssword")
            client.send_message(message)
            server.refuse_data = 451
            with pytest.raises(smtplib.SMTPDataError):
                client.send_message(message)
        (mail,) = server.messages
        assert mail.rcpt_to == ("b@example.com",) and mail.message["Subject"] == "Hi 你好"
        assert mail.message.get_content().strip() == "body ünïcode"
        assert server.auth_failures == 1
