"""The viewer's login and permission checks: Airflow's own, applied to a plugin app.

A plugin's FastAPI app is mounted on the api-server without any of the core API's
dependencies, so every viewer route depends on :func:`current_user`, which calls
Airflow's ``airflow.api_fastapi.core_api.security.get_user``: the same code every core
API route runs. It takes the JWT from ``Authorization: Bearer`` or else from the UI's
session cookie ``_token`` (also honouring the user that Airflow's ``JWTRefreshMiddleware``
already resolved for this request) and validates it with the configured auth manager
(``get_user_from_token``: signature, expiry, revocation).

Permissions are the auth manager's ``is_authorized_dag(method="GET", …)``, as
``requires_access_dag("GET")`` asks it for the core API's DAG routes: a repository's
digests need read access to that repository's DAG (``repo_digest__{owner}__{name}``), the
index and the combined reports need read access to DAGs in general (like the DAG list).
``requires_access_dag`` itself is not called because, without a ``dag_id`` path
parameter, it reads ``?dag_id=`` from the query string: a caller could then pick the DAG
the combined report is authorized against.

This module imports Airflow's API server code: it is imported only when the viewer app is
built (in the api-server), never by the plugin module.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
from airflow.api_fastapi.core_api.security import bearer_scheme, get_user


class LoginRequired(Exception):
    """No valid login on the request: missing, expired, revoked or malformed token."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def current_user(
    request: Request,
    bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> BaseUser:
    """The logged-in user, by Airflow's ``get_user``; raises LoginRequired instead of its 401/403."""
    try:
        return await get_user(request, _oauth_token=None, bearer_credentials=bearer_credentials)
    except HTTPException as error:
        # get_user answers 401 (no token, expired) or 403 ("Invalid JWT token"); for the
        # viewer all of them mean "log in again". 403 is kept for missing permissions.
        if error.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
            raise LoginRequired(str(error.detail)) from None
        raise


CurrentUser = Annotated[BaseUser, Depends(current_user)]


def wants_html(request: Request) -> bool:
    """A browser navigating (Accept: text/html), as opposed to a script or API client."""
    return "text/html" in request.headers.get("accept", "").lower()


def login_url(request: Request) -> str:
    """The auth manager's login page, with ``next`` back to the requested viewer page.

    ``next`` is origin-relative (path and query): behind a proxy the host the api-server
    sees is not always the browser's, and Airflow's login accepts a relative ``next``
    (``is_safe_url`` resolves it against the base URL).
    """
    url = urlsplit(str(request.url))
    next_url = url.path + (f"?{url.query}" if url.query else "")
    return get_auth_manager().get_url_login(next_url=next_url)


def dag_team(dag_id: str) -> str | None:
    from airflow.models.dag import DagModel

    return DagModel.get_team_name(dag_id)


def can_read_dag(user: BaseUser, dag_id: str | None) -> bool:
    """``dag_id`` None: DAGs in general (as the DAG list asks); else that DAG."""
    team_name = dag_team(dag_id) if dag_id else None
    return get_auth_manager().is_authorized_dag(
        method="GET", details=DagDetails(id=dag_id, team_name=team_name), user=user
    )


def require_dag_read(user: BaseUser, dag_id: str | None) -> None:
    if not can_read_dag(user, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")


def readable_dag_ids(user: BaseUser, dag_ids: set[str]) -> set[str]:
    """The subset of ``dag_ids`` the user may read, per team as ``get_authorized_dag_ids`` does."""
    if not dag_ids:
        return set()
    from airflow.models.dag import DagModel

    teams = DagModel.get_dag_id_to_team_name_mapping(sorted(dag_ids))
    by_team: dict[str | None, set[str]] = defaultdict(set)
    for dag_id in dag_ids:
        by_team[teams.get(dag_id)].add(dag_id)
    readable: set[str] = set()
    for team_name, team_dag_ids in by_team.items():
        readable |= get_auth_manager().filter_authorized_dag_ids(
            dag_ids=team_dag_ids, user=user, method="GET", team_name=team_name
        )
    return readable
