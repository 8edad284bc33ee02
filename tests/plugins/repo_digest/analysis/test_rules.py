"""The rule-based analyzer, driven through the real input path (prepare_input)."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest

from repo_digest.analysis.record import ChangeType, CommitAnalysis, Importance, tier_fields
from repo_digest.analysis.rules import (
    HIGH_AT,
    MEDIUM_AT,
    SCORING_TABLE,
    analyze_by_rules,
    bracket_tags,
    change_types_of,
    parse_conventional,
    score_importance,
)
from repo_digest.analysis.rules_signals import collect_signals, tag_type
from repo_digest.analysis.rules_text import EN, TEXTS, ZH
from repo_digest.commits import CommitDetail, CommitRecord, FileChange
from repo_digest.diffs import AnalysisInput, prepare_input

WHEN = dt.datetime(2026, 2, 19, 12, 0, tzinfo=dt.UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
CODE_SPAN = re.compile(r"``\s(.+?)\s``|`([^`]+)`")


def change(path: str, add: int = 10, delete: int = 2, status: str = "modified", **extra: object) -> FileChange:
    lines = "\n".join(f"+line {i}" for i in range(add))
    return FileChange(
        path=path,
        status=status,  # type: ignore[arg-type]
        additions=add,
        deletions=delete,
        patch=None if extra.get("binary") else f"@@ -1,{delete} +1,{add} @@\n{lines}\n",
        **extra,  # type: ignore[arg-type]
    )


def commit(
    title: str,
    files: list[FileChange],
    body: str = "",
    merge: bool = False,
    budget: int = 12_000,
) -> AnalysisInput:
    message = f"{title}\n\n{body}" if body else title
    record = CommitRecord(
        sha=SHA,
        author_name="Ada",
        author_date=WHEN,
        committer_date=WHEN,
        title=title,
        message=message,
        is_merge=merge,
        additions=sum(f.additions for f in files),
        deletions=sum(f.deletions for f in files),
        files_changed=len(files),
    )
    return prepare_input(record, CommitDetail(sha=SHA, files=files), budget_tokens=budget)


# --- the commits every test below runs on ---------------------------------------------

CASES: dict[str, AnalysisInput] = {
    "feat": commit(
        "feat(scheduler): add retry backoff for failed tasks (#41)",
        [
            change("src/scheduler/retry.py", 120, 10, status="added"),
            change("src/scheduler/core.py", 20, 5),
            change("tests/scheduler/test_retry.py", 60, 0, status="added"),
        ],
        body="Failed tasks are retried with exponential backoff.\n\nSigned-off-by: Ada <ada@example.com>",
    ),
    "fix": commit("fix: handle an empty config file", [change("src/config/loader.py", 8, 2)]),
    "docs_only": commit("Update the installation guide", [change("docs/install.md", 80, 20)]),
    "tests_only": commit("Add tests for the parser", [change("tests/test_parser.py", 150, 0, status="added")]),
    "lock_only": commit(
        "chore(deps): bump lodash from 4.17.20 to 4.17.21", [change("package-lock.json", 50, 50)]
    ),
    "breaking": commit(
        "feat(api)!: drop the v1 endpoints",
        [change("src/api/v1.py", 0, 300, status="removed"), change("src/api/routes.py", 15, 40)],
    ),
    "doc_tag": commit(
        "[Doc] Add flashinfer_deepgemm to --fp8-gemm-backend (#18982)",
        [change("docs/advanced_features/server_arguments.md", 3, 1)],
    ),
    "security": commit(
        "fix(auth): prevent session fixation vulnerability",
        [change("src/auth/session.py", 40, 10), change("tests/auth/test_session.py", 30, 0)],
        body="Sessions were reused after login.",
    ),
    "refactor": commit(
        "refactor: split the scheduler into modules",
        [change(f"src/scheduler/part{i}.py", 200, 0, status="added") for i in range(12)]
        + [change("src/scheduler.py", 0, 2400, status="removed")],
    ),
    "merge": commit("Merge pull request #5 from alice/fix-auth-vuln", [], merge=True),
    "binary_only": commit("Update the logo", [change("assets/logo.png", 0, 0, binary=True)]),
    "long_title": commit("fix: " + "overflow " * 1111 + "end", [change("src/core/buffer.py", 5, 1)]),
    "long_word_title": commit("x" * 10_000, [change("src/core/buffer.py", 5, 1)]),
    "non_ascii": commit(
        "修复：调度器在空配置下崩溃 🚑",
        [change("src/调度/核心.py", 12, 3)],
        body="空配置文件会导致 KeyError。",
    ),
    "amd_tag": commit("[AMD] Fix mi35x dsv32 mtp nightly (#18978)", [change("python/sglang/srt/nsa_backend.py")]),
    "clipped": commit(
        "refactor(engine): rewrite the planner",
        [change(f"src/engine/planner{i}.py", 400, 300) for i in range(6)],
        budget=400,
    ),
}
ASCII_CASES = [name for name in CASES if name != "non_ascii"]


def analyse(name: str, language: str = "en") -> CommitAnalysis:
    return analyze_by_rules(CASES[name], language)  # type: ignore[arg-type]


def texts_of(result: CommitAnalysis) -> list[str]:
    """Every user-visible string of the record."""
    out = [*result.summary, *result.scope, *result.risks, *result.recommendations, *result.rule_reasons]
    if result.insight:
        out += list(result.insight.model_dump().values())
    return out


# --- importance and the main change type -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "importance", "main_type"),
    [
        ("feat", Importance.MEDIUM, ChangeType.FEATURE),
        ("fix", Importance.MEDIUM, ChangeType.FIX),
        ("docs_only", Importance.LOW, ChangeType.DOCS),
        ("tests_only", Importance.LOW, ChangeType.TEST),
        ("lock_only", Importance.LOW, ChangeType.DEPENDENCY),
        ("breaking", Importance.HIGH, ChangeType.FEATURE),
        ("doc_tag", Importance.LOW, ChangeType.DOCS),
        ("security", Importance.HIGH, ChangeType.SECURITY),
        ("refactor", Importance.HIGH, ChangeType.REFACTOR),
        ("merge", Importance.LOW, ChangeType.MERGE),
        ("binary_only", Importance.LOW, ChangeType.CHORE),
        ("long_title", Importance.MEDIUM, ChangeType.FIX),
        ("amd_tag", Importance.MEDIUM, ChangeType.FIX),
    ],
)
def test_importance_and_main_type(name: str, importance: Importance, main_type: ChangeType) -> None:
    for language in ("zh", "en"):
        result = analyse(name, language)
        assert result.importance is importance, result.rule_reasons
        assert result.change_types[0] is main_type
        assert result.rule_importance is result.importance
        assert result.analyzer == "rules" and result.analyzer_version.startswith("rules-")
        assert result.sha == SHA
        assert result.coverage == CASES[name].coverage


@pytest.mark.parametrize(
    ("title", "main_type"),
    [
        ("[diffusion] fix: fix rank used in parallel executor when cfg parallel is off (#18975)", ChangeType.FIX),
        ("[RadixTree][4/N Refactor]: Move available_and_evictable_str to radix cache classes", ChangeType.REFACTOR),
        ("[diffusion] CI: enable warmup as default (#19010)", ChangeType.CI),
        ("Fix flaky Qwen3-Next KL divergence tests by reverting mamba slot release", ChangeType.FIX),
        ("[Feature] Implement update_weights_from_disk for SGLang-D", ChangeType.FEATURE),
        ("[Qwen3.5] Enable nvfp4 checkpoint (#18937)", ChangeType.FEATURE),
        ("[4/N] Quantization Refactor: Quark MoE schemes (#18252)", ChangeType.REFACTOR),
        ("Feat/add fi selective state update kernel call (#18070)", ChangeType.FEATURE),
        ("perf: fuse the rmsnorm kernel", ChangeType.PERFORMANCE),
        ('Revert "Add batched zero copy to NIXL backend"', ChangeType.REVERT),
        ("style: reformat the scheduler", ChangeType.STYLE),
        ("Tidy the scheduler", ChangeType.OTHER),
    ],
)
def test_main_type_of_real_titles(title: str, main_type: ChangeType) -> None:
    inp = commit(title, [change("python/sglang/srt/managers/scheduler.py", 30, 10)])
    assert analyze_by_rules(inp, "en").change_types[0] is main_type


def test_a_fix_is_never_labelled_refactor() -> None:
    inp = commit("fix: refactor the loader to handle empty configs", [change("src/config/loader.py", 40, 30)])
    types = analyze_by_rules(inp, "zh").change_types
    assert types[0] is ChangeType.FIX
    assert ChangeType.REFACTOR not in types
    # The other way round the refactor stays the main type.
    inp = commit("refactor: split the loader and fix an edge case", [change("src/config/loader.py", 40, 30)])
    assert analyze_by_rules(inp, "en").change_types[:2] == [ChangeType.REFACTOR, ChangeType.FIX]


def test_change_types_are_one_to_three_and_unique() -> None:
    inp = commit(
        "fix: add faster cache, refactor and revert the security patch CVE-2026-12345",
        [change("src/cache.py"), change("requirements.txt", 1, 1)],
    )
    types = change_types_of(collect_signals(inp))
    assert 1 <= len(types) <= 3
    assert len(set(types)) == len(types)
    assert types[:2] == [ChangeType.SECURITY, ChangeType.FIX]


def test_area_tags_never_decide_the_type() -> None:
    assert tag_type("AMD") is None
    assert tag_type("diffusion") is None
    assert tag_type("Qwen3.5") is None
    assert tag_type("4/N Refactor") == "refactor"
    assert tag_type("Doc") == "docs"
    assert bracket_tags("[RadixTree][4/N Refactor]: Move x") == ["RadixTree", "4/N Refactor"]
    # An area-only title falls through to its words; the area shows up as scope.
    result = analyse("amd_tag", "en")
    assert any("AMD" in item for item in result.scope)


def test_parse_conventional() -> None:
    assert parse_conventional("feat(api)!: drop v1") == ("feat", "api", True)
    assert parse_conventional("fix: x") == ("fix", None, False)
    assert parse_conventional("feat: x", "body\n\nBREAKING CHANGE: config keys renamed") == ("feat", None, True)
    assert parse_conventional("[diffusion] refactor(kernels): x") == ("refactor", "kernels", False)
    assert parse_conventional("Note: this is prose") == (None, None, False)
    assert parse_conventional("Update README") == (None, None, False)


def test_breaking_in_body_makes_it_high() -> None:
    inp = commit(
        "feat: rename config keys",
        [change("src/config/keys.py", 30, 30)],
        body="BREAKING CHANGE: `retries` is now `max_retries`.",
    )
    result = analyze_by_rules(inp, "en")
    assert result.importance is Importance.HIGH
    assert any("breaking" in risk.lower() for risk in result.risks)


def test_merge_says_what_was_merged_and_ignores_the_branch_name() -> None:
    result = analyse("merge", "en")
    assert "#5" in result.summary[0] and "alice/fix-auth-vuln" in result.summary[0]
    # "vuln" in the branch name must not make the merge a security change.
    assert result.change_types == [ChangeType.MERGE]
    assert not any("security" in reason for reason in result.rule_reasons)


def test_merge_with_many_files_stays_low() -> None:
    files = [change(f"src/mod{i}/x.py", 100, 50) for i in range(8)]
    result = analyze_by_rules(commit("Merge branch 'dev' into main", files, merge=True), "zh")
    assert result.importance is Importance.LOW
    assert "dev" in result.summary[0] and "main" in result.summary[0]


def test_lock_file_security_bump_is_medium() -> None:
    inp = commit("fix(deps): bump lodash to fix CVE-2021-23337", [change("package-lock.json", 20, 20)])
    result = analyze_by_rules(inp, "en")
    assert result.importance is Importance.MEDIUM
    assert result.change_types[0] is ChangeType.SECURITY


# --- the tier's fields -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_tier_field_is_filled(name: str, language: str) -> None:
    result = analyse(name, language)
    for field_name in tier_fields(result.importance):
        assert getattr(result, field_name), f"{name}/{language} lacks {field_name}"
    if result.insight:
        assert all(value.strip() for value in result.insight.model_dump().values())
    # No placeholder or unfilled template slot survives.
    for text in texts_of(result):
        assert not re.search(r"\{[a-z_]+\}", text), text
        assert text.strip() and "None" not in text


def test_high_insight_says_when_nothing_was_found() -> None:
    result = analyse("breaking", "en")
    assert result.insight is not None
    assert "no performance-relevant signal" in result.insight.performance.lower()
    assert "no security-relevant signal" in result.insight.security.lower()
    assert "tests" in result.insight.maintainability.lower()


def test_high_insight_and_risks_name_what_was_found() -> None:
    result = analyse("security", "zh")
    assert result.insight is not None
    assert "`src/auth/session.py`" in result.insight.security
    refactor = analyse("refactor", "en")
    assert refactor.insight is not None
    assert "`src/scheduler.py`" in refactor.insight.architecture
    assert any("without any test changes" in risk for risk in refactor.risks)
    assert any("`src/scheduler.py`" in risk for risk in refactor.risks)


def test_partly_seen_diff_is_a_risk() -> None:
    inp = CASES["clipped"]
    assert inp.coverage.files_analysed < inp.coverage.files_total or inp.coverage.files_clipped
    result = analyze_by_rules(inp, "en")
    assert result.importance is Importance.HIGH
    assert any("Only part of the change was seen" in risk for risk in result.risks)
    assert any("full change" in rec for rec in result.recommendations)


def test_summary_describes_the_files_and_body() -> None:
    result = analyse("feat", "zh")
    assert result.summary[0].startswith("新功能：add retry backoff for failed tasks")
    assert "(#41)" not in result.summary[0]
    assert any("Failed tasks are retried" in line for line in result.summary)
    assert not any("Signed-off-by" in line for line in result.summary)
    assert any("2 个源码文件（+140/−15）" in line for line in result.summary)
    binary = analyse("binary_only", "en")
    assert any("`assets/logo.png`" in line and "binary" in line for line in binary.summary)


def test_long_titles_are_clipped_not_copied() -> None:
    for name in ("long_title", "long_word_title"):
        assert len(CASES[name].commit.title) >= 10_000
        for language in ("zh", "en"):
            result = analyse(name, language)
            assert max(len(text) for text in texts_of(result)) < 400
            assert result.summary[0].endswith("…")


def test_non_ascii_commit() -> None:
    zh = analyze_by_rules(CASES["non_ascii"], "zh")
    en = analyze_by_rules(CASES["non_ascii"], "en")
    assert zh.importance is en.importance
    assert any("`src/调度/核心.py`" in line for line in en.summary)
    assert any("KeyError" in line for line in zh.summary)


# --- language, paths, determinism, reasons --------------------------------------------


@pytest.mark.parametrize("name", ASCII_CASES)
def test_text_is_in_the_requested_language(name: str) -> None:
    for text in texts_of(analyse(name, "zh")):
        assert CJK.search(text), f"no Chinese in {text!r}"
    for text in texts_of(analyse(name, "en")):
        assert not CJK.search(text), f"Chinese in {text!r}"


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_mentioned_paths_are_real(name: str, language: str) -> None:
    inp = CASES[name]
    paths = {f.path for f in inp.files}
    seen = 0
    for text in texts_of(analyse(name, language)):
        for match in CODE_SPAN.finditer(text):
            quoted = match.group(1) or match.group(2)
            seen += 1
            if quoted.endswith("/"):
                assert any(path.startswith(quoted) for path in paths), quoted
            else:
                assert quoted in paths, quoted
    if any("/" in p for p in paths) and name not in ("binary_only",):
        assert seen, "a commit with files should name at least one of them"


@pytest.mark.parametrize("name", list(CASES))
def test_deterministic(name: str) -> None:
    inp = CASES[name]
    first = analyze_by_rules(inp, "zh").model_dump()
    assert analyze_by_rules(inp, "zh").model_dump() == first
    # The same commit with its files listed in another order reads the same.
    shuffled = inp.model_copy(update={"files": list(reversed(inp.files))})
    assert analyze_by_rules(shuffled, "zh").model_dump() == first


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("language", ["zh", "en"])
def test_reasons_add_up_to_the_score(name: str, language: str) -> None:
    result = analyse(name, language)
    *items, total_line = result.rule_reasons
    assert items, "at least the type rule always fires"
    points = [int(re.match(r"^([+-]\d+) ", item).group(1)) for item in items]  # type: ignore[union-attr]
    total = int(re.search(r"(-?\d+)", total_line).group(1))  # type: ignore[union-attr]
    assert sum(points) == total
    expected = Importance.HIGH if total >= HIGH_AT else Importance.MEDIUM if total >= MEDIUM_AT else Importance.LOW
    assert expected is result.importance
    assert TEXTS[language][f"level.{result.importance.value}"] in total_line


def test_reasons_name_the_deciding_rules() -> None:
    assert "+6 breaking change" in analyse("breaking", "en").rule_reasons
    assert any(r.startswith("-3 documentation only") for r in analyse("docs_only", "en").rule_reasons)
    assert any(r.startswith("-3 tests only") for r in analyse("tests_only", "en").rule_reasons)
    assert any(r.startswith("-4 only noise files") for r in analyse("lock_only", "en").rule_reasons)
    assert any(r.startswith("+6 security-related (vulnerability)") for r in analyse("security", "en").rule_reasons)
    assert any(r.startswith("-4 merge commit") for r in analyse("merge", "en").rule_reasons)
    assert any(r.startswith("+3 ") and "huge" in r for r in analyse("refactor", "en").rule_reasons)
    assert any("文档" in r for r in analyse("doc_tag", "zh").rule_reasons)


def test_score_importance_is_usable_alone() -> None:
    importance, reasons = score_importance(collect_signals(CASES["fix"]), "en")
    assert importance is Importance.MEDIUM
    assert reasons[0].startswith('+2 Bug fix (conventional prefix "fix")')


def test_thresholds_documented_in_the_table() -> None:
    thresholds = dict(SCORING_TABLE)["thresholds"]
    assert f"high >= {HIGH_AT}" in thresholds and f"medium {MEDIUM_AT}.." in thresholds


# --- the phrase table ------------------------------------------------------------------


def test_both_languages_have_the_same_phrases() -> None:
    assert ZH.keys() == EN.keys()
    names = {
        name
        for table in (ZH, EN)
        for template in table.values()
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }
    fields = dict.fromkeys(names, "1")
    for key in ZH:
        ZH[key].format(**fields), EN[key].format(**fields)
        assert not CJK.search(EN[key]), key
        assert key.startswith("list.") or key.startswith("reason.line") or CJK.search(ZH[key]) or key in {
            "cat.ci",
            "noise.other",
        }, key


def test_risks_never_empty_even_without_a_signal() -> None:
    # analyze_by_rules only reaches risks for high commits, which nearly always carry a
    # signal; the fallback sentence is what keeps the field filled when none fires.
    from repo_digest.analysis.rules_compose import Writer, risks_of

    inp = CASES["fix"]
    for language in ("zh", "en"):
        risks = risks_of(collect_signals(inp), inp.coverage, Writer(language))  # type: ignore[arg-type]
        assert len(risks) == 1 and "+8/−2" in risks[0]


def test_chinese_titles_are_read_too() -> None:
    result = analyze_by_rules(CASES["non_ascii"], "zh")
    assert result.change_types[0] is ChangeType.FIX
    assert result.importance is Importance.MEDIUM
    inp = commit("修复登录模块的越权漏洞", [change("src/auth/login.py", 20, 5)])
    security = analyze_by_rules(inp, "zh")
    assert security.importance is Importance.HIGH
    assert security.change_types[:2] == [ChangeType.SECURITY, ChangeType.FIX]


def test_docs_and_tests_only_take_no_types_from_title_verbs() -> None:
    assert analyse("tests_only", "en").change_types == [ChangeType.TEST]
    assert analyse("docs_only", "en").change_types == [ChangeType.DOCS]
    assert analyze_by_rules(commit("docs: fix typo", [change("README.md", 1, 1)]), "en").change_types == [
        ChangeType.DOCS
    ]


@pytest.mark.parametrize("merge", [False, True])
def test_a_commit_without_title_or_files_still_reads_as_sentences(merge: bool) -> None:
    inp = commit("", [], merge=merge)
    for language in ("zh", "en"):
        result = analyze_by_rules(inp, language)  # type: ignore[arg-type]
        assert result.importance is Importance.LOW
        first = result.summary[0]
        assert not first.rstrip().endswith((":", "：")), first
        assert len(result.summary) >= 2  # says that there was no file list


def test_tests_about_auth_are_not_sensitive_code() -> None:
    result = analyse("security", "en")
    assert result.insight is not None
    assert "`tests/auth/test_session.py`" not in result.insight.security
    only_tests = analyze_by_rules(commit("test: cover login", [change("tests/auth/test_login.py", 40, 0)]), "en")
    assert only_tests.importance is Importance.LOW
    assert not any("security-sensitive" in r for r in only_tests.rule_reasons)
