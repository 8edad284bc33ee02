"""The viewer app over a store of real digests: pages, safety of the HTML, paths, login."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.plugins.repo_digest.digest_samples import DAY
from tests.plugins.repo_digest.viewer.viewer_samples import PREFIX, SGLANG, VLLM, Elements

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SGLANG_PAGE = f"{PREFIX}/{SGLANG}/{DAY.isoformat()}"
COMBINED_PAGE = f"{PREFIX}/_all/{DAY.isoformat()}"


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def digest_main(html: str) -> str:
    """The rendered digest inside the page: <main id="digest" …> … </main>."""
    return _between(html, '<main id="digest"', "</main>")


# --- index ---------------------------------------------------------------------------


def test_index_lists_combined_reports_first_then_repos_and_their_days_newest_first(admin):
    response = admin.get(f"{PREFIX}/", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.index('id="combined-reports"') < html.index('id="repositories"')
    combined = _between(html, 'id="combined-reports"', "</section>")
    assert f'href="{COMBINED_PAGE}"' in combined
    repos = [attrs["data-repo"] for attrs in Elements(html).named("section") if attrs.get("class") == "repo"]
    assert repos == [SGLANG, VLLM]
    sglang = _between(html, f'data-repo="{SGLANG}"', "</section>")
    days = [attrs["data-day"] for attrs in Elements(sglang).named("a") if attrs.get("class") == "digest-link"]
    assert days == ["2026-02-19", "2026-02-18"]
    assert f'href="{SGLANG_PAGE}"' in sglang
    vllm = _between(html, f'data-repo="{VLLM}"', "</section>")
    days = [attrs["data-day"] for attrs in Elements(vllm).named("a") if attrs.get("class") == "digest-link"]
    assert days == ["2026-02-19", "2025-12-31"]


def test_index_shows_the_newest_days_and_links_to_the_rest(admin, monkeypatch):
    from repo_digest.viewer import app

    monkeypatch.setattr(app, "INDEX_DAYS", 1)
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    sglang = _between(html, f'data-repo="{SGLANG}"', "</section>")
    assert [a["data-day"] for a in Elements(sglang).named("a") if a.get("class") == "digest-link"] == ["2026-02-19"]
    (more,) = [a for a in Elements(sglang).named("a") if a.get("class") == "all-days"]
    assert more["href"] == f"{PREFIX}/{SGLANG}"


def test_index_hides_internal_folders_and_stray_files(admin):
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    for hidden in ("_cache", "_work", "evil", "README", "2026-02-17", "notes", "1999", ".tmp"):
        assert hidden not in html


def test_index_without_trailing_slash_redirects_into_the_app(admin):
    response = admin.get(PREFIX, headers=HTML)
    assert response.status_code in (307, 308)
    assert urlsplit(response.headers["location"]).path == f"{PREFIX}/"


def test_repo_and_combined_pages_list_every_day(admin):
    html = admin.get(f"{PREFIX}/{VLLM}", headers=HTML).text
    years = [attrs["data-year"] for attrs in Elements(html).named("section")]
    assert years == ["2026", "2025"]
    assert f'href="{PREFIX}/{VLLM}/2025-12-31"' in html
    html = admin.get(f"{PREFIX}/_all", headers=HTML).text
    assert f'href="{COMBINED_PAGE}"' in html
    assert admin.get(f"{PREFIX}/nobody/nothing", headers=HTML).status_code == 404


def test_an_empty_store_gives_an_empty_index(client, admin_token, tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from repo_digest.viewer.app import create_app

    parent = FastAPI()
    parent.mount(PREFIX, create_app(store_url=f"file://{tmp_path}/missing"))
    with TestClient(parent) as empty:
        empty.cookies.set("_token", admin_token)
        response = empty.get(f"{PREFIX}/", headers=HTML)
    assert response.status_code == 200
    assert "No digests yet." in response.text
    assert "No combined report yet." in response.text


# --- a digest ------------------------------------------------------------------------


def test_a_digest_page_renders_the_commit_table_as_an_html_table(admin):
    response = admin.get(SGLANG_PAGE, headers=HTML)
    assert response.status_code == 200
    main = digest_main(response.text)
    elements = Elements(main)
    assert elements.named("table")
    headers = _between(main, "<thead>", "</thead>")
    assert "<th>Time</th>" in headers and "<th>Author</th>" in headers and "<th>Message</th>" in headers
    rows = _between(main, "<tbody>", "</tbody>")
    assert rows.count("<tr>") == 8
    # A hostile commit title is a table cell's text, not markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rows
    assert "&lt;img src=x onerror=alert(1)&gt;" in rows


def test_a_digest_page_has_stable_ids_for_a_browser_test(admin):
    html = admin.get(SGLANG_PAGE, headers=HTML).text
    elements = Elements(html)
    assert {"digest", "breadcrumbs", "digest-toolbar", "raw-md", "raw-json", "prev-day"} <= elements.ids
    main = elements.named("main")[0]
    assert main["data-repo"] == SGLANG and main["data-day"] == DAY.isoformat()
    links = {attrs["id"]: attrs["href"] for attrs in elements.named("a") if attrs.get("id") and attrs.get("href")}
    assert links["raw-md"] == f"{SGLANG_PAGE}.md"
    assert links["raw-json"] == f"{SGLANG_PAGE}.json"
    assert links["prev-day"] == f"{PREFIX}/{SGLANG}/2026-02-18"
    assert "next-day" not in links
    older = Elements(admin.get(f"{PREFIX}/{SGLANG}/2026-02-18", headers=HTML).text)
    assert {a["id"]: a["href"] for a in older.named("a") if a.get("id") and a.get("href")}["next-day"] == SGLANG_PAGE


@pytest.mark.parametrize("page", [SGLANG_PAGE, f"{PREFIX}/{VLLM}/{DAY.isoformat()}", COMBINED_PAGE])
def test_nothing_executable_reaches_the_browser(admin, page):
    html = admin.get(page, headers=HTML).text
    assert "<script" not in html.lower()
    assert "<style" not in html.lower()
    elements = Elements(html)
    for tag, attrs in elements.tags:
        assert tag not in {"script", "style", "img", "iframe", "object", "embed", "form", "svg", "math"}
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), (tag, name)
            assert name.lower() not in {"style", "srcdoc", "formaction"}, (tag, name)
            if name.lower() in {"href", "src", "action"}:
                assert value is not None
                assert value.startswith(("#", "http://", "https://", f"{PREFIX}/")), (tag, name, value)
                assert "javascript" not in value.lower()
    # Inside the digest: only http(s) links, in-page fragments, and the viewer's permalinks to
    # this very page's own anchors.
    links = Elements(digest_main(html)).named("a")
    anchors = {attrs["id"] for attrs in links if attrs.get("id")}
    for attrs in links:
        href = attrs.get("href")
        if attrs.get("class") == "permalink":
            path, _, anchor = (href or "").partition("?section=")
            assert path == page and anchor == f"{anchor.partition('#')[0]}#{anchor.partition('#')[0]}", href
            assert anchor.partition("#")[0] in anchors, href
            continue
        assert href is None or href.startswith(("#", "http://", "https://")), href


@pytest.mark.parametrize("page", [SGLANG_PAGE, COMBINED_PAGE])
def test_internal_links_and_their_anchors_survive(admin, stored, page):
    from repo_digest.markdown import anchor_ids

    html = admin.get(page, headers=HTML).text
    elements = Elements(digest_main(html))
    anchors = {attrs["id"] for attrs in elements.named("a") if attrs.get("id")}
    fragments = {attrs["href"][1:] for attrs in elements.named("a") if (attrs.get("href") or "").startswith("#")}
    key = ("_all", DAY) if "_all" in page else (SGLANG, DAY)
    assert anchors == set(anchor_ids(stored.markdown[key]))
    assert fragments
    assert fragments <= anchors
    assert "repo-sgl-project-sglang-stats" in anchors


def test_commit_links_keep_their_https_url(admin):
    main = digest_main(admin.get(SGLANG_PAGE, headers=HTML).text)
    hrefs = [attrs.get("href") or "" for attrs in Elements(main).named("a")]
    assert any(href.startswith(f"https://github.com/{SGLANG}/commit/") for href in hrefs)
    assert any(href == f"https://github.com/{SGLANG}/pull/19010" for href in hrefs)


def test_raw_markdown_and_json_are_served_as_inert_text(admin, stored):
    markdown = admin.get(f"{SGLANG_PAGE}.md", headers=HTML)
    assert markdown.status_code == 200
    assert markdown.headers["content-type"] == "text/plain; charset=utf-8"
    assert markdown.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in markdown.headers["content-security-policy"]
    assert markdown.text == stored.markdown[(SGLANG, DAY)]
    data = admin.get(f"{SGLANG_PAGE}.json")
    assert data.status_code == 200
    assert data.headers["content-type"] == "application/json"
    assert json.loads(data.text)["repo"] == SGLANG
    assert admin.get(f"{COMBINED_PAGE}.md").text == stored.markdown[("_all", DAY)]
    assert json.loads(admin.get(f"{COMBINED_PAGE}.json").text)["day"] == DAY.isoformat()


def test_a_digest_without_its_json_has_no_json_link(admin):
    page = f"{PREFIX}/{VLLM}/2025-12-31"
    html = admin.get(page, headers=HTML).text
    assert 'id="raw-md"' in html and 'id="raw-json"' not in html
    assert admin.get(f"{page}.json").status_code == 404


@pytest.mark.parametrize("path", ["/", f"/{SGLANG}/{DAY.isoformat()}", f"/{SGLANG}", "/_all", "/nope/x/2026-01-01"])
def test_every_response_carries_a_strict_csp(admin, path):
    response = admin.get(PREFIX + path, headers=HTML)
    csp = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["default-src"] == ["'none'"]
    assert "script-src" not in directives
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_the_stylesheet_and_icon_need_no_login(client):
    css = client.get(f"{PREFIX}/_static/viewer.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    icon = client.get(f"{PREFIX}/_static/icon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert client.get(f"{PREFIX}/_static/base.html").status_code == 404
    escape = client.get(f"{PREFIX}/_static/..%2Fbase.html")  # /_static/../base.html: a 3-segment path
    assert escape.status_code in (401, 404)
    assert "extends" not in escape.text


# --- paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        # traversal, raw and encoded
        "/sgl-project/sglang/..%2F..%2F_cache",
        "/sgl-project/..%2F_cache/2026-02-19",
        "/sgl-project/%2e%2e/2026-02-19",
        "/%2e%2e/%2e%2e/2026-02-19",
        "/..%2F..%2F..%2Fetc/passwd/2026-02-19",
        "/sgl-project%2Fsglang/2026/2026-02-19",
        "/sgl-project/sglang%2F2026/2026-02-19.md",
        "/sgl-project/sglang/2026%2F2026-02-19.md",
        "/sgl-project/sglang/..%5C2026-02-19",
        "/sgl-project/sglang/2026-02-19%00.md",
        "/sgl-project/sglang/.%2e/2026-02-19",
        # internal folders and the layout's own year folder
        "/_cache/evil/repo",
        "/_cache/evil/2026-02-19",
        "/_work/sgl-project/sglang",
        "/_cache/sgl-project/sglang/commits",
        "/sgl-project/sglang/2026/2026-02-19.md",
        "/sgl-project/sglang/2026",
        "/_all/2026/2026-02-19",
        # bad or impossible dates, other suffixes
        "/sgl-project/sglang/2026-02-30",
        "/sgl-project/sglang/2026-2-19",
        "/sgl-project/sglang/20260219",
        "/sgl-project/sglang/2026-02-19.txt",
        "/sgl-project/sglang/2026-02-19.md.json",
        "/sgl-project/sglang/2026-02-19.MD",
        "/sgl-project/sglang/2026-02-19.md%20",
        "/sgl-project/sglang/.2026-02-17.md.0123.tmp",
        "/_all/2026-13-01",
        "/_all/latest",
        # bad owners / names
        "/-sgl/sglang/2026-02-19",
        "/sgl-project/sg%20lang/2026-02-19",
        "/.sgl/sglang/2026-02-19",
        "/sgl-project/../2026-02-19",
        # well-formed but absent
        "/sgl-project/sglang/2026-02-17",
        "/sgl-project/sglang/2026-02-17.md",
        "/nobody/nothing/2026-02-19",
    ],
)
def test_anything_but_a_digest_is_404(admin, path):
    response = admin.get(PREFIX + path)
    assert response.status_code == 404, (path, response.status_code, response.text[:200])


def test_a_404_page_for_a_browser_is_html_with_the_same_headers(admin):
    response = admin.get(f"{PREFIX}/sgl-project/sglang/2026-02-30", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-status="404"' in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


# --- login and permissions -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", SGLANG_PAGE[len(PREFIX) :], f"{SGLANG_PAGE[len(PREFIX):]}.md", "/_all"])
def test_without_a_login_a_browser_is_sent_to_the_login_page_and_comes_back(client, path):
    response = client.get(PREFIX + path, headers=HTML)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/auth/login"  # SimpleAuthManager's login page
    (next_url,) = parse_qs(location.query)["next"]
    assert urlsplit(next_url).path == PREFIX + path
    assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/", SGLANG_PAGE[len(PREFIX) :], f"{SGLANG_PAGE[len(PREFIX):]}.json"])
def test_without_a_login_a_script_gets_401(client, path):
    response = client.get(PREFIX + path, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert SGLANG not in response.text


def test_a_bearer_token_is_accepted_like_the_session_cookie(client, admin_token):
    response = client.get(SGLANG_PAGE, headers={**HTML, "Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200
    assert 'id="digest"' in response.text


def test_a_viewer_role_may_read(client, make_token):
    client.cookies.set("_token", make_token("VIEWER"))
    assert client.get(SGLANG_PAGE, headers=HTML).status_code == 200
    assert client.get(f"{PREFIX}/", headers=HTML).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda make: make("ADMIN", expires_in=-3600), id="expired"),
        pytest.param(lambda make: make("ADMIN")[:-4] + "AAAA", id="bad-signature"),
        pytest.param(lambda make: "not-a-jwt", id="garbage"),
    ],
)
def test_an_invalid_token_is_no_login(client, make_token, token):
    client.cookies.set("_token", token(make_token))
    assert client.get(SGLANG_PAGE, headers={"Accept": "application/json"}).status_code == 401
    assert client.get(SGLANG_PAGE, headers=HTML).status_code == 303


def test_a_revoked_token_is_no_login(client, make_token, auth_manager):
    token = make_token("ADMIN", username="leaving")
    client.cookies.set("_token", token)
    assert client.get(SGLANG_PAGE, headers=HTML).status_code == 200
    auth_manager.revoke_token(token)  # what Airflow's logout does
    assert client.get(SGLANG_PAGE, headers=HTML).status_code == 303


@pytest.mark.parametrize(
    "path", ["/", "/_all", COMBINED_PAGE[len(PREFIX) :], SGLANG_PAGE[len(PREFIX) :], f"{SGLANG_PAGE[len(PREFIX):]}.md"]
)
def test_a_login_without_permission_to_read_dags_gets_403(client, make_token, path):
    client.cookies.set("_token", make_token(None, username="nobody"))
    response = client.get(PREFIX + path, headers=HTML)
    assert response.status_code == 403
    assert SGLANG not in response.text
    assert client.get(PREFIX + path, headers={"Accept": "application/json"}).status_code == 403


def test_permissions_are_asked_per_repository_dag(admin, monkeypatch):
    """A repo's pages ask for its DAG; the index lists only the repos whose DAG may be read."""
    from airflow.api_fastapi.app import get_auth_manager

    manager = get_auth_manager()
    asked: list[str | None] = []
    allowed = {None, "repo_digest__vllm-project__vllm"}

    def is_authorized_dag(*, method, user, access_entity=None, details=None):
        assert method == "GET"
        asked.append(details.id if details else None)
        return (details.id if details else None) in allowed

    monkeypatch.setattr(manager, "is_authorized_dag", is_authorized_dag)
    assert admin.get(SGLANG_PAGE, headers=HTML).status_code == 403
    assert asked == ["repo_digest__sgl-project__sglang"]
    assert admin.get(f"{PREFIX}/{VLLM}/{DAY.isoformat()}", headers=HTML).status_code == 200
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    repos = [attrs["data-repo"] for attrs in Elements(html).named("section") if attrs.get("class") == "repo"]
    assert repos == [VLLM]
    # The combined report needs DAG access in general, whatever ?dag_id= says.
    asked.clear()
    allowed.discard(None)
    allowed.add("repo_digest__sgl-project__sglang")
    assert admin.get(f"{COMBINED_PAGE}?dag_id=repo_digest__sgl-project__sglang", headers=HTML).status_code == 403
    assert asked == [None]


def test_the_permission_check_comes_before_the_store(client, make_token):
    """Without permission, an absent digest and a present one answer alike."""
    client.cookies.set("_token", make_token(None, username="nobody"))
    assert client.get(f"{PREFIX}/{SGLANG}/2026-02-17", headers=HTML).status_code == 403
    assert client.get(SGLANG_PAGE, headers=HTML).status_code == 403
