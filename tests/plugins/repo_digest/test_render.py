"""The Markdown renderer: golden files, structure checks that hold for any Digest, and the
escaping helpers.

Regenerate the golden files with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/plugins/repo_digest/test_render.py``
and review the diff; without it they are compared byte for byte.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import string
import typing
import unicodedata
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from repo_digest.analysis.record import Analyzer, ChangeType, Importance
from repo_digest.digest import Digest, compute_stats
from repo_digest.markdown import (
    anchor_ids,
    commit_anchor,
    display_width,
    group_anchor,
    md_code,
    md_inline,
    md_link,
    md_table_cell,
    repo_anchor,
    safe_url,
    shorten,
    stats_anchor,
    toc_anchor,
    unresolved_links,
)
from repo_digest.render import (
    AUTHOR_LIMIT,
    FIELD_ORDER,
    INCLUDE_DIR_ENV,
    TITLE_LIMIT,
    load_labels,
    render_markdown,
    repo_view,
    template_environment,
    tidy,
)
from tests.plugins.repo_digest.digest_samples import HOSTILE_TITLE, LONG_TITLE, empty_digest, sample_digest

GOLDEN = Path(__file__).parent / "golden"

SAMPLES = {
    "digest.zh.md": lambda: sample_digest("zh"),
    "digest.en.md": lambda: sample_digest("en"),
    "empty.zh.md": lambda: empty_digest("zh"),
    "empty.en.md": lambda: empty_digest("en"),
}


def _md() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _escape_html(text: str) -> str:
    # markdown-it's own text escaping.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _collapsed(text: str) -> str:
    """What md_inline promises to show: whitespace runs as one space, control characters dropped."""
    text = " ".join(text.split())
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc")


def _flat(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        out.append(token)
        out.extend(_flat(token.children or []))
    return out


def _inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or [] if child.type in ("text", "code_inline"))


# --- golden files --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden(name: str) -> None:
    rendered = render_markdown(SAMPLES[name]())
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1 to create it"
    assert rendered == path.read_text(encoding="utf-8")


# --- structure, for every sample -----------------------------------------------------


@pytest.fixture(params=sorted(SAMPLES))
def case(request: pytest.FixtureRequest) -> tuple[Digest, str]:
    digest = SAMPLES[request.param]()
    return digest, render_markdown(digest)


def test_table_has_one_row_per_commit_in_digest_order(case: tuple[Digest, str]) -> None:
    digest, out = case
    tokens = _md().parse(out)
    rows = [t for t in tokens if t.type == "tr_open"]
    if not digest.commits:
        assert rows == []
        assert load_labels(digest.language)["no_commits"].format(day=digest.day.isoformat()) in out
        return
    assert len(rows) == len(digest.commits) + 1  # + the header row
    # Each row shows its commit's time, author and title as literal text (a stray '|'
    # would move text into another cell), the title linking to the commit's section, in
    # the Digest's newest-first order. GFM drops cells beyond the header's, so compare text.
    cells = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "td_open"]
    assert len(cells) == 3 * len(digest.commits)
    for n, commit in enumerate(digest.commits):
        time, author, message = cells[3 * n : 3 * n + 3]
        assert _inline_text(time) == commit.committer_time
        assert _inline_text(author) == shorten(commit.author_name, AUTHOR_LIMIT)
        assert _inline_text(message) == shorten(commit.title, TITLE_LIMIT)
        links = [c.attrGet("href") for c in message.children or [] if c.type == "link_open"]
        assert links == [f"#{commit_anchor(digest.repo, commit.sha)}"]


def test_one_section_per_commit(case: tuple[Digest, str]) -> None:
    digest, out = case
    tokens = _md().parse(out)
    assert sum(t.type == "heading_open" and t.tag == "h4" for t in tokens) == len(digest.commits)
    ids = anchor_ids(out)
    for commit in digest.commits:
        assert ids.count(commit_anchor(digest.repo, commit.sha)) == 1


def test_counts_line_matches_table_and_sections(case: tuple[Digest, str]) -> None:
    digest, out = case
    pattern = {
        "zh": r"^> 本日共 (\d+) 个提交 \| 🔴高 (\d+) \| 🟡中 (\d+) \| 🟢低 (\d+)$",
        "en": r"^> (\d+) commits today \| 🔴High (\d+) \| 🟡Medium (\d+) \| 🟢Low (\d+)$",
    }[digest.language]
    (match,) = re.findall(pattern, out, flags=re.MULTILINE)
    total, high, medium, low = map(int, match)
    assert total == len(digest.commits) == high + medium + low
    for level, count in zip(Importance, (high, medium, low), strict=True):
        assert count == sum(c.analysis.importance == level for c in digest.commits)
        section = f'<a id="{group_anchor(digest.repo, level)}"></a>'
        assert (section in out) == (count > 0)  # an empty group is left out


def test_every_internal_link_resolves_and_ids_are_unique(case: tuple[Digest, str]) -> None:
    _, out = case
    assert unresolved_links(out) == []
    ids = anchor_ids(out)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9-]+", anchor_id) for anchor_id in ids)


def test_no_html_or_script_links_survive(case: tuple[Digest, str]) -> None:
    _, out = case
    md = _md()
    html = md.render(out)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    tokens = _flat(md.parse(out))
    assert not [t for t in tokens if t.type in ("html_block", "image")]
    for token in tokens:
        if token.type == "html_inline":
            assert re.fullmatch(r'<a id="[a-z0-9-]+">|</a>', token.content), token.content
        if token.type == "link_open":
            href = str(token.attrGet("href"))
            assert href.startswith(("#", "https://")), href
            assert "javascript" not in href.lower()


def test_heading_levels_nest(case: tuple[Digest, str]) -> None:
    _, out = case
    levels = [int(t.tag[1]) for t in _md().parse(out) if t.type == "heading_open"]
    assert levels[:2] == [1, 2]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))
    assert levels.count(1) == 1


def test_every_section_has_its_tier_fields_in_order(case: tuple[Digest, str]) -> None:
    digest, out = case
    labels = load_labels(digest.language)["field"]
    expected = {
        Importance.HIGH: ["SHA", *(labels[name] for name in FIELD_ORDER)],
        Importance.MEDIUM: ["SHA", *(labels[n] for n in ("change_types", "importance", "summary", "scope"))]
        + [labels["recommendations"]],
        Importance.LOW: ["SHA", labels["change_types"], labels["importance"], labels["summary_low"]],
    }
    for commit in digest.commits:
        start = out.index(f'<a id="{commit_anchor(digest.repo, commit.sha)}"></a>')
        section = out[start : out.index("\n---\n", start)]
        found = re.findall(r"^\*\*(.+?)\*\*", section, flags=re.MULTILINE)
        assert found == expected[commit.analysis.importance], commit.title[:40]


def test_commit_titles_render_as_literal_text(case: tuple[Digest, str]) -> None:
    digest, out = case
    tokens = _md().parse(out)
    headings = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h4"]
    assert [_inline_text(h) for h in headings] == [
        shorten(c.title, TITLE_LIMIT)
        for level in Importance
        for c in digest.commits
        if c.analysis.importance == level
    ]


def test_no_trailing_whitespace_and_one_final_newline(case: tuple[Digest, str]) -> None:
    _, out = case
    assert [line for line in out.split("\n") if line != line.rstrip()] == []
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert "\n\n\n" not in out
    assert "\t" not in out


def test_deterministic_and_same_after_json_round_trip(case: tuple[Digest, str]) -> None:
    digest, out = case
    assert render_markdown(digest) == out
    # Digests are stored as JSON and re-rendered later: same bytes.
    assert render_markdown(Digest.model_validate_json(digest.model_dump_json())) == out


# --- specific content ----------------------------------------------------------------


def test_fallback_disagreement_coverage_and_links_are_visible() -> None:
    digest = sample_digest("zh")
    out = render_markdown(digest)
    fallback = next(c for c in digest.commits if c.analysis.fallback_reason)
    assert f"> ⚠️ 未采用 LLM 分析：{md_inline(fallback.analysis.fallback_reason or '')}" in out
    assert "🔴 高（规则评分：🟡 中）" in out
    assert "跳过 6 个文件：锁文件 1（`uv.lock`）" in out
    assert "另 2 个" in out
    assert "🔀 [PR #19010](<https://github.com/sgl-project/sglang/pull/19010>)" in out
    assert "| 合并提交" in out
    # The hostile commit's URLs are shown as text, never as links.
    assert "🔗 查看提交 (`javascript:alert(1)`)" in out
    # A commit whose analyzer saw everything gets no coverage line.
    assert out.count("📂 分析覆盖") == 2


def test_llm_without_fallbacks_says_so_and_rules_only_does_not() -> None:
    digest = sample_digest("en")
    clean = [c for c in digest.commits if not c.analysis.fallback_reason]
    no_fallback = digest.model_copy(update={"commits": clean, "stats": compute_stats(clean)})
    assert "✅ Fallbacks: none" in render_markdown(no_fallback)
    rules_only = [c for c in clean if c.analysis.analyzer == "rules"]
    only_rules = digest.model_copy(update={"commits": rules_only, "stats": compute_stats(rules_only)})
    assert "Fallbacks" not in render_markdown(only_rules)


def test_long_title_is_cut_with_a_marker() -> None:
    out = render_markdown(sample_digest("en"))
    assert LONG_TITLE not in out
    assert shorten(LONG_TITLE, TITLE_LIMIT) in out
    assert max(len(line) for line in out.split("\n")) < 1000


def test_stats_that_disagree_with_commits_are_refused() -> None:
    digest = sample_digest("zh")
    bad = digest.stats.model_copy(update={"total": digest.stats.total + 1})
    with pytest.raises(ValueError, match="do not match"):
        render_markdown(digest.model_copy(update={"stats": bad}))


def test_combined_report_reuses_the_repo_section() -> None:
    labels = load_labels("zh")
    template = template_environment().from_string(
        '{% from "repo_section.md.j2" import repo_section %}# T\n\n'
        "{% for r in repos %}{{ repo_section(r, L) }}\n{% endfor %}"
    )
    digests = [
        sample_digest("zh"),
        sample_digest("zh", repo="vllm-project/vllm"),
        empty_digest("zh", repo="a/b"),
    ]
    out = tidy(template.render(repos=[repo_view(d, labels) for d in digests], L=labels))
    assert re.findall(r"^## (.+)$", out, flags=re.MULTILINE) == [d.repo for d in digests]
    assert unresolved_links(out) == []
    ids = anchor_ids(out)
    assert len(ids) == len(set(ids))
    levels = [int(t.tag[1]) for t in _md().parse(out) if t.type == "heading_open"]
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))


def test_include_dir_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = Path(__file__).resolve().parents[3] / "include"
    shutil.copytree(source, tmp_path / "include")
    zh = tmp_path / "include" / "templates" / "i18n" / "zh.json"
    labels = json.loads(zh.read_text(encoding="utf-8"))
    labels["title"] = "测试标题（{day}）"
    zh.write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv(INCLUDE_DIR_ENV, str(tmp_path / "include"))
    assert render_markdown(empty_digest("zh")).startswith("# 测试标题（2026-02-19）\n")


# --- labels ----------------------------------------------------------------------------


def _flatten(labels: dict[str, typing.Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in labels.items():
        if isinstance(value, dict):
            out |= _flatten(value, f"{prefix}{key}.")
        else:
            out[prefix + key] = value
    return out


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_label_files_have_the_same_keys_and_placeholders() -> None:
    zh, en = _flatten(load_labels("zh")), _flatten(load_labels("en"))
    assert sorted(zh) == sorted(en)
    for key in zh:
        assert isinstance(zh[key], str) and zh[key].strip(), key
        assert isinstance(en[key], str) and en[key].strip(), key
        assert _placeholders(zh[key]) == _placeholders(en[key]), key


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_enum_value_has_a_label(language: str) -> None:
    labels = load_labels(language)
    assert set(labels["change_type"]) == {kind.value for kind in ChangeType}
    assert set(labels["importance"]) == {level.value for level in Importance}
    assert {level.value for level in Importance} <= set(labels["group"])
    assert set(labels["analyzer"]) == set(typing.get_args(Analyzer))
    emoji = {Importance.HIGH: "🔴", Importance.MEDIUM: "🟡", Importance.LOW: "🟢"}
    for level, mark in emoji.items():
        assert labels["importance"][level.value].startswith(mark)
        assert labels["group"][level.value].startswith(mark)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        load_labels("fr")


# --- markdown helpers ------------------------------------------------------------------

NASTY = [
    "",
    "plain text",
    "a\nb\r\nc\td",
    "  leading and trailing  ",
    "- dash",
    "+ plus",
    "* star",
    "1. one",
    "2) two",
    "123456789. big",
    "# heading",
    "###",
    "closing #",
    "> quote",
    "---",
    "===",
    "***",
    "___",
    "    indented code",
    "```fence",
    "~~~fence",
    "<div>x</div>",
    "<script>alert(1)</script>",
    "<!-- comment -->",
    "&amp; &copy; &#x41; & alone",
    "\\",
    "ends with backslash\\",
    "\\*not emphasis\\*",
    "snake_case_name",
    "_a_ __b__ a_ _a",
    "*a* **b**",
    "~~s~~ ~t~",
    "`code` ``two``",
    "[a](b) [c][d] [e]",
    "![img](x.png)",
    "[x](javascript:alert(1))",
    "<http://example.com> <mailto:a@b.c>",
    "a | b | c",
    "$x^2$ and $$y$$",
    "bang!",
    "!",
    "[^1] footnote",
    "[a]: http://example.com",
    "https://example.com/a_b_c",
    "中文标题：修复（#123）！",
    "emoji 🚀✅",
    "a\u2028b\u2029c\x85d",
    "nul\x00char\x07bell",
    "trailing two spaces  \nnext",
]


@pytest.mark.parametrize("text", NASTY)
def test_md_inline_renders_as_the_literal_text(text: str) -> None:
    md = _md()
    expected = _escape_html(_collapsed(text))
    safe = md_inline(text)
    assert "\n" not in safe
    if not expected:
        assert safe == ""
        return
    # The same text in every place the template puts untrusted text.
    assert md.render(safe) == f"<p>{expected}</p>\n"
    assert md.render(f"#### {safe}") == f"<h4>{expected}</h4>\n"
    assert md.render(f"- {safe}") == f"<ul>\n<li>{expected}</li>\n</ul>\n"
    assert md.render(f"[{safe}](#x)") == f'<p><a href="#x">{expected}</a></p>\n'
    assert md.render(f"> {safe}") == f"<blockquote>\n<p>{expected}</p>\n</blockquote>\n"
    assert md.render(f"**label**：{safe}") == f"<p><strong>label</strong>：{expected}</p>\n"


@pytest.mark.parametrize("text", NASTY)
def test_md_table_cell_keeps_one_cell(text: str) -> None:
    md = _md()
    tokens = md.parse(f"| h | i |\n|---|---|\n| {md_table_cell(text)} | after |")
    cells = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "td_open"]
    assert len(cells) == 2
    assert _inline_text(cells[0]) == _collapsed(text)
    assert _inline_text(cells[1]) == "after"


def test_md_inline_keeps_identifiers_readable() -> None:
    assert md_inline("update_weights_from_disk") == "update_weights_from_disk"
    assert md_inline("__init__") == "\\_\\_init\\_\\_"
    assert md_inline("feat!: x") == "feat!: x"
    assert md_inline("a\n\n\tb") == "a b"


@pytest.mark.parametrize("text", ["abc", "a`b", "`start", "end`", "``x``", "a | b", "<script>"])
def test_md_code_renders_as_the_literal_text(text: str) -> None:
    assert _md().render(md_code(text)) == f"<p><code>{_escape_html(text)}</code></p>\n"


def test_shorten() -> None:
    assert shorten("abc") == "abc"
    assert shorten("a" * 40) == "a" * 40
    assert shorten("a" * 41) == "a" * 39 + "…"
    assert display_width(shorten("a" * 100, 10)) == 10
    # Wide characters count two columns, so a Chinese title is cut at a similar width.
    assert shorten("长" * 30, 40) == "长" * 19 + "…"
    assert display_width(shorten("长" * 30 + "a", 41)) <= 41
    assert shorten("a\n\n b") == "a b"
    assert shorten("a" * 38 + " bcd", 40) == "a" * 38 + "…"  # no space before the marker
    # A combining mark stays with its base character.
    assert shorten("e\u0301" * 50, 10) == "e\u0301" * 9 + "…"
    with pytest.raises(ValueError):
        shorten("abc", 0)


def test_shorten_before_escaping_leaves_no_half_escape() -> None:
    title = "a" * 38 + "**bold** <b>"
    safe = md_inline(shorten(title, 40))
    assert safe == "a" * 38 + "\\*…"
    assert _md().render(safe) == f"<p>{'a' * 38}*…</p>\n"
    safe = md_inline(shorten("x" * 38 + "&amp;", 40))
    assert safe == "x" * 38 + "&amp;…"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/a/b/commit/abc", "https://github.com/a/b/commit/abc"),
        ("HTTP://example.com/x?a=1&b=(2)", "HTTP://example.com/x?a=1&b=(2)"),
        ("https://example.com/<x>\\y", "https://example.com/%3Cx%3E%5Cy"),
        ("https://example.com/中文", "https://example.com/%E4%B8%AD%E6%96%87"),
        ("javascript:alert(1)", None),
        (" javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//example.com/x", None),
        ("https:///path", None),
        ("https://example.com/a b", None),
        ("https://example.com/a\nb", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_md_link_only_links_http() -> None:
    assert md_link("View", "https://x.org/a") == "[View](<https://x.org/a>)"
    hostile = md_link("View", "javascript:alert(1)")
    tokens = _flat(_md().parse(hostile))
    assert not [t for t in tokens if t.type == "link_open"]
    assert md_link("View", None) == "View"


def test_anchors() -> None:
    assert repo_anchor("sgl-project/sglang") == "repo-sgl-project-sglang"
    assert repo_anchor("Owner/My.Repo_x") == "repo-owner-my-repo-x"
    sha = "19aa19b1113e905c754e6496aaf225f99e0390de"
    assert commit_anchor("a/b", sha) == "repo-a-b-19aa19b1113e"
    assert group_anchor("a/b", Importance.HIGH) == "repo-a-b-high"
    assert group_anchor("a/b", "low") == "repo-a-b-low"
    assert stats_anchor("a/b") == "repo-a-b-stats"
    assert toc_anchor("a/b") == "repo-a-b-toc"


def test_unresolved_links() -> None:
    assert unresolved_links('<a id="x"></a>\n[a](#x)') == []
    assert unresolved_links("[a](#y) [b](#x)\n<a id=\"x\"></a>") == ["y"]
    assert unresolved_links("\\[a\\](#y)") == []  # escaped: not a link
    assert unresolved_links("[a\\\\](#y)") == ["y"]  # an escaped backslash, then a real ']'
    # Only an explicit anchor element defines an id, not the same text escaped in a title.
    assert unresolved_links('&lt;a id="x"&gt; [a](#x)') == ["x"]
    assert unresolved_links("[a](https://x.org/#y)") == []


def test_hostile_title_is_in_the_sample() -> None:
    # Guards the samples: the structure tests above are only as strong as this input.
    digest = sample_digest("zh")
    assert any(c.title == HOSTILE_TITLE for c in digest.commits)
    assert {c.analysis.importance for c in digest.commits} == set(Importance)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("改动 `src/a.py` 和 `b`。", "改动 `src/a.py` 和 `b`。"),
        ("touches `a|b` here", "touches `a|b` here"),
        ("an `unpaired backtick", "an \\`unpaired backtick"),
        ("`<script>` and <script>", "`<script>` and &lt;script&gt;"),
        ("- starts like a list `x`", "\\- starts like a list `x`"),
        ("[x](javascript:alert(1)) `code`", "\\[x\\](javascript:alert(1)) `code`"),
    ],
)
def test_md_prose_keeps_code_spans_and_escapes_the_rest(text, expected):
    from repo_digest.markdown import md_prose

    assert md_prose(text) == expected


def test_md_prose_code_spans_render_as_code_and_nothing_else_as_markup():
    from markdown_it import MarkdownIt

    from repo_digest.markdown import md_prose

    html = MarkdownIt("commonmark").render(md_prose("see `src/x.py` then <b>bold</b> *em* [l](javascript:x)"))
    assert "<code>src/x.py</code>" in html
    assert "<b>" not in html and "<em>" not in html and "<a " not in html


@pytest.mark.parametrize(("language", "fragment"), [("zh", "由规则生成"), ("en", "rule-based")])
def test_a_known_analysis_note_code_is_shown_in_the_digest_language(language, fragment):
    from repo_digest.render import render_markdown

    digest = empty_digest(language=language).model_copy(update={"analysis_note": "rules_only"})
    markdown = render_markdown(digest)
    assert fragment in markdown and "rules_only" not in markdown


@pytest.mark.parametrize(("language", "line"), [
    ("zh", "> ⚠️ 部分日：2026-02-19 尚未结束，本摘要只含截至 13:05（Asia/Shanghai）的提交；当天结束后的运行会替换它。"),
    ("en", "> ⚠️ Partial day: 2026-02-19 had not ended; this digest holds the commits up to 13:05 (Asia/Shanghai). "
           "The run after the day ends replaces it."),
])  # fmt: skip
def test_a_partial_day_says_so_under_its_window_and_a_complete_day_does_not(language, line):
    digest = sample_digest(language).model_copy(update={"timezone": "Asia/Shanghai"})
    assert "⚠️" not in render_markdown(digest).split("|", 1)[0]
    partial = digest.model_copy(update={"partial_until": dt.datetime(2026, 2, 19, 5, 5, tzinfo=dt.UTC)})
    markdown = render_markdown(partial)
    window, rest = markdown.split("\n\n", 3)[2:4]
    assert window.startswith("🗓️") and rest.startswith(line)
