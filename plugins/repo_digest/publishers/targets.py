"""Where a repository's digest is published: the entries of a repo entry's ``publish`` list.

Each target is a pydantic model (unknown keys are errors) told apart by ``type``:

    github_file   commit the Markdown into a reports repository
    github_issue  one issue per repository and day, edited on rerun
    slack         an incoming webhook: a short summary
    feishu        a Feishu/Lark custom bot (signed): a short summary
    dingtalk      a DingTalk robot (signed): a short summary
    email         through Airflow's SMTP connection: HTML and plain text
    webhook       a POST of the digest's JSON, HMAC-signed

Credentials never appear here: every target names an Airflow connection (``conn_id``).
Templates (paths, titles, subjects) take the placeholders in :data:`PLACEHOLDERS`; an
unknown placeholder is a configuration error, reported when the Variable is parsed.

Each target has a stable *key* (:func:`target_key`) naming its receipts: the type and
what identifies the destination (the repository and path template, the connection, the
recipients), hashed; or ``{type}-{id}`` when the target sets ``id``. Options that only
change what is sent (a title template, labels) keep the key, so changing them edits the
existing issue instead of starting a new one.

This module imports only pydantic and the standard library: config.py imports it while
the dag-processor parses DAG files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from repo_digest.names import check_branch, check_conn_id, check_repo

PLACEHOLDERS = ("owner", "name", "repo", "YYYY", "MM", "DD", "YYYY-MM-DD", "language")
DEFAULT_FILE_PATH = "reports/{YYYY}/{name}/{YYYY-MM-DD}.md"
DEFAULT_COMMIT_MESSAGE = "repo_digest: {owner}/{name} {YYYY-MM-DD}"
DEFAULT_ISSUE_TITLE = "Daily digest {owner}/{name} {YYYY-MM-DD}"
DEFAULT_ISSUE_LABELS = ("repo-digest",)
DEFAULT_EMAIL_SUBJECT = "[repo-digest] {owner}/{name} {YYYY-MM-DD}"
# High-importance titles a chat message lists at most (fewer when the service's size limit says so).
DEFAULT_MAX_TITLES = 10

_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_EMAIL_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_SLUG_RE = re.compile(r"[^A-Za-z0-9._-]+")


# --- templates ---------------------------------------------------------------------------


def template_values(repo: str, day: dt.date, language: str) -> dict[str, str]:
    owner, name = repo.split("/")
    return {
        "owner": owner,
        "name": name,
        "repo": repo,
        "YYYY": f"{day:%Y}",
        "MM": f"{day:%m}",
        "DD": f"{day:%d}",
        "YYYY-MM-DD": day.isoformat(),
        "language": language,
    }


def check_template(template: str) -> str:
    """``template`` if every ``{placeholder}`` is known and braces are balanced, else ValueError."""
    unknown = [name for name in _PLACEHOLDER_RE.findall(template) if name not in PLACEHOLDERS]
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in unknown)
        allowed = " ".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise ValueError(f"unknown placeholder(s) {names}; allowed: {allowed}")
    if "{" in _PLACEHOLDER_RE.sub("", template) or "}" in _PLACEHOLDER_RE.sub("", template):
        raise ValueError("has an unmatched '{' or '}'")
    return template


def render_template(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group(1)], template)


_SAMPLE_VALUES = template_values("octo-org/demo.repo", dt.date(2026, 2, 19), "zh")


# --- field checks shared by the targets ------------------------------------------------





def _slug(text: str) -> str:
    return _SLUG_RE.sub("-", text).strip("-.")[:40] or "target"


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Pins the receipt key (``{type}-{id}``), e.g. to keep receipts when a connection is renamed.
    id: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _check_id(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _ID_RE.fullmatch(value):
            raise ValueError("must be 1-64 letters, digits, '_', '.' or '-'")
        return value

    @field_validator("conn_id", mode="before", check_fields=False)
    @classmethod
    def _check_conn(cls, value: Any) -> str:
        return check_conn_id(value)

    # What identifies the destination; see target_key().
    def identity(self) -> dict[str, Any]:
        raise NotImplementedError

    def slug(self) -> str:
        raise NotImplementedError

    @property
    def label(self) -> str:
        """A short human name for logs and reports (no secrets: ids and names only)."""
        return f"{self.type}:{self.slug()}"  # type: ignore[attr-defined]


# --- the targets -------------------------------------------------------------------------


class GithubFileTarget(_Target):
    """Commit the day's Markdown to ``path`` in ``repo``; nothing is committed when it is unchanged."""

    type: Literal["github_file"]
    repo: str
    branch: str | None = None  # the repository's default branch
    path: str = DEFAULT_FILE_PATH
    commit_message: str = DEFAULT_COMMIT_MESSAGE
    conn_id: str = "github_default"

    @field_validator("repo", mode="before")
    @classmethod
    def _check_repo_name(cls, value: Any) -> str:
        return check_repo(value)

    @field_validator("branch", mode="before")
    @classmethod
    def _check_branch(cls, value: Any) -> str | None:
        return check_branch(value)

    @field_validator("path", mode="before")
    @classmethod
    def _check_path(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a path template such as 'reports/{YYYY}/{name}/{YYYY-MM-DD}.md'")
        check_template(value)
        sample = render_template(value, _SAMPLE_VALUES)
        parts = sample.split("/")
        if sample.startswith("/") or "\\" in sample or any(part in ("", ".", "..", ".git") for part in parts):
            raise ValueError(
                "must be a relative path of non-empty segments (no '/', '.', '..' or '.git' segments)"
            )
        if any(ord(ch) < 32 for ch in sample):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("commit_message", mode="before")
    @classmethod
    def _check_message(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty commit message template")
        return check_template(value)

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "repo": self.repo.lower(), "branch": self.branch, "path": self.path}

    def slug(self) -> str:
        return _slug(self.repo.lower().replace("/", "-"))


class GithubIssueTarget(_Target):
    """One issue per tracked repository and day in ``repo``; a rerun edits it."""

    type: Literal["github_issue"]
    repo: str
    title: str = DEFAULT_ISSUE_TITLE
    labels: list[str] = Field(default_factory=lambda: list(DEFAULT_ISSUE_LABELS))
    conn_id: str = "github_default"

    @field_validator("repo", mode="before")
    @classmethod
    def _check_repo_name(cls, value: Any) -> str:
        return check_repo(value)

    @field_validator("title", mode="before")
    @classmethod
    def _check_title(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty title template")
        return check_template(value)

    @field_validator("labels", mode="before")
    @classmethod
    def _check_labels(cls, value: Any) -> list[str]:
        if not isinstance(value, list) or len(value) > 20:
            raise ValueError("must be a list of at most 20 label names")
        labels = []
        for label in value:
            if not isinstance(label, str) or not label.strip() or len(label) > 50 or "," in label:
                raise ValueError(f"label {label!r} must be 1-50 characters without ','")
            labels.append(label.strip())
        return labels

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "repo": self.repo.lower()}

    def slug(self) -> str:
        return _slug(self.repo.lower().replace("/", "-"))


class _ChatTarget(_Target):
    max_titles: int = Field(default=DEFAULT_MAX_TITLES, ge=0, le=100)

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "conn_id": self.conn_id}  # type: ignore[attr-defined]

    def slug(self) -> str:
        return _slug(self.conn_id)  # type: ignore[attr-defined]


class SlackTarget(_ChatTarget):
    """A Slack incoming webhook; the URL is the connection's (see credentials.webhook_endpoint)."""

    type: Literal["slack"]
    conn_id: str = "slack_default"


class FeishuTarget(_ChatTarget):
    """A Feishu/Lark custom bot; its signing secret is the connection's password."""

    type: Literal["feishu"]
    conn_id: str = "feishu_default"


class DingTalkTarget(_ChatTarget):
    """A DingTalk custom robot ("加签"); its signing secret is the connection's password."""

    type: Literal["dingtalk"]
    conn_id: str = "dingtalk_default"


class EmailTarget(_Target):
    """The digest by email through an Airflow ``smtp`` connection."""

    type: Literal["email"]
    to: list[str]
    subject: str = DEFAULT_EMAIL_SUBJECT
    from_email: str | None = None  # else the connection's extra "from_email", else its login
    conn_id: str = "smtp_default"

    @field_validator("to", mode="before")
    @classmethod
    def _check_to(cls, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or len(value) > 50:
            raise ValueError("must be a list of 1-50 email addresses")
        for address in value:
            if not isinstance(address, str) or not _EMAIL_RE.fullmatch(address.strip()):
                raise ValueError(f"{address!r} is not an email address")
        return [address.strip() for address in value]

    @field_validator("from_email", mode="before")
    @classmethod
    def _check_from(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _EMAIL_RE.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not an email address")
        return value.strip()

    @field_validator("subject", mode="before")
    @classmethod
    def _check_subject(cls, value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or "\n" in value or "\r" in value:
            raise ValueError("must be a one-line subject template")
        return check_template(value)

    def identity(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "conn_id": self.conn_id,
            "to": sorted(address.lower() for address in self.to),
        }

    def slug(self) -> str:
        return _slug(self.conn_id)


class WebhookTarget(_Target):
    """A POST of the digest's JSON to the connection's URL, signed with its password."""

    type: Literal["webhook"]
    conn_id: str = "repo_digest_webhook"
    include_markdown: bool = True

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "conn_id": self.conn_id}

    def slug(self) -> str:
        return _slug(self.conn_id)


Target = Annotated[
    GithubFileTarget
    | GithubIssueTarget
    | SlackTarget
    | FeishuTarget
    | DingTalkTarget
    | EmailTarget
    | WebhookTarget,
    Field(discriminator="type"),
]
TARGET_TYPES = ("github_file", "github_issue", "slack", "feishu", "dingtalk", "email", "webhook")


def target_key(target: _Target) -> str:
    """The stable name of ``target``'s receipts: ``{type}-{id}`` or ``{type}-{slug}-{hash}``."""
    kind = target.type  # type: ignore[attr-defined]
    if target.id:
        return f"{kind}-{target.id}"
    identity = json.dumps(target.identity(), sort_keys=True, separators=(",", ":"))
    return f"{kind}-{target.slug()}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def _unique_keys(targets: list[Any]) -> list[Any]:
    seen: dict[str, int] = {}
    for index, target in enumerate(targets):
        key = target_key(target)
        if key in seen:
            raise ValueError(
                f"target {index} ({target.label}) publishes to the same place as target {seen[key]}; "
                "remove one, or give them different 'id's"
            )
        seen[key] = index
    return targets


PublishTargets = Annotated[list[Target], AfterValidator(_unique_keys)]
_ADAPTER: TypeAdapter[list[Any]] = TypeAdapter(PublishTargets)


def parse_targets(data: Any) -> list[Any]:
    """Validate a ``publish`` list (raises pydantic's ValidationError)."""
    return _ADAPTER.validate_python(data)


_TARGET_MODELS: dict[str, type[_Target]] = {
    "github_file": GithubFileTarget,
    "github_issue": GithubIssueTarget,
    "slack": SlackTarget,
    "feishu": FeishuTarget,
    "dingtalk": DingTalkTarget,
    "email": EmailTarget,
    "webhook": WebhookTarget,
}


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def publish_error(targets: Any, error: Any) -> tuple[str, str]:
    """(key, message) for one pydantic error of a repo entry's ``publish`` list.

    ``error`` is an item of ``ValidationError.errors()`` whose ``loc`` starts with
    "publish"; the key names the target and field (``publish[2].path``) and the message
    starts with the offending value, like the other keys' messages in config.py.
    """
    loc = [str(part) for part in error["loc"]]
    kind, message = error["type"], error["msg"].removeprefix("Value error, ")
    if len(loc) < 2 or not isinstance(targets, list):
        if kind == "list_type":
            return "publish", f'{_short(targets)} must be a list of targets such as [{{"type": "slack"}}]'
        return "publish", message
    index = int(loc[1])
    item = targets[index] if 0 <= index < len(targets) else None
    fields = loc[3:]  # loc[2] is the union's tag (the target's type)
    key = f"publish[{index}]" + "".join(f".{name}" for name in fields)
    target_type = item.get("type") if isinstance(item, dict) else None
    if kind == "union_tag_invalid":
        return (
            f"publish[{index}].type",
            f"{_short(target_type)} is not a target type; use one of: {', '.join(TARGET_TYPES)}",
        )
    if kind in ("union_tag_not_found", "model_attributes_type", "dict_type"):
        return f"publish[{index}]", f"must be an object with a 'type': one of {', '.join(TARGET_TYPES)}"
    if kind == "extra_forbidden":
        allowed = [name for name in _TARGET_MODELS[loc[2]].model_fields] if loc[2] in _TARGET_MODELS else []
        return (
            key,
            f"unknown key (value {_short(error['input'])}); allowed for {loc[2]}: {', '.join(allowed)}",
        )
    if kind == "missing":
        return key, "is required"
    value: Any = item
    for name in fields:
        if isinstance(value, dict) and name in value:
            value = value[name]
        elif isinstance(value, list) and name.isdigit() and int(name) < len(value):
            value = value[int(name)]
        else:
            return key, message
    return key, f"{_short(value)} {message}"
