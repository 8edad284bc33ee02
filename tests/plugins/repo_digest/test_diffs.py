from __future__ import annotations

import datetime as dt

import pytest

from repo_digest.commits import CommitDetail, CommitRecord, FileChange
from repo_digest.diffs import DEFAULT_NOISE_RULES, NoiseRule, categorize, fit_patches, noise_kind, prepare_input
from repo_digest.tokens import count_tokens

NOW = dt.datetime(2026, 2, 19, 12, tzinfo=dt.UTC)


def record(sha: str = "a" * 40) -> CommitRecord:
    return CommitRecord(sha=sha, author_name="A", author_date=NOW, committer_date=NOW, title="t", message="t")


def change(path: str, lines: int = 10, patch_lines: int | None = None, **kwargs) -> FileChange:
    patch = "@@ -0,0 +1 @@\n" + "".join(f"+line {i} of {path}\n" for i in range(patch_lines or lines))
    return FileChange(path=path, additions=lines, deletions=0, patch=patch, **kwargs)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("package-lock.json", "lock"),
        ("web/yarn.lock", "lock"),
        ("uv.lock", "lock"),
        ("go.sum", "lock"),
        ("api/service_pb2.py", "generated"),
        ("src/generated/client.ts", "generated"),
        ("vendor/github.com/x/y.go", "vendored"),
        ("src/third_party/lib.c", "vendored"),
        ("static/app.min.js", "minified"),
        ("ui/__snapshots__/a.test.ts.snap", "snapshot"),
        ("docs/logo.png", "binary"),
        ("src/main.py", None),
        ("README.md", None),
    ],
)
def test_noise_kinds(path, kind):
    assert noise_kind(path, False, DEFAULT_NOISE_RULES) == kind


def test_binary_flag_wins_over_path():
    assert noise_kind("src/data.py", True, DEFAULT_NOISE_RULES) == "binary"


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("src/scheduler/core.py", "source"),
        ("tests/test_core.py", "test"),
        ("pkg/core_test.go", "test"),
        ("web/src/app.spec.ts", "test"),
        ("docs/guide/intro.rst", "docs"),
        ("README.md", "docs"),
        (".github/workflows/ci.yml", "ci"),
        ("Dockerfile", "build"),
        ("pyproject.toml", "build"),
        ("requirements-dev.txt", "build"),
        ("config/settings.yaml", "config"),
    ],
)
def test_categories(path, category):
    assert categorize(path) == category


def test_noise_is_listed_but_never_sent():
    detail = CommitDetail(sha="a" * 40, files=[change("src/a.py"), change("package-lock.json", 5000)])
    inp = prepare_input(record(), detail)
    lock = next(f for f in inp.files if f.path == "package-lock.json")
    assert lock.noise == "lock" and lock.patch is None and lock.category == "noise"
    assert [s.reason for s in inp.coverage.skipped] == ["lock"]
    assert inp.coverage.files_total == 2 and inp.coverage.files_analysed == 1


def test_small_files_go_whole_before_a_big_one_is_clipped():
    files = [change("docs/guide.md", 40), change("tests/test_core.py", 60), change("src/core.py", 5000)]
    inp = prepare_input(record(), CommitDetail(sha="a" * 40, files=files), budget_tokens=4_000)
    by_path = {f.path: f for f in inp.files}
    assert by_path["docs/guide.md"].patch and not by_path["docs/guide.md"].clipped
    assert by_path["tests/test_core.py"].patch and not by_path["tests/test_core.py"].clipped
    assert by_path["src/core.py"].clipped and by_path["src/core.py"].patch
    sent = sum(count_tokens(f.patch) for f in inp.files if f.patch)
    assert 3_500 <= sent <= 4_000 and inp.patch_tokens == sent  # the budget is used, not exceeded
    assert (inp.coverage.files_analysed, inp.coverage.files_clipped, inp.coverage.skipped) == (3, 1, [])


def test_when_files_are_too_many_the_lowest_ranked_are_left_out():
    files = [change(f"docs/page{i}.md", 100) for i in range(40)] + [change(f"src/mod{i}.py", 100) for i in range(20)]
    inp = prepare_input(record(), CommitDetail(sha="a" * 40, files=files), budget_tokens=6_000)
    sent = {f.path for f in inp.files if f.patch}
    assert {f"src/mod{i}.py" for i in range(20)} <= sent  # source ranks above docs
    assert 0 < len(sent) < 60 and len(inp.coverage.skipped) == 60 - len(sent)
    assert all(s.reason == "budget" and s.path.startswith("docs/") for s in inp.coverage.skipped)
    assert sum(count_tokens(f.patch) for f in inp.files if f.patch) <= 6_000


@pytest.mark.parametrize(
    ("sizes", "budget", "allowed", "dropped"),
    [
        ([100, 200], 1_000, [100, 200], []),
        ([5_000, 50, 60], 1_000, [890, 50, 60], []),
        ([5_000, 5_000], 1_000, [500, 500], []),
        ([5_000, 5_000, 5_000], 500, [250, 250, 0], [2]),
        ([5_000, 5_000, 5_000], 300, [300, 0, 0], [1, 2]),
        ([], 1_000, [], []),
    ],
)
def test_fit_patches(sizes, budget, allowed, dropped):
    assert fit_patches(sizes, budget) == (allowed, dropped)


def test_a_two_megabyte_commit_stays_within_budget():
    files = [change(f"src/mod{i}.py", 20_000) for i in range(5)] + [change("package-lock.json", 50_000)]
    inp = prepare_input(record(), CommitDetail(sha="a" * 40, files=files), budget_tokens=12_000)
    assert sum(count_tokens(f.patch) for f in inp.files if f.patch) <= 12_000


def test_user_rules_extend_the_defaults():
    rule = NoiseRule("fixture", "testdata/*")
    inp = prepare_input(
        record(), CommitDetail(sha="a" * 40, files=[change("pkg/testdata/big.json")]), extra_noise_rules=[rule]
    )
    assert inp.files[0].noise == "fixture"
