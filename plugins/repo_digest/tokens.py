"""Token counting with tiktoken, offline.

tiktoken downloads its BPE file on first use, which fails on machines without internet.
The project ships OpenAI's o200k_base file (include/tokenizers/, byte-identical: tiktoken
checks its sha256) and puts it where tiktoken's cache would keep a download, so the real
tokenizer runs without the network. o200k_base is the encoding of current OpenAI models;
for other providers' models it is an estimate, good enough for a budget.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

ENCODING = "o200k_base"
_SOURCE_URL = f"https://openaipublic.blob.core.windows.net/encodings/{ENCODING}.tiktoken"
_BUNDLED = Path(__file__).resolve().parents[2] / "include" / "tokenizers" / f"{ENCODING}.tiktoken.gz"


def _cache_dir() -> Path:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured:
        return Path(configured)
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    path = Path(home) / "repo_digest_cache" / "tiktoken"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(path)
    return path


def _seed_cache() -> None:
    """Put the bundled BPE file where tiktoken looks for its cached download."""
    cache = _cache_dir()
    target = cache / hashlib.sha1(_SOURCE_URL.encode()).hexdigest()
    if target.exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(gzip.decompress(_BUNDLED.read_bytes()))
    os.replace(temporary, target)  # atomic: parallel tasks may seed at once


@functools.cache
def encoding() -> tiktoken.Encoding:
    import tiktoken

    _seed_cache()
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    # Special-token text inside a diff is just text: never refuse or treat it specially.
    return len(encoding().encode(text, disallowed_special=()))


def clip_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens``, cut at a line end when there is one."""
    enc = encoding()
    tokens = enc.encode(text, disallowed_special=())
    if len(tokens) <= max_tokens:
        return text
    head = enc.decode(tokens[:max_tokens], errors="ignore")
    cut = head.rfind("\n")
    head = head[: cut + 1] if cut > 0 else head
    # Re-encoding a prefix can merge differently at its end; shrink until it fits.
    while head and count_tokens(head) > max_tokens:
        head = head[: int(len(head) * 0.95)]
    return head
