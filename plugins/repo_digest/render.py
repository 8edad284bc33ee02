"""render_markdown: a Digest -> the Markdown report (REPORT_FORMAT.md).

Two steps. ``repo_view`` turns a Digest into a view whose every string is already
Markdown-safe (untrusted text goes through repo_digest.markdown here, and only here) and
whose sentences come from the label files; the Jinja templates in include/templates then
only lay the view out. The output depends on the Digest alone (no clock, no locale), so
the same Digest always renders to the same bytes.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2

from repo_digest.analysis.record import IMPORTANCE_ORDER, CommitAnalysis, Coverage, Importance, tier_fields
from repo_digest.digest import Digest, DigestCommit

if TYPE_CHECKING:
    from repo_digest.combined import CombinedReport
from repo_digest.markdown import (
    commit_anchor,
    group_anchor,
    md_code,
    md_inline,
    md_prose,
    md_link,
    md_table_cell,
    repo_anchor,
    shorten,
    stats_anchor,
    toc_anchor,
)

LANGUAGES = ("zh", "en")
INCLUDE_DIR_ENV = "REPO_DIGEST_INCLUDE_DIR"
COMBINED_TEMPLATE = "combined.md.j2"
DIGEST_TEMPLATE = "digest.md.j2"

# Display columns (wide characters count 2). Titles are capped so a 10,000-character
# title cannot swamp the table; the cut is marked with '…' and the commit link has the rest.
TITLE_LIMIT = 200
TOC_TITLE_LIMIT = 40
AUTHOR_LIMIT = 60
# Skipped paths named per skip reason in a coverage line; the rest are counted.
SKIPPED_PATHS_SHOWN = 3

# The order fields appear in, whatever the tier; tier_fields() decides which appear.
# Importance is not a tier field (every record has one) and always follows the type.
FIELD_ORDER = ("change_types", "importance", "summary", "scope", "insight", "risks", "recommendations")
INSIGHT_ORDER = ("architecture", "performance", "security", "maintainability")

Labels = Mapping[str, Any]


# --- the view: what the templates see ------------------------------------------------


@dataclass(frozen=True)
class FieldView:
    label: str
    value: str = ""  # an inline field: **label**: value
    items: tuple[str, ...] = ()  # a list field: **label** then one bullet per item


@dataclass(frozen=True)
class CommitView:
    anchor: str
    title: str
    table_title: str
    toc_title: str
    time: str
    author: str
    sha: str
    links: tuple[str, ...]
    fallback: str | None
    fields: tuple[FieldView, ...]
    coverage: str | None


@dataclass(frozen=True)
class GroupView:
    anchor: str
    heading: str
    commits: tuple[CommitView, ...]


@dataclass(frozen=True)
class RepoView:
    anchor: str
    name: str
    window: str
    partial: str | None
    note: str | None
    no_commits: str
    commits: tuple[CommitView, ...]  # table order: the Digest's, newest first
    stats_anchor: str
    stats_lines: tuple[str, ...]
    toc_anchor: str
    groups: tuple[GroupView, ...]  # non-empty groups, high to low


# --- labels and templates ------------------------------------------------------------


def include_dir() -> Path:
    override = os.environ.get(INCLUDE_DIR_ENV)
    return Path(override) if override else Path(__file__).resolve().parents[2] / "include"


def load_labels(language: str) -> dict[str, Any]:
    """The label set of ``language`` ('zh' or 'en'): nested dicts of strings."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    path = include_dir() / "templates" / "i18n" / f"{language}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=4)
def _environment(templates: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=False,  # Markdown, not HTML: escaping happens in repo_view
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_environment() -> jinja2.Environment:
    """The Jinja environment over include/templates (also for a combined report)."""
    return _environment(include_dir() / "templates")


class _Text:
    """Label lookup by dotted key, formatted with already-safe values."""

    def __init__(self, labels: Labels) -> None:
        self._labels = labels

    def __call__(self, key: str, **values: object) -> str:
        node: Any = self._labels
        for part in key.split("."):
            node = node[part]
        return node.format(**values) if values else node

    def optional(self, section: str, key: str) -> str | None:
        value = self._labels[section].get(key)
        return value if isinstance(value, str) else None


# --- Digest -> view --------------------------------------------------------------------


def _importance(analysis: CommitAnalysis, t: _Text) -> str:
    text = t(f"importance.{analysis.importance.value}")
    if analysis.importance != analysis.rule_importance:
        # The rule score is a signal the reader should see when the deciding analyzer overrode it.
        text += t("commit.rule_importance", importance=t(f"importance.{analysis.rule_importance.value}"))
    return text


def _fields(analysis: CommitAnalysis, t: _Text) -> tuple[FieldView, ...]:
    present = set(tier_fields(analysis.importance)) | {"importance"}
    fields: list[FieldView] = []
    for name in FIELD_ORDER:
        if name not in present:
            continue
        if name == "change_types":
            value = " / ".join(t(f"change_type.{kind.value}") for kind in analysis.change_types)
            fields.append(FieldView(t("field.change_types"), value=value))
        elif name == "importance":
            fields.append(FieldView(t("field.importance"), value=_importance(analysis, t)))
        elif name == "insight":
            insight = analysis.insight
            assert insight is not None  # the record's tier validation guarantees it
            items = tuple(
                f"**{t(f'insight.{part}')}**{t('colon')}{md_prose(getattr(insight, part))}"
                for part in INSIGHT_ORDER
            )
            fields.append(FieldView(t("field.insight"), items=items))
        else:
            # A low-importance section's summary keeps the original's shorter label.
            key = "summary_low" if name == "summary" and analysis.importance is Importance.LOW else name
            items = tuple(md_prose(item) for item in getattr(analysis, name))
            fields.append(FieldView(t(f"field.{key}"), items=items))
    return tuple(fields)


def _coverage(coverage: Coverage | None, t: _Text) -> str | None:
    """One line when the analyzer did not see everything; None when it did."""
    if coverage is None:
        return None
    complete = coverage.files_analysed >= coverage.files_total and not coverage.files_clipped
    if complete and not coverage.skipped and not coverage.files_truncated:
        return None
    clauses = [t("coverage.analysed", analysed=coverage.files_analysed, total=coverage.files_total)]
    if coverage.files_truncated:
        clauses.append(t("coverage.truncated", total=coverage.files_total))
    if coverage.files_clipped:
        clauses.append(t("coverage.clipped", clipped=coverage.files_clipped))
    if coverage.skipped:
        by_reason: dict[str, list[str]] = {}  # first-seen order: deterministic for a given record
        for skipped in coverage.skipped:
            by_reason.setdefault(skipped.reason, []).append(skipped.path)
        reasons = []
        for reason, paths in by_reason.items():
            shown = [md_code(path) for path in paths[:SKIPPED_PATHS_SHOWN]]
            if len(paths) > SKIPPED_PATHS_SHOWN:
                shown.append(t("coverage.more", count=len(paths) - SKIPPED_PATHS_SHOWN))
            name = t.optional("skip_reason", reason) or md_inline(reason)
            listed = t("list_sep").join(shown)
            reasons.append(t("coverage.reason", reason=name, count=len(paths), paths=listed))
        listed = t("list_sep").join(reasons)
        clauses.append(t("coverage.skipped", skipped=len(coverage.skipped), reasons=listed))
    return t("clause_sep").join(clauses)


_HEX_RE = re.compile(r"^[0-9a-fA-F]{4,64}$")


def _commit_view(repo: str, commit: DigestCommit, t: _Text) -> CommitView:
    analysis = commit.analysis
    title = commit.title if commit.title.strip() else t("untitled")
    links = []
    if commit.url:
        links.append("🔗 " + md_link(t("commit.view_commit"), commit.url))
    if commit.pr_number is not None and commit.pr_url:
        links.append("🔀 " + md_link(t("commit.pr", number=commit.pr_number), commit.pr_url))
    if commit.is_merge:
        links.append(t("commit.merge"))
    fallback = None
    if analysis.fallback_reason:
        fallback = t("commit.fallback", reason=md_prose(analysis.fallback_reason))
    return CommitView(
        anchor=commit_anchor(repo, commit.sha),
        title=md_inline(shorten(title, TITLE_LIMIT)),
        table_title=md_table_cell(shorten(title, TITLE_LIMIT)),
        toc_title=md_inline(shorten(title, TOC_TITLE_LIMIT)),
        time=md_table_cell(commit.committer_time),
        author=md_table_cell(shorten(commit.author_name, AUTHOR_LIMIT)),
        # A short sha is hex in practice; anything else is shown escaped, not trusted in code.
        sha=md_code(commit.short_sha) if _HEX_RE.match(commit.short_sha) else md_inline(commit.short_sha),
        links=tuple(links),
        fallback=fallback,
        fields=_fields(analysis, t),
        coverage=_coverage(analysis.coverage, t),
    )


def _counted(counts: Mapping[str, int], section: str, t: _Text) -> str:
    items = [
        t("stats.count_item", name=t.optional(section, key) or md_inline(key), count=count)
        for key, count in counts.items()
    ]
    return t("list_sep").join(items)


def _stats_lines(digest: Digest, t: _Text) -> tuple[str, ...]:
    stats = digest.stats
    by_importance = {level: stats.by_importance.get(level, 0) for level in IMPORTANCE_ORDER}
    # The counts line must match the table and the sections below, so refuse a Digest
    # whose stored stats disagree with its commits rather than publish both.
    shown = Counter(commit.analysis.importance for commit in digest.commits)
    actual = {level: shown.get(level, 0) for level in IMPORTANCE_ORDER}
    if stats.total != len(digest.commits) or by_importance != actual:
        raise ValueError(f"digest stats for {digest.repo} {digest.day} do not match its commits")
    lines = [t("stats.counts", total=stats.total, **{level.value: n for level, n in by_importance.items()})]
    if not digest.commits:
        return tuple(lines)
    lines += [
        t("stats.lines", additions=stats.additions, deletions=stats.deletions, files=stats.files_changed),
        t("stats.authors", authors=stats.authors),
        t("stats.merges", merges=stats.merges),
        t("stats.change_types", types=_counted(stats.change_types, "change_type", t)),
        t("stats.analyzers", analyzers=_counted(stats.analyzers, "analyzer", t)),
    ]
    if stats.fallbacks:
        lines.append(t("stats.fallbacks", fallbacks=stats.fallbacks))
    elif stats.analyzers.get("llm", 0):
        # "No fallbacks" only means something when an LLM was asked at all.
        lines.append(t("stats.no_fallbacks"))
    if stats.importance_disagreements:
        lines.append(t("stats.disagreements", count=stats.importance_disagreements))
    if stats.llm_requests:
        cost = t("stats.cost", cost=f"{stats.cost:.4f}") if stats.cost is not None else ""
        lines.append(t("stats.usage", requests=stats.llm_requests, prompt_tokens=stats.prompt_tokens,
                       completion_tokens=stats.completion_tokens, cost=cost))  # fmt: skip
    return tuple(lines)


def repo_view(digest: Digest, labels: Labels) -> RepoView:
    """The repository section of ``digest``, ready for the repo_section macro."""
    t = _Text(labels)
    repo, day = digest.repo, digest.day.isoformat()
    commits = tuple(_commit_view(repo, commit, t) for commit in digest.commits)
    levels = [commit.analysis.importance for commit in digest.commits]
    groups = []
    for level in IMPORTANCE_ORDER:
        # Filtering keeps the Digest's order, so each group is newest first too.
        members = tuple(view for view, importance in zip(commits, levels, strict=True) if importance == level)
        if members:
            heading = t("group.heading", name=t(f"group.{level.value}"), count=len(members))
            groups.append(GroupView(anchor=group_anchor(repo, level), heading=heading, commits=members))
    window_values = {"day": day, "timezone": md_inline(digest.timezone)}
    if digest.branch:
        window = t("window_branch", branch=md_code(digest.branch), **window_values)
    else:
        window = t("window", **window_values)
    return RepoView(
        anchor=repo_anchor(repo),
        name=md_inline(repo),
        window=window,
        partial=_partial(digest, t),
        note=_analysis_note(digest, t),
        no_commits=t("no_commits", day=day),
        commits=commits,
        stats_anchor=stats_anchor(repo),
        stats_lines=_stats_lines(digest, t),
        toc_anchor=toc_anchor(repo),
        groups=tuple(groups),
    )


def _partial(digest: Digest, t: _Text) -> str | None:
    """Said first when the day had not ended as its commits were read."""
    if digest.partial_until is None:
        return None
    until = digest.partial_until.astimezone(ZoneInfo(digest.timezone)).strftime("%H:%M")
    return t("partial", day=digest.day.isoformat(), time=until, timezone=md_inline(digest.timezone))


def _analysis_note(digest: Digest, t: _Text) -> str | None:
    """How the commits were analysed, from the note code ("llm", "no_connection", ...); other text as given."""
    note = digest.analysis_note
    if not note:
        return None
    template = t.optional("analysis_notes", note)
    if template is None:
        return t("analysis_note", note=md_inline(note))
    text = template.format(model=md_code(digest.llm_model or "?"), conn_id=md_code(digest.llm_conn_id or "?"))
    return t("analysis_note", note=text)


def tidy(markdown: str) -> str:
    """At most one blank line in a row, none at the start, exactly one newline at the end.

    Lets the templates be generous with blank lines (a '---' or a list after a paragraph
    needs one) without the output collecting runs of them.
    """
    return re.sub(r"\n{3,}", "\n\n", markdown).strip("\n") + "\n"


def render_markdown(digest: Digest) -> str:
    """The Markdown report of one repository's day, in the Digest's language."""
    labels = load_labels(digest.language)
    template = template_environment().get_template(DIGEST_TEMPLATE)
    title = _Text(labels)("title", day=digest.day.isoformat())
    return tidy(template.render(title=title, repo=repo_view(digest, labels), L=labels))


@dataclass(frozen=True)
class CombinedItemView:
    anchor: str
    name: str
    view: RepoView | None
    pending: str | None


def render_combined(report: CombinedReport) -> str:
    """The combined daily report: one repository section per tracked repo, pending ones said so."""
    labels = load_labels(report.language)
    t = _Text(labels)
    day = report.day.isoformat()
    items = []
    for item in report.repos:
        if item.digest is not None:
            # Rendered in the report's language from the repo's saved data.
            digest = item.digest.model_copy(update={"language": report.language})
            items.append(CombinedItemView(repo_anchor(item.repo), md_inline(item.repo), repo_view(digest, labels), None))
        else:
            items.append(CombinedItemView(repo_anchor(item.repo), md_inline(item.repo), None,
                                          t("combined.pending", day=day)))  # fmt: skip
    published = [item.digest for item in report.repos if item.digest is not None]
    summary = t(
        "combined.summary",
        repos=len(report.repos),
        published=len(published),
        pending=len(report.repos) - len(published),
        commits=sum(digest.stats.total for digest in published),
    )
    template = template_environment().get_template(COMBINED_TEMPLATE)
    return tidy(template.render(title=t("title", day=day), summary=summary, items=items, L=labels))
