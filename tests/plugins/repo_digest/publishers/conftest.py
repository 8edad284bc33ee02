"""Fixtures of the publisher tests: every service a digest goes to, local, on real sockets.

``world`` starts a fake GitHub (a reports repository and an issue tracker, both git
repositories), a Slack, a Feishu, a DingTalk and a generic webhook receiver, and an SMTP
server; Airflow connections for all of them come from ``AIRFLOW_CONN_*`` variables, their
secrets known to the test so it can look for them in logs, errors and receipts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.git_fixture import init_repo
from tests.fakes.github_api import FakeGitHub
from tests.fakes.receivers import DingTalkReceiver, FakeSMTP, FeishuReceiver, SlackReceiver, WebhookReceiver

GITHUB_TOKEN = "ghp_publisherTestToken0123456789abcdef"
SMTP_USER = "digest-bot"
SMTP_PASSWORD = "smtp-password-0123456789"
REPORTS = "octo/reports"
TRACKER = "octo/tracker"
BASE_URL = "https://airflow.example.com/"


@dataclass
class World:
    github: FakeGitHub
    slack: SlackReceiver
    feishu: FeishuReceiver
    dingtalk: DingTalkReceiver
    webhook: WebhookReceiver
    smtp: FakeSMTP
    store_url: str

    @property
    def secrets(self) -> list[str]:
        """Every credential the targets use, and the parts of URLs that are credentials."""
        return [
            GITHUB_TOKEN,
            SMTP_PASSWORD,
            self.slack.token,
            self.slack.url,
            self.feishu.secret,
            self.feishu.hook,
            self.dingtalk.secret,
            self.dingtalk.access_token,
            self.webhook.secret,
        ]

    def targets(self) -> list[dict]:
        return [
            {"type": "github_file", "repo": REPORTS, "conn_id": "github_reports"},
            {"type": "github_issue", "repo": TRACKER, "conn_id": "github_reports"},
            {"type": "slack", "conn_id": "slack_team"},
            {"type": "feishu", "conn_id": "feishu_team"},
            {"type": "dingtalk", "conn_id": "dingtalk_team"},
            {"type": "email", "conn_id": "smtp_team", "to": ["team@example.com", "lead@example.com"]},
            {"type": "webhook", "conn_id": "hook_team"},
        ]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    reports = init_repo(tmp_path / "reports")
    tracker = init_repo(tmp_path / "tracker")
    with (
        FakeGitHub(token=GITHUB_TOKEN) as github,
        SlackReceiver() as slack,
        FeishuReceiver() as feishu,
        DingTalkReceiver() as dingtalk,
        WebhookReceiver() as webhook,
        FakeSMTP(user=SMTP_USER, password=SMTP_PASSWORD) as smtp,
    ):
        github.add_repo(REPORTS, reports)
        github.add_repo(TRACKER, tracker)
        connections = {
            "github_reports": {"conn_type": "github", "password": GITHUB_TOKEN, "host": github.base_url},
            # Slack's provider style: the whole webhook URL as the password.
            "slack_team": {"conn_type": "slackwebhook", "password": slack.url},
            "feishu_team": {"conn_type": "http", "host": feishu.url, "password": feishu.secret},
            "dingtalk_team": {"conn_type": "http", "host": dingtalk.url, "password": dingtalk.secret},
            "hook_team": {"conn_type": "http", "host": webhook.url, "password": webhook.secret},
            "smtp_team": {
                "conn_type": "smtp", "host": smtp.host, "port": smtp.port, "login": SMTP_USER,
                "password": SMTP_PASSWORD,
                "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "digest@example.com",
                          "retry_limit": 0, "timeout": 5},
            },
        }  # fmt: skip
        for conn_id, connection in connections.items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        monkeypatch.setenv("REPO_DIGEST_GITHUB_WRITE_PAUSE", "0")
        yield World(github, slack, feishu, dingtalk, webhook, smtp, f"file://{tmp_path / 'store'}")
        assert not github.errors, github.errors[0]
