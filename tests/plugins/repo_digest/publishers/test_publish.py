"""publish_targets against local services: exactly once, updates in place, failures isolated, no secrets."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import airflow.sdk  # noqa: F401 - importing it configures logging: before caplog attaches, not during a test
import pytest
from repo_digest.digest import Digest
from repo_digest.publishers import parse_targets, publish_targets, raise_for_failures, target_key, viewer_url
from repo_digest.publishers.publish import PublishError, PublishReport
from repo_digest.render import render_markdown
from repo_digest.store import DigestStore

from tests.plugins.repo_digest.digest_samples import DAY, sample_digest
from tests.plugins.repo_digest.publishers.conftest import BASE_URL, REPORTS, TRACKER, World

REPO = "sgl-project/sglang"
FILE_PATH = f"reports/2026/sglang/{DAY.isoformat()}.md"
MARKER = f"<!-- repo_digest:{REPO}:{DAY.isoformat()} -->"
DIGEST_URL = f"https://airflow.example.com/repo-digest/{REPO}/{DAY.isoformat()}"


def publish(world: World, digest: Digest, targets: list[dict[str, Any]] | None = None) -> PublishReport:
    return publish_targets(
        digest,
        render_markdown(digest),
        parse_targets(targets if targets is not None else world.targets()),
        DigestStore(world.store_url),
        digest_url=viewer_url(BASE_URL, digest.repo, digest.day),
    )


def changed(digest: Digest) -> Digest:
    """The same day, reanalysed: the first high-importance commit got a new title."""
    commits = list(digest.commits)
    commits[0] = commits[0].model_copy(
        update={"title": "[diffusion] refactor: split kernels, now with benchmarks"}
    )
    return digest.model_copy(update={"commits": commits})


def statuses(report: PublishReport) -> dict[str, str]:
    return {result.type: result.status for result in report.results}


def counts(world: World) -> dict[str, int]:
    return {
        "file_commits": len(world.github.file_commits(REPORTS, FILE_PATH)),
        "issues": len(world.github.issues(TRACKER)),
        "slack": len(world.slack.messages),
        "feishu": len(world.feishu.messages),
        "dingtalk": len(world.dingtalk.messages),
        "email": len(world.smtp.messages),
        "webhook": len(world.webhook.messages),
    }


ONCE = {"file_commits": 1, "issues": 1, "slack": 1, "feishu": 1, "dingtalk": 1, "email": 1, "webhook": 1}
ALL_SENT = dict.fromkeys(
    ["github_file", "github_issue", "slack", "feishu", "dingtalk", "email", "webhook"], "sent"
)
ALL_UNCHANGED = dict.fromkeys(ALL_SENT, "unchanged")


def test_viewer_url_is_absolute_under_the_base_url():
    assert viewer_url(BASE_URL, REPO, DAY) == DIGEST_URL
    assert viewer_url("https://example.com/airflow", REPO, DAY) == (
        f"https://example.com/airflow/repo-digest/{REPO}/{DAY.isoformat()}"
    )
    assert viewer_url("", REPO, DAY) is None
    assert viewer_url("/relative", REPO, DAY) is None


def test_publishing_the_same_day_twice_sends_everything_once(world: World):
    digest = sample_digest("zh")

    first = publish(world, digest)
    assert statuses(first) == ALL_SENT, first.summary()
    assert counts(world) == ONCE
    world.github.clear_requests()

    second = publish(world, digest)

    assert statuses(second) == ALL_UNCHANGED, second.summary()
    assert counts(world) == ONCE
    assert world.github.requests == []  # the receipts answered; nothing was even asked
    assert world.github.read_file(REPORTS, FILE_PATH) == render_markdown(digest).encode()
    (issue,) = world.github.issues(TRACKER)
    assert issue["body"].startswith(MARKER)
    assert issue["labels"][0]["name"] == "repo-digest"
    assert issue["title"] == f"Daily digest {REPO} {DAY.isoformat()}"


def test_what_each_service_received(world: World):
    digest = sample_digest("en")
    assert statuses(publish(world, digest)) == ALL_SENT

    (slack,) = world.slack.payloads()
    section = slack["blocks"][1]["text"]["text"]
    high = [c for c in digest.commits if c.analysis.importance == "high"]
    assert f"<{high[0].url}|" in section and high[0].title.split(":")[0] in section
    assert f"<{DIGEST_URL}|Full digest>" in slack["blocks"][2]["text"]["text"]
    assert "8 commits today" in slack["blocks"][0]["text"]["text"]

    (feishu,) = world.feishu.payloads()
    post = feishu["content"]["post"]["en_us"]
    links = [element["href"] for row in post["content"] for element in row if element["tag"] == "a"]
    assert links == [high[0].url, high[1].url, DIGEST_URL]

    (dingtalk,) = world.dingtalk.payloads()
    assert f"]({DIGEST_URL})" in dingtalk["markdown"]["text"]
    assert dingtalk["markdown"]["title"].startswith(REPO)

    (mail,) = world.smtp.messages
    message = mail.message
    assert message["Subject"] == f"[repo-digest] {REPO} {DAY.isoformat()}"
    assert set(mail.rcpt_to) == {"team@example.com", "lead@example.com"}
    assert mail.mail_from == "digest@example.com"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # SMTP lines end CRLF
    html = message.get_body(("html",)).get_content()
    assert render_markdown(digest) in plain and DIGEST_URL in plain
    assert "<table>" in html and f'href="{DIGEST_URL}"' in html
    # The hostile sample commit: its text shows, escaped; nothing of it is markup.
    assert "<script" not in html and 'href="javascript' not in html and "&lt;script&gt;" in html

    (hook,) = world.webhook.payloads()
    assert hook["event"] == "digest.published" and hook["repo"] == REPO and hook["day"] == DAY.isoformat()
    assert Digest.model_validate(hook["digest"]) == digest
    assert hook["markdown"] == render_markdown(digest)
    headers = {key.lower(): value for key, value in world.webhook.messages[0].headers.items()}
    assert headers["x-repo-digest-delivery"] == hook["delivery"]


def test_a_changed_digest_updates_in_place_and_sends_one_marked_update(world: World):
    digest = sample_digest("zh")
    new = changed(digest)
    publish(world, digest)

    report = publish(world, new)

    assert statuses(report) == ALL_SENT, report.summary()
    assert {result.type: result.action for result in report.results} == {
        "github_file": "updated", "github_issue": "updated", "slack": "updated", "feishu": "updated",
        "dingtalk": "updated", "email": "updated", "webhook": "updated",
    }  # fmt: skip
    assert counts(world) == {
        **ONCE,
        "file_commits": 2,
        "slack": 2,
        "feishu": 2,
        "dingtalk": 2,
        "email": 2,
        "webhook": 2,
    }
    assert world.github.read_file(REPORTS, FILE_PATH) == render_markdown(new).encode()
    (issue,) = world.github.issues(TRACKER)
    assert issue["x_edits"] == 1 and "now with benchmarks" in issue["body"]

    slack_update = world.slack.payloads()[1]
    assert slack_update["blocks"][0]["text"]["text"].startswith("*【更新】")
    assert "now with benchmarks" in slack_update["blocks"][1]["text"]["text"]
    assert world.feishu.payloads()[1]["content"]["post"]["zh_cn"]["title"].startswith("【更新】")
    assert world.dingtalk.payloads()[1]["markdown"]["text"].startswith("#### 【更新】")
    assert world.smtp.messages[1].message["Subject"].startswith("【更新】")
    assert world.webhook.payloads()[1]["event"] == "digest.updated"
    assert world.webhook.payloads()[1]["delivery"] != world.webhook.payloads()[0]["delivery"]

    # And the updated day, published again, sends nothing more.
    assert statuses(publish(world, new)) == ALL_UNCHANGED
    assert counts(world) == {
        **ONCE,
        "file_commits": 2,
        "slack": 2,
        "feishu": 2,
        "dingtalk": 2,
        "email": 2,
        "webhook": 2,
    }


@pytest.mark.parametrize("receiver", ["slack", "feishu", "dingtalk", "webhook"])
def test_a_receiver_answering_500_leaves_the_others_published_and_only_it_is_retried(
    world: World, receiver: str
):
    digest = sample_digest("en")
    getattr(world, receiver).fail_with(500, times=None)

    first = publish(world, digest)

    assert statuses(first) == {**ALL_SENT, receiver: "failed"}
    (failed,) = first.failed
    assert "HTTP 500" in failed.reason
    with pytest.raises(PublishError) as raised:
        raise_for_failures(first)
    assert failed.label in str(raised.value) and "HTTP 500" in str(raised.value)
    assert counts(world) == {**ONCE, receiver: 0}

    getattr(world, receiver).fail_with(None)
    world.github.clear_requests()
    second = publish(world, digest)

    assert statuses(second) == {**ALL_UNCHANGED, receiver: "sent"}
    assert counts(world) == ONCE
    assert world.github.requests == []
    raise_for_failures(second)  # nothing failed: no exception


def test_smtp_refusal_and_a_refused_signature_are_reported_with_their_cause(world: World, monkeypatch):
    digest = sample_digest("en")
    world.smtp.refuse_data = 451
    connection = {"conn_type": "http", "host": world.feishu.url, "password": "not-the-feishu-secret"}
    monkeypatch.setenv("AIRFLOW_CONN_FEISHU_TEAM", json.dumps(connection))

    report = publish(world, digest)

    reasons = {result.type: result.reason for result in report.failed}
    assert set(reasons) == {"email", "feishu"}
    assert "451" in reasons["email"]
    assert "code 19021" in reasons["feishu"] and "sign match fail" in reasons["feishu"]
    assert counts(world) == {**ONCE, "email": 0, "feishu": 0}


def test_a_missing_connection_fails_only_its_target(world: World):
    targets = [*world.targets(), {"type": "slack", "conn_id": "no_such_connection"}]
    report = publish(world, sample_digest("en"), targets)
    (failed,) = report.failed
    assert failed.reason == "Airflow connection 'no_such_connection' is not defined"
    assert len(report.sent) == 7


def test_a_github_write_answered_502_after_it_was_applied_is_not_repeated(world: World):
    fired: list[str] = []

    def answer_502_once(request, status):
        if request.method in ("POST", "PUT") and status < 300 and request.method not in fired:
            fired.append(request.method)
            return 502, {}, {"message": "Server Error"}
        return None

    world.github.after = answer_502_once
    targets = world.targets()[:2]

    report = publish(world, sample_digest("en"), targets)

    assert fired == ["PUT", "POST"]
    assert statuses(report) == {"github_file": "sent", "github_issue": "sent"}, report.summary()
    methods = [request.method for request in world.github.writes()]
    assert methods == ["PUT", "POST"]  # neither write was repeated
    assert len(world.github.issues(TRACKER)) == 1
    assert len(world.github.file_commits(REPORTS, FILE_PATH)) == 1


def test_a_github_write_that_failed_is_done_by_the_retry_exactly_once(world: World):
    def refuse_writes(request):
        return (502, {}, {"message": "Server Error"}) if request.method in ("POST", "PUT") else None

    world.github.fault = refuse_writes
    targets = world.targets()[:2]

    first = publish(world, sample_digest("en"), targets)
    assert statuses(first) == {"github_file": "failed", "github_issue": "failed"}
    assert all("502" in result.reason for result in first.failed)
    assert [request.method for request in world.github.writes()] == ["PUT", "POST"]  # one try each

    world.github.fault = None
    second = publish(world, sample_digest("en"), targets)
    assert statuses(second) == {"github_file": "sent", "github_issue": "sent"}
    assert len(world.github.issues(TRACKER)) == 1
    assert len(world.github.file_commits(REPORTS, FILE_PATH)) == 1


def test_github_targets_find_their_file_and_issue_without_receipts(world: World):
    digest = sample_digest("en")
    # Someone else's issue quoting the marker must not be taken for ours.
    world.github.add_issue(TRACKER, "A copy", f"{MARKER}\nquoted", ["repo-digest"], user="mallory")
    publish(world, digest, world.targets()[:2])
    shutil.rmtree(Path(world.store_url.removeprefix("file://")) / "_receipts")

    same = publish(world, digest, world.targets()[:2])
    assert {result.action for result in same.results} == {"unchanged"}

    shutil.rmtree(Path(world.store_url.removeprefix("file://")) / "_receipts")
    updated = publish(world, changed(digest), world.targets()[:2])

    assert {result.action for result in updated.results} == {"updated"}
    issues = world.github.issues(TRACKER)
    assert [issue["user"]["login"] for issue in issues] == ["mallory", "repo-digest-bot"]
    assert issues[0]["body"] == f"{MARKER}\nquoted" and issues[1]["x_edits"] == 1
    assert len(world.github.file_commits(REPORTS, FILE_PATH)) == 2


def test_receipts_layout(world: World):
    digest = sample_digest("en")
    targets = parse_targets(world.targets())
    publish(world, digest)

    folder = (
        Path(world.store_url.removeprefix("file://"))
        / "_receipts"
        / "sgl-project"
        / "sglang"
        / DAY.isoformat()
    )
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"{target_key(t)}.json" for t in targets)
    issue_receipt = json.loads((folder / f"{target_key(targets[1])}.json").read_text())
    assert issue_receipt["type"] == "github_issue" and issue_receipt["repo"] == REPO
    assert issue_receipt["content_hash"].startswith("sha256:") and issue_receipt["action"] == "created"
    assert issue_receipt["details"]["issue_number"] == 1
    assert [event["action"] for event in issue_receipt["history"]] == ["created"]
    file_receipt = json.loads((folder / f"{target_key(targets[0])}.json").read_text())
    assert file_receipt["details"]["path"] == FILE_PATH and len(file_receipt["details"]["commit_sha"]) == 40


def test_no_secret_reaches_logs_errors_or_receipts(world: World, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    digest = sample_digest("en")
    # Slack at a port where nothing listens: requests' error message carries the URL.
    dead = world.slack.url.replace(world.slack.base_url, "http://127.0.0.1:9")
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_TEAM", json.dumps({"conn_type": "slackwebhook", "password": dead}))
    world.dingtalk.fail_with(500, times=None)
    world.webhook.fail_with(500, times=None)
    world.github.fault = lambda request: (
        (500, {}, {"message": f"oops {GITHUB_SECRET_ECHO}"}) if request.method == "PUT" else None
    )

    first = publish(world, digest)
    with pytest.raises(PublishError) as raised:
        raise_for_failures(first)

    assert {result.type for result in first.failed} == {"slack", "dingtalk", "webhook", "github_file"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_TEAM", json.dumps({"conn_type": "slackwebhook", "password": world.slack.url})
    )
    world.dingtalk.fail_with(None)
    world.webhook.fail_with(None)
    world.github.fault = None
    second = publish(world, changed(digest))
    assert not second.failed, second.summary()

    store = Path(world.store_url.removeprefix("file://"))
    receipts = "".join(path.read_text() for path in store.rglob("*.json"))
    out, err = capfd.readouterr()
    texts = {
        "exception": str(raised.value) + repr(raised.value.__cause__) + repr(raised.value.__context__),
        "reasons": json.dumps([first.to_dict(), second.to_dict()]),
        "logs": caplog.text + "".join(str(record.__dict__) for record in caplog.records),
        "stdout/stderr": out + err,
        "receipts": receipts,
    }
    assert "urllib3" in caplog.text  # the HTTP library did log its requests...
    for secret in world.secrets:
        for where, text in texts.items():
            assert secret not in text, f"{secret!r} found in {where}"


# The fake GitHub echoes this in an error body: GitHub's messages never hold the token,
# but an echoing proxy could; the token must still not come through.
GITHUB_SECRET_ECHO = "ghp_publisherTestToken0123456789abcdef"
