"""The publish target schema: defaults, strict validation, templates and stable receipt keys."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError
from repo_digest.publishers.targets import (
    DEFAULT_FILE_PATH,
    EmailTarget,
    GithubFileTarget,
    GithubIssueTarget,
    PublishTargets,
    SlackTarget,
    parse_targets,
    publish_error,
    render_template,
    target_key,
    template_values,
)

EXAMPLES = [
    {"type": "github_file", "repo": "octo/reports"},
    {"type": "github_file", "repo": "octo/reports", "branch": "digests", "path": "daily/{owner}/{name}/{YYYY}/{MM}/{DD}.{language}.md",
     "commit_message": "digest {repo} {YYYY-MM-DD}", "conn_id": "github_reports"},
    {"type": "github_issue", "repo": "octo/tracker", "title": "[{language}] {repo} {YYYY-MM-DD}", "labels": ["digest", "daily"]},
    {"type": "slack", "conn_id": "slack_team", "max_titles": 5},
    {"type": "feishu", "conn_id": "feishu_team"},
    {"type": "dingtalk", "conn_id": "dingtalk_team"},
    {"type": "email", "to": ["team@example.com"], "subject": "Digest {repo} {YYYY-MM-DD}", "from_email": "bot@example.com"},
    {"type": "webhook", "conn_id": "hook_team", "include_markdown": False},
]  # fmt: skip


def test_every_documented_example_parses():
    targets = parse_targets(EXAMPLES)
    assert [target.type for target in targets] == [example["type"] for example in EXAMPLES]


def test_defaults():
    file_target, issue, slack, email = parse_targets(
        [{"type": "github_file", "repo": "o/r"}, {"type": "github_issue", "repo": "o/t"}, {"type": "slack"},
         {"type": "email", "to": "a@example.com"}]
    )  # fmt: skip
    assert isinstance(file_target, GithubFileTarget)
    assert (file_target.branch, file_target.path, file_target.conn_id) == (
        None,
        DEFAULT_FILE_PATH,
        "github_default",
    )
    assert isinstance(issue, GithubIssueTarget) and issue.labels == ["repo-digest"]
    assert issue.title == "Daily digest {owner}/{name} {YYYY-MM-DD}"
    assert isinstance(slack, SlackTarget) and (slack.conn_id, slack.max_titles) == ("slack_default", 10)
    assert (
        isinstance(email, EmailTarget) and email.to == ["a@example.com"] and email.conn_id == "smtp_default"
    )


def test_templates_render_every_placeholder():
    values = template_values("sgl-project/sglang", dt.date(2026, 2, 9), "en")
    rendered = render_template("{owner}|{name}|{repo}|{YYYY}|{MM}|{DD}|{YYYY-MM-DD}|{language}", values)
    assert rendered == "sgl-project|sglang|sgl-project/sglang|2026|02|09|2026-02-09|en"
    assert render_template(DEFAULT_FILE_PATH, values) == "reports/2026/sglang/2026-02-09.md"


@pytest.mark.parametrize(
    ("item", "where", "words"),
    [
        ({"type": "telegram"}, ("0",), "does not match any of the expected tags"),
        ({"type": "slack", "channel": "#x"}, ("0", "slack", "channel"), "Extra inputs are not permitted"),
        ({"type": "github_file"}, ("0", "github_file", "repo"), "Field required"),
        ({"type": "github_file", "repo": "octo"}, ("0", "github_file", "repo"), "owner/name"),
        (
            {"type": "github_file", "repo": "o/r", "path": "r/{YEAR}.md"},
            ("0", "github_file", "path"),
            "{YEAR}",
        ),
        (
            {"type": "github_file", "repo": "o/r", "path": "/abs/{YYYY}.md"},
            ("0", "github_file", "path"),
            "relative",
        ),
        (
            {"type": "github_file", "repo": "o/r", "path": "a/../b.md"},
            ("0", "github_file", "path"),
            "relative",
        ),
        ({"type": "github_file", "repo": "o/r", "branch": "a..b"}, ("0", "github_file", "branch"), "branch"),
        (
            {"type": "github_issue", "repo": "o/r", "title": "x {day"},
            ("0", "github_issue", "title"),
            "unmatched",
        ),
        (
            {"type": "github_issue", "repo": "o/r", "labels": ["a,b"]},
            ("0", "github_issue", "labels"),
            "without ','",
        ),
        ({"type": "email", "to": []}, ("0", "email", "to"), "1-50 email addresses"),
        ({"type": "email", "to": ["not-an-address"]}, ("0", "email", "to"), "not an email address"),
        (
            {"type": "email", "to": ["a@b.co"], "subject": "a\nBcc: x@y.z"},
            ("0", "email", "subject"),
            "one-line",
        ),
        ({"type": "slack", "conn_id": "bad id!"}, ("0", "slack", "conn_id"), "connection id"),
        ({"type": "slack", "max_titles": 1000}, ("0", "slack", "max_titles"), "less than or equal to 100"),
        ({"type": "webhook", "id": "no spaces please"}, ("0", "webhook", "id"), "1-64"),
    ],
)
def test_invalid_targets_name_the_index_key_and_problem(item, where, words):
    with pytest.raises(ValidationError) as raised:
        parse_targets([item])
    errors = raised.value.errors()
    assert any(
        tuple(str(part) for part in error["loc"]) == where and words in error["msg"] for error in errors
    ), errors


def test_two_targets_for_the_same_place_are_refused_unless_given_ids():
    with pytest.raises(ValidationError, match="same place as target 0"):
        parse_targets(
            [{"type": "github_issue", "repo": "o/r"}, {"type": "github_issue", "repo": "O/R", "labels": []}]
        )
    both = parse_targets([{"type": "slack", "id": "a"}, {"type": "slack", "id": "b"}])
    assert [target_key(target) for target in both] == ["slack-a", "slack-b"]


def test_keys_are_stable_and_follow_the_destination_not_the_wording():
    (issue,) = parse_targets([{"type": "github_issue", "repo": "octo/tracker"}])
    (reworded,) = parse_targets(
        [{"type": "github_issue", "repo": "octo/tracker", "title": "New {repo}", "labels": []}]
    )
    (elsewhere,) = parse_targets([{"type": "github_issue", "repo": "octo/other"}])
    assert target_key(issue) == target_key(reworded) != target_key(elsewhere)
    assert target_key(issue).startswith("github_issue-octo-tracker-")
    # The same configuration always gives the same key (receipts survive restarts and upgrades).
    assert target_key(issue) == "github_issue-octo-tracker-2015fb8c4690"
    (one,) = parse_targets([{"type": "email", "to": ["A@example.com", "b@example.com"]}])
    (same,) = parse_targets([{"type": "email", "to": ["b@example.com", "a@example.com"], "subject": "x"}])
    assert target_key(one) == target_key(same)
    (slack_a,) = parse_targets([{"type": "slack", "conn_id": "team_a", "max_titles": 3}])
    (slack_b,) = parse_targets([{"type": "slack", "conn_id": "team_b"}])
    assert target_key(slack_a) != target_key(slack_b)
    for key in map(target_key, parse_targets(EXAMPLES)):
        assert all(ch.isalnum() or ch in "._-" for ch in key)


def test_targets_are_frozen_and_carry_no_secrets():
    (target,) = parse_targets([{"type": "feishu", "conn_id": "feishu_team"}])
    with pytest.raises(ValidationError):
        target.conn_id = "x"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        parse_targets([{"type": "feishu", "secret": "s3cr3t"}])


@pytest.mark.parametrize(
    ("connection", "signed", "url", "secret"),
    [
        ({"conn_type": "slackwebhook", "password": "https://hooks.slack.com/services/T/B/tok"}, False,
         "https://hooks.slack.com/services/T/B/tok", None),
        ({"conn_type": "slackwebhook", "password": "T/B/tok"}, False, "https://hooks.slack.com/services/T/B/tok", None),
        ({"conn_type": "http", "host": "https://hooks.slack.com/services/T/B/tok"}, False,
         "https://hooks.slack.com/services/T/B/tok", None),
        ({"conn_type": "http", "host": "chat.example.com", "schema": "http", "port": 8080, "password": "hook/tok"},
         False, "http://chat.example.com:8080/hook/tok", None),
        ({"conn_type": "http", "host": "https://open.feishu.cn/open-apis/bot/v2/hook/abc", "password": "sec-123456"},
         True, "https://open.feishu.cn/open-apis/bot/v2/hook/abc", "sec-123456"),
        ({"conn_type": "http", "extra": {"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=t",
                                         "secret": "SEC-0123456"}},
         True, "https://oapi.dingtalk.com/robot/send?access_token=t", "SEC-0123456"),
    ],
)  # fmt: skip
def test_webhook_connections(monkeypatch, connection, signed, url, secret):
    import json

    from repo_digest.publishers.credentials import Redactor, webhook_endpoint

    monkeypatch.setenv("AIRFLOW_CONN_CHAT_TEST", json.dumps(connection))
    redactor = Redactor()
    endpoint = webhook_endpoint("chat_test", redactor, signed=signed,
                                default_host=None if signed else "https://hooks.slack.com/services")  # fmt: skip
    assert (endpoint.url, endpoint.secret) == (url, secret)
    assert url not in redactor.redact(f"posting to {url}")


@pytest.mark.parametrize(
    ("connection", "words"),
    [
        ({"conn_type": "http"}, "has no webhook URL"),
        ({"conn_type": "http", "host": "ftp://x.example/hook", "password": "secret-1"}, r"must be http\(s\)"),
        ({"conn_type": "http", "host": "https://x.example/hook"}, "has no signing secret"),
    ],
)
def test_incomplete_webhook_connections_are_named(monkeypatch, connection, words):
    import json

    from repo_digest.publishers.credentials import PublishConfigError, Redactor, webhook_endpoint

    monkeypatch.setenv("AIRFLOW_CONN_CHAT_TEST", json.dumps(connection))
    with pytest.raises(PublishConfigError, match=words):
        webhook_endpoint("chat_test", Redactor(), signed=True)


class _Entry(BaseModel):
    """Stands for config.RepoEntry's ``publish`` key (see the report for the config.py change)."""

    model_config = ConfigDict(extra="forbid")
    publish: PublishTargets = []


@pytest.mark.parametrize(
    ("publish", "key", "message"),
    [
        ([{"type": "github_file", "repo": "o/r", "path": "x/{YEAR}.md"}], "publish[0].path",
         "'x/{YEAR}.md' unknown placeholder(s) {YEAR}"),
        ([{"type": "slack"}, {"type": "telegram"}], "publish[1].type", "'telegram' is not a target type; use one of"),
        ([{"repo": "o/r"}], "publish[0]", "must be an object with a 'type'"),
        (["slack"], "publish[0]", "must be an object with a 'type'"),
        ([{"type": "slack", "channel": "#x"}], "publish[0].channel",
         "unknown key (value '#x'); allowed for slack: id, max_titles, type, conn_id"),
        ([{"type": "github_issue"}], "publish[0].repo", "is required"),
        ([{"type": "email", "to": ["a@b.co", "nope"]}], "publish[0].to", "['a@b.co', 'nope'] 'nope' is not an email"),
        ({"type": "slack"}, "publish", "{'type': 'slack'} must be a list of targets"),
        ([{"type": "slack"}, {"type": "slack"}], "publish", "target 1 (slack:slack_default) publishes to the same place"),
    ],
)  # fmt: skip
def test_publish_errors_name_the_target_the_key_and_the_value(publish, key, message):
    with pytest.raises(ValidationError) as raised:
        _Entry.model_validate({"publish": publish})
    described = [publish_error(publish, error) for error in raised.value.errors(include_url=False)]
    assert any(k == key and m.startswith(message) for k, m in described), described
