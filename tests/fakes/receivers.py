"""Local stand-ins for the services digests are published to, on real sockets.

Each receiver checks a request the way its service does and answers like it, records
what it accepted (and why it refused the rest), and can be told to fail:

- :class:`SlackReceiver`: an incoming webhook ``/services/T…/B…/<token>``. JSON with
  ``text`` or ``blocks``; at most 50 blocks; a section's text at most 3,000 characters,
  a header's 150; ``text`` over 40,000 characters is refused here (Slack would truncate
  it). Answers ``200 ok``; ``400 invalid_payload`` / ``invalid_blocks``; ``404 no_service``
  for another token.
- :class:`FeishuReceiver`: a custom bot ``/open-apis/bot/v2/hook/<id>`` with signature
  verification: ``timestamp`` (seconds) within an hour and
  ``sign == base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))``, in the body;
  a body of at most 20,000 bytes; ``msg_type`` one of Feishu's. Errors come with HTTP 200
  and a non-zero ``code`` (19021 for the signature), as Feishu does.
- :class:`DingTalkReceiver`: a robot ``/robot/send?access_token=…&timestamp=…&sign=…``:
  ``timestamp`` (milliseconds) within an hour and the query's (URL-decoded) ``sign ==
  base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))``; a body of at most
  20,000 bytes (errcode 460101); errors with HTTP 200 and a non-zero ``errcode``
  (310000 for the signature).
- :class:`WebhookReceiver`: the generic signed webhook (repo_digest.publishers.webhook's
  contract, re-implemented here): ``X-Repo-Digest-Signature == "sha256=" + hex(HMAC(secret,
  f"{timestamp}.".encode() + body))`` and a timestamp at most 5 minutes old.
- :class:`FakeSMTP`: an SMTP server (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT)
  that records messages and can refuse DATA.

The signature checks here are written from the services' documentation, independently of
the publishers, so a test against them checks the publishers' algorithms.

``receiver.fail_with(500, times=1)`` makes the next request(s) fail with that status
before any check (``times=None``: until ``fail_with(None)``).
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import hashlib
import hmac
import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import BackgroundServer

SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_TEXT_LIMIT = 40_000
SLACK_MAX_BLOCKS = 50
FEISHU_BODY_LIMIT = 20_000
FEISHU_MSG_TYPES = {"text", "post", "image", "share_chat", "interactive"}
DINGTALK_BODY_LIMIT = 20_000
DINGTALK_MSG_TYPES = {"text", "link", "markdown", "actionCard", "feedCard"}
SIGNATURE_WINDOW_SECONDS = 3600
WEBHOOK_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Refused:
    request: Received
    status: int
    reason: str


Answer = tuple[int, dict[str, str], bytes]


def _json_answer(status: int, value: Any) -> Answer:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(value).encode()


class Receiver(BackgroundServer):
    """A threaded HTTP server on 127.0.0.1 that checks, records and answers POSTs."""

    name = "receiver"

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.refused: list[Refused] = []
        self.requests: list[Received] = []
        self._fail_status: int | None = None
        self._fail_times: int | None = None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


    # -- behaviour --------------------------------------------------------------------------

    def fail_with(self, status: int | None, times: int | None = 1) -> None:
        """Answer the next ``times`` requests (None: all) with ``status``; None stops failing."""
        with self._lock:
            self._fail_status, self._fail_times = status, times

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.refused.clear()
            self.requests.clear()
            self._fail_status = self._fail_times = None

    def handle(self, request: Received) -> Answer:
        with self._lock:
            self.requests.append(request)
            failing = self._fail_status
            if failing is not None and self._fail_times is not None:
                self._fail_times -= 1
                if self._fail_times <= 0:
                    self._fail_status = self._fail_times = None
        if failing is not None:
            return self.failure(failing)
        if request.method != "POST":
            return self._refuse(request, 405, "method not allowed")
        status, headers, body, problem = self.check(request)
        with self._lock:
            if problem is None:
                self.messages.append(request)
            else:
                self.refused.append(Refused(request, status, problem))
        return status, headers, body

    def _refuse(self, request: Received, status: int, reason: str) -> Answer:
        with self._lock:
            self.refused.append(Refused(request, status, reason))
        return status, {"Content-Type": "text/plain"}, reason.encode()

    def failure(self, status: int) -> Answer:
        return status, {"Content-Type": "text/plain"}, b"internal_error"

    def check(self, request: Received) -> tuple[int, dict[str, str], bytes, str | None]:
        """(status, headers, body, problem): ``problem`` None means accepted."""
        raise NotImplementedError

    def payloads(self) -> list[Any]:
        return [message.json() for message in self.messages]


# --- Slack ------------------------------------------------------------------------------------


class SlackReceiver(Receiver):
    name = "FakeSlack"

    def __init__(self, token: str = "T0000AAAA/B0000BBBB/slackWebhookSecretToken1234") -> None:
        super().__init__()
        self.token = token

    @property
    def url(self) -> str:
        return f"{self.base_url}/services/{self.token}"

    def failure(self, status: int) -> Answer:
        return status, {"Content-Type": "text/plain"}, b"rollup_error"

    def check(self, request: Received) -> tuple[int, dict[str, str], bytes, str | None]:
        def refuse(status: int, word: str, problem: str) -> tuple[int, dict[str, str], bytes, str]:
            return status, {"Content-Type": "text/plain"}, word.encode(), problem

        if request.path != f"/services/{self.token}":
            return refuse(404, "no_service", "unknown webhook")
        try:
            payload = request.json()
        except (UnicodeDecodeError, json.JSONDecodeError):
            return refuse(400, "invalid_payload", "body is not JSON")
        if not isinstance(payload, dict):
            return refuse(400, "invalid_payload", "payload is not an object")
        text, blocks = payload.get("text"), payload.get("blocks")
        if not text and not blocks:
            return refuse(400, "no_text", "neither text nor blocks")
        if text is not None and (not isinstance(text, str) or len(text) > SLACK_TEXT_LIMIT):
            return refuse(400, "invalid_payload", "text too long")
        if blocks is not None:
            problem = slack_blocks_problem(blocks)
            if problem:
                return refuse(400, "invalid_blocks", problem)
        return 200, {"Content-Type": "text/html"}, b"ok", None


def slack_blocks_problem(blocks: Any) -> str | None:
    if not isinstance(blocks, list) or len(blocks) > SLACK_MAX_BLOCKS:
        return f"blocks must be a list of at most {SLACK_MAX_BLOCKS}"
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            return f"block {index} has no type"
        text = block.get("text")
        if block["type"] == "section":
            if not isinstance(text, dict) or text.get("type") not in ("mrkdwn", "plain_text"):
                return f"block {index}: a section needs a text object"
            if not isinstance(text.get("text"), str) or not 1 <= len(text["text"]) <= SLACK_SECTION_LIMIT:
                return f"block {index}: section text must be 1-{SLACK_SECTION_LIMIT} characters"
        elif block["type"] == "header":
            if not isinstance(text, dict) or len(text.get("text", "")) > SLACK_HEADER_LIMIT:
                return f"block {index}: header text over {SLACK_HEADER_LIMIT} characters"
    return None


# --- Feishu / Lark ----------------------------------------------------------------------------


def feishu_sign(timestamp: str, secret: str) -> str:
    """Feishu's documented algorithm: HMAC-SHA256 keyed with "timestamp\\nsecret", empty message."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", digestmod=hashlib.sha256).digest()).decode()


class FeishuReceiver(Receiver):
    name = "FakeFeishu"

    def __init__(
        self,
        secret: str = "feishu-signing-secret-0123456789",
        hook: str = "0f1e2d3c-feishu-hook-4b5a69788796",
    ) -> None:
        super().__init__()
        self.secret = secret
        self.hook = hook

    @property
    def url(self) -> str:
        return f"{self.base_url}/open-apis/bot/v2/hook/{self.hook}"

    def failure(self, status: int) -> Answer:
        return _json_answer(status, {"code": 9499, "msg": "internal error", "data": {}})

    def check(self, request: Received) -> tuple[int, dict[str, str], bytes, str | None]:
        def refuse(code: int, msg: str, status: int = 200) -> tuple[int, dict[str, str], bytes, str]:
            return (*_json_answer(status, {"code": code, "msg": msg, "data": {}}), msg)

        if request.path != f"/open-apis/bot/v2/hook/{self.hook}":
            return refuse(19001, "param invalid: incoming webhook access token invalid", 404)
        if len(request.body) > FEISHU_BODY_LIMIT:
            return refuse(9499, f"request body over {FEISHU_BODY_LIMIT} bytes", 400)
        try:
            payload = request.json()
        except (UnicodeDecodeError, json.JSONDecodeError):
            return refuse(9499, "Bad Request", 400)
        timestamp, signature = str(payload.get("timestamp", "")), payload.get("sign")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
            return refuse(19021, "sign match fail or timestamp is not within one hour from current time")
        if not isinstance(signature, str) or not hmac.compare_digest(
            signature, feishu_sign(timestamp, self.secret)
        ):
            return refuse(19021, "sign match fail or timestamp is not within one hour from current time")
        if payload.get("msg_type") not in FEISHU_MSG_TYPES or not isinstance(payload.get("content"), dict):
            return refuse(19002, "params error, msg_type need")
        if payload["msg_type"] == "post" and not feishu_post_ok(payload["content"]):
            return refuse(19002, "params error, post content invalid")
        return (
            *_json_answer(
                200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
            ),
            None,
        )


def feishu_post_ok(content: dict[str, Any]) -> bool:
    post = content.get("post")
    if not isinstance(post, dict) or not post:
        return False
    for body in post.values():
        rows = body.get("content") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            return False
        for row in rows:
            if not isinstance(row, list):
                return False
            for element in row:
                if element.get("tag") == "a" and not (element.get("href") and element.get("text")):
                    return False
                if element.get("tag") == "text" and not isinstance(element.get("text"), str):
                    return False
    return True


# --- DingTalk ---------------------------------------------------------------------------------


def dingtalk_sign(timestamp: str, secret: str) -> str:
    """DingTalk's documented algorithm: HMAC-SHA256 keyed with the secret over "timestamp\\nsecret"."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class DingTalkReceiver(Receiver):
    name = "FakeDingTalk"

    def __init__(
        self,
        access_token: str = "dingtalkAccessToken0123456789abcdef",
        secret: str = "SECdingtalk0123456789abcdef",
    ) -> None:
        super().__init__()
        self.access_token = access_token
        self.secret = secret

    @property
    def url(self) -> str:
        return f"{self.base_url}/robot/send?access_token={self.access_token}"

    def failure(self, status: int) -> Answer:
        return _json_answer(status, {"errcode": -1, "errmsg": "系统繁忙"})

    def check(self, request: Received) -> tuple[int, dict[str, str], bytes, str | None]:
        def refuse(errcode: int, errmsg: str) -> tuple[int, dict[str, str], bytes, str]:
            return (*_json_answer(200, {"errcode": errcode, "errmsg": errmsg}), errmsg)

        if request.path != "/robot/send" or request.query.get("access_token") != [self.access_token]:
            return refuse(300001, "token is not exist")
        timestamp = (request.query.get("timestamp") or [""])[0]
        signature = (request.query.get("sign") or [""])[0]
        if (
            not timestamp.isdigit()
            or abs(time.time() * 1000 - int(timestamp)) > SIGNATURE_WINDOW_SECONDS * 1000
        ):
            return refuse(310000, "timestamp is not within one hour, more: [...]")
        if not hmac.compare_digest(signature, dingtalk_sign(timestamp, self.secret)):
            return refuse(310000, "sign not match, more: [...]")
        if len(request.body) > DINGTALK_BODY_LIMIT:
            return refuse(460101, f"message too long, exceed {DINGTALK_BODY_LIMIT} bytes")
        try:
            payload = request.json()
        except (UnicodeDecodeError, json.JSONDecodeError):
            return refuse(43004, "invalid json")
        kind = payload.get("msgtype")
        if kind not in DINGTALK_MSG_TYPES:
            return refuse(40035, "缺少参数 msgtype")
        if kind == "markdown" and not all(
            isinstance(payload.get("markdown", {}).get(k), str) for k in ("title", "text")
        ):
            return refuse(40035, "缺少参数 markdown.title / markdown.text")
        return (*_json_answer(200, {"errcode": 0, "errmsg": "ok"}), None)


# --- the generic signed webhook ------------------------------------------------------------------


class WebhookReceiver(Receiver):
    name = "FakeWebhook"

    def __init__(
        self, secret: str = "webhook-signing-secret-0123456789", path: str = "/hooks/repo-digest"
    ) -> None:
        super().__init__()
        self.secret = secret
        self.path = path

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.path}"

    def check(self, request: Received) -> tuple[int, dict[str, str], bytes, str | None]:
        def refuse(status: int, problem: str) -> tuple[int, dict[str, str], bytes, str]:
            return (*_json_answer(status, {"ok": False, "error": problem}), problem)

        if request.path != self.path:
            return refuse(404, "not found")
        headers = {key.lower(): value for key, value in request.headers.items()}
        timestamp = headers.get("x-repo-digest-timestamp", "")
        given = headers.get("x-repo-digest-signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WEBHOOK_TOLERANCE_SECONDS:
            return refuse(401, "stale or missing timestamp")
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(given, expected):
            return refuse(401, "bad signature")
        if not headers.get("content-type", "").startswith("application/json"):
            return refuse(415, "not JSON")
        try:
            request.json()
        except (UnicodeDecodeError, json.JSONDecodeError):
            return refuse(400, "body is not JSON")
        return (*_json_answer(200, {"ok": True}), None)


# --- HTTP plumbing ------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], receiver: Receiver
    ) -> None:
        super().__init__(address, handler)
        self.receiver = receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Received(self.command, split.path, parse_qs(split.query), dict(self.headers.items()), body)
        status, headers, answer = self.server.receiver.handle(request)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class _Session:
    authenticated: bool = False
    mail_from: str | None = None
    rcpt_to: list[str] = field(default_factory=list)


class FakeSMTP(BackgroundServer):
    """A small SMTP server (no TLS) on 127.0.0.1; with ``user``/``password`` it requires AUTH PLAIN."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.user = user
        self.password = password
        self.messages: list[ReceivedMail] = []
        self.auth_failures = 0
        self.refuse_data: int | None = None  # e.g. 451: refuse the next DATA with this code
        self._lock = threading.Lock()
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self) -> None:
                fake._session(self)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.auth_failures = 0
            self.refuse_data = None

    def _session(self, handler: socketserver.StreamRequestHandler) -> None:
        def send(line: str) -> None:
            handler.wfile.write(line.encode() + b"\r\n")
            handler.wfile.flush()

        session = _Session(authenticated=self.user is None)
        send("220 fake-smtp ESMTP ready")
        while True:
            raw = handler.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                send("250-fake-smtp")
                if self.user is not None:
                    send("250-AUTH PLAIN")
                send("250-8BITMIME")
                send("250 SIZE 10485760")
            elif verb == "HELO":
                send("250 fake-smtp")
            elif verb == "AUTH":
                mechanism, _, initial = argument.partition(" ")
                if mechanism.upper() != "PLAIN":
                    send("504 5.5.4 unrecognized authentication type")
                    continue
                if not initial:
                    send("334 ")
                    initial = handler.rfile.readline().decode().strip()
                try:
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                except (binascii.Error, ValueError, UnicodeDecodeError):
                    send("501 5.5.2 cannot decode")
                    continue
                if user == self.user and password == self.password:
                    session.authenticated = True
                    send("235 2.7.0 authentication successful")
                else:
                    with self._lock:
                        self.auth_failures += 1
                    send("535 5.7.8 authentication credentials invalid")
            elif verb == "MAIL":
                if not session.authenticated:
                    send("530 5.7.0 authentication required")
                    continue
                session.mail_from = (
                    argument.partition(":")[2].split()[0].strip("<>") if ":" in argument else ""
                )
                session.rcpt_to = []
                send("250 2.1.0 ok")
            elif verb == "RCPT":
                if session.mail_from is None:
                    send("503 5.5.1 MAIL first")
                    continue
                session.rcpt_to.append(argument.partition(":")[2].strip().strip("<>"))
                send("250 2.1.5 ok")
            elif verb == "DATA":
                if not session.rcpt_to:
                    send("503 5.5.1 RCPT first")
                    continue
                send("354 end data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data_line = handler.rfile.readline()
                    if not data_line or data_line in (b".\r\n", b".\n"):
                        break
                    lines.append(data_line[1:] if data_line.startswith(b"..") else data_line)
                with self._lock:
                    refuse, self.refuse_data = self.refuse_data, None
                if refuse is not None:
                    send(f"{refuse} 4.3.0 try again later")
                else:
                    mail = ReceivedMail(session.mail_from or "", tuple(session.rcpt_to), b"".join(lines))
                    with self._lock:
                        self.messages.append(mail)
                    send("250 2.0.0 queued")
                session.mail_from, session.rcpt_to = None, []
            elif verb == "RSET":
                session.mail_from, session.rcpt_to = None, []
                send("250 2.0.0 ok")
            elif verb == "NOOP":
                send("250 2.0.0 ok")
            elif verb == "QUIT":
                send("221 2.0.0 bye")
                return
            else:
                send("502 5.5.2 command not recognized")
