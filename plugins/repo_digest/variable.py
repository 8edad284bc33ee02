"""Reading ``repo_digest_repos`` at DAG-parse time, the same way in every process.

Inside Airflow's components (dag-processor, workers) ``airflow.sdk.Variable`` asks the
supervisor, which reads the metadata DB. In a plain process, such as ``airflow dags test``
or a DagBag built by a script, it sees only environment variables and external secrets
backends, so a Variable set in the UI would look absent and the repo DAGs would vanish
exactly where users debug a day. There we also ask the metadata DB directly.
"""

from __future__ import annotations

import logging
import os

from repo_digest.config import VARIABLE_KEY, ParsedRepos, parse_repo_entries

log = logging.getLogger(__name__)


def _in_airflow_component() -> bool:
    import sys

    task_runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None) if task_runner else None
    return comms is not None or os.environ.get("_AIRFLOW_PROCESS_CONTEXT") == "server"


def read_repos_variable() -> str | None:
    """The Variable's raw text, or None when it is not set anywhere."""
    from airflow.sdk import Variable

    value = Variable.get(VARIABLE_KEY, default=None)
    if value is None and not _in_airflow_component():
        from airflow.secrets.metastore import MetastoreBackend

        try:
            value = MetastoreBackend().get_variable(VARIABLE_KEY)
        except Exception as exc:  # no metadata DB here (e.g. not migrated yet): same as unset
            log.warning("Could not read Variable %s from the metadata DB: %s", VARIABLE_KEY, exc)
    return value


def load_repos() -> ParsedRepos:
    """Read and parse the Variable once. Silent about problems: every task process parses
    its DAG file, and a bad entry would otherwise be an ERROR in every task log of every
    healthy DAG. dags/repo_digest_config_check.py reports them, once per parse, as the
    import error of its own file; ``python -m repo_digest.admin check`` lists them."""
    return parse_repo_entries(read_repos_variable())
