"""The per-commit analysis record, whichever analyzer produced it.

The fields mirror the report's tiers (REPORT_FORMAT.md): a high-importance commit has
all seven, a medium one five, a low one three. A record that lacks a field its tier
requires cannot be built, so a digest can never show a section with a missing field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Importance(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


IMPORTANCE_ORDER = (Importance.HIGH, Importance.MEDIUM, Importance.LOW)


class ChangeType(StrEnum):
    FEATURE = "feature"
    FIX = "fix"
    REFACTOR = "refactor"
    PERFORMANCE = "performance"
    SECURITY = "security"
    DOCS = "docs"
    TEST = "test"
    CI = "ci"
    BUILD = "build"
    DEPENDENCY = "dependency"
    STYLE = "style"
    REVERT = "revert"
    MERGE = "merge"
    CHORE = "chore"
    OTHER = "other"


Analyzer = Literal["rules", "llm"]


class TechnicalInsight(BaseModel):
    model_config = ConfigDict(extra="forbid")

    architecture: str = Field(min_length=1)
    performance: str = Field(min_length=1)
    security: str = Field(min_length=1)
    maintainability: str = Field(min_length=1)


class SkippedFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    reason: str  # a rule name: "lock", "generated", "vendored", "minified", "binary", "snapshot", "budget", ...


class Coverage(BaseModel):
    """How much of the commit the analyzer saw."""

    model_config = ConfigDict(extra="forbid")

    files_total: int
    files_analysed: int
    files_clipped: int = 0
    skipped: list[SkippedFile] = Field(default_factory=list)
    # The source listed only part of the commit's files (GitHub stops at 3,000).
    files_truncated: bool = False


class LLMUsage(BaseModel):
    """What the analysis of one commit cost, all attempts included."""

    model_config = ConfigDict(extra="forbid")

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _non_blank(items: list[str]) -> list[str]:
    return [item.strip() for item in items if item and item.strip()]


class CommitAnalysis(BaseModel):
    """What the digest says about one commit."""

    model_config = ConfigDict(extra="forbid")

    sha: str
    analyzer: Analyzer
    analyzer_version: str
    importance: Importance
    change_types: list[ChangeType] = Field(min_length=1, max_length=3)
    summary: list[str] = Field(min_length=1)
    scope: list[str] = Field(default_factory=list)
    insight: TechnicalInsight | None = None
    risks: list[str] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    # The rule-based score is kept beside whatever decided the importance, as a signal.
    rule_importance: Importance
    rule_reasons: list[str] = Field(default_factory=list)
    # Set when the LLM's answer could not be used and the rules stood in for it.
    fallback_reason: str | None = None
    coverage: Coverage | None = None
    model: str | None = None
    prompt_hash: str | None = None
    usage: LLMUsage | None = None
    # Paths the model named that are not among the commit's files (flagged in the text).
    ungrounded_paths: list[str] = Field(default_factory=list)

    @field_validator("summary", "scope", "risks", "recommendations", "rule_reasons")
    @classmethod
    def _strip(cls, items: list[str]) -> list[str]:
        return _non_blank(items)

    @model_validator(mode="after")
    def _tier_complete(self) -> CommitAnalysis:
        missing = [name for name in tier_fields(self.importance) if not getattr(self, name)]
        if missing:
            raise ValueError(f"{self.importance.value}-importance analysis lacks {', '.join(missing)}")
        return self


_TIER_FIELDS: dict[Importance, tuple[str, ...]] = {
    Importance.HIGH: ("change_types", "summary", "scope", "insight", "risks", "recommendations"),
    Importance.MEDIUM: ("change_types", "summary", "scope", "recommendations"),
    Importance.LOW: ("change_types", "summary"),
}


def tier_fields(importance: Importance) -> tuple[str, ...]:
    """The record fields a tier must carry (importance itself is always there)."""
    return _TIER_FIELDS[importance]
