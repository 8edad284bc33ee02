"""A digest's Markdown -> HTML that is safe to serve: markdown-it-py, then nh3.

Two layers, each enough on its own for what digests contain today:

1. Rendering. markdown-it-py (CommonMark + GFM tables and strikethrough) with raw HTML
   switched on only so the digest's own ``<a id="…"></a>`` anchors parse; every other raw
   HTML token is turned back into text before rendering, so it shows as the literal
   characters. Untrusted text is already escaped by repo_digest.markdown when the digest
   is written; this layer keeps a future escaping bug from becoming markup.
2. Sanitizing. nh3 (ammonia) with an allow-list: block and inline text elements, tables,
   code, links. ``href`` only http(s) or a ``#fragment``; ``id`` only on ``a``; no other
   attribute; ``script``/``style`` are dropped with their content.

The page that shows the result also sends a Content-Security-Policy without any script
source (repo_digest.viewer.app), a third layer.

After sanitizing, :func:`add_permalinks` gives each heading that follows one of the digest's
anchors (every commit, every repository, group, summary and contents section) a "🔗" link to
that section of the page. It is added after nh3 on purpose: the link points at a path of the
viewer (nh3 drops every relative URL but a ``#fragment``), and it is built only from the
anchor's id (already held to the anchor pattern) and the page's own path, never from the
Markdown. See :func:`permalink` for why the link has a query string.
"""

from __future__ import annotations

import functools
import html as html_lib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore

ALLOWED_TAGS = frozenset(
    {
        "h1", "h2", "h3", "h4", "h5", "h6",
        "p", "br", "hr", "blockquote",
        "ul", "ol", "li",
        "table", "thead", "tbody", "tr", "th", "td",
        "code", "pre",
        "strong", "em", "s", "del",
        "a",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "id", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https"})
# Dropped together with their content (nh3 keeps the text of other disallowed tags).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "iframe", "object", "noscript"})

# The only raw HTML a digest writes (repo_digest.markdown anchors): <a id="…"></a>.
_ANCHOR_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,199}"
_ANCHOR_OPEN_RE = re.compile(rf'<a id="({_ANCHOR_ID})">')
_ANCHOR_BLOCK_RE = re.compile(rf'<a id="({_ANCHOR_ID})"></a>')
_FRAGMENT_RE = re.compile(r"#[A-Za-z0-9_-]*")
# A heading right after one of the digest's anchors, as sanitize_html writes them: the anchor
# alone in a paragraph (nh3 adds rel="noopener noreferrer"), then the heading.
_ANCHORED_HEADING_RE = re.compile(
    rf'(?P<anchor><a id="(?P<id>{_ANCHOR_ID})"[^<>]*></a>(?:</p>)?\s*<h(?P<level>[1-6])>)'
    r"(?P<text>.*?)(?P<close></h(?P=level)>)",
    re.DOTALL,
)
# The query of a permalink (see permalink()); the viewer ignores it.
PERMALINK_QUERY = "section"
PERMALINK_TITLE = "Link to this section"


def _restrict_raw_html(state: StateCore) -> None:
    """Core rule: keep ``<a id="…"></a>`` anchors, turn every other raw HTML token into text."""
    for token in state.tokens:
        if token.type == "html_block":
            match = _ANCHOR_BLOCK_RE.fullmatch(token.content.strip())
            if match:
                token.content = f'<a id="{match[1]}"></a>\n'
            else:
                token.type = "paragraph_text"  # rendered escaped, see render_paragraph_text
        if token.type != "inline" or not token.children:
            continue
        children = token.children
        index = 0
        while index < len(children):
            child = children[index]
            if child.type == "html_inline":
                opener = _ANCHOR_OPEN_RE.fullmatch(child.content)
                following = children[index + 1] if index + 1 < len(children) else None
                if (
                    opener
                    and following is not None
                    and following.type == "html_inline"
                    and following.content == "</a>"
                ):
                    child.content = f'<a id="{opener[1]}">'
                    index += 2  # the pair stays raw HTML: an empty anchor
                    continue
                child.type = "text"  # rendered escaped
            index += 1


@functools.cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt
    from markdown_it.common.utils import escapeHtml

    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.after("inline", "repo_digest_restrict_raw_html", _restrict_raw_html)

    def render_paragraph_text(self, tokens, idx, options, env) -> str:  # noqa: ANN001
        return f"<p>{escapeHtml(tokens[idx].content)}</p>\n"

    md.add_render_rule("paragraph_text", render_paragraph_text)
    return md


def _keep_url(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: an ``href`` is an http(s) URL or a ``#fragment``, nothing else."""
    if attribute != "href":
        return value
    if _FRAGMENT_RE.fullmatch(value):
        return value
    scheme, sep, _ = value.partition(":")
    if sep and scheme.lower() in URL_SCHEMES and value[len(scheme) + 1 :].startswith("//"):
        return value
    return None


def sanitize_html(html: str) -> str:
    """``html`` reduced to the allow-list."""
    import nh3

    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_url,
        url_schemes=set(URL_SCHEMES),
        # Relative URLs: only in-page fragments; '/x', 'x', '//host' are dropped.
        url_relative=lambda url: url if _FRAGMENT_RE.fullmatch(url) else None,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def permalink(page_path: str, anchor: str) -> str:
    """The URL of one section of a viewer page: ``/repo-digest/o/n/2026-02-19?section=<id>#<id>``.

    The Airflow UI shows the viewer in an iframe sandboxed without ``allow-top-navigation``,
    so a ``target="_top"`` link would not open at all. What it does do (Airflow 3.3's external
    views): after every page load in the iframe it copies the iframe's path, query and
    fragment into the address bar (``/plugin/digests/repo-digest/…``), and a fresh load of
    such an address opens the iframe at that path and fragment. A link that differs from the
    page only in its ``#fragment`` is no page load (the browser only scrolls), hence the query
    naming the section: the click loads the page at the section and the address bar shows a
    URL that opens it there. Opened outside the UI, the link is the viewer page at the section.
    """
    unsafe = any(ch in page_path for ch in "?#\"'<>&")
    if not page_path.startswith("/") or page_path.startswith("//") or unsafe:
        raise ValueError(f"not a viewer page path: {page_path!r}")
    if re.fullmatch(_ANCHOR_ID, anchor) is None:
        raise ValueError(f"not an anchor id: {anchor!r}")
    return f"{page_path}?{PERMALINK_QUERY}={anchor}#{anchor}"


def add_permalinks(html: str, page_path: str) -> str:
    """``html`` (sanitize_html's output) with a permalink at the end of each anchored heading."""

    def link(match: re.Match[str]) -> str:
        href = html_lib.escape(permalink(page_path, match["id"]), quote=True)
        title = html_lib.escape(PERMALINK_TITLE, quote=True)
        return (
            f'{match["anchor"]}{match["text"]} '
            f'<a class="permalink" href="{href}" title="{title}" aria-label="{title}">🔗</a>{match["close"]}'
        )

    return _ANCHORED_HEADING_RE.sub(link, html)


def render_digest_html(markdown: str, page_path: str | None = None) -> str:
    """A digest's Markdown as sanitized HTML (a fragment, to go inside the page's ``<main>``).

    With ``page_path`` (the viewer page's absolute path, e.g. ``/repo-digest/o/n/2026-02-19``)
    each anchored heading gets a permalink to its section (add_permalinks).
    """
    html = sanitize_html(_markdown().render(markdown))
    return add_permalinks(html, page_path) if page_path is not None else html
