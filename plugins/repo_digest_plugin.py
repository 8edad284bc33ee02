"""Airflow plugin of repo_digest: the digest's timetable, and the digest viewer in the UI.

Airflow refuses to deserialize a DAG whose timetable is not registered by a plugin.
The package itself (plugins/repo_digest/) is listed in plugins/.airflowignore, so the
plugin loader does not import each of its modules as a top-level module.

Every Airflow component imports this module, so it stays cheap: the viewer's FastAPI app
is built on its first request (repo_digest.viewer.LazyViewerApp), which only the
api-server ever sees; nothing here touches the store or the network.

- ``fastapi_apps``: the viewer, mounted on the api-server under ``/repo-digest``. It checks
  the Airflow login itself (a plugin app gets no auth from Airflow).
- ``external_views``: the "Digests" entry of the UI's navigation; the UI shows the viewer's
  index in an iframe at ``/plugin/digests``.
- ``listeners``: repo_digest.listeners, in the scheduler: the ``llm_api`` pool exists, and each
  run's note names the day it digests.
The "Open digest" extra link (repo_digest.viewer.links) is attached to the ``publish`` task
by the DAG itself; Airflow 3 needs no plugin registration for it.
"""

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin
from repo_digest import listeners as run_listeners
from repo_digest.timetable import DigestDayTimetable
from repo_digest.viewer import APP_NAME, URL_PREFIX, nav_view, viewer_app

_BASE_URL = conf.get("api", "base_url", fallback="")


class RepoDigestPlugin(AirflowPlugin):
    name = "repo_digest"
    timetables = [DigestDayTimetable]
    fastapi_apps = [{"app": viewer_app, "url_prefix": URL_PREFIX, "name": APP_NAME}]
    external_views = [nav_view(_BASE_URL)]
    listeners = [run_listeners]
