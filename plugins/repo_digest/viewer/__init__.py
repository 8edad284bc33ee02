"""The digest viewer inside the Airflow UI.

The plugin module (plugins/repo_digest_plugin.py) is imported by every Airflow component
(scheduler, dag-processor, triggerer, workers), so this package's top level imports
nothing heavy: :data:`viewer_app` is an ASGI app that builds the real FastAPI app
(repo_digest.viewer.app, which imports FastAPI and Airflow's API security code) on its first
request, which only ever happens in the api-server.
"""

from __future__ import annotations

import threading
from typing import Any

from repo_digest.viewer.paths import root_path_of

# Where the plugin mounts the app on the api-server (not one of Airflow's reserved
# prefixes /api/v2, /ui, /execution, /auth, /pluginsv2).
URL_PREFIX = "/repo-digest"
APP_NAME = "Repo digest viewer"
# The UI page that shows the viewer in an iframe: {base_url}plugin/{NAV_URL_ROUTE}.
NAV_NAME = "Digests"
NAV_URL_ROUTE = "digests"


def app_path(base_url: str | None) -> str:
    """The app's absolute path on the api-server, from ``[api] base_url``: '/repo-digest'."""
    return root_path_of(base_url) + URL_PREFIX.lstrip("/")


def nav_view(base_url: str | None) -> dict[str, Any]:
    """The ``external_views`` entry: a top-level nav item whose page is the viewer, in an iframe."""
    return {
        "name": NAV_NAME,
        "href": app_path(base_url) + "/",
        "icon": app_path(base_url) + "/_static/icon.svg",
        "url_route": NAV_URL_ROUTE,
        "destination": "nav",
        "nav_top_level": True,
    }


class LazyViewerApp:
    """An ASGI app that creates the viewer's FastAPI app on its first call."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    @property
    def app(self) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    from repo_digest.viewer.app import create_app

                    self._app = create_app()
        return self._app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


viewer_app = LazyViewerApp()
