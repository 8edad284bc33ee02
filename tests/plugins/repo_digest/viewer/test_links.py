"""The "Open digest" extra link: URL building (pure), get_link, and Airflow's whole path for it
(DAG serialization, the worker pushing the URL to XCom, the api-server's links endpoint)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pendulum
import pytest

from repo_digest.viewer.links import (
    OpenDigestLink,
    digest_link,
    digest_ref,
    printable_ui_url,
    ui_url,
    viewer_url,
)
from repo_digest.viewer.paths import DigestRef, ref_from_store_path

ROOT = Path(__file__).resolve().parents[4]
DAY = dt.date(2026, 2, 19)
WIDGETS = DigestRef("acme/widgets", DAY)


def published(markdown: str) -> dict[str, str]:
    return {"markdown": markdown, "json": markdown.removesuffix(".md") + ".json"}


# --- the URL, from publish's return value --------------------------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        "/home/airflow/digests/acme/widgets/2026/2026-02-19.md",
        "file:///home/airflow/digests/acme/widgets/2026/2026-02-19.md",
        "s3://bucket/team/digests/acme/widgets/2026/2026-02-19.md",
        "gs://bucket/acme/widgets/2026/2026-02-19.md",
    ],
)
def test_the_link_opens_the_viewer_page_inside_the_ui(markdown):
    assert digest_link(published(markdown), base_url="") == "/plugin/digests/repo-digest/acme/widgets/2026-02-19"


def test_the_combined_report():
    value = published("file:///srv/digests/_all/2026/2026-02-19.md")
    assert digest_link(value, base_url=None) == "/plugin/digests/repo-digest/_all/2026-02-19"
    assert digest_ref(value, "file:///srv/digests") == DigestRef(None, DAY)
    # write_combined returns one value per day it rewrote: the link opens the first.
    days = [published(f"file:///srv/digests/_all/2026/2026-02-{n}.md") for n in (18, 19)]
    assert digest_link(days, base_url="") == "/plugin/digests/repo-digest/_all/2026-02-18"
    assert digest_link([None, *days], base_url="") == "/plugin/digests/repo-digest/_all/2026-02-18"
    assert digest_link([], base_url="") == ""


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("", "/plugin/digests/repo-digest/acme/widgets/2026-02-19"),
        (None, "/plugin/digests/repo-digest/acme/widgets/2026-02-19"),
        ("http://localhost:8080", "/plugin/digests/repo-digest/acme/widgets/2026-02-19"),
        ("https://airflow.example.com/", "/plugin/digests/repo-digest/acme/widgets/2026-02-19"),
        # Behind a path prefix, the UI and the viewer both live under it; the UI's iframe
        # path after /plugin/digests is the viewer's full path.
        ("https://example.com/airflow", "/airflow/plugin/digests/airflow/repo-digest/acme/widgets/2026-02-19"),
        ("https://example.com/airflow/", "/airflow/plugin/digests/airflow/repo-digest/acme/widgets/2026-02-19"),
    ],
)
def test_the_link_follows_the_api_base_url_path(base_url, expected):
    assert ui_url(WIDGETS, base_url) == expected
    assert viewer_url(WIDGETS, base_url) == expected.split("/plugin/digests", 1)[1]
    # In a task's log, the same link with the host users reach Airflow at, when it is known.
    host = "" if not base_url else base_url.split("/", 3)[0] + "//" + base_url.split("/", 3)[2]
    assert printable_ui_url(WIDGETS, base_url) == host + expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "file:///x/acme/widgets/2026/2026-02-19.md",  # a string, not publish's dict
        {},
        {"markdown": None},
        {"markdown": 7},
        {"markdown": "/x/acme/widgets/2026/2026-02-19.json"},
        {"markdown": "/x/acme/widgets/2025/2026-02-19.md"},  # year folder disagrees
        {"markdown": "/x/acme/widgets/2026/2026-02-30.md"},
        {"markdown": "/x/acme/widgets/2026-02-19.md"},
        {"markdown": "/x/acme/../2026/2026-02-19.md"},
        {"markdown": "/x/_cache/widgets/2026/2026-02-19.md"},
        {"markdown": "/x/acme/wid gets/2026/2026-02-19.md"},
        {"markdown": "/x/acme/widgets/2026/2026-02-19.md?x"},
        {"markdown": "2026-02-19.md"},
    ],
)
def test_no_digest_no_link(value):
    assert digest_link(value, base_url="") == ""


def test_the_store_root_settles_a_repository_named_all():
    store = "file:///srv/digests"
    assert ref_from_store_path(f"{store}/acme/_all/2026/2026-02-19.md", store) == DigestRef("acme/_all", DAY)
    assert ref_from_store_path(f"{store}/_all/2026/2026-02-19.md", store) == DigestRef(None, DAY)
    assert ref_from_store_path(f"{store}/deeper/acme/widgets/2026/2026-02-19.md", store) is None
    assert ref_from_store_path("file:///elsewhere/acme/widgets/2026/2026-02-19.md", store) is None
    # digest_ref falls back to reading the last segments when the root does not match.
    assert digest_ref(published("file:///elsewhere/acme/widgets/2026/2026-02-19.md"), store) == WIDGETS


# --- get_link, as the worker calls it -----------------------------------------------------


def test_get_link_reads_publish_return_value_from_xcom(monkeypatch, tmp_path):
    from airflow.sdk.execution_time import xcom
    from airflow.sdk.types import TaskInstanceKey

    store = tmp_path / "store"
    monkeypatch.setenv("REPO_DIGEST_STORE", str(store))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/af/")
    asked = []

    def get_value(*, ti_key, key):
        asked.append((ti_key, key))
        return published(f"file://{store}/acme/widgets/2026/2026-02-19.md")

    monkeypatch.setattr(xcom.XCom, "get_value", get_value)
    key = TaskInstanceKey(dag_id="repo_digest__acme__widgets", task_id="publish", run_id="r1")
    link = OpenDigestLink().get_link(None, ti_key=key)  # type: ignore[arg-type]
    assert link == "/af/plugin/digests/af/repo-digest/acme/widgets/2026-02-19"
    assert asked == [(key, "return_value")]
    monkeypatch.setattr(xcom.XCom, "get_value", lambda **_: None)  # publish failed: no value
    assert OpenDigestLink().get_link(None, ti_key=key) == ""  # type: ignore[arg-type]


def test_the_link_is_serialized_with_the_task_by_name_and_xcom_key():
    """What the api-server gets: {name: xcom_key}, read back as an XCom link (no plugin needed)."""
    from airflow.sdk import DAG, task
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("probe", schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) as dag:

        @task
        def publish() -> dict[str, str]:
            return {}

        publish().operator.operator_extra_links = [OpenDigestLink()]

    encoded = DagSerialization.to_dict(dag)
    (task_data,) = [t["__var"] for t in encoded["dag"]["tasks"]]
    assert task_data["_operator_extra_links"] == {"Open digest": "_link_OpenDigestLink"}
    restored = DagSerialization.from_dict(encoded).get_task("publish")
    assert restored.extra_links == ["Open digest"]
    assert restored.operator_extra_link_dict["Open digest"].xcom_key == "_link_OpenDigestLink"


def test_the_repo_dags_publish_task_carries_the_link(monkeypatch):
    from repo_digest.config import RepoEntry
    from repo_digest.dag_factory import build_repo_dag

    dag = build_repo_dag(RepoEntry(repo="acme/widgets"))
    links = dag.get_task("publish").operator_extra_links
    assert [type(link) for link in links] == [OpenDigestLink]
    assert [link.name for link in links] == ["Open digest"]


# --- the whole path: dag.test(), the worker's XCom, the api-server's links endpoint --------


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory):
    from tests.fakes.git_fixture import build_fixture_repo

    return build_fixture_repo(tmp_path_factory.mktemp("fixture") / "widgets")


def test_a_run_shows_open_digest_in_the_api_and_the_link_opens_the_digest(
    monkeypatch, airflow_db, admin_token, tmp_path, fixture_repo
):
    from airflow.api_fastapi.app import create_app
    from airflow.dag_processing.dagbag import DagBag
    from fastapi.testclient import TestClient

    store = tmp_path / "store"
    monkeypatch.setenv("REPO_DIGEST_STORE", str(store))
    monkeypatch.setenv("REPO_DIGEST_GIT_CACHE", str(tmp_path / "git-cache"))
    entry = {"repo": "acme/widgets", "timezone": "Asia/Shanghai", "source": "git", "url": str(fixture_repo.path)}
    monkeypatch.setenv("AIRFLOW_VAR_REPO_DIGEST_REPOS", json.dumps([entry]))

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["repo_digest__acme__widgets"]
    run = dag.test(logical_date=pendulum.datetime(2026, 2, 17, tz="UTC"))
    assert run.state == "success"

    client = TestClient(create_app(), follow_redirects=False)
    client.cookies.set("_token", admin_token)
    response = client.get(f"/api/v2/dags/{dag.dag_id}/dagRuns/{run.run_id}/taskInstances/publish/links")
    assert response.status_code == 200
    link = response.json()["extra_links"]["Open digest"]
    assert link == "/plugin/digests/repo-digest/acme/widgets/2026-02-17"
    # The UI loads the part after /plugin/digests in its iframe: the viewer page.
    page = client.get(link.removeprefix("/plugin/digests"), headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert '<main id="digest" data-repo="acme/widgets" data-day="2026-02-17">' in page.text
    assert "<table>" in page.text
