from __future__ import annotations

from pathlib import Path

import pytest

from repo_digest.analysis.prompts import PromptError, load_prompt, parse_prompt

GOOD = """---
name: p
language: en
version: 3
variables:
  user: [who]
---
<<<system>>>
Be brief.
<<<user>>>
Hello {{ who }}.
"""


def test_sections_render_and_the_hash_is_the_files():
    prompt = parse_prompt(GOOD, Path("p.en.md"))
    assert prompt.version == 3 and list(prompt.sections) == ["system", "user"]
    assert prompt.render("user", who="Ada") == "Hello Ada.\n"
    assert prompt.content_hash == parse_prompt(GOOD, Path("x")).content_hash
    assert prompt.content_hash != parse_prompt(GOOD.replace("brief", "short"), Path("x")).content_hash


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (GOOD.replace("Hello {{ who }}.", "Hello {{ who }} {{ when }}."), "undeclared variable(s) when"),
        (GOOD.replace("Hello {{ who }}.", "Hello."), "declared but unused variable(s) who"),
        (GOOD.replace("---\nname", "name", 1), "front matter"),
        (GOOD.replace("version: 3\n", ""), "lacks 'version'"),
        (GOOD.replace("<<<system>>>\n", "stray\n<<<system>>>\n"), "text before the first"),
        (GOOD.replace("  user: [who]", "  user: [who]\n  repair: [x]"), "missing section(s) repair"),
    ],
)
def test_malformed_prompts_are_errors_naming_the_file(text, fragment):
    with pytest.raises(PromptError) as error:
        parse_prompt(text, Path("include/prompts/p.en.md"))
    assert fragment in str(error.value) and "p.en.md" in str(error.value)


def test_a_missing_variable_at_render_time_is_an_error():
    prompt = parse_prompt(GOOD, Path("p.en.md"))
    with pytest.raises(PromptError, match="who"):
        prompt.render("user")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_shipped_analysis_prompts_load(language):
    prompt = load_prompt("analyze_commit", language)
    assert {"system", "user", "repair"} <= set(prompt.sections)
    assert prompt.language == language and prompt.version >= 1
    assert "<commit_data>" in prompt.render("system")


def test_both_languages_declare_the_same_variables():
    import yaml

    def declared(language):
        text = load_prompt("analyze_commit", language).path.read_text(encoding="utf-8")
        return yaml.safe_load(text.split("---")[1])["variables"]

    # parse_prompt already holds each file's sections to what it declares.
    assert declared("zh") == declared("en")
