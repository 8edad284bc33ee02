"""The "Open digest" extra link of the ``publish`` task (and the combined DAG's ``write_combined``).

How Airflow 3 shows an operator's extra links: the task's own ``operator_extra_links``
are serialized with the DAG as ``{name: xcom_key}``; when the task instance finishes, the
*worker* calls ``get_link(operator, ti_key=<the running task instance>)`` for each of them
and stores the URL in XCom under ``xcom_key`` (``_link_OpenDigestLink``); the api-server
reads it back from XCom for the UI. The link class itself is therefore only needed where
the DAG file runs (dag-processor, worker), not in the api-server, and does not need to be
registered by the plugin.

The URL opens the viewer page inside the Airflow UI: the UI route of the "Digests" nav
entry (``/plugin/digests``) followed by the viewer page's own path, which the UI loads in
its iframe (Airflow 3.3's external-view deep links: ``/plugin/{url_route}/{path}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

from repo_digest.viewer import NAV_URL_ROUTE, app_path
from repo_digest.viewer.paths import DigestRef, ref_from_store_path, root_path_of, viewer_path

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

XCOM_RETURN_KEY = "return_value"


def digest_ref(published: Any, store_root: str | None = None) -> DigestRef | None:
    """The digest a task wrote, from its return value.

    ``publish`` returns ``{"markdown": "<url>", "json": "<url>"}``; the combined report's
    ``write_combined`` returns a list of those (one per day it rewrote): the first is used.
    """
    if isinstance(published, list):
        refs = (digest_ref(item, store_root) for item in published)
        return next((ref for ref in refs if ref is not None), None)
    if not isinstance(published, Mapping):
        return None
    markdown = published.get("markdown")
    if not isinstance(markdown, str):
        return None
    ref = ref_from_store_path(markdown, store_root) if store_root else None
    return ref or ref_from_store_path(markdown)


def viewer_url(ref: DigestRef, base_url: str | None) -> str:
    """The viewer page itself: ``/repo-digest/owner/name/2026-02-19`` (under ``[api] base_url``'s path)."""
    return app_path(base_url) + viewer_path(ref)


def ui_url(ref: DigestRef, base_url: str | None) -> str:
    """The viewer page inside the Airflow UI: ``/plugin/digests/repo-digest/owner/name/2026-02-19``.

    Origin-relative on purpose: the UI opens a same-origin extra link in its own tab, and a
    host from ``base_url`` may not be the one the browser uses.
    """
    return f"{root_path_of(base_url)}plugin/{NAV_URL_ROUTE}{viewer_url(ref, base_url)}"


def printable_ui_url(ref: DigestRef, base_url: str | None) -> str:
    """``ui_url`` with ``[api] base_url``'s scheme and host when it has them: for a task log line."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url or "")
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""
    return origin + ui_url(ref, base_url)


def digest_link(published: Any, *, base_url: str | None, store_root: str | None = None) -> str:
    """The extra link's URL for ``publish``'s return value; '' when there is no digest to open."""
    ref = digest_ref(published, store_root)
    return ui_url(ref, base_url) if ref is not None else ""


class OpenDigestLink(BaseOperatorLink):
    """Opens the digest the task wrote (``publish``, or the combined DAG's ``write_combined``)
    in the viewer inside the Airflow UI."""

    name = "Open digest"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk import conf
        from airflow.sdk.execution_time.xcom import XCom

        from repo_digest.store import store_url

        published = XCom.get_value(ti_key=ti_key, key=XCOM_RETURN_KEY)
        return digest_link(
            published,
            base_url=conf.get("api", "base_url", fallback=""),
            store_root=store_url(),
        )
