"""Where commits come from: the GitHub REST API (PyGithub) or any git URL or path."""

from __future__ import annotations


class SourceError(RuntimeError):
    """Reading a repository failed; the message names the repository, what failed and how to recover.

    ``permanent`` errors (refused credentials, a repository or branch that does not exist)
    cannot be fixed by trying again: fetch_commits fails at once instead of spending its
    retries, and the fix is the user's (a connection, an entry of the Variable).
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
