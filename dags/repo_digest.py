"""Airflow DAGs: one daily digest DAG per entry of the Variable ``repo_digest_repos``.

All logic lives in plugins/repo_digest; problems in the Variable are reported by
repo_digest_config_check.py, so a bad entry never takes the good repos' DAGs down.
"""

from repo_digest.dag_factory import build_repo_dags
from repo_digest.variable import load_repos

globals().update(build_repo_dags(load_repos().enabled))
