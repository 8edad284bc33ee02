"""chunk_diffs: what of a commit an analyzer gets to see, within a token budget.

Noise (lock files, generated, vendored, minified, binary, snapshots) is listed but never
sent; meaningful files are ranked source > tests > build > CI > config > docs and their
patches added until the budget is spent; a patch that does not fit is clipped or left
out, and the coverage record says which and why.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from repo_digest.analysis.record import Coverage, SkippedFile
from repo_digest.config import DEFAULT_BUDGET_TOKENS
from repo_digest.commits import CommitDetail, CommitRecord, FileStatus
from repo_digest.tokens import clip_to_tokens, count_tokens

Category = Literal["source", "test", "build", "ci", "config", "docs", "noise"]
CATEGORY_RANK: dict[str, int] = {"source": 0, "test": 1, "build": 2, "ci": 3, "config": 4, "docs": 5, "noise": 9}

# Below this many tokens a clipped patch says too little to be worth sending.
MIN_CLIP_TOKENS = 200


@dataclass(frozen=True)
class NoiseRule:
    """Paths matching ``pattern`` are noise of kind ``name``.

    A pattern without '/' matches the file name; with '/', the path or any tail of it
    ('vendor/*' matches 'vendor/x.go' and 'src/vendor/x.go').
    """

    name: str
    pattern: str

    def matches(self, path: str) -> bool:
        if "/" not in self.pattern:
            return fnmatch.fnmatchcase(posixpath.basename(path), self.pattern)
        return fnmatch.fnmatchcase(path, self.pattern) or fnmatch.fnmatchcase(path, "*/" + self.pattern)


def _rules(name: str, patterns: str) -> list[NoiseRule]:
    return [NoiseRule(name, pattern) for pattern in patterns.split()]


DEFAULT_NOISE_RULES: tuple[NoiseRule, ...] = tuple(
    _rules(
        "lock",
        "*.lock package-lock.json npm-shrinkwrap.json pnpm-lock.yaml go.sum *.lockb",
    )
    + _rules(
        "generated",
        "*_pb2.py *_pb2.pyi *_pb2_grpc.py *.pb.go *.pb.cc *.pb.h *.generated.* *.gen.go *.g.dart "
        "generated/* __generated__/* *.designer.cs",
    )
    + _rules("vendored", "vendor/* third_party/* third-party/* 3rdparty/* node_modules/*")
    + _rules("minified", "*.min.js *.min.css *.js.map *.css.map")
    + _rules("snapshot", "__snapshots__/* *.snap *.ambr")
    + _rules(
        "binary",
        "*.png *.jpg *.jpeg *.gif *.bmp *.ico *.webp *.pdf *.zip *.gz *.tgz *.bz2 *.xz *.7z *.jar *.whl "
        "*.so *.dylib *.dll *.exe *.bin *.o *.a *.pyc *.onnx *.pt *.pth *.safetensors *.woff *.woff2 *.ttf *.otf",
    )
)

_TEST_DIRS = {"test", "tests", "testing", "__tests__", "spec", "specs", "e2e", "testdata", "fixtures"}
_TEST_NAMES = "test_*.py *_test.py *_test.go *.test.* *.spec.* *Test.java *Tests.java *_spec.rb conftest.py"
_DOC_DIRS = {"doc", "docs", "documentation"}
_DOC_NAMES = "*.md *.rst *.adoc *.txt README* CHANGELOG* CHANGES* LICENSE* NOTICE* AUTHORS* CONTRIBUTING*"
_CI_PREFIXES = (".github/workflows/", ".circleci/", ".buildkite/", ".gitlab/", "ci/", ".ci/")
_CI_NAMES = ".gitlab-ci.yml Jenkinsfile azure-pipelines.yml .travis.yml appveyor.yml .pre-commit-config.yaml"
_BUILD_NAMES = (
    "Dockerfile* *.dockerfile Makefile *.mk CMakeLists.txt *.cmake setup.py setup.cfg pyproject.toml "
    "requirements*.txt constraints*.txt package.json Cargo.toml go.mod *.gradle *.gradle.kts pom.xml "
    "BUILD BUILD.bazel WORKSPACE *.bzl meson.build configure.ac Gemfile *.gemspec composer.json"
)
_CONFIG_NAMES = "*.yaml *.yml *.toml *.ini *.cfg *.conf *.json *.env.example .editorconfig .gitignore"


def _name_matches(name: str, patterns: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns.split())


def noise_kind(path: str, binary: bool, rules: Sequence[NoiseRule]) -> str | None:
    if binary:
        return "binary"
    for rule in rules:
        if rule.matches(path):
            return rule.name
    return None


def categorize(path: str) -> Category:
    """The kind of a meaningful (non-noise) file, from its path alone."""
    name = posixpath.basename(path)
    dirs = {part.lower() for part in path.split("/")[:-1]}
    if path.startswith(_CI_PREFIXES) or _name_matches(name, _CI_NAMES):
        return "ci"
    if dirs & _TEST_DIRS or _name_matches(name, _TEST_NAMES):
        return "test"
    if _name_matches(name, _BUILD_NAMES):
        return "build"
    if dirs & _DOC_DIRS or _name_matches(name, _DOC_NAMES):
        return "docs"
    if _name_matches(name, _CONFIG_NAMES):
        return "config"
    return "source"


class FileExcerpt(BaseModel):
    """One changed file as an analyzer sees it; ``patch`` is None when it was not sent."""

    model_config = ConfigDict(extra="forbid")

    path: str
    previous_path: str | None = None
    status: FileStatus
    category: Category
    noise: str | None = None
    additions: int
    deletions: int
    patch: str | None = None
    clipped: bool = False


class AnalysisInput(BaseModel):
    """Everything an analyzer receives for one commit; its patches fit ``budget_tokens``."""

    model_config = ConfigDict(extra="forbid")

    commit: CommitRecord
    files: list[FileExcerpt]
    files_truncated: bool = False
    budget_tokens: int
    patch_tokens: int = 0
    coverage: Coverage = Field(default_factory=lambda: Coverage(files_total=0, files_analysed=0))


def rank_key(excerpt: FileExcerpt) -> tuple[int, int, str]:
    return (CATEGORY_RANK[excerpt.category], -(excerpt.additions + excerpt.deletions), excerpt.path)


def fit_patches(sizes: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Tokens each patch may send (0: none), sizes in rank order; and the indexes left out.

    Small files are sent whole before a big one is clipped: each file may take a fair
    share of what is left, files under their share are taken whole (smallest first) and
    return the rest to the others, and the biggest are clipped to the share left. When
    even that share is too small to say anything, the lowest-ranked files are left out.
    """
    allowed = [0] * len(sizes)
    kept = list(range(len(sizes)))
    while len(kept) > 1 and sum(sizes[i] for i in kept) > budget and budget // len(kept) < MIN_CLIP_TOKENS:
        kept.pop()  # the lowest-ranked of those still in
    remaining = budget
    by_size = sorted(kept, key=lambda i: (sizes[i], i))
    for position, index in enumerate(by_size):
        share = remaining // (len(by_size) - position)
        if sizes[index] <= share:
            allowed[index] = sizes[index]
        elif share >= MIN_CLIP_TOKENS:
            allowed[index] = share
        remaining -= allowed[index]
    dropped = [index for index in range(len(sizes)) if allowed[index] == 0]
    return allowed, dropped


def prepare_input(
    commit: CommitRecord,
    detail: CommitDetail,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    extra_noise_rules: Iterable[NoiseRule] = (),
) -> AnalysisInput:
    """Select and clip the commit's patches so that all of them together fit ``budget_tokens``."""
    rules = (*extra_noise_rules, *DEFAULT_NOISE_RULES)
    excerpts: list[FileExcerpt] = []
    skipped: list[SkippedFile] = []
    for change in detail.files:
        noise = noise_kind(change.path, change.binary, rules)
        excerpt = FileExcerpt(
            path=change.path,
            previous_path=change.previous_path,
            status=change.status,
            category="noise" if noise else categorize(change.path),
            noise=noise,
            additions=change.additions,
            deletions=change.deletions,
        )
        excerpts.append(excerpt)
        if noise:
            skipped.append(SkippedFile(path=change.path, reason=noise))

    by_path = {change.path: change for change in detail.files}
    meaningful = sorted((e for e in excerpts if e.noise is None), key=rank_key)
    # A rename or mode change without content: the file list says all there is.
    analysed = sum(1 for e in meaningful if not by_path[e.path].patch)
    candidates = [(e, by_path[e.path].patch, count_tokens(by_path[e.path].patch)) for e in meaningful
                  if by_path[e.path].patch]  # fmt: skip
    sent, dropped = fit_patches([tokens for _, _, tokens in candidates], budget_tokens)
    clipped = 0
    for (excerpt, patch, tokens), allowed in zip(candidates, sent, strict=True):
        if allowed == 0:
            continue
        excerpt.patch = patch if allowed >= tokens else clip_to_tokens(patch, allowed)
        excerpt.clipped = allowed < tokens or by_path[excerpt.path].patch_truncated
        clipped += excerpt.clipped
        analysed += 1
    skipped += [SkippedFile(path=candidates[index][0].path, reason="budget") for index in dropped]
    remaining = budget_tokens - sum(count_tokens(e.patch) for e in excerpts if e.patch)

    return AnalysisInput(
        commit=commit,
        files=excerpts,
        files_truncated=detail.files_truncated,
        budget_tokens=budget_tokens,
        patch_tokens=budget_tokens - remaining,
        coverage=Coverage(
            files_total=len(excerpts), files_analysed=analysed, files_clipped=clipped, skipped=skipped,
            files_truncated=detail.files_truncated,
        ),
    )
