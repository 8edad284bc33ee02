"""The short message chat targets get: counts, the high-importance titles, a link.

Every chat service limits a message's size (see each service's module). A digest of any
size is made to fit by *summarising*: fewer titles, then "and N more"; each title is
shortened at a word boundary (with "…") to :data:`TITLE_LIMIT`; nothing is ever cut
mid-word or mid-link. :func:`fit` finds the most titles whose payload still fits.

Text here is plain (no markup): each service escapes it for its own format. Commit URLs
are only linked when they are http(s) (a hostile ``javascript:`` URL stays text).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from repo_digest.analysis.record import Importance
from repo_digest.digest import Digest
from repo_digest.render import load_labels

TITLE_LIMIT = 120
ELLIPSIS = "…"

LABELS = {
    "zh": {
        "heading": "{repo} 每日摘要 · {day}",
        "update": "【更新】",
        "high": "🔴 高重要性变更",
        "no_high": "今日没有高重要性变更。",
        "more": "……另有 {count} 条高重要性变更",
        "link": "查看完整摘要",
        "untitled": "（无标题）",
    },
    "en": {
        "heading": "{repo} daily digest · {day}",
        "update": "[Updated] ",
        "high": "🔴 High-importance changes",
        "no_high": "No high-importance changes today.",
        "more": "…and {count} more high-importance changes",
        "link": "Full digest",
        "untitled": "(no title)",
    },
}


@dataclass(frozen=True)
class ChatItem:
    title: str
    url: str | None


@dataclass(frozen=True)
class ChatSummary:
    language: str
    update: bool
    heading: str  # with the update marker when ``update``
    counts: str
    high_heading: str
    no_high: str
    items: tuple[ChatItem, ...]  # at most max_titles
    total_high: int
    link_label: str
    digest_url: str | None

    def more(self, shown: int) -> str | None:
        hidden = self.total_high - shown
        return LABELS[self.language]["more"].format(count=hidden) if hidden > 0 else None


def clean_text(text: str) -> str:
    """One line of printable text: line breaks and tabs become spaces, control characters go."""
    text = "".join(" " if ch in "\t\n\r\f\v\x85\u2028\u2029" else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch == "\u200d")
    return " ".join(text.split())


def _word_char(ch: str) -> bool:
    # Letters and digits of space-separated scripts; CJK characters are words of their own.
    return (ch.isalnum() or ch == "_") and not _is_cjk(ch)


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
    )


def shorten_words(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut between words and marked with '…'."""
    text = clean_text(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if _word_char(cut[-1]) and _word_char(text[limit - 1]):
        # The cut fell inside a word: back up to the last break, if there is one not too far.
        breaks = [i for i in range(len(cut) - 1, 0, -1) if not _word_char(cut[i])]
        if breaks and breaks[0] >= limit // 3:
            cut = cut[: breaks[0] + (0 if cut[breaks[0]].isspace() else 1)]
    return cut.rstrip(" ,;:-–—/|") + ELLIPSIS


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL without spaces or control characters."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def build_summary(digest: Digest, digest_url: str | None, *, update: bool, max_titles: int) -> ChatSummary:
    labels = LABELS[digest.language]
    by_importance = digest.stats.by_importance
    # The digest's own counts line (its label file), so chat and report say the same.
    counts = load_labels(digest.language)["stats"]["counts"].format(
        total=digest.stats.total,
        high=by_importance.get(Importance.HIGH, 0),
        medium=by_importance.get(Importance.MEDIUM, 0),
        low=by_importance.get(Importance.LOW, 0),
    )
    high = [commit for commit in digest.commits if commit.analysis.importance is Importance.HIGH]
    items = tuple(
        ChatItem(shorten_words(commit.title, TITLE_LIMIT) or labels["untitled"], safe_url(commit.url))
        for commit in high[:max_titles]
    )
    heading = labels["heading"].format(repo=digest.repo, day=digest.day.isoformat())
    return ChatSummary(
        language=digest.language,
        update=update,
        heading=(labels["update"] + heading) if update else heading,
        counts=counts,
        high_heading=labels["high"],
        no_high=labels["no_high"],
        items=items,
        total_high=len(high),
        link_label=labels["link"],
        digest_url=safe_url(digest_url),
    )


Payload = TypeVar("Payload")


def fit(build: Callable[[int], Payload], fits: Callable[[Payload], bool], count: int) -> Payload:
    """``build(n)`` for the largest ``n <= count`` whose payload ``fits`` (fewer titles fit better)."""
    best = build(0)
    if not fits(best):
        raise ValueError("even a message without any title exceeds the service's limit")
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        candidate = build(middle)
        if fits(candidate):
            low, best = middle, candidate
        else:
            high = middle - 1
    return best
