"""The plugin's registration of the viewer, and the viewer inside Airflow's own api-server app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.plugins.repo_digest.digest_samples import DAY
from tests.plugins.repo_digest.viewer.viewer_samples import SGLANG, fill_store

ROOT = Path(__file__).resolve().parents[4]
HTML = {"Accept": "text/html"}


def test_importing_the_plugin_stays_cheap(tmp_path):
    """Every Airflow component imports the plugin: no FastAPI, no API security code, no store."""
    store = tmp_path / "never-created"
    code = (
        "import sys, json; sys.path[:0] = ['plugins']; import repo_digest_plugin; "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'markdown_it', 'nh3') or m.startswith(('repo_digest.viewer.app', "
        "'airflow.api_fastapi.core_api.security', 'repo_digest.store')))))"
    )
    env = {**os.environ, "REPO_DIGEST_STORE": str(store), "AIRFLOW_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=True)  # fmt: skip
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    assert not store.exists()


def test_the_plugin_mounts_the_viewer_and_adds_a_nav_entry():
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse, FastAPIAppResponse

    from repo_digest.viewer import LazyViewerApp
    from repo_digest_plugin import RepoDigestPlugin

    (app,) = RepoDigestPlugin.fastapi_apps
    assert isinstance(app["app"], LazyViewerApp)
    assert app["url_prefix"] == "/repo-digest"
    assert not any(app["url_prefix"].startswith(prefix) for prefix in RESERVED_URL_PREFIXES)
    FastAPIAppResponse.model_validate({**app, "app": "x"})
    (view,) = RepoDigestPlugin.external_views
    assert ExternalViewResponse.model_validate(view).destination == "nav"
    assert view == {
        "name": "Digests",
        "href": "/repo-digest/",
        "icon": "/repo-digest/_static/icon.svg",
        "url_route": "digests",
        "destination": "nav",
        "nav_top_level": True,
    }


@pytest.mark.parametrize(
    ("base_url", "href"),
    [("", "/repo-digest/"), (None, "/repo-digest/"), ("https://example.com/airflow", "/airflow/repo-digest/")],
)
def test_the_nav_entry_follows_the_api_base_url(base_url, href):
    from repo_digest.viewer import nav_view

    assert nav_view(base_url)["href"] == href
    assert nav_view(base_url)["icon"] == href + "_static/icon.svg"


@pytest.fixture
def api_server(airflow_db, auth_manager, tmp_path, monkeypatch):
    """Airflow's api-server app (create_app), which loads the plugins folder and mounts the viewer."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    stored = fill_store(tmp_path / "store")
    monkeypatch.setenv("REPO_DIGEST_STORE", str(stored.path))  # the mounted viewer uses the default store
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def test_the_api_server_lists_the_plugin_for_the_ui(api_server, admin_token):
    api_server.cookies.set("_token", admin_token)
    plugins = {p["name"]: p for p in api_server.get("/api/v2/plugins").json()["plugins"]}
    plugin = plugins["repo_digest"]
    assert plugin["fastapi_apps"] == [
        {"app": "repo_digest.viewer.LazyViewerApp", "url_prefix": "/repo-digest", "name": "Repo digest viewer"}
    ]
    (view,) = plugin["external_views"]
    assert (view["name"], view["url_route"], view["destination"], view["href"]) == (
        "Digests", "digests", "nav", "/repo-digest/",
    )  # fmt: skip
    assert api_server.get("/api/v2/plugins/importErrors").json()["total_entries"] == 0


def test_in_the_api_server_a_browser_logs_in_and_reads_a_digest(api_server, auth_manager):
    page = f"/repo-digest/{SGLANG}/{DAY.isoformat()}"
    # Not logged in: to the auth manager's login page, with the way back.
    response = api_server.get(page, headers=HTML)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/auth/login"
    assert urlsplit(parse_qs(location.query)["next"][0]).path == page
    assert api_server.get(page).status_code == 401
    # Logging in through Airflow's own endpoint gives the token the UI keeps in its cookie.
    password = auth_manager.get_passwords()["admin"]
    login = api_server.post("/auth/token", json={"username": "admin", "password": password})
    assert login.status_code == 201
    api_server.cookies.set("_token", login.json()["access_token"])
    response = api_server.get(page, headers=HTML)
    assert response.status_code == 200
    assert '<main id="digest"' in response.text and "<table>" in response.text
    assert "script-src" not in response.headers["content-security-policy"]
    assert api_server.get("/repo-digest/", headers=HTML).status_code == 200
    assert api_server.get("/repo-digest/_cache/evil/2026-02-19", headers=HTML).status_code == 404
    # The UI's own page for the nav entry is the SPA; it shows the viewer in an iframe.
    assert api_server.get("/plugin/digests", headers=HTML).status_code == 200
