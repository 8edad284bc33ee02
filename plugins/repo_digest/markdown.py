"""Small pure helpers that put untrusted text into Markdown without letting it act as Markdown.

Commit titles, author names and model answers are arbitrary text. Everything here aims at
one property: what goes in renders as the literal text, on GitHub (cmark-gfm) and in
markdown-it-py, wherever the template puts it (a heading, a list item, a table cell, link
text). Every internal link points at an explicit ``<a id="…"></a>`` anchor, so links never
depend on a renderer's own heading slugs (the original report's TOC links all pointed
nowhere).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from repo_digest.analysis.record import Importance

ELLIPSIS = "…"

# Line-breaking whitespace collapses to one space. Other spaces (NBSP, the ideographic
# space U+3000) are kept: they are text, and Chinese titles use them.
_BREAKING_WS_RE = re.compile(r"[ \t\n\r\f\v\x1c-\x1f\x85\u2028\u2029]+")
# Always escaped: they open code, emphasis, links, tables, strikethrough, headings (also
# an ATX heading's closing '#'), and GitHub's $math$.
_ALWAYS_ESCAPED = frozenset("\\`*[]|~#$")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# At the start of a line these open a list, a setext underline or a thematic break.
_LEADING_MARKER_RE = re.compile(r"^(?:[-+=]|(\d{1,9})([.)]))")


def _clean(text: str) -> str:
    """Collapse line breaks and tabs, drop other control characters, trim the ends."""
    text = _BREAKING_WS_RE.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return text.strip()


def _intraword(text: str, index: int) -> bool:
    # An '_' between two letters/digits can neither open nor close emphasis (CommonMark
    # flanking rules), so snake_case identifiers stay readable in the raw Markdown.
    return 0 < index < len(text) - 1 and text[index - 1].isalnum() and text[index + 1].isalnum()


def md_inline(text: str) -> str:
    """``text`` as Markdown that renders as exactly that text, on one line."""
    text = _clean(text)
    out: list[str] = []
    for index, ch in enumerate(text):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])  # no raw HTML, no <autolink>
        elif ch in _ALWAYS_ESCAPED or (ch == "_" and not _intraword(text, index)):
            out.append("\\" + ch)
        elif ch == "!" and index == len(text) - 1:
            # '[' is always escaped, so '![' cannot form inside the text; a trailing '!'
            # could still meet a '[' the template writes right after it.
            out.append("\\!")
        else:
            out.append(ch)
    escaped = "".join(out)
    marker = _LEADING_MARKER_RE.match(escaped)
    if marker:
        if marker.group(1):  # "1." / "1)" would start an ordered list
            escaped = marker.group(1) + "\\" + marker.group(2) + escaped[marker.end() :]
        else:
            escaped = "\\" + escaped
    return escaped


def md_table_cell(text: str) -> str:
    """``text`` for a GFM table cell.

    md_inline already escapes every '|' (GFM splits cells on an unescaped pipe, even
    inside code spans) and puts everything on one line, which is all a cell needs; this
    name says where the text goes, so a later cell-only rule has one place to live.
    """
    return md_inline(text)


def md_code(text: str) -> str:
    """``text`` as an inline code span (not for table cells: a '|' there splits the cell)."""
    text = _clean(text)
    if not text:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # A space on each side keeps a leading/trailing backtick apart from the fence;
    # CommonMark strips exactly one on each side again.
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# A code span as CommonMark reads one: a run of backticks, then the shortest text up to a
# run of the same length ("`` a `b` ``" is one span, as the rule-based writer quotes paths).
_CODE_SPAN_RE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def _text_piece(piece: str) -> str:
    """md_inline for a piece between code spans, keeping the space that separates it from them."""
    if not piece.strip():
        return " " if piece else ""
    lead = " " if piece[0] == " " else ""
    trail = " " if piece[-1] == " " else ""
    return lead + md_inline(piece) + trail


def md_prose(text: str) -> str:
    """Analysis text: `code` spans stay code (their content is literal), the rest is md_inline.

    Analyzers quote paths and identifiers in backticks; escaping those would show the
    backticks instead of code. An unpaired backtick is escaped like any other text.
    Not for table cells: a '|' inside a code span still splits a GFM cell.
    """
    text = _clean(text)
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN_RE.finditer(text):
        content = match.group(2)
        if not content.strip():
            continue
        if content[0] == " " and content[-1] == " ":  # CommonMark strips one space on each side
            content = content[1:-1]
        out.append(_text_piece(text[position : match.start()]))
        out.append(md_code(content))
        position = match.end()
    out.append(_text_piece(text[position:]))
    return "".join(out).strip()


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospace font: East Asian wide characters count 2."""
    return sum(_width(ch) for ch in text)


def shorten(text: str, limit: int = 40) -> str:
    """Cut ``text`` to at most ``limit`` columns (wide characters count 2), ending with '…'.

    Works on raw text: shorten first, escape after, so no half escape sequence or entity
    is left at the cut. Line breaks collapse first so the limit counts what is shown.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    text = _clean(text)
    if display_width(text) <= limit:
        return text
    budget = limit - display_width(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for ch in text:
        width = _width(ch)
        if used + width > budget:
            break
        kept.append(ch)
        used += width
    return "".join(kept).rstrip() + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for a ``<…>`` link destination, or None for anything else."""
    if not url:
        return None
    url = url.strip()
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode what could end or escape the <…> destination ('<', '>', '\\') and
    # anything else outside RFC 3986; '%' stays so existing escapes are not doubled.
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def md_link(text_md: str, url: str | None) -> str:
    """``[text](<url>)`` when ``url`` is http(s); otherwise the text and the URL as code.

    ``text_md`` must already be Markdown-safe (labels, or md_inline output).
    """
    safe = safe_url(url)
    if safe is not None:
        return f"[{text_md}](<{safe}>)"
    return f"{text_md} ({md_code(url)})" if url else text_md


# --- anchors -------------------------------------------------------------------------
# Every anchor starts with the repo anchor, so sections stay unique in a combined report
# with one section per repo.

_NOT_ANCHOR_RE = re.compile(r"[^a-z0-9-]")


def repo_anchor(repo: str) -> str:
    """'sgl-project/sglang' -> 'repo-sgl-project-sglang'."""
    return "repo-" + _NOT_ANCHOR_RE.sub("-", repo.lower())


def commit_anchor(repo: str, sha: str) -> str:
    return f"{repo_anchor(repo)}-{_NOT_ANCHOR_RE.sub('-', sha[:12].lower())}"


def group_anchor(repo: str, importance: Importance | str) -> str:
    return f"{repo_anchor(repo)}-{Importance(importance).value}"


def stats_anchor(repo: str) -> str:
    return f"{repo_anchor(repo)}-stats"


def toc_anchor(repo: str) -> str:
    return f"{repo_anchor(repo)}-toc"


_ANCHOR_ID_RE = re.compile(r'<a id="([^"<>]*)"></a>')
# A ']' preceded by an even number of backslashes really closes link text.
_FRAGMENT_LINK_RE = re.compile(r"(?<!\\)(?:\\\\)*\]\(#([^)\s]*)\)")


def anchor_ids(markdown: str) -> list[str]:
    """The ids of the explicit ``<a id="…"></a>`` anchors, in document order."""
    return _ANCHOR_ID_RE.findall(markdown)


def unresolved_links(markdown: str) -> list[str]:
    """Fragments of ``](#frag)`` links with no ``<a id="frag"></a>`` in the document."""
    ids = set(anchor_ids(markdown))
    return [fragment for fragment in _FRAGMENT_LINK_RE.findall(markdown) if fragment not in ids]
