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
"""

from __future__ import annotations

import functools
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


def render_digest_html(markdown: str) -> str:
    """A digest's Markdown as sanitized HTML (a fragment, to go inside the page's ``<main>``)."""
    return sanitize_html(_markdown().render(markdown))
