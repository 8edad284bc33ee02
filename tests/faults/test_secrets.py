"""Secrets stay secret: the GitHub token, the LLM key, webhook URLs and signing secrets, the SMTP
password never appear in task logs, XCom, rendered template fields, the metadata DB's other
rows, the store (digests, caches, receipts) or what is published, whether the runs succeed
or fail, and whether the value is right or a wrong one somebody typed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import quote

from tests.fakes.git_fixture import init_repo, run_git
from tests.fakes.github_api import FakeGitHub
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.receivers import DingTalkReceiver, FakeSMTP, FeishuReceiver, SlackReceiver, WebhookReceiver
from tests.faults.helpers import DAG_ID, REPO, TZ, captured, read_digest, run_dag, set_repos

TOKEN = "ghp_secretsTestToken0123456789ABCDEFabcd"
WRONG_TOKEN = "ghp_typoToken0123456789ABCDEFabcdefghij"
KEY = "sk-secretsTestKey-0123456789abcdefABCDEF"
WRONG_KEY = "sk-typoKey-0123456789abcdefABCDEFghijkl"
SMTP_PASSWORD = "smtp-secret-password-0123456789"


def connections(github: FakeGitHub, llm: FakeOpenAI, slack, feishu, dingtalk, webhook, smtp) -> dict[str, dict]:
    return {
        "github_default": {"conn_type": "github", "password": TOKEN, "host": github.base_url},
        "openai_default": {"conn_type": "openai", "password": KEY, "host": llm.base_url,
                           "extra": {"model": "gpt-4o-mini", "max_attempts": 1}},
        "slack_team": {"conn_type": "slackwebhook", "password": slack.url},
        "feishu_team": {"conn_type": "http", "host": feishu.url, "password": feishu.secret},
        "dingtalk_team": {"conn_type": "http", "host": dingtalk.url, "password": dingtalk.secret},
        "hook_team": {"conn_type": "http", "host": webhook.url, "password": webhook.secret},
        "smtp_team": {"conn_type": "smtp", "host": smtp.host, "port": smtp.port, "login": "digest-bot",
                      "password": SMTP_PASSWORD,
                      "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "digest@example.com",
                                "retry_limit": 0, "timeout": 5}},
    }  # fmt: skip


TARGETS = [
    {"type": "github_file", "repo": "octo/reports"},
    {"type": "github_issue", "repo": "octo/tracker"},
    {"type": "slack", "conn_id": "slack_team"},
    {"type": "feishu", "conn_id": "feishu_team"},
    {"type": "dingtalk", "conn_id": "dingtalk_team"},
    {"type": "email", "conn_id": "smtp_team", "to": ["team@example.com"]},
    {"type": "webhook", "conn_id": "hook_team"},
]


def forms(secret: str) -> set[str]:
    """The secret as it could be written down: as is, URL-quoted, JSON-escaped, base64."""
    return {secret, quote(secret, safe=""), json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode()}


def metadata_db_text(dag_ids: list[str]) -> dict[str, str]:
    """XCom values (deserialized: the commit table is parquet inside JSON), rendered template fields,
    serialized DAGs, runs' conf and task instances' notes, as text, by where they came from."""
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    texts: dict[str, str] = {}
    with create_session() as session:
        for row in session.query(XComModel).filter(XComModel.dag_id.in_(dag_ids)):
            value = XComModel.deserialize_value(row)
            shown = value.to_json() if hasattr(value, "to_json") else json.dumps(value, default=str, ensure_ascii=False)
            texts[f"xcom {row.task_id}[{row.map_index}] {row.key}"] = json.dumps(row.value, default=str) + shown
        for row in session.query(RenderedTaskInstanceFields).filter(RenderedTaskInstanceFields.dag_id.in_(dag_ids)):
            texts[f"rendered {row.task_id}[{row.map_index}]"] = json.dumps(row.rendered_fields, default=str)
        for row in session.query(SerializedDagModel).filter(SerializedDagModel.dag_id.in_(dag_ids)):
            texts[f"serialized {row.dag_id}"] = json.dumps(row.data, default=str)
        for run in session.query(DagRun).filter(DagRun.dag_id.in_(dag_ids)):
            texts[f"run {run.run_id}"] = json.dumps(run.conf, default=str)
        for ti in session.query(TaskInstance).filter(TaskInstance.dag_id.in_(dag_ids)):
            texts[f"ti {ti.task_id}[{ti.map_index}] {ti.run_id}"] = json.dumps(
                [ti.rendered_map_index, ti.external_executor_id, ti.hostname], default=str
            )
    return texts


def test_no_secret_reaches_logs_xcom_rendered_fields_the_store_or_what_is_published(
    monkeypatch, airflow_db, store, fixture_repo, capfd, tmp_path
):
    import os

    with (
        FakeGitHub(token=TOKEN) as github,
        FakeOpenAI(api_key=KEY) as llm,
        SlackReceiver(token="T0SECRET1/B0SECRET2/slackSecretsTestToken0123") as slack,
        FeishuReceiver(secret="feishu-secrets-test-0123456789", hook="feishu-hook-secrets-0123456789") as feishu,
        DingTalkReceiver(access_token="dingtalkSecretsTestToken0123456", secret="SECdingtalkSecretsTest012345") as dingtalk,
        WebhookReceiver(secret="webhook-secrets-test-0123456789") as webhook,
        FakeSMTP(user="digest-bot", password=SMTP_PASSWORD) as smtp,
    ):  # fmt: skip
        github.add_repo(REPO, fixture_repo.path, logins=fixture_repo.logins)
        github.add_repo("octo/reports", init_repo(tmp_path / "reports"))
        github.add_repo("octo/tracker", init_repo(tmp_path / "tracker"))
        conns = connections(github, llm, slack, feishu, dingtalk, webhook, smtp)
        for conn_id, connection in conns.items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        monkeypatch.setenv("REPO_DIGEST_GITHUB_WRITE_PAUSE", "0")
        set_repos(monkeypatch, {"repo": REPO, "timezone": TZ, "publish": TARGETS})
        secrets = [TOKEN, WRONG_TOKEN, KEY, WRONG_KEY, SMTP_PASSWORD, slack.token, slack.url, feishu.secret,
                   feishu.hook, dingtalk.secret, dingtalk.access_token, webhook.secret]  # fmt: skip

        # 1. Everything works: the digest is published to every target.
        run_dag(dt.date(2026, 2, 19))
        assert len(slack.messages) == len(feishu.messages) == len(dingtalk.messages) == len(webhook.messages) == 1
        assert len(smtp.messages) == 1 and len(github.issues("octo/tracker")) == 1
        # 2. Slack fails: publish fails naming it (its webhook URL is the secret).
        slack.fail_with(500, times=None)
        run_dag(dt.date(2026, 2, 20), expect="failed")
        slack.fail_with(None)
        # 3. The LLM refuses a mistyped key.
        monkeypatch.setenv("AIRFLOW_CONN_OPENAI_DEFAULT", json.dumps({**conns["openai_default"], "password": WRONG_KEY}))
        run_dag(dt.date(2026, 2, 22), expect="failed")
        # 4. GitHub refuses a mistyped token.
        monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", json.dumps({**conns["github_default"], "password": WRONG_TOKEN}))
        run_dag(dt.date(2026, 2, 17), expect="failed")
        log = captured(capfd)

        published = {
            "slack": json.dumps([m.json() for m in slack.messages]),
            "feishu": json.dumps([m.json() for m in feishu.messages]),
            "dingtalk": json.dumps([m.json() for m in dingtalk.messages]),
            "webhook": json.dumps([m.json() for m in webhook.messages]),
            "email": "".join(m.message.as_string() for m in smtp.messages),
            "issues": json.dumps(github.issues("octo/tracker")),
            "reports repository": run_git(tmp_path / "reports", "log", "-p", "--all").decode(errors="replace"),
        }

    # The runs did what was meant (so the search below looks at real output), and the
    # search would find a secret written down in any of the forms.
    assert "Digest written:" in log 
    assert "每日更新报告" in published["reports repository"]
    assert all(any(form in json.dumps(conns) for form in forms(secret)) for secret in secrets if "typo" not in secret)
    assert "1 of 7 publish target(s) failed for acme/widgets 2026-02-20:" in log and "HTTP 500" in log
    assert "HTTP 401: Incorrect API key provided" in log
    assert "GitHub refused the credentials of Airflow connection 'github_default' (HTTP 401" in log
    markdown, _ = read_digest(store, dt.date(2026, 2, 19))
    assert "LLM" in markdown

    places: dict[str, str] = {"task logs (dag.test output)": log, **published}
    for path in sorted(p for p in store.rglob("*") if p.is_file()):
        places[f"store {path.relative_to(store)}"] = path.read_text(encoding="utf-8", errors="replace")
    for path in sorted(p for p in (Path(os.environ["AIRFLOW_HOME"]) / "logs").rglob("*") if p.is_file()):
        places[f"log file {path.name}"] = path.read_text(encoding="utf-8", errors="replace")
    places.update(metadata_db_text([DAG_ID, "repo_digest__all"]))
    assert any(name.startswith("xcom ") for name in places) and any(name.startswith("rendered ") for name in places)
    assert any("_receipts" in name for name in places) and any("_cache" in name for name in places)

    leaks = [(secret[:12] + "…", place) for secret in secrets for form in forms(secret)
             for place, text in places.items() if form in text]  # fmt: skip
    assert leaks == []
