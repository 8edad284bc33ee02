"""Token counting that needs no network.

An estimate, deliberately on the high side: one token per three UTF-8 bytes. BPE
tokenizers average about four bytes per token on English and code and about three on
CJK text, so a budget checked with this estimate holds for the real tokenizer too.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 3


def count_tokens(text: str) -> int:
    return -(-len(text.encode("utf-8", errors="replace")) // BYTES_PER_TOKEN)


def clip_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens``, cut at a line end when there is one."""
    limit = max_tokens * BYTES_PER_TOKEN
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    head = data[:limit].decode("utf-8", errors="ignore")
    cut = head.rfind("\n")
    return head[: cut + 1] if cut > 0 else head
