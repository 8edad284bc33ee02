"""The rule-based analyzer's sentences, built from :class:`Signals` and phrased by rules_text.py.

Every path written here comes from the commit's file list (a path, or a directory prefix
of one from ``top_dirs``/``main_dir``), so the text never names a file the commit did not
touch. Every function returns at least one sentence for any input, because the record
refuses a tier field that is empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from repo_digest.analysis.record import ChangeType, Coverage, TechnicalInsight
from repo_digest.analysis.rules_paths import is_hot_path, main_dir, top_dirs
from repo_digest.analysis.rules_signals import KIND_TO_TYPE, MAX_SUBJECT_CHARS, Signals, clip
from repo_digest.analysis.rules_text import TEXTS, Language
from repo_digest.diffs import FileExcerpt

if TYPE_CHECKING:
    from repo_digest.analysis.rules import Point

# How many paths or directories one sentence lists before it says "and N more".
LIST_LIMIT = 3
# Source lines from which a change without tests counts as a risk.
UNTESTED_LINES = 200
LARGE_LINES = 500


class Writer:
    """Phrases in one language, with the list and path formatting both languages share."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self.texts = TEXTS[language]

    def say(self, key: str, **fields: object) -> str:
        return self.texts[key].format(**fields)

    @staticmethod
    def code(path: str) -> str:
        # A path holding a backtick would end a single-backtick span early.
        return f"`` {path} ``" if "`" in path else f"`{path}`"

    def items(self, items: list[str], limit: int = LIST_LIMIT) -> str:
        shown = self.say("list.sep").join(items[:limit])
        if len(items) <= limit:
            return shown
        return self.say("list.more", items=shown, total=len(items), more=len(items) - limit)

    def paths(self, paths: list[str], limit: int = LIST_LIMIT) -> str:
        return self.items([self.code(p) for p in paths], limit)

    def words(self, words: list[str]) -> str:
        return self.items([clip(w, 40) for w in words], 5)

    def files(self, n: int, kind: str | None = None) -> str:
        s = "" if n == 1 else "s"
        if kind is None:
            return self.say("count.files", n=n, s=s)
        return self.say("count.kind_files", n=n, s=s, kind=self.say(f"cat.{kind}"))

    def type_label(self, change_type: ChangeType) -> str:
        return self.say(f"type.{change_type.value}")

    def noise_label(self, kind: str) -> str:
        key = f"noise.{kind}"
        return self.say(key) if key in self.texts else self.say("noise.other", kind=clip(kind, 30))

    def reason(self, point: Point) -> str:
        fields = dict(point.fields)
        if point.key == "reason.type":
            source = str(fields["source"])
            what = clip(str(fields["what"]), 40)
            fields = {
                "label": self.type_label(KIND_TO_TYPE[str(fields["kind"])]),
                "source": self.say(f"src.{source}", prefix=what, tag=what),
            }
        elif point.key == "reason.size":
            fields["bucket"] = self.say(f"size.{fields['bucket']}")
        for name in ("paths", "words"):
            if name in fields:
                values = [str(v) for v in fields[name]]  # type: ignore[attr-defined]
                fields[name] = self.paths(values) if name == "paths" else self.words(values)
        return self.say("reason.line", points=f"{point.points:+d}", text=self.say(point.key, **fields))


def _lines(files: list[FileExcerpt]) -> tuple[int, int]:
    return sum(f.additions for f in files), sum(f.deletions for f in files)


def _where(files: list[FileExcerpt], w: Writer) -> str:
    """Where ``files`` are: their shared directory, else the first few paths."""
    directory = main_dir(files)
    return w.code(directory) if directory else w.paths([f.path for f in files])


def _status_parts(s: Signals, w: Writer) -> list[str]:
    parts = []
    for status, key in (("added", "status.added"), ("removed", "status.removed"), ("renamed", "status.renamed")):
        if n := len(s.with_status(status)):
            parts.append(w.say(key, n=n))
    return parts


def _merge_line(s: Signals, w: Writer) -> str:
    info = s.merge
    if info and info.pr_number is not None:
        return w.say("summary.merge_pr", number=info.pr_number, branch=clip(info.branch or "?", 80))
    if info and info.branch and info.into:
        return w.say("summary.merge_branch_into", branch=clip(info.branch, 80), into=clip(info.into, 80))
    if info and info.branch:
        return w.say("summary.merge_branch", branch=clip(info.branch, 80))
    if s.subject.strip():
        return w.say("summary.merge_other", subject=clip(s.subject, MAX_SUBJECT_CHARS))
    return w.say("summary.merge_untitled")


def summary_of(s: Signals, main: ChangeType, w: Writer) -> list[str]:
    if s.is_merge:
        bullets = [_merge_line(s, w)]
    else:
        subject = clip(s.subject, MAX_SUBJECT_CHARS)
        key = "summary.headline" if subject else "summary.untitled"
        bullets = [w.say(key, type=w.type_label(main), subject=subject)]
        if s.breaking:
            bullets.append(w.say("summary.breaking"))
    bullets += [w.say("summary.body", line=line) for line in s.body]
    for category in ("source", "test", "build", "ci", "config", "docs"):
        files = s.of(category)
        if not files:
            continue
        add, dele = _lines(files)
        count = w.files(len(files), category)
        directory = main_dir(files) if len(files) > LIST_LIMIT else None
        if directory:
            bullets.append(w.say("summary.files_in", files=count, add=add, dele=dele, where=w.code(directory)))
        else:
            paths = [f.path for f in sorted(files, key=lambda f: (-(f.additions + f.deletions), f.path))]
            bullets.append(w.say("summary.files_list", files=count, add=add, dele=dele, paths=w.paths(paths)))
    if parts := _status_parts(s, w):
        bullets.append(w.say("summary.status", parts=w.say("list.sep").join(parts)))
    if s.noise:
        kinds = list(dict.fromkeys(w.noise_label(f.noise or "") for f in s.noise))
        bullets.append(
            w.say(
                "summary.noise",
                files=w.files(len(s.noise)),
                kinds=w.say("list.sep").join(kinds),
                paths=w.paths([f.path for f in s.noise]),
            )
        )
    if not s.files:
        bullets.append(w.say("summary.no_files"))
    elif s.files_truncated:
        bullets.append(w.say("summary.truncated"))
    return bullets


def scope_of(s: Signals, w: Writer) -> list[str]:
    items: list[str] = []
    areas = [clip(tag, 40) for tag in s.area_tags]
    if s.conv_scope:
        areas.append(clip(s.conv_scope, 40))
    if areas:
        items.append(w.say("scope.areas", areas=w.items(list(dict.fromkeys(areas)), 5)))
    if dirs := top_dirs(s.files):
        items.append(w.say("scope.dirs", dirs=w.paths(dirs, 5)))
    if root := [f.path for f in s.files if "/" not in f.path]:
        items.append(w.say("scope.root", paths=w.paths(root)))
    kinds = [
        w.say("scope.kind_item", n=len(s.of(c)), kind=w.say(f"cat.{c}"))
        for c in ("source", "test", "build", "ci", "config", "docs")
        if s.of(c)
    ]
    if s.noise:
        kinds.append(w.say("scope.noise_item", n=len(s.noise)))
    if kinds:
        items.append(w.say("scope.kinds", kinds=w.say("list.sep").join(kinds)))
    if api := s.api_paths:
        items.append(w.say("scope.api", paths=w.paths(api)))
    if s.is_merge:
        items.append(w.say("scope.merge"))
    return items or [w.say("scope.none")]


def insight_of(s: Signals, kind: str, w: Writer) -> TechnicalInsight:
    return TechnicalInsight(
        architecture=_architecture(s, w),
        performance=_performance(s, kind, w),
        security=_security(s, w),
        maintainability=_maintainability(s, w),
    )


def _architecture(s: Signals, w: Writer) -> str:
    if not s.files:
        return w.say("arch.no_files")
    sentences = []
    if s.breaking:
        sentences.append(w.say("arch.breaking"))
    structural = s.with_status("added", "removed", "renamed")
    if structural:
        parts = w.say("list.sep").join(_status_parts(s, w))
        sentences.append(w.say("arch.changes", parts=parts, paths=w.paths([f.path for f in structural])))
    else:
        sentences.append(w.say("arch.none"))
    if dirs := top_dirs(s.meaningful or s.files):
        sentences.append(w.say("arch.modules", dirs=w.paths(dirs, 5)))
    if api := s.api_paths:
        sentences.append(w.say("arch.api", paths=w.paths(api)))
    return _join(sentences, w)


def _join(sentences: list[str], w: Writer) -> str:
    return " ".join(sentences) if w.language == "en" else "".join(sentences)


def _performance(s: Signals, kind: str, w: Writer) -> str:
    sentences = []
    if kind == "perf":
        sentences.append(w.say("perf.type"))
    if s.perf_words:
        sentences.append(w.say("perf.words", words=w.words(s.perf_words)))
    if hot := top_dirs([f for f in s.meaningful if f.category == "source" and is_hot_path(f.path)]):
        sentences.append(w.say("perf.hot", dirs=w.paths(hot)))
    return _join(sentences, w) if sentences else w.say("perf.none")


def _security(s: Signals, w: Writer) -> str:
    sentences = []
    if s.security_words:
        sentences.append(w.say("sec.words", words=w.words(s.security_words)))
    if sensitive := s.sensitive_paths:
        sentences.append(w.say("sec.paths", paths=w.paths(sensitive)))
    return _join(sentences, w) if sentences else w.say("sec.none")


def _maintainability(s: Signals, w: Writer) -> str:
    if not s.files:
        return w.say("maint.no_files")
    tests, docs = s.of("test"), s.of("docs")
    sentence = w.say(
        "maint.sentence",
        tests=w.say("maint.changed", files=w.files(len(tests))) if tests else w.say("maint.tests_none"),
        docs=w.say("maint.changed", files=w.files(len(docs))) if docs else w.say("maint.docs_none"),
    )
    if s.of("source") and not tests:
        return _join([sentence, w.say("maint.untested")], w)
    return sentence


def risks_of(s: Signals, coverage: Coverage, w: Writer) -> list[str]:
    risks = []
    if s.breaking:
        risks.append(w.say("risk.breaking"))
    if s.security:
        risks.append(w.say("risk.security"))
    sources = s.of("source")
    add, dele = _lines(sources)
    if add + dele >= UNTESTED_LINES and not s.of("test"):
        risks.append(w.say("risk.untested", add=add, dele=dele))
    elif s.lines >= LARGE_LINES:
        risks.append(w.say("risk.large", lines=s.lines))
    if removed := s.with_status("removed"):
        risks.append(w.say("risk.deleted", files=w.files(len(removed)), paths=w.paths([f.path for f in removed])))
    if renamed := s.with_status("renamed"):
        risks.append(w.say("risk.renamed", files=w.files(len(renamed)), paths=w.paths([f.path for f in renamed])))
    if s.build_files:
        risks.append(w.say("risk.deps", paths=w.paths([f.path for f in s.build_files])))
    if migrations := s.migration_paths:
        risks.append(w.say("risk.migration", paths=w.paths(migrations)))
    if sensitive := s.sensitive_paths:
        risks.append(w.say("risk.sensitive", paths=w.paths(sensitive)))
    if api := s.api_paths:
        risks.append(w.say("risk.api", paths=w.paths(api)))
    if s.partial_coverage and s.files:
        risks.append(
            w.say(
                "risk.partial",
                total=coverage.files_total,
                analysed=coverage.files_analysed,
                clipped=coverage.files_clipped,
            )
        )
    if s.files_truncated:
        risks.append(w.say("risk.truncated"))
    if not s.files:
        risks.append(w.say("risk.no_files"))
    all_add, all_dele = _lines(s.meaningful)
    return risks or [w.say("risk.none", add=all_add, dele=all_dele)]


def recommendations_of(s: Signals, kind: str, coverage: Coverage, w: Writer) -> list[str]:
    if s.is_merge:
        return [w.say("rec.merge")]
    if not s.files:
        return [w.say("rec.no_files")]
    recs = []
    focus = s.of("source") or s.meaningful or s.files
    if dirs := top_dirs(focus, limit=LIST_LIMIT):
        recs.append(w.say("rec.review_dirs", dirs=w.paths(dirs)))
    else:
        recs.append(w.say("rec.review_files", paths=w.paths([f.path for f in focus])))
    if s.of("source") and not s.of("test"):
        recs.append(w.say("rec.add_tests", where=_where(s.of("source"), w)))
    if s.breaking:
        recs.append(w.say("rec.changelog"))
    if s.security or s.sensitive_paths:
        recs.append(w.say("rec.security"))
    if s.build_files:
        recs.append(w.say("rec.deps"))
    if s.with_status("removed", "renamed"):
        recs.append(w.say("rec.refs"))
    if s.migration_paths:
        recs.append(w.say("rec.migration"))
    if kind == "perf" or s.perf_words:
        recs.append(w.say("rec.perf"))
    if s.api_paths:
        recs.append(w.say("rec.api"))
    if kind == "feat" and s.of("source") and not s.of("docs"):
        recs.append(w.say("rec.docs"))
    if s.partial_coverage:
        recs.append(w.say("rec.full_diff"))
    return recs or [w.say("rec.default")]
