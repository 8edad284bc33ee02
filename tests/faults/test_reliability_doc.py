"""docs/RELIABILITY.md names tests as proof: each must exist, and each fault test must be named there."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.faults.helpers import ROOT

DOC = ROOT / "docs" / "RELIABILITY.md"
# A node id in backticks: tests/…/test_x.py::test_name, optionally with its parameters.
NODE_ID_RE = re.compile(r"`(tests/[\w/]+\.py::\w+(?:\[[^\]`]+\])?)`")
THIS_FILE = "tests/faults/test_reliability_doc.py"


@pytest.fixture(scope="module")
def named() -> list[str]:
    ids = NODE_ID_RE.findall(DOC.read_text(encoding="utf-8"))
    assert ids, f"{DOC} names no tests"
    return ids


@pytest.fixture(scope="module")
def collected(named) -> set[str]:
    """Every node id pytest collects from the files the doc names, and from tests/faults."""
    files = sorted({node.split("::")[0] for node in named} | {"tests/faults"})
    missing = [path for path in files if not (ROOT / path).exists()]
    assert missing == [], f"files named in {DOC.name} do not exist: {missing}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return {line.strip() for line in result.stdout.splitlines() if "::" in line}


def test_every_test_named_in_the_reliability_doc_exists(named, collected):
    functions = {node.split("[")[0] for node in collected}
    missing = [node for node in named if node not in collected and node not in functions]
    assert missing == [], f"{DOC.name} names tests that do not exist: {missing}"


def test_every_fault_test_is_in_the_reliability_doc(named, collected):
    named_functions = {node.split("[")[0] for node in named}
    faults = {node for node in collected if node.startswith("tests/faults/") and not node.startswith(THIS_FILE)}
    unnamed = sorted(node for node in faults if node not in named and node.split("[")[0] not in named_functions)
    assert unnamed == [], f"fault tests missing from {DOC.name}: {unnamed}"
