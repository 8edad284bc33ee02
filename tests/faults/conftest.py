"""Fixtures of the fault matrix; the verdicts and run helpers are in tests/faults/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.git_fixture import FixtureRepo, build_fixture_repo
from tests.fakes.github_api import FakeGitHub
from tests.faults.helpers import REPO, TOKEN


# --- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory) -> FixtureRepo:
    return build_fixture_repo(tmp_path_factory.mktemp("fixture") / "widgets")


@pytest.fixture(scope="module")
def github_server(fixture_repo) -> Iterator[FakeGitHub]:
    # A small page size makes a busy day span several pages of the commit list.
    with FakeGitHub(token=TOKEN, max_per_page=10) as server:
        server.add_repo(REPO, fixture_repo.path, logins=fixture_repo.logins)
        yield server
        assert not server.errors, server.errors[0]


@pytest.fixture
def github(github_server) -> Iterator[FakeGitHub]:
    """The module's fake GitHub, without faults and with no requests recorded yet."""
    github_server.fault = github_server.after = None
    github_server.clear_requests()
    yield github_server
    github_server.fault = github_server.after = None


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REPO_DIGEST_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("REPO_DIGEST_GIT_CACHE", str(tmp_path / "git-cache"))
    return tmp_path / "store"


