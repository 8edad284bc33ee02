from __future__ import annotations

from repo_digest.analysis.grounding import ground_text, known_paths

KNOWN = known_paths(["src/scheduler/core.py", "tests/test_core.py", "docs/guide.md"])


def test_changed_files_their_folders_and_names_pass():
    text = "Edits `src/scheduler/core.py`, `src/scheduler/`, `src`, `core.py` and `tests/test_core.py`."
    assert ground_text(text, KNOWN, "en") == (text, [])


def test_identifiers_and_urls_are_not_paths():
    text = "Calls `torch.get_device_module()` and `update_weights`; see `https://x.y/z`."
    assert ground_text(text, KNOWN, "en") == (text, [])


def test_an_invented_path_is_unwrapped_and_flagged():
    text, unknown = ground_text("Also rewrites `src/other/thing.py` and `setup.cfg`.", KNOWN, "zh")
    assert unknown == ["src/other/thing.py", "setup.cfg"]
    assert "`src/other/thing.py`" not in text and "src/other/thing.py（⚠ 不在本提交的改动文件中）" in text
