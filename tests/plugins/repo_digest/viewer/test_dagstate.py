"""The line about repo_digest__all on the index, from the test session's real metadata DB."""

from __future__ import annotations

import pytest

from repo_digest.dag_factory import COMBINED_DAG_ID
from repo_digest.viewer.dagstate import DagState, read_dag_state, state_of
from tests.plugins.repo_digest.viewer.viewer_samples import PREFIX, Elements

HTML = {"Accept": "text/html"}
BUNDLE = "dags-folder"


@pytest.fixture
def dag_row(airflow_db):
    """Sets the ``dag`` table's row of repo_digest__all as the dag-processor would; restores it afterwards.

    Earlier tests of the session may have made that DAG and its runs (which a row's deletion
    would orphan): an existing row is updated in place and put back as it was.
    """
    from sqlalchemy import delete, select

    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.utils.session import create_session

    fields = ("is_paused", "is_stale", "has_import_errors")
    with create_session() as session:
        existing = session.scalar(select(DagModel).where(DagModel.dag_id == COMBINED_DAG_ID))
        saved = {name: getattr(existing, name) for name in fields} if existing is not None else None

    def set_row(*, is_paused: bool = False, is_stale: bool = False, has_import_errors: bool = False) -> None:
        values = {"is_paused": is_paused, "is_stale": is_stale, "has_import_errors": has_import_errors}
        with create_session() as session:
            row = session.scalar(select(DagModel).where(DagModel.dag_id == COMBINED_DAG_ID))
            if row is not None:
                for name, value in values.items():
                    setattr(row, name, value)
                return
            if session.scalar(select(DagBundleModel).where(DagBundleModel.name == BUNDLE)) is None:
                session.add(DagBundleModel(name=BUNDLE))
                session.flush()
            session.add(DagModel(dag_id=COMBINED_DAG_ID, bundle_name=BUNDLE, fileloc="dags/repo_digest_all.py",
                                 max_active_tasks=16, max_consecutive_failed_dag_runs=0,
                                 has_task_concurrency_limits=False, **values))  # fmt: skip

    yield set_row
    with create_session() as session:
        if saved is None:
            session.execute(delete(DagModel).where(DagModel.dag_id == COMBINED_DAG_ID))
        else:
            row = session.scalar(select(DagModel).where(DagModel.dag_id == COMBINED_DAG_ID))
            for name, value in saved.items():
                setattr(row, name, value)


@pytest.fixture
def absent_combined_dag(monkeypatch):
    """The viewer looks for a combined DAG that no test ever made (repo_digest__all may exist by now)."""
    import repo_digest.dag_factory

    monkeypatch.setattr(repo_digest.dag_factory, "COMBINED_DAG_ID", "repo_digest__never_parsed")


def state_line(html: str) -> dict[str, str | None] | None:
    lines = [attrs for attrs in Elements(html).named("p") if attrs.get("id") == "combined-state"]
    assert len(lines) <= 1
    return lines[0] if lines else None


def state_text(html: str) -> str:
    start = html.index('id="combined-state"')
    return html[html.index(">", start) + 1 : html.index("</p>", start)]


def test_the_combined_dag_id_is_the_dag_factorys():
    assert COMBINED_DAG_ID == "repo_digest__all"


@pytest.mark.parametrize(
    ("row", "state"),
    [
        (None, "absent"),
        ((False, False, False), "active"),
        ((True, False, False), "paused"),
        ((True, True, False), "stale"),
        ((False, False, True), "import_errors"),
        ((True, False, True), "paused"),
        ((False, False, None), "active"),
    ],
)
def test_state_of_a_dag_row(row, state):
    assert state_of("d", row) == DagState("d", state)


def test_read_dag_state_reads_the_metadata_db(dag_row):
    assert read_dag_state("repo_digest__never_parsed") == DagState("repo_digest__never_parsed", "absent")
    dag_row(is_paused=True)
    assert read_dag_state(COMBINED_DAG_ID) == DagState(COMBINED_DAG_ID, "paused")
    dag_row(is_paused=False)
    assert read_dag_state(COMBINED_DAG_ID) == DagState(COMBINED_DAG_ID, "active")
    dag_row(is_stale=True)
    assert read_dag_state(COMBINED_DAG_ID) == DagState(COMBINED_DAG_ID, "stale")
    dag_row(has_import_errors=True)
    assert read_dag_state(COMBINED_DAG_ID) == DagState(COMBINED_DAG_ID, "import_errors")


def test_a_paused_combined_dag_is_named_above_the_combined_list(admin, dag_row):
    dag_row(is_paused=True)
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    line = state_line(html)
    assert line is not None and line["data-state"] == "paused"
    assert state_text(html) == "repo_digest__all is paused: unpause it to build combined reports."
    combined = html[html.index('id="combined-reports"') : html.index('id="repositories"')]
    assert combined.index('id="combined-state"') < combined.index('class="days"')
    # The combined days page says it too.
    assert state_line(admin.get(f"{PREFIX}/_all", headers=HTML).text)["data-state"] == "paused"


def test_an_absent_combined_dag_is_explained(admin, absent_combined_dag):
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    assert state_line(html)["data-state"] == "absent"
    assert state_text(html).startswith("repo_digest__never_parsed is not in Airflow: it is created once a repository")


def test_a_stale_combined_dag_is_explained(admin, dag_row):
    dag_row(is_stale=True)
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    assert state_line(html)["data-state"] == "stale"
    assert "no repository in the Variable repo_digest_repos is enabled" in state_text(html)


def test_a_combined_dag_with_import_errors_is_named(admin, dag_row):
    dag_row(has_import_errors=True)
    html = admin.get(f"{PREFIX}/", headers=HTML).text
    assert state_line(html)["data-state"] == "import_errors"
    assert state_text(html).startswith("The DAG file of repo_digest__all failed to import")


def test_an_active_combined_dag_is_quiet(admin, dag_row, auth_manager, admin_token, tmp_path):
    dag_row(is_paused=False)
    # With combined reports: nothing to say.
    assert state_line(admin.get(f"{PREFIX}/", headers=HTML).text) is None
    # Without any yet: a quiet line that says when the first comes.
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from repo_digest.viewer.app import create_app

    parent = FastAPI()
    parent.mount(PREFIX, create_app(store_url=f"file://{tmp_path}/empty"))
    with TestClient(parent) as empty:
        empty.cookies.set("_token", admin_token)
        html = empty.get(f"{PREFIX}/", headers=HTML).text
    line = state_line(html)
    assert line is not None and line["data-state"] == "active" and "quiet" in line["class"]
    assert "No combined report yet." in html


def test_a_db_that_cannot_be_read_gives_no_state(dag_row, monkeypatch):
    """Airflow's session factory failing (the DB gone): no state, no exception."""
    import airflow.utils.session
    from sqlalchemy.exc import OperationalError

    dag_row(is_paused=True)

    def broken_session(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(airflow.utils.session, "create_session", broken_session)
    assert read_dag_state(COMBINED_DAG_ID) is None


@pytest.fixture
def renamed_column(airflow_db):
    """The ``dag`` table's has_import_errors column renamed in the DB itself (as if the schema
    were another Airflow version's), restored afterwards."""
    from sqlalchemy import text

    from airflow.utils.session import create_session

    def rename(old: str, new: str) -> None:
        with create_session() as session:
            session.execute(text(f"ALTER TABLE dag RENAME COLUMN {old} TO {new}"))

    rename("has_import_errors", "has_import_errors_renamed")
    yield
    rename("has_import_errors_renamed", "has_import_errors")


def test_a_state_that_cannot_be_read_leaves_the_line_out(admin, dag_row, request):
    """The query of the state fails in the DB: the page is served, without the line. Only this
    read fails; the login and permission checks before it use the DB as always."""
    dag_row(is_paused=True)
    assert state_line(admin.get(f"{PREFIX}/", headers=HTML).text)["data-state"] == "paused"
    request.getfixturevalue("renamed_column")
    assert read_dag_state(COMBINED_DAG_ID) is None
    response = admin.get(f"{PREFIX}/", headers=HTML)
    assert response.status_code == 200
    assert state_line(response.text) is None
    assert 'id="combined-reports"' in response.text and "data-commits=" in response.text
    assert admin.get(f"{PREFIX}/_all", headers=HTML).status_code == 200


def test_a_user_who_may_not_read_the_combined_dag_is_not_told_its_state(admin, dag_row, monkeypatch):
    from airflow.api_fastapi.app import get_auth_manager

    dag_row(is_paused=True)
    manager = get_auth_manager()

    def is_authorized_dag(*, method, user, access_entity=None, details=None):
        return details is None or details.id != COMBINED_DAG_ID

    monkeypatch.setattr(manager, "is_authorized_dag", is_authorized_dag)
    assert state_line(admin.get(f"{PREFIX}/", headers=HTML).text) is None
    assert state_line(admin.get(f"{PREFIX}/_all", headers=HTML).text) is None
