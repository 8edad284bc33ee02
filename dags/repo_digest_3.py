"""Airflow DAGs: the daily digest DAGs of the repos in ``repo_digest_repos`` that fall to this file.

The repo DAGs are spread over repo_digest_0.py … _3.py (see REPO_DAG_FILES in
repo_digest.dag_factory); repo_digest_all.py holds the combined report's DAG and
repo_digest_config_check.py reports bad entries, so a bad entry never takes a good DAG down.
"""

from repo_digest.dag_factory import build_repo_dags
from repo_digest.variable import load_repos

globals().update(build_repo_dags(load_repos().enabled, file_index=3))
