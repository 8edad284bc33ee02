"""Airflow plugin of repo_digest: registers the digest's timetable in every component.

Airflow refuses to deserialize a DAG whose timetable is not registered by a plugin.
The package itself (plugins/repo_digest/) is listed in plugins/.airflowignore, so the
plugin loader does not import each of its modules as a top-level module.
"""

from airflow.plugins_manager import AirflowPlugin
from repo_digest.timetable import DigestDayTimetable


class RepoDigestPlugin(AirflowPlugin):
    name = "repo_digest"
    timetables = [DigestDayTimetable]
