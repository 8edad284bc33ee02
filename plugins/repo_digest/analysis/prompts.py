"""Prompt files: loaded, validated, rendered, and identified by the hash of their content.

A prompt file (include/prompts/<name>.<language>.md) is a YAML front matter, then sections
introduced by ``<<<section>>>`` lines; each section is a Jinja2 template. The front matter
declares the variables each section uses: a section using an undeclared variable, or a
declared variable that no section uses, is an error naming the file, so a renamed
variable can never silently render as empty. Rendering with a variable missing is an
error too (StrictUndefined).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SECTION_RE = re.compile(r"^<<<([a-z_]+)>>>\s*$", re.MULTILINE)


class PromptError(ValueError):
    pass


def prompts_dir() -> Path:
    configured = os.environ.get("REPO_DIGEST_INCLUDE_DIR")
    base = Path(configured) if configured else Path(__file__).resolve().parents[3] / "include"
    return base / "prompts"


@dataclass(frozen=True)
class Prompt:
    name: str
    language: str
    version: int
    path: Path
    content_hash: str  # sha256 of the file: what a cached analysis is keyed by
    sections: dict[str, Any]  # section name -> jinja2.Template

    def render(self, section: str, **variables: Any) -> str:
        if section not in self.sections:
            raise PromptError(f"{self.path}: no section <<<{section}>>>")
        import jinja2

        try:
            return self.sections[section].render(**variables).strip() + "\n"
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{self.path} <<<{section}>>>: {exc}") from None


def _front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    import yaml

    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if not match:
        raise PromptError(f"{path}: must start with a '---' front matter block")
    meta = yaml.safe_load(match.group(1)) or {}
    if not isinstance(meta, dict):
        raise PromptError(f"{path}: the front matter must be a mapping")
    return meta, text[match.end() :]


def parse_prompt(text: str, path: Path) -> Prompt:
    import jinja2
    from jinja2 import meta as jinja_meta

    meta, body = _front_matter(text, path)
    for key in ("name", "version", "language", "variables"):
        if key not in meta:
            raise PromptError(f"{path}: front matter lacks '{key}'")
    declared: dict[str, list[str]] = meta["variables"]
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    parts = _SECTION_RE.split(body)
    if parts[0].strip():
        raise PromptError(f"{path}: text before the first <<<section>>>")
    sections: dict[str, Any] = {}
    for name, source in zip(parts[1::2], parts[2::2], strict=True):
        used = jinja_meta.find_undeclared_variables(environment.parse(source))
        wanted = set(declared.get(name, []))
        if used - wanted:
            raise PromptError(f"{path} <<<{name}>>>: undeclared variable(s) {', '.join(sorted(used - wanted))}")
        if wanted - used:
            raise PromptError(f"{path} <<<{name}>>>: declared but unused variable(s) {', '.join(sorted(wanted - used))}")
        sections[name] = environment.from_string(source)
    if set(declared) - set(sections):
        raise PromptError(f"{path}: variables declared for missing section(s) {', '.join(sorted(set(declared) - set(sections)))}")
    return Prompt(
        name=str(meta["name"]),
        language=str(meta["language"]),
        version=int(meta["version"]),
        path=path,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        sections=sections,
    )


@functools.cache
def load_prompt(name: str, language: str) -> Prompt:
    path = prompts_dir() / f"{name}.{language}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"no prompt file {path}") from None
    prompt = parse_prompt(text, path)
    if (prompt.name, prompt.language) != (name, language):
        raise PromptError(f"{path}: front matter says {prompt.name}.{prompt.language}")
    return prompt
