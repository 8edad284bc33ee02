"""Checks of the names users write in the configuration: repositories, branches, connection ids, git URLs.

Shared by the repo entries (config.py) and the publish targets (publishers/targets.py),
so both accept and refuse exactly the same names with the same words. Each check returns
the value or raises ValueError with a message pydantic shows next to the key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

OWNER_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38})")
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
CONN_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,250}")
# What `git check-ref-format` refuses, in the forms users actually mistype.
BAD_REF_RE = re.compile(r"(\.\.|[\s~^:?*\[\\]|@\{|//|^[-/.]|[/.]$|\.lock$)")


def check_repo(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string 'owner/name'")
    parts = value.split("/")
    if len(parts) != 2:
        raise ValueError("must be 'owner/name' with exactly one '/'")
    owner, name = parts
    if not OWNER_RE.fullmatch(owner):
        raise ValueError(
            f"owner {owner!r} must be 1-39 letters, digits, '-' or '_', starting with a letter or digit"
        )
    if not NAME_RE.fullmatch(name) or name in {".", ".."}:
        raise ValueError(f"name {name!r} must be 1-100 letters, digits, '.', '-' or '_' (not '.' or '..')")
    if name.lower().endswith(".git"):
        raise ValueError(f"name {name!r}: leave out the '.git' suffix")
    return value


def check_branch(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or BAD_REF_RE.search(value):
        raise ValueError("is not a valid git branch name")
    return value


def check_conn_id(value: Any) -> str:
    if not isinstance(value, str) or not CONN_ID_RE.fullmatch(value):
        raise ValueError("must be an Airflow connection id (letters, digits, '_', '.', '-')")
    return value


def redact_url(url: str) -> str:
    """``url`` with any user-info hidden (``https://user:token@host/x`` → ``https://***@host/x``)."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
    return url


def check_git_url(value: Any) -> str:
    """A git URL or local path that carries no credentials.

    A token in the URL would show wherever the entry does (the Variable, the DAG's docs,
    logs, digests); secrets belong to the workers' git credentials instead.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty git URL or local path")
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme and "@" in parts.netloc and (parts.password is not None or parts.scheme in ("http", "https")):
        raise ValueError(
            "must not carry credentials (user:token@): they would show in the UI, logs and digests. Give the "
            "workers git credentials instead (a credential helper for https://, an SSH key for ssh://)"
        )
    return value
