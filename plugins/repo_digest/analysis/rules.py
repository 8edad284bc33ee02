"""The rule-based analyzer: importance, change types and every tier field, without an LLM.

It is the fallback when an LLM answer cannot be used and the second opinion beside one
that can (``rule_importance``), so it must never fail and must never claim what the
commit does not show. The score is an explicit point system (``SCORING_TABLE``); each
point it gives or takes becomes one line of ``rule_reasons``.

Pure: no I/O, no network, no clock. Facts come from rules_signals.py, wording from
rules_compose.py, phrases from rules_text.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from repo_digest.analysis.record import ChangeType, CommitAnalysis, Importance
from repo_digest.analysis.rules_compose import (
    Writer,
    insight_of,
    recommendations_of,
    risks_of,
    scope_of,
    summary_of,
)
from repo_digest.analysis.rules_signals import (
    KIND_TO_TYPE,
    Signals,
    bracket_tags,
    collect_signals,
    parse_conventional,
    tag_type,
)
from repo_digest.analysis.rules_text import Language
from repo_digest.diffs import AnalysisInput

__all__ = [
    "ANALYZER_VERSION",
    "HIGH_AT",
    "MEDIUM_AT",
    "SCORING_TABLE",
    "TYPE_POINTS",
    "Point",
    "analyze_by_rules",
    "bracket_tags",
    "change_types_of",
    "commit_kind",
    "parse_conventional",
    "score_importance",
    "score_points",
]

ANALYZER_VERSION = "rules-1"

# Thresholds on the total: high >= HIGH_AT, medium >= MEDIUM_AT, else low.
HIGH_AT = 6
MEDIUM_AT = 2

# Points for the commit's kind. Features, fixes, perf and refactors are the typical
# medium; docs, tests and style are low on their own; a merge is low because the merged
# commits carry the content and are analysed themselves.
TYPE_POINTS: dict[str, int] = {
    "feat": 2, "fix": 2, "perf": 2, "refactor": 2, "security": 2, "revert": 1,
    "build": 0, "deps": 0, "other": 0,
    "ci": -1, "chore": -1,
    "docs": -2, "test": -2, "style": -2,
    "merge": -4,
}  # fmt: skip

# Size buckets on lines added + deleted outside noise files: (lowest size, points, bucket).
SIZE_BUCKETS: tuple[tuple[int, int, str], ...] = (
    (2000, 3, "huge"),
    (500, 2, "xlarge"),
    (100, 1, "large"),
    (11, 0, "medium"),
    (0, -1, "tiny"),
)

# Documentation of the whole system, one row per rule: (rule, points). Kept next to the
# code that applies it; test_rules.py checks the constants agree with it.
SCORING_TABLE: tuple[tuple[str, str], ...] = (
    ("breaking change (`type!:`, BREAKING CHANGE in the body, [Breaking] tag)", "+6"),
    ("security signal (title words such as security/CVE/XSS, CVE or GHSA id in the message)", "+6"),
    ("kind: feat/fix/perf/refactor/security", "+2"),
    ("kind: revert", "+1"),
    ("kind: build/deps/other", "0"),
    ("kind: ci/chore", "-1"),
    ("kind: docs/test/style", "-2"),
    ("kind: merge commit", "-4"),
    ("title mentions removal/deprecation", "+1"),
    ("size <=10 / 11-99 / 100-499 / 500-1999 / >=2000 lines (noise ignored)", "-1 / 0 / +1 / +2 / +3"),
    ("touches source files", "+1"),
    (">=10 / >=30 source files", "+1 / +2"),
    ("only docs, only tests, or only tests+docs", "-3"),
    ("only noise files (lock, generated, vendored, binary ...)", "-4"),
    ("no source files (only build/CI/config, maybe with docs/tests)", "-1"),
    (">=5 files added/removed/renamed", "+1"),
    ("any file deleted", "+1"),
    ("dependency or build manifest changed (lock files included)", "+1"),
    ("security-sensitive paths (auth, crypto, secrets, permissions ...)", "+2"),
    ("public-interface paths (api/, public/, include/, *.proto ...)", "+1"),
    ("database migrations", "+1"),
    ("thresholds", f"high >= {HIGH_AT}, medium {MEDIUM_AT}..{HIGH_AT - 1}, low <= {MEDIUM_AT - 1}"),
)

_DEPS_SCOPES = {"deps", "dep", "deps-dev", "dependencies", "dependency", "requirements"}


@dataclass(frozen=True)
class Point:
    """One rule that fired: how many points, and the phrase key (with fields) that says why."""

    points: int
    key: str
    fields: dict[str, object] = field(default_factory=dict)


def _kind_from_files(s: Signals) -> str | None:
    """The kind a commit's files alone suggest, when they are all of one sort."""
    if not s.files:
        return None
    cats = s.categories
    if not cats:
        return "deps" if any(f.noise == "lock" for f in s.noise) else "chore"
    if cats <= {"docs"}:
        return "docs"
    if cats <= {"test", "docs"}:
        return "test"
    if cats <= {"ci"}:
        return "ci"
    if cats <= {"build", "config", "ci"}:
        builds = [f for f in s.meaningful if f.category == "build"]
        deps = {f.path for f in s.dependency_files}
        return "deps" if builds and all(f.path in deps for f in builds) else "build"
    return None


def commit_kind(s: Signals) -> tuple[str, str, str]:
    """(kind, source, what) — the commit's kind, where it was read, and the text it was read from.

    The author's own word wins (conventional prefix, then a type tag). Then a docs- or
    tests-only file list, which beats title verbs such as "Add" ("Add docs for X"), then
    the earliest type word of the title, then the files, else "other".
    """
    if s.is_merge:
        return "merge", "merge", ""
    if s.conv_type:
        kind = s.conv_type
        if kind in ("chore", "build") and (s.conv_scope or "").lower() in _DEPS_SCOPES:
            kind = "deps"
        return kind, "conventional", s.conv_type
    for tag in bracket_tags(s.title):
        kind = tag_type(tag)
        if kind and kind != "breaking":
            return kind, "tag", tag
    from_files = _kind_from_files(s)
    if from_files in ("docs", "test"):
        return from_files, "files", ""
    if s.keyword_types:
        return s.keyword_types[0], "keyword", ""
    if from_files:
        return from_files, "files", ""
    return "other", "none", ""


def change_types_of(s: Signals, kind: str | None = None) -> list[ChangeType]:
    """1-3 change types, the main one first.

    A fix is never also labelled a refactor: the original tool called `fix:` commits
    "代码重构", and a fix that tidies code on the way is still a fix. (A refactor that
    fixes something on the way keeps both.)
    """
    kind = kind or commit_kind(s)[0]
    if kind == "merge":
        return [ChangeType.MERGE]
    types: list[ChangeType] = []
    # A security fix is reported as security first; a feature with security words stays a feature.
    if s.security and kind in ("fix", "security", "deps", "chore", "other"):
        types.append(ChangeType.SECURITY)
    types.append(KIND_TO_TYPE[kind])
    if s.security:
        types.append(ChangeType.SECURITY)
    types += [KIND_TO_TYPE[k] for k in s.tag_types if k in KIND_TO_TYPE]
    # In a docs- or tests-only commit, "fix" and "add" are about the text or the tests
    # ("fix typo", "add tests for X"), not about the code.
    if not s.meaningful or not s.categories <= {"docs", "test"}:
        types += [KIND_TO_TYPE[k] for k in s.keyword_types]
    if s.dependency_files:
        types.append(ChangeType.DEPENDENCY)
    unique = list(dict.fromkeys(types))
    if kind == "fix":
        unique = [t for t in unique if t is not ChangeType.REFACTOR]
    if len(unique) > 1:
        unique = [t for t in unique if t is not ChangeType.OTHER]
    return unique[:3]


def _size_point(lines: int) -> Point | None:
    for lowest, points, bucket in SIZE_BUCKETS:
        if lines >= lowest:
            return Point(points, "reason.size", {"lines": lines, "bucket": bucket}) if points else None
    return None


def score_points(s: Signals, kind_info: tuple[str, str, str] | None = None) -> list[Point]:
    """Every rule that fired, in a fixed order; the total decides the importance."""
    kind, source, what = kind_info or commit_kind(s)
    if kind == "merge":
        points = [Point(TYPE_POINTS[kind], "reason.merge")]
    else:
        points = [Point(TYPE_POINTS[kind], "reason.type", {"kind": kind, "source": source, "what": what})]
    if s.breaking:
        points.append(Point(6, "reason.breaking"))
    if s.security:
        points.append(Point(6, "reason.security", {"words": s.security_words or [kind]}))
    if s.removal_words:
        points.append(Point(1, "reason.removal", {"words": s.removal_words}))
    if s.files:
        cats = s.categories
        if s.meaningful and (size := _size_point(s.lines)):
            points.append(size)
        sources = s.of("source")
        if not cats:
            points.append(Point(-4, "reason.only_noise"))
        elif cats <= {"docs"}:
            points.append(Point(-3, "reason.only_docs"))
        elif cats <= {"test"}:
            points.append(Point(-3, "reason.only_tests"))
        elif cats <= {"test", "docs"}:
            points.append(Point(-3, "reason.only_tests_docs"))
        elif not sources:
            points.append(Point(-1, "reason.no_source"))
        else:
            points.append(Point(1, "reason.source", {"n": len(sources)}))
            if len(sources) >= 10:
                points.append(Point(2 if len(sources) >= 30 else 1, "reason.many_source", {"n": len(sources)}))
        structural = s.with_status("added", "removed", "renamed")
        if len(structural) >= 5:
            points.append(Point(1, "reason.structural", {"n": len(structural)}))
        if deleted := s.with_status("removed"):
            points.append(Point(1, "reason.deleted", {"n": len(deleted)}))
        if s.build_files:
            points.append(Point(1, "reason.manifest", {"paths": [f.path for f in s.build_files]}))
        if sensitive := s.sensitive_paths:
            points.append(Point(2, "reason.sensitive", {"paths": sensitive}))
        if api := s.api_paths:
            points.append(Point(1, "reason.api", {"paths": api}))
        if migrations := s.migration_paths:
            points.append(Point(1, "reason.migration", {"paths": migrations}))
    return points


def level_of(total: int) -> Importance:
    if total >= HIGH_AT:
        return Importance.HIGH
    if total >= MEDIUM_AT:
        return Importance.MEDIUM
    return Importance.LOW


def score_importance(
    s: Signals, language: Language, kind_info: tuple[str, str, str] | None = None
) -> tuple[Importance, list[str]]:
    """The importance and its reasons: one "+n why" line per rule that fired, then the total."""
    points = score_points(s, kind_info)
    total = sum(p.points for p in points)
    importance = level_of(total)
    writer = Writer(language)
    reasons = [writer.reason(p) for p in points]
    reasons.append(
        writer.say(
            "reason.total",
            total=total,
            level=writer.say(f"level.{importance.value}"),
            high=HIGH_AT,
            medium=MEDIUM_AT,
            below_high=HIGH_AT - 1,
            below_medium=MEDIUM_AT - 1,
        )
    )
    return importance, reasons


def analyze_by_rules(inp: AnalysisInput, language: Language) -> CommitAnalysis:
    """The rule-based analysis of one commit, every field of its tier filled in ``language``."""
    s = collect_signals(inp)
    kind_info = commit_kind(s)
    importance, reasons = score_importance(s, language, kind_info)
    types = change_types_of(s, kind_info[0])
    writer = Writer(language)
    high = importance is Importance.HIGH
    # Only the fields of the tier are filled: the report shows exactly those, and a field
    # the reader never sees is not worth computing or storing.
    return CommitAnalysis(
        sha=inp.commit.sha,
        analyzer="rules",
        analyzer_version=ANALYZER_VERSION,
        importance=importance,
        change_types=types,
        summary=summary_of(s, types[0], writer),
        scope=scope_of(s, writer) if importance is not Importance.LOW else [],
        insight=insight_of(s, kind_info[0], writer) if high else None,
        risks=risks_of(s, inp.coverage, writer) if high else [],
        recommendations=recommendations_of(s, kind_info[0], inp.coverage, writer)
        if importance is not Importance.LOW
        else [],
        rule_importance=importance,
        rule_reasons=reasons,
        coverage=inp.coverage,
    )
