"""A permalink on each section heading of a rendered digest, added after sanitizing."""

from __future__ import annotations

import re

import pytest

from repo_digest.markdown import anchor_ids, commit_anchor
from repo_digest.render import render_markdown
from repo_digest.viewer.sanitize import add_permalinks, permalink, render_digest_html, sanitize_html
from tests.plugins.repo_digest.digest_samples import DAY, sample_digest
from tests.plugins.repo_digest.viewer.test_sanitize import HOSTILE_MARKDOWN, assert_inert
from tests.plugins.repo_digest.viewer.viewer_samples import PREFIX, SGLANG, Elements

HTML = {"Accept": "text/html"}
PAGE = f"{PREFIX}/{SGLANG}/{DAY.isoformat()}"
COMBINED_PAGE = f"{PREFIX}/_all/{DAY.isoformat()}"
HEADING_RE = re.compile(r"<(h[1-6])>(.*?)</\1>", re.DOTALL)


def permalinks(html: str) -> list[dict[str, str | None]]:
    return [attrs for attrs in Elements(html).named("a") if attrs.get("class") == "permalink"]


def without_permalinks(html: str) -> str:
    return re.sub(r' <a class="permalink" [^>]*>🔗</a>', "", html)


def test_permalink_is_the_page_with_the_section_as_query_and_fragment():
    anchor = "repo-a-b-0123456789ab"
    assert permalink(PAGE, anchor) == f"{PAGE}?section={anchor}#{anchor}"


@pytest.mark.parametrize(
    "page", ["repo-digest/a/b/2026-02-19", "/a?x=1", "/a#b", '/a"b', "/a<b", "/a&b", "//evil.example/x"]
)
def test_permalink_refuses_what_is_not_a_page_path(page):
    with pytest.raises(ValueError):
        permalink(page, "repo-a")


@pytest.mark.parametrize("anchor", ["", "-a", 'a"b', "a b", "a#b", "a/b", "x" * 201])
def test_permalink_refuses_what_is_not_an_anchor_id(anchor):
    with pytest.raises(ValueError):
        permalink(PAGE, anchor)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_commit_heading_links_to_its_section(language):
    digest = sample_digest(language)
    markdown = render_markdown(digest)
    html = render_digest_html(markdown, page_path=PAGE)
    links = permalinks(html)
    # One per anchor: every anchor of a digest opens a section (repo, summary, contents,
    # each importance group, each commit).
    ids = anchor_ids(markdown)
    assert [link["href"] for link in links] == [f"{PAGE}?section={anchor}#{anchor}" for anchor in ids]
    for link in links:
        assert set(link) == {"class", "href", "title", "aria-label"}  # no target: see permalink()
    # Each commit's heading holds the permalink to that commit's anchor.
    commit_anchors = {commit_anchor(digest.repo, commit.sha) for commit in digest.commits}
    in_order = [anchor for anchor in ids if anchor in commit_anchors]
    commit_headings = [text for tag, text in HEADING_RE.findall(html) if tag == "h4"]
    assert len(commit_headings) == len(in_order) == len(digest.commits)
    for anchor, heading in zip(in_order, commit_headings, strict=True):
        (link,) = permalinks(heading)
        assert link["href"] == f"{PAGE}?section={anchor}#{anchor}"
        assert heading.endswith("🔗</a>")
    # The anchors themselves and the in-page links are untouched.
    assert without_permalinks(html) == render_digest_html(markdown)


def test_without_a_page_path_there_are_no_permalinks():
    html = render_digest_html(render_markdown(sample_digest("en")))
    assert permalinks(html) == [] and "?section=" not in html


@pytest.mark.parametrize("markdown", HOSTILE_MARKDOWN)
def test_hostile_markdown_stays_inert_with_permalinks(markdown):
    html = render_digest_html(markdown, page_path=PAGE)
    assert_inert(without_permalinks(html))
    for link in permalinks(html):
        assert link["href"].startswith(f"{PAGE}?section=")


@pytest.mark.parametrize(
    "markdown",
    [
        # Forged permalinks and anchors that are not the digest's exact form: text, or dropped.
        '<a class="permalink" href="/repo-digest/x" target="_top">🔗</a>',
        '[🔗](/repo-digest/sgl-project/sglang/2026-02-19?section=x#x "Link to this section")',
        '<a id="x" class="permalink"></a>\n## heading',
        '<a id="x"></a><script>alert(1)</script>\n## heading',
        '<a id="x"></a>\n## <img src=x onerror=alert(1)>',
        '<a id="x"></a>\n## heading <a href="javascript:alert(1)">y</a>',
        "## heading\n\n<a id=\"x\" onclick=\"alert(1)\"></a>",
    ],
)
def test_no_markdown_makes_a_permalink_of_its_own(markdown):
    html = render_digest_html(markdown, page_path=PAGE)
    assert_inert(without_permalinks(html))
    # Only a real anchor right before a heading gets one, and it is ours.
    for link in permalinks(html):
        assert link["href"] == f"{PAGE}?section=x#x" and "target" not in link
    for _, attrs in Elements(html).tags:
        assert "target" not in attrs and attrs.get("href") != "/repo-digest/x"


def test_an_anchor_before_a_heading_gets_one_elsewhere_none():
    html = add_permalinks(
        sanitize_html(render_digest_html('<a id="a"></a>\n## A\n\n<a id="b"></a>\n\ntext\n\n## C')), PAGE
    )
    assert [link["href"] for link in permalinks(html)] == [f"{PAGE}?section=a#a"]
    assert "<h2>C</h2>" in html


# --- in the app ----------------------------------------------------------------------


@pytest.mark.parametrize("page", [PAGE, COMBINED_PAGE])
def test_a_digest_page_has_a_permalink_per_section(admin, stored, page):
    html = admin.get(page, headers=HTML).text
    key = ("_all", DAY) if "_all" in page else (SGLANG, DAY)
    ids = anchor_ids(stored.markdown[key])
    hrefs = [link["href"] for link in permalinks(html)]
    assert hrefs == [f"{page}?section={anchor}#{anchor}" for anchor in ids]
    if "_all" in page:  # the pending repo's section too
        assert f"{page}?section=repo-acme-pending#repo-acme-pending" in hrefs


def test_a_permalink_opens_the_same_page(admin):
    """The query only makes the click a page load: the page it opens is the digest itself."""
    first = permalinks(admin.get(PAGE, headers=HTML).text)[0]["href"]
    response = admin.get(first.partition("#")[0], headers=HTML)
    assert response.status_code == 200
    assert response.text == admin.get(PAGE, headers=HTML).text
    anchor = first.partition("#")[2]
    assert f'<a id="{anchor}"' in response.text  # what the browser scrolls to


def test_permalinks_follow_where_the_app_is_mounted(stored, admin_token):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from repo_digest.viewer.app import create_app

    parent = FastAPI()
    parent.mount("/airflow/repo-digest", create_app(store_url=stored.url))
    with TestClient(parent) as client:
        client.cookies.set("_token", admin_token)
        html = client.get(f"/airflow/repo-digest/{SGLANG}/{DAY.isoformat()}", headers=HTML).text
    hrefs = [link["href"] for link in permalinks(html)]
    page = f"/airflow/repo-digest/{SGLANG}/{DAY.isoformat()}"
    assert hrefs and all(href.startswith(f"{page}?section=") for href in hrefs)
