"""Finished LLM analyses, kept in the digest store so a rerun or backfill asks nothing twice.

Keyed by (repo, sha, model, prompt hash, language): a new prompt version or another
model is a new key. Only real LLM analyses are kept; a fallback is retried next time.
"""

from __future__ import annotations

import hashlib

from repo_digest.analysis.record import CommitAnalysis
from repo_digest.store import DigestStore


def cache_key(repo: str, sha: str, model: str, prompt_hash: str, language: str) -> str:
    raw = "\0".join((repo.lower(), sha, model, prompt_hash, language))
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class AnalysisCache:
    def __init__(self, store: DigestStore, repo: str, model: str, prompt_hash: str, language: str) -> None:
        self.store, self.repo = store, repo
        self.model, self.prompt_hash, self.language = model, prompt_hash, language

    def _path(self, sha: str):
        owner, name = self.repo.split("/")
        key = cache_key(self.repo, sha, self.model, self.prompt_hash, self.language)
        return self.store.root / "_cache" / owner / name / "analyses" / sha[:2] / f"{sha}.{key}.json"

    def get(self, sha: str) -> CommitAnalysis | None:
        text = self.store.read_text_if_exists(self._path(sha))
        return CommitAnalysis.model_validate_json(text) if text is not None else None

    def put(self, analysis: CommitAnalysis) -> None:
        if analysis.analyzer != "llm" or analysis.fallback_reason is not None:
            raise ValueError(f"only LLM analyses are cached, not {analysis.analyzer} for {analysis.sha}")
        self.store.write_text(self._path(analysis.sha), analysis.model_dump_json())
