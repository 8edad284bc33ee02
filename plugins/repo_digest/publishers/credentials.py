"""Secrets from Airflow connections, and keeping them out of logs, errors and receipts.

Every secret a publisher reads (a token, a password, a signing secret, a webhook URL,
whose path or query *is* the credential) goes through :meth:`Redactor.add`, which

- registers it with Airflow's secrets masker (``mask_secret``), so the task log shows
  ``***`` wherever it appears, the supervisor's output included;
- keeps it for :meth:`Redactor.redact`, which every failure reason, exception message and
  log line of this package passes through, and which a logging filter applies to the
  HTTP libraries' own loggers (urllib3 logs the request path, i.e. a Slack webhook's
  secret, at DEBUG) while publishing runs, whatever handler records them.

Webhook connections (Slack, Feishu, DingTalk, the generic webhook), see
:func:`webhook_endpoint`:

- the URL: extra ``webhook_url``; else the host when it is a full URL; else for Slack the
  password when it is a full URL, or host + "/" + password (the Slack provider's form);
- the signing secret (Feishu, DingTalk, webhook): the password, or extra ``secret``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

log = logging.getLogger(__name__)

MASK = "***"
# Shorter values are not secrets worth masking (and masking them would garble logs).
MIN_SECRET_LENGTH = 6
REASON_LIMIT = 600
# Loggers of the libraries that publishers drive: their records may carry URLs and paths.
# Logger filters apply to records of the logger they are on, not its children: name each.
TRANSPORT_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.poolmanager",
    "urllib3.util.retry",
    "requests",
    "github",
    "github.Requester",
    "github.GithubRetry",
    "airflow.providers.smtp.hooks.smtp",
    *(
        f"repo_digest.publishers.{module}"
        for module in ("publish", "github_targets", "transport", "receipts", "credentials", "mail")
    ),
)
_SECRET_EXTRA_RE = re.compile(r"(secret|token|password|passwd|key|webhook|url|sign)", re.IGNORECASE)


class PublishConfigError(Exception):
    """A target cannot be published as configured (missing connection field, ...)."""


class DeliveryError(Exception):
    """A service refused or failed a delivery; the message is already free of secrets."""


class Redactor:
    """The secrets of one publishing run, and the means to keep them out of text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def __len__(self) -> int:
        return len(self._secrets)

    def add(self, *values: Any) -> None:
        for value in values:
            if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
                continue
            forms = {value, quote(value, safe=""), quote_plus(value)}
            if "://" in value:
                forms |= _url_parts(value)
            for form in forms:
                if len(form) >= MIN_SECRET_LENGTH and form not in self._secrets:
                    self._secrets.add(form)
                    _airflow_mask(form)

    def add_connection(self, connection: Any) -> None:
        """The password and every secret-looking extra value of an Airflow connection."""
        self.add(getattr(connection, "password", None))
        try:
            extra = connection.extra_dejson or {}
        except Exception:
            extra = {}
        for key, value in extra.items():
            if isinstance(value, str) and _SECRET_EXTRA_RE.search(key):
                self.add(value)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def reason(self, exc: BaseException) -> str:
        """One line naming the error, free of secrets, for reports and exceptions."""
        if isinstance(exc, (DeliveryError, PublishConfigError)):
            text = str(exc)
        else:
            text = f"{type(exc).__name__}: {exc}"
        text = " ".join(self.redact(text).split())
        return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"

    def traceback(self, exc: BaseException) -> str:
        return self.redact("".join(traceback.format_exception(exc)))

    @contextlib.contextmanager
    def guarding_logs(self, names: tuple[str, ...] = TRANSPORT_LOGGERS) -> Iterator[None]:
        """Redact this run's secrets from records of ``names`` (at any level) while it runs."""
        record_filter = _RedactingFilter(self)
        loggers = [logging.getLogger(name) for name in names]
        for logger in loggers:
            logger.addFilter(record_filter)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(record_filter)


class _RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if not len(self.redactor):
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        redacted = self.redactor.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor.traceback(record.exc_info[1])
            record.exc_info = None
        return True


def _url_parts(url: str) -> set[str]:
    """The parts of a webhook URL that may show up alone in a log line: path, query, tokens."""
    parts = urlsplit(url)
    forms = set()
    if len(parts.path.strip("/")) >= MIN_SECRET_LENGTH:
        forms.add(parts.path)
        forms.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    if parts.query:
        forms.add(parts.query)
        forms |= {value for _, value in parse_qsl(parts.query)}
    # Long path segments are tokens (Slack's, Feishu's hook id).
    forms |= {segment for segment in parts.path.split("/") if len(segment) >= 16}
    if parts.password:
        forms.add(parts.password)
    return forms


def _airflow_mask(value: str) -> None:
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(value)
    except Exception:  # pragma: no cover - masking is best effort outside a task
        pass


# --- connections ---------------------------------------------------------------------------


def get_connection(conn_id: str, redactor: Redactor) -> Any:
    """The Airflow connection ``conn_id``, its secrets registered with ``redactor``."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise PublishConfigError(f"Airflow connection {conn_id!r} is not defined") from None
    redactor.add_connection(connection)
    return connection


def _host_url(connection: Any) -> str | None:
    host = (connection.host or "").strip()
    if not host:
        return None
    if "://" in host:
        return host
    scheme = connection.schema if connection.schema in ("http", "https") else "https"
    port = f":{connection.port}" if connection.port else ""
    return f"{scheme}://{host}{port}"


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str | None


def webhook_endpoint(
    conn_id: str, redactor: Redactor, *, signed: bool, default_host: str | None = None
) -> Endpoint:
    """The webhook URL (and for ``signed`` services the signing secret) of ``conn_id``.

    ``default_host`` is where a bare token in the password goes without a host (Slack's
    provider defaults to https://hooks.slack.com/services).
    """
    connection = get_connection(conn_id, redactor)
    extra = connection.extra_dejson or {}
    password = connection.password or None
    url = extra.get("webhook_url") or None
    host_url = _host_url(connection)
    if url is None and not signed and password:
        # Unsigned (Slack): the password is the whole URL, or the token under the host.
        if "://" in password:
            url = password
        elif host_url or default_host:
            url = (host_url or default_host or "").rstrip("/") + "/" + password.lstrip("/")
    if url is None:
        url = host_url
    if not url:
        raise PublishConfigError(
            f"connection {conn_id!r} has no webhook URL: "
            "set its host to the full URL (or extra 'webhook_url')"
        )
    redactor.add(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise PublishConfigError(f"connection {conn_id!r}: the webhook URL must be http(s)")
    secret = None
    if signed:
        secret = extra.get("secret") or password
        if not secret:
            raise PublishConfigError(f"connection {conn_id!r} has no signing secret: set its password")
        redactor.add(secret)
    return Endpoint(url=url, secret=secret)
