"""Chat messages: summaries within each service's limits, whole words, signatures as documented."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import airflow.sdk  # noqa: F401 - configures logging at import, before any test captures it
import pytest
from repo_digest.analysis.record import Importance
from repo_digest.digest import Digest, compute_stats
from repo_digest.publishers import (
    dingtalk,
    feishu,
    parse_targets,
    publish_targets,
    slack,
    viewer_url,
    webhook,
)
from repo_digest.publishers.chat import ELLIPSIS, build_summary, clean_text, safe_url, shorten_words
from repo_digest.render import render_markdown
from repo_digest.store import DigestStore

from tests.fakes.receivers import (
    DINGTALK_BODY_LIMIT,
    FEISHU_BODY_LIMIT,
    SLACK_SECTION_LIMIT,
    dingtalk_sign,
    feishu_sign,
)
from tests.plugins.repo_digest.digest_samples import (
    DAY,
    HOSTILE_TITLE,
    analysis,
    commit,
    sample_digest,
    sha_of,
)
from tests.plugins.repo_digest.publishers.conftest import BASE_URL, TRACKER, World

BIG_REPO = "big-org/monorepo"
TITLES = [
    "feat(scheduler): supercalifragilisticexpialidocious internationalization of the "
    + " ".join(f"component{k}" for k in range(40)),
    "修复：分布式 KV 缓存在 NPU 上的内存泄漏，并且重写了整个调度器的抢占逻辑以及相关的单元测试和文档说明" * 3,
    HOSTILE_TITLE,
    "x" * 500,  # one giant word
    "[core] refactor: short title (#123)",
]


def big_digest(language: str = "en", total: int = 2000, high_every: int = 3) -> Digest:
    commits = []
    for index in range(total):
        importance = Importance.HIGH if index % high_every == 0 else Importance.LOW
        title = f"{TITLES[index % len(TITLES)]} #{index}"
        commits.append(
            commit(
                BIG_REPO, "2026-02-19 10:00:00", title, "Author", analysis(sha_of(f"big-{index}"), importance)
            )
        )
    return Digest(repo=BIG_REPO, day=DAY, timezone="UTC", language=language, source="github",
                  commits=commits, stats=compute_stats(commits))  # fmt: skip


def assert_whole_words(shown: str, original: str) -> None:
    """``shown`` is the cleaned title, or a prefix of it ending between words, marked with '…'."""
    original = clean_text(original)
    if shown == original:
        return
    assert shown.endswith(ELLIPSIS), shown
    prefix = shown[: -len(ELLIPSIS)]
    assert original.startswith(prefix), (shown, original)
    last, following = prefix[-1], original[len(prefix)]
    ascii_word = re.compile(r"[A-Za-z0-9_]")
    cut_mid_word = ascii_word.match(last) and ascii_word.match(following)
    # Only a title that is one unbroken word may be cut inside it.
    assert not cut_mid_word or " " not in original[: len(prefix)], (shown, original)


# --- shortening ---------------------------------------------------------------------------------


def test_shorten_words_cuts_between_words():
    text = "The quick brown fox jumps over the lazy dog"
    assert shorten_words(text, 100) == text
    assert shorten_words(text, 20) == "The quick brown fox…"
    assert shorten_words(text, 19) == "The quick brown…"
    for limit in range(5, len(text)):
        shown = shorten_words(text, limit)
        assert len(shown) <= limit
        assert_whole_words(shown, text)


def test_shorten_words_cuts_cjk_between_characters_and_a_giant_word_at_the_limit():
    assert shorten_words("修复分布式缓存的内存泄漏", 6) == "修复分布式…"
    assert shorten_words("x" * 50, 10) == "x" * 9 + ELLIPSIS


def test_clean_text_and_safe_url():
    assert clean_text(" a\tb\nc\x00d\u202e ") == "a b cd"
    assert safe_url("https://github.com/o/r/commit/abc") == "https://github.com/o/r/commit/abc"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.example/a b") is None
    assert safe_url("/relative") is None


def test_the_summary_lists_high_titles_newest_first_and_counts_like_the_digest():
    digest = sample_digest("en")
    summary = build_summary(digest, "https://a.example/d", update=False, max_titles=10)
    assert summary.counts == "8 commits today | 🔴High 2 | 🟡Medium 3 | 🟢Low 3"
    assert [item.title for item in summary.items] == [digest.commits[0].title, digest.commits[2].title]
    zh = build_summary(sample_digest("zh"), None, update=True, max_titles=1)
    assert (
        zh.heading.startswith("【更新】")
        and zh.more(1) == "……另有 1 条高重要性变更"
        and zh.digest_url is None
    )


def test_hostile_text_stays_text_in_every_chat_format():
    commits = [commit("o/r", "2026-02-19 10:00:00", HOSTILE_TITLE, "a", analysis(sha_of("h"), Importance.HIGH),
                      url="javascript:alert(1)")]  # fmt: skip
    digest = Digest(repo="o/r", day=DAY, timezone="UTC", language="en", source="git", commits=commits,
                    stats=compute_stats(commits))  # fmt: skip
    summary = build_summary(digest, None, update=False, max_titles=5)
    section = slack.build_payload(summary, 1)["blocks"][1]["text"]["text"]
    assert "<script>" not in section and "&lt;script&gt;" in section and "javascript:" in section
    assert "<javascript" not in section  # not linked
    text = dingtalk.build_payload(summary, 1)["markdown"]["text"]
    assert "](javascript" not in text and "<script>" not in text
    rows = feishu.build_payload(summary, 1)["content"]["post"]["en_us"]["content"]
    assert all(element["tag"] != "a" for row in rows for element in row)


# --- the 2,000-commit day ----------------------------------------------------------------------


def slack_titles(payload: dict) -> list[str]:
    lines = payload["blocks"][1]["text"]["text"].split("\n")
    titles = []
    for line in lines:
        if line.startswith("• "):
            match = re.fullmatch(r"• <[^|>]+\|(.*)>", line)
            titles.append(html.unescape(match.group(1) if match else line[2:]))
    return titles


def feishu_titles(payload: dict) -> list[str]:
    rows = payload["content"]["post"]["en_us"]["content"]
    return [row[1]["text"] for row in rows if len(row) == 2 and row[0]["text"] == "• "]


def dingtalk_titles(payload: dict) -> list[str]:
    return [
        match.group(1) for match in re.finditer(r"^- \[(.*)\]\(", payload["markdown"]["text"], re.MULTILINE)
    ]


def test_chat_payloads_of_a_2000_commit_day_fit_and_end_on_whole_words(world: World):
    digest = big_digest("en")
    high = [c for c in digest.commits if c.analysis.importance is Importance.HIGH]
    targets = [
        {"type": "slack", "conn_id": "slack_team", "max_titles": 100},
        {"type": "feishu", "conn_id": "feishu_team", "max_titles": 100},
        {"type": "dingtalk", "conn_id": "dingtalk_team", "max_titles": 100},
        {"type": "github_issue", "repo": TRACKER, "conn_id": "github_reports"},
    ]
    report = publish_targets(digest, render_markdown(digest), parse_targets(targets), DigestStore(world.store_url),
                             digest_url=viewer_url(BASE_URL, digest.repo, digest.day))  # fmt: skip

    assert not report.failed, report.summary()
    assert not (world.slack.refused or world.feishu.refused or world.dingtalk.refused)

    (slack_payload,) = world.slack.payloads()
    assert all(len(block["text"]["text"]) <= SLACK_SECTION_LIMIT for block in slack_payload["blocks"])
    assert len(slack_payload["text"]) <= 3000
    (feishu_message,) = world.feishu.messages
    assert len(feishu_message.body) <= FEISHU_BODY_LIMIT
    (dingtalk_message,) = world.dingtalk.messages
    assert len(dingtalk_message.body) <= DINGTALK_BODY_LIMIT

    for service, titles, more_text in [
        ("slack", slack_titles(slack_payload), slack_payload["blocks"][1]["text"]["text"]),
        ("feishu", feishu_titles(feishu_message.json()), feishu_message.body.decode()),
        ("dingtalk", dingtalk_titles(dingtalk_message.json()), dingtalk_message.json()["markdown"]["text"]),
    ]:
        assert 3 <= len(titles) <= 100, (service, len(titles))
        hidden = len(high) - len(titles)
        assert f"…and {hidden} more high-importance changes" in more_text, service
        for shown, original in zip(titles, high, strict=False):
            if service == "dingtalk":  # markdown look-alikes replaced [ ] < > * ` #
                shown = shown.translate(str.maketrans("［］＜＞＊｀＃", "[]<>*`#"))
            assert_whole_words(shown, original.title)
    # The summaries end on the link to the full digest, never cut.
    digest_url = viewer_url(BASE_URL, digest.repo, digest.day)
    assert slack_payload["blocks"][-1]["text"]["text"] == f"<{digest_url}|Full digest>"
    assert dingtalk_message.json()["markdown"]["text"].endswith(f"[Full digest]({digest_url})")
    last_row = feishu_message.json()["content"]["post"]["en_us"]["content"][-1]
    assert last_row == [{"tag": "a", "text": "Full digest", "href": digest_url}]

    # The issue body is within GitHub's 65,536 characters, cut at a boundary and saying so.
    (issue,) = world.github.issues(TRACKER)
    assert len(issue["body"]) <= 65_536 and "too long for an issue" in issue["body"]
    assert issue["body"].rstrip().endswith(f"[Full digest]({digest_url})")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_service_fits_a_huge_day_in_either_language(language):
    digest = big_digest(language, total=2000, high_every=1)
    from repo_digest.publishers.base import PublishContext
    from repo_digest.publishers.credentials import Redactor
    from repo_digest.publishers.targets import template_values

    ctx = PublishContext(digest, "", "https://airflow.example.com/repo-digest/x", template_values(BIG_REPO, DAY, language),
                         Redactor())  # fmt: skip
    for module, target_type in [(slack, "slack"), (feishu, "feishu"), (dingtalk, "dingtalk")]:
        target = parse_targets([{"type": target_type, "max_titles": 100}])[0]
        for update in (False, True):
            payload = module.message(ctx, target, update=update)
            assert module.fits(payload)
    assert (
        len(feishu.encode(feishu.message(ctx, parse_targets([{"type": "feishu"}])[0], update=True))) < 19_000
    )


# --- signatures --------------------------------------------------------------------------------


def test_feishu_signature_is_the_documented_one():
    secret = "demo-secret"
    for timestamp in ("1599360473", "1700000000", "1735689600"):
        assert feishu.sign(timestamp, secret) == feishu_sign(timestamp, secret)
    # Keyed with "timestamp\nsecret" over an empty message; not the other way round.
    assert feishu.sign("1700000000", secret) != dingtalk_sign("1700000000", secret)


def test_dingtalk_signature_is_url_encoded_into_the_query():
    secret = "SECdemo0123456789"
    # A timestamp whose signature has '+', '/' or '=': they must survive the query string.
    timestamp = next(
        str(1700000000000 + n) for n in range(1000) if "+" in dingtalk_sign(str(1700000000000 + n), secret)
    )
    signature = dingtalk.sign(timestamp, secret)
    assert signature == dingtalk_sign(timestamp, secret)
    url = dingtalk.signed_url("https://oapi.dingtalk.com/robot/send?access_token=abc", timestamp, signature)
    query = parse_qs(urlsplit(url).query)
    assert query == {"access_token": ["abc"], "timestamp": [timestamp], "sign": [signature]}
    assert "+" not in urlsplit(url).query


def test_webhook_signature_covers_timestamp_and_exact_body():
    body = json.dumps({"a": 1}).encode()
    signed = webhook.signature("s3cret", "1700000000", body)
    assert signed.startswith("sha256=") and len(signed) == 7 + 64
    assert webhook.verify("s3cret", "1700000000", body, signed, now=1700000100)
    assert not webhook.verify("s3cret", "1700000000", body + b" ", signed, now=1700000100)  # body changed
    assert not webhook.verify("s3cret", "1700000001", body, signed, now=1700000100)  # timestamp changed
    assert not webhook.verify("s3cret", "1700000000", body, signed, now=1700000000 + 301)  # replayed later
    assert not webhook.verify("other", "1700000000", body, signed, now=1700000100)
