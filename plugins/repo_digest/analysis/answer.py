"""The structured answer asked of the LLM, and its conversion into a CommitAnalysis.

The schema is flat and permissive on purpose (every tier's fields exist, the optional
ones may be empty), so every provider's structured-output mode can express it; whether
the answer carries every field *its* tier needs is checked here, after parsing, and a
gap becomes a repair request, never a section with a missing field.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from repo_digest.analysis.record import ChangeType, CommitAnalysis, Importance, tier_fields

ANSWER_VERSION = "llm-1"


class InsightAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    architecture: str = Field(description="Architecture impact, 1-2 sentences")
    performance: str = Field(description="Performance impact, 1-2 sentences")
    security: str = Field(description="Security considerations, 1-2 sentences")
    maintainability: str = Field(description="Maintainability, 1-2 sentences")


class CommitAnswer(BaseModel):
    """One commit's analysis as the model returns it."""

    model_config = ConfigDict(extra="ignore")

    importance: Importance = Field(description="high, medium or low (see the tier definitions)")
    change_types: list[ChangeType] = Field(description="1-3 change types, the main one first")
    summary: list[str] = Field(description="What changed: 1 sentence for low, 2-4 bullet sentences otherwise")
    scope: list[str] = Field(default_factory=list, description="Areas affected (medium and high), 1-4 items")
    insight: InsightAnswer | None = Field(default=None, description="Only for high importance")
    risks: list[str] = Field(default_factory=list, description="Only for high importance, 1-4 items")
    recommendations: list[str] = Field(default_factory=list, description="Medium and high, 1-4 items")


class IncompleteAnswer(ValueError):
    """The answer lacks something its own tier requires."""


def to_analysis(answer: CommitAnswer, rules: CommitAnalysis, **llm_fields: Any) -> CommitAnalysis:
    """The record for ``answer``: its tier's fields, beside the rule-based score it was given.

    ``rules`` is the rule-based analysis of the same commit (its importance and reasons are
    kept as the signal); ``llm_fields`` are model, prompt_hash, usage and similar.
    """
    keep = set(tier_fields(answer.importance))
    try:
        return CommitAnalysis(
            sha=rules.sha,
            analyzer="llm",
            analyzer_version=ANSWER_VERSION,
            importance=answer.importance,
            change_types=list(dict.fromkeys(answer.change_types))[:3],
            summary=answer.summary,
            scope=answer.scope if "scope" in keep else [],
            insight=answer.insight.model_dump() if answer.insight and "insight" in keep else None,
            risks=answer.risks if "risks" in keep else [],
            recommendations=answer.recommendations if "recommendations" in keep else [],
            rule_importance=rules.rule_importance,
            rule_reasons=rules.rule_reasons,
            **{"coverage": rules.coverage, **llm_fields},
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise IncompleteAnswer(f"{answer.importance.value}-importance answer incomplete: {problems}") from None
