"""The digest viewer: a FastAPI app the plugin mounts on the api-server (``/repo-digest``).

Routes (relative to the mount point; every page needs an Airflow login, see auth.py):

    GET /                              index: combined reports first, then each repository's days
    GET /_all                          every day with a combined report
    GET /_all/{YYYY-MM-DD}             a combined report, rendered
    GET /_all/{YYYY-MM-DD}.md|.json    its raw Markdown / JSON
    GET /{owner}/{name}                every day of one repository
    GET /{owner}/{name}/{YYYY-MM-DD}   a digest, rendered
    GET /{owner}/{name}/{YYYY-MM-DD}.md|.json
    GET /_static/viewer.css, /_static/icon.svg   (no login: no data)

The day lists (index, repository, combined) show each listed day's commit and importance
counts from its JSON (repo_digest.viewer.counts); the index and the combined list say what
state the combined report's DAG is in (repo_digest.viewer.dagstate). A digest page's
headings link to their own section (``?section=<id>#<id>``, a query the routes ignore; see
repo_digest.viewer.sanitize.permalink).

Anything else is 404, including every path segment that fails the patterns of
repo_digest.viewer.paths (checked before the store is touched). Every response carries a
strict Content-Security-Policy: no script source at all, styles only from this app,
framing only by the Airflow UI's own origin (it shows the viewer in an iframe).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from repo_digest.viewer import listing
from repo_digest.viewer.auth import (
    CurrentUser,
    LoginRequired,
    can_read_dag,
    login_url,
    readable_dag_ids,
    require_dag_read,
    wants_html,
)
from repo_digest.viewer.counts import DayCounts, counts_of
from repo_digest.viewer.dagstate import read_dag_state
from repo_digest.viewer.paths import COMBINED, DigestRef, parse_digest_file, valid_repo, viewer_path
from repo_digest.viewer.sanitize import render_digest_html

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

# Pages: nothing runs, nothing loads but our stylesheet, nothing posts, framed only by Airflow.
PAGE_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
# Raw .md/.json and static files: not even a stylesheet, and a sandbox on top.
RAW_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Days listed per repository on the index; the repository's own page lists all.
INDEX_DAYS = 14
STATIC_FILES = {"viewer.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}


def templates_dir() -> Path:
    from repo_digest.render import include_dir

    return include_dir() / "templates" / "viewer"


@functools.cache
def _environment(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _base(request: Request) -> str:
    """Where this app is mounted, as seen by the browser: '/repo-digest' (or '/airflow/repo-digest')."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def create_app(store_url: str | None = None) -> FastAPI:
    """The viewer app; ``store_url`` defaults to the store of repo_digest.store (read per request)."""
    app = FastAPI(
        title="Repo digest viewer",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def store_root() -> ObjectStoragePath:
        from repo_digest.store import DigestStore

        return DigestStore(store_url).root

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        base = _base(request)

        def digest_url(repo: str | None, day: dt.date, suffix: str = "") -> str:
            return base + viewer_path(DigestRef(repo, day), suffix)

        html = (
            _environment(templates_dir())
            .get_template(template)
            .render(base=base, digest_url=digest_url, **context)
        )
        return HTMLResponse(html, status_code=status_code)

    # --- headers and errors ----------------------------------------------------------
    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        # Everything but the static files is per-user data.
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired) -> Response:
        if wants_html(request) and request.method in ("GET", "HEAD"):
            return RedirectResponse(login_url(request), status_code=status.HTTP_303_SEE_OTHER)
        return JSONResponse(
            {"detail": error.detail},
            status_code=status.HTTP_401_UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if wants_html(request):
            titles = {403: "Forbidden", 404: "Not found"}
            return render(
                request,
                "error.html",
                status_code=error.status_code,
                status=error.status_code,
                title=titles.get(error.status_code, "Error"),
            )
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    # --- static (no login: a stylesheet and an icon) ---------------------------------
    @app.get("/_static/{file_name}", include_in_schema=False)
    def static(file_name: str) -> Response:
        media_type = STATIC_FILES.get(file_name)
        if media_type is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        body = (templates_dir() / file_name).read_bytes()
        return Response(
            body,
            media_type=media_type,
            headers={"Content-Security-Policy": RAW_CSP, "Cache-Control": "public, max-age=3600"},
        )

    # --- pages -----------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, user: CurrentUser) -> HTMLResponse:
        require_dag_read(user, None)
        from repo_digest.config import dag_id_for
        from repo_digest.dag_factory import COMBINED_DAG_ID

        root = store_root()
        repos = listing.list_repos(root)
        readable = readable_dag_ids(user, {dag_id_for(repo.repo) for repo in repos} | {COMBINED_DAG_ID})
        repos = [repo for repo in repos if dag_id_for(repo.repo) in readable]
        combined = listing.combined_days(root)
        limit = INDEX_DAYS
        listed = [DigestRef(None, day) for day in combined[:limit]]
        listed += [DigestRef(repo.repo, day) for repo in repos for day in repo.days[:limit]]
        return render(
            request,
            "index.html",
            combined=combined,
            combined_state=read_dag_state(COMBINED_DAG_ID) if COMBINED_DAG_ID in readable else None,
            repos=repos,
            limit=limit,
            counts=_by_repo_and_day(counts_of(root, listed)),
        )

    @app.get(f"/{COMBINED}", response_class=HTMLResponse)
    def combined_days(request: Request, user: CurrentUser) -> HTMLResponse:
        from repo_digest.dag_factory import COMBINED_DAG_ID

        require_dag_read(user, None)
        root = store_root()
        days = listing.combined_days(root)
        return render(
            request,
            "days.html",
            repo=None,
            days=days,
            combined_state=read_dag_state(COMBINED_DAG_ID) if can_read_dag(user, COMBINED_DAG_ID) else None,
            counts=_by_repo_and_day(counts_of(root, [DigestRef(None, day) for day in days])),
        )

    @app.get(f"/{COMBINED}/{{file_name}}")
    def combined_digest(request: Request, file_name: str, user: CurrentUser) -> Response:
        parsed = parse_digest_file(file_name)
        if parsed is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        require_dag_read(user, None)
        return _digest_response(request, DigestRef(None, parsed[0]), parsed[1])

    @app.get("/{owner}/{name}", response_class=HTMLResponse)
    def repo_page(request: Request, owner: str, name: str, user: CurrentUser) -> HTMLResponse:
        repo = _repo_or_404(owner, name)
        _require_repo_read(user, repo)
        root = store_root()
        days = listing.repo_days(root, repo)
        if not days:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        return render(
            request,
            "days.html",
            repo=repo,
            days=days,
            combined_state=None,
            counts=_by_repo_and_day(counts_of(root, [DigestRef(repo, day) for day in days])),
        )

    @app.get("/{owner}/{name}/{file_name}")
    def repo_digest(request: Request, owner: str, name: str, file_name: str, user: CurrentUser) -> Response:
        repo = _repo_or_404(owner, name)
        parsed = parse_digest_file(file_name)
        if parsed is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        _require_repo_read(user, repo)
        return _digest_response(request, DigestRef(repo, parsed[0]), parsed[1])

    def _digest_response(request: Request, ref: DigestRef, suffix: str) -> Response:
        root = store_root()
        if suffix:
            text = listing.read_if_exists(listing.digest_file(root, ref, suffix))
            if text is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
            media_type = "application/json" if suffix == ".json" else "text/plain; charset=utf-8"
            return Response(
                text,
                media_type=media_type,
                headers={
                    "Content-Security-Policy": RAW_CSP,
                    "Content-Disposition": f'inline; filename="{ref.day.isoformat()}{suffix}"',
                },
            )
        markdown = listing.read_if_exists(listing.digest_file(root, ref, ".md"))
        if markdown is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        days = listing.days_in(root.joinpath(*ref.folder.split("/")))
        older = [day for day in days if day < ref.day]
        newer = [day for day in days if day > ref.day]
        return render(
            request,
            "digest.html",
            ref=ref,
            digest_html=render_digest_html(markdown, page_path=_base(request) + viewer_path(ref)),
            has_json=listing.digest_file(root, ref, ".json").exists(),
            previous_day=older[0] if older else None,
            next_day=newer[-1] if newer else None,
        )

    return app


def _by_repo_and_day(counts: dict[DigestRef, DayCounts]) -> dict[tuple[str | None, dt.date], DayCounts]:
    """For the templates, which look a day's counts up by ``(repo, day)`` (repo None: combined)."""
    return {(ref.repo, ref.day): day_counts for ref, day_counts in counts.items()}


def _repo_or_404(owner: str, name: str) -> str:
    if not valid_repo(owner, name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    return f"{owner}/{name}"


def _require_repo_read(user: Any, repo: str) -> None:
    from repo_digest.config import dag_id_for

    require_dag_read(user, dag_id_for(repo))
