"""Fixtures of the viewer tests: a store with real digests, the app, and Airflow logins.

Logins are made the way the api-server makes them: the SimpleAuthManager (Airflow's
default auth manager) is initialised like the api-server does (``init_auth_manager``),
the admin logs in with the password it generated (``SimpleAuthManagerLogin.create_token``,
what ``POST /auth/token`` runs), and other users' tokens come from the same signer
(``auth_manager.generate_jwt``). The tests' AIRFLOW_HOME and metadata DB come from
tests/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugins.repo_digest.viewer.viewer_samples import PREFIX, Stored, fill_store


@pytest.fixture
def stored(tmp_path: Path) -> Stored:
    return fill_store(tmp_path / "store")


@pytest.fixture(scope="session")
def auth_manager(airflow_db):
    """Airflow's configured auth manager (SimpleAuthManager), initialised as the api-server does."""
    from airflow.api_fastapi.app import init_auth_manager

    return init_auth_manager()


@pytest.fixture(scope="session")
def admin_token(auth_manager) -> str:
    """The admin's JWT from a real SimpleAuthManager login with its generated password."""
    from airflow.api_fastapi.auth.managers.simple.datamodels.login import LoginBody
    from airflow.api_fastapi.auth.managers.simple.services.login import SimpleAuthManagerLogin

    password = auth_manager.get_passwords()["admin"]
    return SimpleAuthManagerLogin.create_token(body=LoginBody(username="admin", password=password))


@pytest.fixture(scope="session")
def make_token(auth_manager):
    """A JWT for a SimpleAuthManager user with ``role`` (None: a user without any permission)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    def make(role: str | None, *, username: str = "someone", expires_in: int = 3600) -> str:
        user = SimpleAuthManagerUser(username=username, role=role)
        return auth_manager.generate_jwt(user, expiration_time_in_seconds=expires_in)

    return make


@pytest.fixture
def client(stored: Stored, auth_manager):
    """The viewer mounted under /repo-digest in a parent app, as the api-server mounts it."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from repo_digest.viewer.app import create_app

    parent = FastAPI()
    parent.mount(PREFIX, create_app(store_url=stored.url))
    with TestClient(parent, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def admin(client, admin_token):
    """The client, logged in through the UI's session cookie."""
    client.cookies.set("_token", admin_token)
    return client
