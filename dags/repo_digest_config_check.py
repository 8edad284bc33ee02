"""Airflow DAG-file companion of the repo DAG files (repo_digest_0.py …): shows problems in ``repo_digest_repos``.

It defines no DAG. When the Variable has invalid entries it fails to import, so the
problem appears under "DAG Import Errors" in the Airflow UI naming each bad entry, while
the DAG files (separate files, unaffected by this file's error) keep every valid DAG.
"""

from repo_digest.config import format_errors
from repo_digest.variable import load_repos


class RepoConfigError(ValueError):
    """The tracked-repo Variable has entries that were left out."""


# The UI shows the exception's last line, "<module>.<class>: message", and this file's module
# is named by Airflow ("unusual_prefix_<hash>_repo_digest_config_check"): Python's traceback
# leaves the module out for builtins, so the line reads "RepoConfigError: <the problem>".
RepoConfigError.__module__ = "builtins"


_errors = load_repos().errors
if _errors:
    raise RepoConfigError(format_errors(_errors))
