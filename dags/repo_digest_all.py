"""Airflow DAG ``repo_digest__all``: the combined daily report of every tracked repository.

Scheduled on the digest assets that the repo DAGs (repo_digest_0.py …) update.
"""

from repo_digest.dag_factory import build_combined_dags
from repo_digest.variable import load_repos

globals().update(build_combined_dags(load_repos().enabled))
