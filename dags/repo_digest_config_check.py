"""Airflow DAG-file companion of repo_digest.py: shows problems in ``repo_digest_repos``.

It defines no DAG. When the Variable has invalid entries it fails to import, so the
problem appears under "DAG Import Errors" in the Airflow UI naming each bad entry, while
repo_digest.py (a separate file, unaffected by this file's error) keeps every valid DAG.
"""

from repo_digest.config import format_errors
from repo_digest.variable import load_repos


class RepoConfigError(ValueError):
    """The tracked-repo Variable has entries that were left out."""


_errors = load_repos().errors
if _errors:
    raise RepoConfigError(format_errors(_errors))
