"""Keeping an analysis to the commit's own files.

A model may name a file the commit never touched. Every backticked token that looks like
a path is checked against the commit's changed files (their old names, their folders,
their bare names); one that matches none is unwrapped from its code span and flagged in
the text, and listed in the record, so a reader never mistakes it for a changed file.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

_CODE_RE = re.compile(r"`([^`\s]+)`")
# Extensions that make a slash-less token a file name rather than an identifier (a.b()).
_FILE_EXTENSIONS = frozenset(
    "py pyi js jsx ts tsx go rs java kt scala c h cc cpp hpp cu cuh m mm swift rb php cs sh bash zsh ps1 sql proto "
    "md rst txt adoc json yaml yml toml ini cfg conf lock xml html css scss vue svelte gradle cmake mk bzl".split()
)
FLAGS = {
    "zh": "（⚠ 不在本提交的改动文件中）",
    "en": " (⚠ not among this commit's changed files)",
}


def known_paths(paths: Iterable[str]) -> frozenset[str]:
    known: set[str] = set()
    for path in paths:
        known.add(path)
        known.add(posixpath.basename(path))
        folder = posixpath.dirname(path)
        while folder:
            known.update((folder, folder + "/"))
            folder = posixpath.dirname(folder)
    return frozenset(known)


def _looks_like_path(token: str) -> bool:
    if token.startswith(("http://", "https://")) or token.endswith(")"):
        return False
    if "/" in token:
        return True
    _, dot, extension = token.rpartition(".")
    return bool(dot) and extension.lower() in _FILE_EXTENSIONS


def ground_text(text: str, known: frozenset[str], language: str) -> tuple[str, list[str]]:
    """``text`` with unknown paths flagged, and the unknown paths."""
    unknown: list[str] = []

    def check(match: re.Match[str]) -> str:
        token = match.group(1)
        candidate = token.lstrip("./") if token.startswith("./") else token
        if not _looks_like_path(token) or candidate in known or candidate.rstrip("/") in known:
            return match.group(0)
        unknown.append(token)
        return token + FLAGS[language]

    return _CODE_RE.sub(check, text), unknown
