"""Counts and badges beside each listed day, read from the days' real JSON digests."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from repo_digest.analysis.record import IMPORTANCE_ORDER
from repo_digest.combined import CombinedRepo, CombinedReport
from repo_digest.store import DigestStore
from repo_digest.viewer.counts import LEVELS, DayCounts, counts_of, day_counts, parse_counts
from repo_digest.viewer.paths import DigestRef
from tests.plugins.repo_digest.digest_samples import DAY, empty_digest, sample_digest
from tests.plugins.repo_digest.viewer.viewer_samples import PREFIX, SGLANG, VLLM, Elements

HTML = {"Accept": "text/html"}
EARLIER = DAY - dt.timedelta(days=1)
PARTIAL_UNTIL = "2026-02-19T15:30:00+08:00"


def _section(html: str, marker: str) -> str:
    start = html.index(marker)
    return html[start : html.index("</section>", start)]


def day_badges(html: str) -> dict[str, dict[str, str | None]]:
    """Per listed day (data-day of its link): the attributes of its counts, and its badges' classes."""
    days: dict[str, dict[str, str | None]] = {}
    current = None
    for tag, attrs in Elements(html).tags:
        if tag == "a" and attrs.get("class") == "digest-link":
            current = attrs["data-day"]
            days[current] = {}
        elif current is not None and tag == "span" and (attrs.get("class") or "").startswith("counts"):
            days[current].update({key: value for key, value in attrs.items() if key.startswith("data-")})
        elif current is not None and tag == "span" and (attrs.get("class") or "").startswith("badge"):
            days[current]["badge"] = attrs["class"]
            days[current]["badge-title"] = attrs.get("title")
    return days


def write_json(stored, repo: str | None, day: dt.date, text: str) -> None:
    folder = stored.path / (repo or "_all") / f"{day:%Y}"
    (folder / f"{day.isoformat()}.json").write_text(text, encoding="utf-8")


def partial_json(digest, partial_until: str | None = PARTIAL_UNTIL) -> str:
    """The digest's JSON with the ``partial_until`` field a digest of an unfinished day carries."""
    data = json.loads(digest.model_dump_json())
    data["partial_until"] = partial_until
    return json.dumps(data, ensure_ascii=False, indent=2)


# --- reading the JSON ------------------------------------------------------------------


def test_the_levels_are_the_digests_importance_order():
    assert LEVELS == tuple(level.value for level in IMPORTANCE_ORDER) == ("high", "medium", "low")


def test_counts_of_a_digest_written_by_the_digest_model():
    digest = sample_digest("en")
    counts = parse_counts(digest.model_dump_json(indent=2), combined=False)
    assert counts == DayCounts(
        commits=digest.stats.total,
        high=digest.stats.by_importance["high"],
        medium=digest.stats.by_importance["medium"],
        low=digest.stats.by_importance["low"],
    )
    assert (counts.commits, counts.high, counts.medium, counts.low) == (8, 2, 3, 3)
    assert not counts.partial and counts.partial_until is None
    assert parse_counts(empty_digest("zh").model_dump_json(), combined=False) == DayCounts(0, 0, 0, 0)


def test_partial_until_marks_the_day_partial():
    counts = parse_counts(partial_json(sample_digest("en")), combined=False)
    assert counts.partial
    assert counts.partial_until == dt.datetime(2026, 2, 19, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    # An explicit null (a model with the field, a complete day) is not partial; a value that
    # does not parse as a datetime still is, without a time.
    assert not parse_counts(partial_json(sample_digest("en"), None), combined=False).partial
    odd = parse_counts(partial_json(sample_digest("en"), "before lunch"), combined=False)
    assert odd.partial and odd.partial_until is None


def test_counts_of_a_combined_report_written_by_its_model():
    published = [sample_digest("en", SGLANG), empty_digest("en", VLLM)]
    report = CombinedReport(
        day=DAY,
        language="en",
        repos=[CombinedRepo(repo=d.repo, digest=d) for d in published] + [CombinedRepo(repo="acme/pending")],
    )
    counts = parse_counts(report.model_dump_json(indent=2), combined=True)
    assert counts == DayCounts(commits=8, high=2, medium=3, low=3, repos=3, pending=1)
    # A repo digest inside it that was partial makes the combined day partial.
    data = json.loads(report.model_dump_json())
    data["repos"][1]["digest"]["partial_until"] = PARTIAL_UNTIL
    counts = parse_counts(json.dumps(data), combined=True)
    assert counts.partial and counts.partial_until is not None and counts.partial_until.hour == 15


@pytest.mark.parametrize("text", ["", "{not json", "[]", "{}", '{"stats": {"total": -1}}', '{"stats": null}'])
def test_what_is_not_a_digest_is_refused(text):
    with pytest.raises(ValueError):
        parse_counts(text, combined=False)


def test_a_missing_or_broken_json_has_no_counts(stored, caplog):
    root = DigestStore(stored.url).root
    missing = DigestRef(VLLM, dt.date(2025, 12, 31))  # fill_store removed its JSON
    assert day_counts(root, missing) is None
    write_json(stored, SGLANG, EARLIER, '{"stats": {"total": "many"}}')
    broken = DigestRef(SGLANG, EARLIER)
    with caplog.at_level(logging.WARNING, logger="repo_digest.viewer.counts"):
        assert day_counts(root, broken) is None
    assert "No counts for sgl-project/sglang · 2026-02-18" in caplog.text
    good = DigestRef(SGLANG, DAY)
    assert counts_of(root, [missing, broken, good]) == {good: DayCounts(8, 2, 3, 3)}
    assert counts_of(root, []) == {}


# --- the pages -----------------------------------------------------------------------


def test_the_index_shows_each_days_counts(admin):
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    sglang = day_badges(_section(html, f'data-repo="{SGLANG}"'))
    assert sglang["2026-02-19"] == {"data-commits": "8", "data-high": "2", "data-medium": "3", "data-low": "3"}
    assert sglang["2026-02-18"] == {"data-commits": "0", "data-high": "0", "data-medium": "0", "data-low": "0"}
    sglang_html = _section(html, f'data-repo="{SGLANG}"')
    busy = sglang_html[sglang_html.index('data-day="2026-02-19"') : sglang_html.index('data-day="2026-02-18"')]
    assert ">8 commits<" in busy and ">🔴 2<" in busy and ">🟡 3<" in busy and ">🟢 3<" in busy
    empty = sglang_html[sglang_html.index('data-day="2026-02-18"') :]
    assert ">no commits<" in empty and "🔴" not in empty


def test_a_day_without_a_readable_json_is_listed_without_counts(admin, stored):
    write_json(stored, SGLANG, EARLIER, "{broken")
    response = admin.get(f"{PREFIX}/", headers=HTML)
    assert response.status_code == 200
    sglang = day_badges(_section(response.text, f'data-repo="{SGLANG}"'))
    assert sglang["2026-02-18"] == {}  # listed, no counts
    assert sglang["2026-02-19"]["data-commits"] == "8"
    vllm = day_badges(_section(response.text, f'data-repo="{VLLM}"'))
    assert vllm["2025-12-31"] == {}  # its JSON was never written
    repo_page = admin.get(f"{PREFIX}/{SGLANG}", headers=HTML)
    assert repo_page.status_code == 200 and day_badges(repo_page.text)["2026-02-18"] == {}


def test_the_index_reads_only_the_days_it_lists(admin, stored, monkeypatch, caplog):
    """A broken JSON of a day past INDEX_DAYS is never read (so never complained about)."""
    from repo_digest.viewer import app

    write_json(stored, SGLANG, EARLIER, "{broken")
    complaint = "No counts for sgl-project/sglang · 2026-02-18"
    monkeypatch.setattr(app, "INDEX_DAYS", 1)
    with caplog.at_level(logging.WARNING, logger="repo_digest.viewer.counts"):
        html = admin.get(f"{PREFIX}/", headers=HTML).text
    assert complaint not in caplog.text
    assert list(day_badges(_section(html, f'data-repo="{SGLANG}"'))) == ["2026-02-19"]
    monkeypatch.setattr(app, "INDEX_DAYS", 2)
    with caplog.at_level(logging.WARNING, logger="repo_digest.viewer.counts"):
        admin.get(f"{PREFIX}/", headers=HTML)
    assert complaint in caplog.text


def test_a_partial_day_has_a_partial_badge(admin, stored):
    write_json(stored, SGLANG, DAY, partial_json(sample_digest("en", SGLANG)))
    for page in (f"{PREFIX}/", f"{PREFIX}/{SGLANG}"):
        html = admin.get(page, headers=HTML).text
        if page.endswith("/"):
            html = _section(html, f'data-repo="{SGLANG}"')
        days = day_badges(html)
        assert days["2026-02-19"]["badge"] == "badge partial"
        title = "Digested before the day ended: commits up to 2026-02-19 15:30+08:00"
        assert days["2026-02-19"]["badge-title"] == title
        assert days["2026-02-19"]["data-commits"] == "8"
        assert "badge" not in days["2026-02-18"]  # older files have no partial_until at all
        assert ">partial</span>" in html


def test_the_combined_reports_show_repos_and_commits(admin):
    for page in (f"{PREFIX}/", f"{PREFIX}/_all"):
        html = admin.get(page, headers=HTML).text
        if page.endswith("/"):
            html = _section(html, 'id="combined-reports"')
        counts = day_badges(html)["2026-02-19"]
        # fill_store's report: sglang and vllm (8 commits each), acme/pending not published.
        assert counts == {
            "data-commits": "16", "data-high": "4", "data-medium": "6", "data-low": "6",
            "data-repos": "3", "data-pending": "1",
        }  # fmt: skip
        assert ">3 repos (1 pending)<" in html and ">16 commits<" in html


def test_the_repo_page_shows_the_counts_of_every_day(admin):
    days = day_badges(admin.get(f"{PREFIX}/{SGLANG}", headers=HTML).text)
    commits = {day: counts.get("data-commits") for day, counts in days.items()}
    assert commits == {"2026-02-19": "8", "2026-02-18": "0"}
