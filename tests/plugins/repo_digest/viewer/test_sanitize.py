"""Markdown -> safe HTML, against input that did not go through the digest's own escaping."""

from __future__ import annotations

import pytest

from repo_digest.render import render_markdown
from repo_digest.viewer.sanitize import render_digest_html, sanitize_html
from tests.plugins.repo_digest.digest_samples import sample_digest
from tests.plugins.repo_digest.viewer.viewer_samples import Elements

HOSTILE_MARKDOWN = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a href="javascript:alert(1)">x</a>',
    '<a id="ok" href="javascript:alert(1)"></a>',
    '<a id="ok" onclick="alert(1)"></a>',
    '<a id="x" onmouseover=alert(1)></a>',
    "<a id='single'></a>",
    '<a id="repo-a"></a><script>alert(1)</script>',
    '<form action="https://evil.example"><input name=x></form>',
    '<object data="javascript:alert(1)"></object>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](jav&#x61;script:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x]( javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](//evil.example/path)",
    "[x](/repo-digest/../api/v2/variables)",
    "![x](javascript:alert(1))",
    "![x](https://evil.example/tracker.png)",
    "<https://ok.example/a>",
    "<javascript:alert(1)>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<?php echo 1; ?>",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=x onerror=alert(1)> |",
    "```html\n<script>alert(1)</script>\n```",
    "    <script>alert(1)</script>",
    "<details open ontoggle=alert(1)>x</details>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
]


def assert_inert(html: str) -> None:
    elements = Elements(html)
    for tag, attrs in elements.tags:
        assert tag in {
            "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "ul", "ol", "li",
            "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "strong", "em", "s", "del", "a",
        }, tag  # fmt: skip
        for name, value in attrs.items():
            assert (tag, name) in {("a", "href"), ("a", "id"), ("a", "title"), ("a", "rel"), ("ol", "start")}, (
                tag, name,
            )  # fmt: skip
            if name == "href":
                assert value is not None and value.startswith(("#", "http://", "https://")), value
    lowered = html.lower()
    assert "<script" not in lowered and "<style" not in lowered and "<img" not in lowered


@pytest.mark.parametrize("markdown", HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_inert(markdown):
    assert_inert(render_digest_html(markdown))


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        ("<b>bold</b> text", "&lt;b&gt;bold&lt;/b&gt; text"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<div onclick="x">block</div>', '&lt;div onclick="x"&gt;block&lt;/div&gt;'),
        ("a <img src=x onerror=alert(1)> b", "a &lt;img src=x onerror=alert(1)&gt; b"),
        ("<!-- hidden -->", "&lt;!-- hidden --&gt;"),
    ],
)
def test_raw_html_shows_as_text_not_markup(markdown, shown):
    """Raw HTML other than the digest's anchors becomes text before sanitizing: visible, inert."""
    html = render_digest_html(markdown)
    assert shown in html
    assert {tag for tag, _ in Elements(html).tags} == {"p"}


def test_the_digests_own_anchors_survive_and_nothing_else_of_raw_html():
    html = render_digest_html('<a id="repo-a-b"></a>\n\n## Title\n\n[go](#repo-a-b) <a id="x">y</a>')
    assert '<a id="repo-a-b"' in html
    assert 'href="#repo-a-b"' in html
    assert '&lt;a id="x"&gt;y&lt;/a&gt;' in html  # an anchor with content is not the digest's form


def test_http_links_stay():
    html = render_digest_html("[c](https://github.com/a/b/commit/abc) and [p](http://example.com/x?a=1&b=2)")
    hrefs = [attrs["href"] for attrs in Elements(html).named("a")]
    assert hrefs == ["https://github.com/a/b/commit/abc", "http://example.com/x?a=1&b=2"]


def test_tables_code_and_lists_render():
    html = render_digest_html("| a | b |\n|:--|--:|\n| `x` | **y** |\n\n- one\n- two\n\n3. three\n\n> quote\n\n---\n")
    tags = {tag for tag, _ in Elements(html).tags}
    assert {"table", "thead", "tbody", "tr", "th", "td", "code", "strong", "ul", "li", "ol", "blockquote", "hr"} <= tags
    assert 'start="3"' in html
    assert "style=" not in html  # markdown-it's column alignment is dropped with every style


def test_sanitize_html_alone_drops_what_is_not_allowed():
    html = sanitize_html(
        '<p onclick="x">a<script>b</script><a href="javascript:c" id="i">d</a>'
        '<a href="/relative">e</a><a href="#frag">f</a><table><tr><td style="x">g</td></tr></table></p>'
    )
    assert_inert(html)
    assert ">b<" not in html  # the script's content goes with it
    assert 'href="#frag"' in html and 'href="/relative"' not in html


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_real_digest_renders_inert(language):
    assert_inert(render_digest_html(render_markdown(sample_digest(language))))
