"""Test session setup: a private AIRFLOW_HOME, set before anything imports airflow."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_home = Path(tempfile.mkdtemp(prefix="repo_digest_test_airflow_"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home}/airflow.db"
os.environ["REPO_DIGEST_STORE"] = str(_home / "digests")
os.environ["REPO_DIGEST_GIT_CACHE"] = str(_home / "git-cache")
# A Variable left in the developer's shell must not leak into the tests.
os.environ.pop("AIRFLOW_VAR_REPO_DIGEST_REPOS", None)
# Set only inside a task process; left over, every DagBag would build just one DAG.
os.environ.pop("_AIRFLOW_PARSING_CONTEXT_DAG_ID", None)
os.environ.pop("_AIRFLOW_PARSING_CONTEXT_TASK_ID", None)
for _name in [name for name in os.environ if name.startswith("AIRFLOW_CONN_")]:
    os.environ.pop(_name)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The test session's metadata DB, migrated once."""
    from airflow.utils import db

    db.resetdb()
    return _home
