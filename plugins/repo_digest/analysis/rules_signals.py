"""What the rule-based analyzer reads off a commit: the title's grammar and the files' kinds.

Everything here is pure and language-neutral: it turns an :class:`AnalysisInput` into a
:class:`Signals` record of facts (types, keywords, paths by kind, line counts). Scoring
(rules.py) and wording (rules_compose.py) only ever look at these facts, so a fact that is
not found here cannot be claimed in the report.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from repo_digest.analysis.record import ChangeType
from repo_digest.analysis.rules_paths import is_api_path, is_dependency_file, is_migration_path, is_sensitive_path
from repo_digest.diffs import AnalysisInput, FileExcerpt

# Commit types, normalized. The eleven conventional-commit types plus the few spellings
# projects use in their place ("feature", "bugfix", "deps", "security").
_TYPE_ALIASES: dict[str, str] = {
    "feat": "feat", "feature": "feat", "features": "feat",
    "fix": "fix", "bugfix": "fix", "hotfix": "fix", "bug": "fix",
    "perf": "perf", "performance": "perf",
    "refactor": "refactor", "refactoring": "refactor",
    "docs": "docs", "doc": "docs", "documentation": "docs",
    "test": "test", "tests": "test",
    "ci": "ci",
    "build": "build",
    "chore": "chore", "misc": "chore",
    "style": "style", "lint": "style",
    "revert": "revert",
    "deps": "deps",
    "security": "security", "sec": "security",
}  # fmt: skip

# A bracket tag is a type only if one of its words is a type word; "[AMD]", "[diffusion]"
# or "[Qwen3.5]" name an area and must never decide the type.
_TAG_TYPE_WORDS = _TYPE_ALIASES | {"breaking": "breaking", "cicd": "ci"}
# "[4/N]", "[1/3]": the position in a series of PRs, neither a type nor an area.
_SERIES_TAG_RE = re.compile(r"^\s*\d+\s*/\s*(?:\d+|n)\s*$", re.IGNORECASE)
# Leading tags only; bounded so a pathological 10,000-character title stays linear.
_LEADING_TAG_RE = re.compile(r"\s*\[([^\[\]]{1,60})\]\s*")
_CONVENTIONAL_RE = re.compile(
    r"^(?P<type>[A-Za-z]{1,20})(?:\((?P<scope>[^()\n]{0,60})\))?(?P<bang>!)?\s*:\s*(?P<rest>.*)$", re.DOTALL
)
# No leading \s*: on a long run of spaces that would scan the run from every position.
_PR_SUFFIX_RE = re.compile(r"\(#\d+\)\s*$")
_BREAKING_BODY_RE = re.compile(r"\bBREAKING[ -]CHANGES?\b")
_ADVISORY_RE = re.compile(r"\b(?:CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3})\b", re.IGNORECASE)
_MERGE_TITLE_RE = re.compile(r"^Merge (?:pull request|branch|remote-tracking branch|tag)\b")
_MERGE_PR_RE = re.compile(r"^Merge pull request #(?P<number>\d+) from (?P<branch>\S{1,200})")
_MERGE_BRANCH_RE = re.compile(r"^Merge (?:remote-tracking )?branch '(?P<branch>[^']{1,200})'(?: of \S+)?(?: into (?P<into>\S{1,200}))?")
_WORD_RE = re.compile(r"[a-z0-9]+")
# Trailers and template lines that say nothing about the change.
_TRAILER_RE = re.compile(
    r"^(?:signed-off-by|co-authored-by|reviewed-by|acked-by|tested-by|reported-by|suggested-by|cc|change-id|"
    r"reviewed-on|pr-url|ghstack-source-id|pull request resolved|differential revision)\s*:",
    re.IGNORECASE,
)
_JUNK_LINE_RE = re.compile(r"^(?:#+\s.*|[-*_=~`#>|\s]*)$")
_BULLET_RE = re.compile(r"^(?:[-*+]\s+|\d+[.)]\s+)")

# Title words -> the change type they suggest; the earliest word in the title wins.
_KEYWORD_TYPES: dict[str, str] = {
    **dict.fromkeys("fix fixes fixed fixing bug bugs bugfix hotfix crash crashes regression".split(), "fix"),
    **dict.fromkeys(
        "add adds added adding implement implements implemented introduce introduces support supports "
        "enable enables new feat feature features".split(),
        "feat",
    ),
    **dict.fromkeys(
        "perf performance optimize optimizes optimized optimise optimization optimisation speed speedup "
        "faster latency throughput accelerate".split(),
        "perf",
    ),
    **dict.fromkeys(
        "refactor refactors refactored refactoring restructure cleanup move moves moved rename renames "
        "renamed simplify reorganize extract split".split(),
        "refactor",
    ),
    **dict.fromkeys("revert reverts reverted reverting".split(), "revert"),
    **dict.fromkeys("doc docs documentation readme typo typos".split(), "docs"),
    **dict.fromkeys("test tests testing flaky".split(), "test"),
    **dict.fromkeys("bump bumps upgrade upgrades deps dependency dependencies".split(), "deps"),
    "ci": "ci",
    "lint": "style",
    "chore": "chore",
    # Chinese titles have no spaces between words, so these are found as substrings.
    **dict.fromkeys("修复 修正 缺陷 崩溃".split(), "fix"),
    **dict.fromkeys("新增 添加 增加 支持 实现".split(), "feat"),
    **dict.fromkeys("性能 优化 加速".split(), "perf"),
    **dict.fromkeys("重构".split(), "refactor"),
    **dict.fromkeys("回滚 回退".split(), "revert"),
    **dict.fromkeys("文档".split(), "docs"),
    **dict.fromkeys("测试".split(), "test"),
    **dict.fromkeys("依赖 升级".split(), "deps"),
}
SECURITY_WORDS = frozenset(
    "security vulnerability vulnerabilities vuln cve xss csrf ssrf injection exploit sanitize sanitise "
    "rce privilege escalation 安全 漏洞 注入 越权".split()
)
PERF_WORDS = frozenset(word for word, kind in _KEYWORD_TYPES.items() if kind == "perf")
REMOVAL_WORDS = frozenset(
    "deprecate deprecates deprecated deprecation remove removes removed removing drop drops dropped "
    "delete deletes deleted 删除 移除 废弃 弃用".split()
)
_CJK_WORDS = sorted(
    {w for w in (*_KEYWORD_TYPES, *SECURITY_WORDS, *REMOVAL_WORDS) if not w.isascii()}, key=lambda w: (-len(w), w)
)
# ASCII words, or one of the known Chinese keywords, in title order.
_TOKEN_RE = re.compile(r"[a-z0-9]+|" + "|".join(map(re.escape, _CJK_WORDS)))

# A commit's kind (the normalized type above, or "merge"/"other") as a report change type.
KIND_TO_TYPE: dict[str, ChangeType] = {
    "feat": ChangeType.FEATURE, "fix": ChangeType.FIX, "perf": ChangeType.PERFORMANCE,
    "refactor": ChangeType.REFACTOR, "security": ChangeType.SECURITY, "revert": ChangeType.REVERT,
    "build": ChangeType.BUILD, "deps": ChangeType.DEPENDENCY, "ci": ChangeType.CI,
    "chore": ChangeType.CHORE, "docs": ChangeType.DOCS, "test": ChangeType.TEST,
    "style": ChangeType.STYLE, "merge": ChangeType.MERGE, "other": ChangeType.OTHER,
}  # fmt: skip

MAX_SUBJECT_CHARS = 160
MAX_BODY_LINE_CHARS = 200
MAX_BODY_LINES = 2


def clip(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, visibly shortened with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]
    # End on a word boundary when one is near, so the cut does not look like a typo.
    space = head.rfind(" ")
    if space >= limit * 3 // 4:
        head = head[:space]
    return head.rstrip() + "…"


def bracket_tags(title: str) -> list[str]:
    """The leading ``[tag]``s of a title: ``"[RadixTree][4/N Refactor]: Move"`` -> both tags."""
    tags, pos = [], 0
    while len(tags) < 10 and (match := _LEADING_TAG_RE.match(title, pos)):
        tags.append(match.group(1).strip())
        pos = match.end()
    return tags


def _strip_tags(title: str) -> str:
    pos = 0
    for _ in range(10):
        match = _LEADING_TAG_RE.match(title, pos)
        if not match:
            break
        pos = match.end()
    return title[pos:].lstrip(" :-–—")


def tag_type(tag: str) -> str | None:
    """The commit type a bracket tag declares ("Fix", "4/N Refactor"), or None for an area tag."""
    for word in _WORD_RE.findall(tag.lower()):
        if word in _TAG_TYPE_WORDS:
            return _TAG_TYPE_WORDS[word]
    return None


def is_series_tag(tag: str) -> bool:
    return bool(_SERIES_TAG_RE.match(tag))


def parse_conventional(title: str, body: str = "") -> tuple[str | None, str | None, bool]:
    """(type, scope, breaking) of a conventional-commit title; leading bracket tags are skipped.

    The type is normalized ("feature" -> "feat") and None when the prefix is not a known
    type: "Note: ..." is prose, not a type. Breaking is ``type!:`` or a BREAKING CHANGE
    line in the body.
    """
    breaking = bool(_BREAKING_BODY_RE.search(body))
    match = _CONVENTIONAL_RE.match(_strip_tags(title))
    if not match:
        return None, None, breaking
    kind = _TYPE_ALIASES.get(match.group("type").lower())
    if kind is None:
        return None, None, breaking
    scope = (match.group("scope") or "").strip() or None
    return kind, scope, breaking or bool(match.group("bang"))


def subject_of(title: str) -> str:
    """The title without its tags, conventional prefix and ``(#123)`` suffix."""
    rest = _strip_tags(title)
    match = _CONVENTIONAL_RE.match(rest)
    if match and match.group("type").lower() in _TYPE_ALIASES:
        rest = match.group("rest")
    rest = _PR_SUFFIX_RE.sub("", rest).strip()
    return rest or title.strip()


def body_lines(message: str, title: str) -> list[str]:
    """The first meaningful lines of the message body: no trailers, template headings or rules."""
    lines = message.splitlines()
    if lines and lines[0].strip() == title.strip():
        lines = lines[1:]
    found: list[str] = []
    in_comment = False  # PR templates wrap their instructions in multi-line <!-- -->
    for raw in lines:
        line = _BULLET_RE.sub("", raw.strip())
        if in_comment or line.startswith("<!--"):
            in_comment = "-->" not in line
            continue
        if not line or _JUNK_LINE_RE.match(line) or _TRAILER_RE.match(line):
            continue
        if line.strip() == title.strip():
            continue
        found.append(clip(line, MAX_BODY_LINE_CHARS))
        if len(found) == MAX_BODY_LINES:
            break
    return found


@dataclass(frozen=True)
class MergeInfo:
    pr_number: int | None = None
    branch: str | None = None
    into: str | None = None


@dataclass
class Signals:
    """The facts about one commit that the rules use; lists are in a stable order."""

    title: str
    subject: str
    body: list[str]
    is_merge: bool
    merge: MergeInfo | None
    conv_type: str | None
    conv_scope: str | None
    tag_types: list[str]
    area_tags: list[str]
    breaking: bool
    keyword_types: list[str]  # in title order, deduplicated
    security_words: list[str]
    perf_words: list[str]
    removal_words: list[str]
    files: list[FileExcerpt]
    meaningful: list[FileExcerpt]  # non-noise
    noise: list[FileExcerpt]
    by_category: dict[str, list[FileExcerpt]] = field(default_factory=dict)
    files_truncated: bool = False
    partial_coverage: bool = False  # something was clipped or left out for the budget

    @property
    def declared_type(self) -> str | None:
        """The type the author wrote: conventional prefix first, then a bracket type tag."""
        if self.conv_type:
            return self.conv_type
        kinds = [kind for kind in self.tag_types if kind != "breaking"]
        return kinds[0] if kinds else None

    @property
    def security(self) -> bool:
        return bool(self.security_words) or self.declared_type == "security" or "security" in self.tag_types

    @property
    def lines(self) -> int:
        return sum(f.additions + f.deletions for f in self.meaningful)

    @property
    def categories(self) -> set[str]:
        return {f.category for f in self.meaningful}

    def of(self, category: str) -> list[FileExcerpt]:
        return self.by_category.get(category, [])

    def with_status(self, *statuses: str) -> list[FileExcerpt]:
        return [f for f in self.meaningful if f.status in statuses]

    def _code_paths_where(self, predicate: Callable[[str], bool]) -> list[str]:
        # Tests and docs about auth or an API are not the auth code or the API itself.
        return [f.path for f in self.meaningful if f.category not in ("test", "docs") and predicate(f.path)]

    @property
    def sensitive_paths(self) -> list[str]:
        return self._code_paths_where(is_sensitive_path)

    @property
    def api_paths(self) -> list[str]:
        return [f.path for f in self.of("source") if is_api_path(f.path)]

    @property
    def migration_paths(self) -> list[str]:
        return self._code_paths_where(is_migration_path)

    @property
    def dependency_files(self) -> list[FileExcerpt]:
        return [f for f in self.files if is_dependency_file(f)]

    @property
    def build_files(self) -> list[FileExcerpt]:
        """Build and dependency manifests, lock files included."""
        return [f for f in self.files if f.category == "build" or f.noise == "lock"]


def _merge_info(title: str) -> MergeInfo | None:
    if match := _MERGE_PR_RE.match(title):
        return MergeInfo(pr_number=int(match.group("number")), branch=match.group("branch"))
    if match := _MERGE_BRANCH_RE.match(title):
        return MergeInfo(branch=match.group("branch"), into=match.group("into"))
    return None


def _found(words: list[str], vocabulary: frozenset[str]) -> list[str]:
    return list(dict.fromkeys(word for word in words if word in vocabulary))


def collect_signals(inp: AnalysisInput) -> Signals:
    commit = inp.commit
    # The row's title is the message's first line; fall back to it when a source left it out.
    title = commit.title.strip() or (commit.message.strip().splitlines() or [""])[0].strip()
    is_merge = commit.is_merge or bool(_MERGE_TITLE_RE.match(title))
    body_text = "\n".join(commit.message.splitlines()[1:])
    tags = bracket_tags(title)
    subject = subject_of(title)
    if is_merge:
        # A merge title names a branch, and branch names ("fix-auth-vuln") are not claims
        # about this commit: the merged commits carry the content and are analysed themselves.
        conv_type, conv_scope, breaking = None, None, False
        words: list[str] = []
    else:
        conv_type, conv_scope, breaking = parse_conventional(title, body_text)
        words = _TOKEN_RE.findall(subject.lower())
    tag_types = [kind for tag in tags if (kind := tag_type(tag))] if not is_merge else []
    area_tags = [tag for tag in tags if tag_type(tag) is None and not is_series_tag(tag)]
    security_words = _found(words, SECURITY_WORDS)
    if not is_merge and (advisory := _ADVISORY_RE.search(commit.message)):
        security_words.append(advisory.group(0).upper())
    meaningful = [f for f in inp.files if f.noise is None]
    by_category: dict[str, list[FileExcerpt]] = {}
    for excerpt in sorted(meaningful, key=lambda f: f.path):
        by_category.setdefault(excerpt.category, []).append(excerpt)
    coverage = inp.coverage
    partial = coverage.files_clipped > 0 or any(s.reason == "budget" for s in coverage.skipped)
    return Signals(
        title=title,
        subject=subject,
        body=body_lines(commit.message, title),
        is_merge=is_merge,
        merge=_merge_info(title) if is_merge else None,
        conv_type=conv_type,
        conv_scope=conv_scope,
        tag_types=tag_types,
        area_tags=area_tags,
        breaking=breaking or "breaking" in tag_types,
        keyword_types=list(dict.fromkeys(_KEYWORD_TYPES[w] for w in words if w in _KEYWORD_TYPES)),
        security_words=security_words,
        perf_words=_found(words, PERF_WORDS),
        removal_words=_found(words, REMOVAL_WORDS),
        files=sorted(inp.files, key=lambda f: f.path),
        meaningful=sorted(meaningful, key=lambda f: f.path),
        noise=sorted((f for f in inp.files if f.noise is not None), key=lambda f: f.path),
        by_category=by_category,
        files_truncated=inp.files_truncated,
        partial_coverage=partial or inp.files_truncated,
    )
