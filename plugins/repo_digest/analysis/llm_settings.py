"""Which LLM a repo's commits go to: an Airflow connection of type ``openai``.

The connection: password = API key; base URL from the host or from extra
``openai_client_kwargs.base_url`` (the openai provider's own field); model from the repo
entry's ``model`` or the extra ``model``; structured-output method from extra
``structured_output_method`` (``function_calling`` by default: the mode most
OpenAI-compatible servers support). Optional extras: ``timeout`` (s), ``max_attempts``,
``max_retry_wait`` (s), ``price_per_1m_input_tokens``, ``price_per_1m_output_tokens``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from repo_digest.config import RepoEntry

log = logging.getLogger(__name__)

Method = Literal["function_calling", "json_schema", "json_mode"]
METHODS: tuple[Method, ...] = ("function_calling", "json_schema", "json_mode")


class LLMSettingsError(ValueError):
    """The connection exists but cannot be used as configured."""


@dataclass(frozen=True)
class LLMSettings:
    conn_id: str
    model: str
    base_url: str | None
    api_key: str = field(repr=False)
    method: Method = "function_calling"
    timeout: float = 120.0
    max_attempts: int = 4
    max_retry_wait: float = 60.0
    price_per_1m_input_tokens: float | None = None
    price_per_1m_output_tokens: float | None = None

    @property
    def fingerprint(self) -> str:
        """Identifies endpoint, key and model without revealing the key."""
        raw = f"{self.base_url}|{self.api_key}|{self.model}|{self.method}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class LLMChoice:
    """The settings to use, or why the rule-based analyzer stands in (``reason`` is a note code)."""

    settings: LLMSettings | None
    reason: str | None = None


def _number(extra: dict[str, Any], key: str, conn_id: str, default: float | None) -> float | None:
    value = extra.get(key, default)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LLMSettingsError(f"connection {conn_id!r}: extra {key!r} must be a number, got {value!r}") from None


def settings_from_connection(conn_id: str, password: str | None, host: str | None, extra: dict[str, Any],
                             model_override: str | None) -> LLMChoice:  # fmt: skip
    """Pure: what a connection's fields mean. Raises LLMSettingsError for a misconfiguration."""
    client_kwargs = extra.get("openai_client_kwargs") or {}
    base_url = client_kwargs.get("base_url") or host or None
    model = model_override or extra.get("model")
    if not model:
        return LLMChoice(None, "no_model")
    method = extra.get("structured_output_method", "function_calling")
    if method not in METHODS:
        raise LLMSettingsError(
            f"connection {conn_id!r}: extra 'structured_output_method' is {method!r}; use one of {', '.join(METHODS)}"
        )
    return LLMChoice(
        LLMSettings(
            conn_id=conn_id,
            model=str(model),
            base_url=base_url,
            api_key=password or "",
            method=method,
            timeout=_number(extra, "timeout", conn_id, 120.0) or 120.0,
            max_attempts=int(_number(extra, "max_attempts", conn_id, 4) or 4),
            max_retry_wait=_number(extra, "max_retry_wait", conn_id, 60.0) or 60.0,
            price_per_1m_input_tokens=_number(extra, "price_per_1m_input_tokens", conn_id, None),
            price_per_1m_output_tokens=_number(extra, "price_per_1m_output_tokens", conn_id, None),
        )
    )


def resolve_llm(entry: RepoEntry) -> LLMChoice:
    """Read the entry's LLM connection (inside a task: never at parse time)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = BaseHook.get_connection(entry.llm_conn_id)
    except AirflowNotFoundException:
        log.warning("No Airflow connection %r: commits are analysed by the rule-based analyzer", entry.llm_conn_id)
        return LLMChoice(None, "no_connection")
    choice = settings_from_connection(
        entry.llm_conn_id, connection.password, connection.host, connection.extra_dejson or {}, entry.model
    )
    if choice.settings is None:
        log.warning("Connection %r names no model (extra 'model' or the repo entry's 'model'): rule-based analysis",
                    entry.llm_conn_id)  # fmt: skip
    return choice
