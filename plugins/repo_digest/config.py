"""The tracked-repo configuration: the Airflow Variable ``repo_digest_repos``.

Parsing is pure and never raises for bad input: every problem becomes a
:class:`ConfigError` that names the entry's index, the key and the value, and the
valid entries are returned beside the errors, so one bad entry never hides the others.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator

from repo_digest.names import check_branch, check_conn_id, check_git_url, check_repo, redact_url
from repo_digest.publishers.targets import PublishTargets, publish_error

VARIABLE_KEY = "repo_digest_repos"
# Tokens one commit's analysis request may carry (prompt and patches), unless an entry says otherwise.
DEFAULT_BUDGET_TOKENS = 12_000
DAG_ID_PREFIX = "repo_digest__"

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RepoEntry(BaseModel):
    """One tracked repository. Unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: str
    timezone: str = "UTC"
    language: Literal["zh", "en"] = "zh"
    branch: str | None = None
    source: Literal["github", "git"] = "github"
    url: str | None = None
    start_date: dt.date | None = None
    enabled: StrictBool = True
    github_conn_id: str = "github_default"
    llm_conn_id: str = "openai_default"
    # Overrides the connection's extra "model".
    model: str | None = None
    # Tokens of commit content (prompt included) one analysis request may carry.
    budget_tokens: int = Field(default=DEFAULT_BUDGET_TOKENS, ge=2_000, le=1_000_000)
    # Extra noise paths (fnmatch globs, see diffs.NoiseRule), never sent to the model.
    noise_paths: list[str] = Field(default_factory=list)
    # Where each day's digest goes besides the store (repo_digest.publishers.targets); each
    # target gets a given content once.
    publish: PublishTargets = Field(default_factory=list)

    @field_validator("repo", mode="before")
    @classmethod
    def _check_repo(cls, value: Any) -> str:
        return check_repo(value)

    @field_validator("timezone", mode="before")
    @classmethod
    def _check_timezone(cls, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError("must be an IANA timezone name such as 'Asia/Shanghai'")
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA timezone name (for example 'UTC' or 'Asia/Shanghai')") from None
        return value

    @field_validator("branch", mode="before")
    @classmethod
    def _check_branch(cls, value: Any) -> str | None:
        return check_branch(value)

    @field_validator("url", mode="before")
    @classmethod
    def _check_url(cls, value: Any) -> str | None:
        return None if value is None else check_git_url(value)

    @field_validator("start_date", mode="before")
    @classmethod
    def _check_start_date(cls, value: Any) -> Any:
        if value is None or isinstance(value, dt.date):
            return value
        if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
            raise ValueError("must be a date written YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a calendar date (YYYY-MM-DD)") from None

    @field_validator("model", mode="before")
    @classmethod
    def _check_model(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise ValueError("must be a model name such as 'gpt-4o-mini'")
        return value.strip()

    @field_validator("noise_paths", mode="before")
    @classmethod
    def _check_noise_paths(cls, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise ValueError("must be a list of path globs such as ['testdata/*', '*.golden']")
        return [item.strip() for item in value]

    @field_validator("github_conn_id", "llm_conn_id", mode="before")
    @classmethod
    def _check_conn_id(cls, value: Any) -> str:
        return check_conn_id(value)

    @model_validator(mode="after")
    def _check_source_url(self) -> RepoEntry:
        if self.source == "git" and not self.url:
            raise ValueError("url: required when source is 'git'")
        if self.source == "github" and self.url:
            raise ValueError("url: only used with source 'git'; for GitHub Enterprise set the connection's host")
        return self

    @property
    def owner(self) -> str:
        return self.repo.split("/")[0]

    @property
    def name(self) -> str:
        return self.repo.split("/")[1]

    @property
    def dag_id(self) -> str:
        return dag_id_for(self.repo)


def dag_id_for(repo: str) -> str:
    owner, name = repo.split("/")
    return f"{DAG_ID_PREFIX}{owner}__{name}"


@dataclass(frozen=True)
class ConfigError:
    """A problem with the Variable or with one of its entries; ``index`` is None for the whole Variable."""

    index: int | None
    repo: str | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = VARIABLE_KEY if self.index is None else f"{VARIABLE_KEY}[{self.index}]"
        if self.repo:
            where += f" (repo {self.repo!r})"
        if self.key:
            where += f", key {self.key!r}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ParsedRepos:
    entries: list[RepoEntry] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)

    @property
    def enabled(self) -> list[RepoEntry]:
        return [entry for entry in self.entries if entry.enabled]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry_errors(index: int, item: dict[str, Any], exc: ValidationError) -> list[ConfigError]:
    repo = item.get("repo") if isinstance(item.get("repo"), str) else None
    errors = []
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        key = loc[0] if loc else None
        if key == "publish":  # nested: name the target and its key, e.g. publish[2].path
            errors.append(ConfigError(index, repo, *publish_error(item.get("publish"), err)))
            continue
        if key is None and ":" in message:  # cross-field checks say "key: problem"
            key, message = (part.strip() for part in message.split(":", 1))
        if err["type"] == "extra_forbidden":
            message = f"unknown key (value {_short(err['input'])}); allowed: {', '.join(RepoEntry.model_fields)}"
        elif err["type"] == "missing":
            message = "is required"
        elif key == "url" and isinstance(item.get("url"), str):
            message = f"{_short(redact_url(item['url']))} {message}"  # never echo a token
        elif key is not None and key in item:
            message = f"{_short(item[key])} {message}"
        errors.append(ConfigError(index, repo, key, message))
    return errors


def parse_repo_entries(raw: str | None) -> ParsedRepos:
    """Parse the Variable's raw JSON text into valid entries and named errors."""
    if raw is None or not raw.strip():
        return ParsedRepos()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return ParsedRepos(errors=[ConfigError(None, None, None, f"is not valid JSON: {exc}")])
    if not isinstance(data, list):
        got = type(data).__name__
        return ParsedRepos(
            errors=[ConfigError(None, None, None, f'must be a JSON list like [{{"repo": "owner/name"}}], got {got}')]
        )
    entries: list[RepoEntry] = []
    errors: list[ConfigError] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            errors.append(
                ConfigError(index, None, None, f'must be an object like {{"repo": "owner/name"}}, got {_short(item)}')
            )
            continue
        try:
            entry = RepoEntry.model_validate(item)
        except ValidationError as exc:
            errors.extend(_entry_errors(index, item, exc))
            continue
        # GitHub names are case-insensitive: two spellings are one repository.
        identity = entry.repo.lower()
        if identity in seen:
            errors.append(ConfigError(index, entry.repo, "repo", f"duplicates entry {seen[identity]}; kept the first"))
            continue
        seen[identity] = index
        entries.append(entry)
    return ParsedRepos(entries=entries, errors=errors)


def format_errors(errors: list[ConfigError]) -> str:
    """One sentence for one problem; a line each for several (each names index, repo, key and value)."""
    if len(errors) == 1:
        return f"{errors[0]}. The other entries' DAGs are unaffected."
    lines = [f"{VARIABLE_KEY} has {len(errors)} problems; the other entries' DAGs are unaffected:"]
    lines += [f"  - {error}" for error in errors]
    return "\n".join(lines)
