from __future__ import annotations

import socket

import pytest

from repo_digest import tokens


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network refused in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_counts_with_the_real_o200k_tokenizer_offline(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    tokens.encoding.cache_clear()
    try:
        # Known o200k_base token counts.
        assert tokens.count_tokens("hello world") == 2
        assert tokens.encoding().encode("hello world") == [24912, 2375]
        assert len(list((tmp_path / "tiktoken").iterdir())) == 1
    finally:
        tokens.encoding.cache_clear()


def test_special_token_text_in_a_diff_is_plain_text():
    assert tokens.count_tokens("+ '<|endoftext|>'") > 1


@pytest.mark.parametrize("limit", [1, 10, 100, 1000])
def test_clipping_fits_and_prefers_line_ends(limit):
    text = "".join(f"line {i}: 你好 def f(x): return x + {i}\n" for i in range(500))
    clipped = tokens.clip_to_tokens(text, limit)
    assert tokens.count_tokens(clipped) <= limit
    assert text.startswith(clipped)
    if limit >= 100:
        assert clipped.endswith("\n")


def test_text_within_the_limit_is_unchanged():
    assert tokens.clip_to_tokens("short", 10) == "short"
