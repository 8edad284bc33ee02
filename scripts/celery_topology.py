#!/usr/bin/env python
"""docker-compose.yaml's topology without containers: Airflow on CeleryExecutor, N workers.

A private PostgreSQL database on 127.0.0.1:5432 (metadata DB and Celery result backend,
``db+postgresql+psycopg2://…``), a private Redis database number on 127.0.0.1:6379 (the
Celery broker), and Airflow's own processes: api-server, scheduler (CeleryExecutor),
dag-processor, optionally a triggerer, and N ``airflow celery worker`` processes, each with a
hostname of its own (``-H worker1@<host>``), small concurrency and its own log-server port.
Digests, the commit cache and large XCom values (the object-storage XCom backend) go to one
folder every process shares, as the shared volume does in docker-compose.yaml.

It is tests/live/airflow_stack.py's AirflowStack with another executor and more processes:
everything it starts it stops (process groups, then any process left in its folder), drops
its database, and flushes its Redis database. Leftovers of a killed run are reaped by the
next one's start.

This module is the ONE place for the settings the compose file must share:
``SHARED_SETTINGS`` (same value in both), ``URL_SHAPES`` (same shape, other hosts),
``SECRET_ENV``/``CONNECTION_ENV``/``STORE_ENV`` (names compose reads from .env),
``TOPOLOGY_ONLY``/``COMPOSE_ONLY`` (the documented differences). tests/test_compose.py
checks docker-compose.yaml against them and against the environment a CeleryTopology
actually gives its processes (``CeleryTopology.preview_env``).

By hand (any python: it re-runs itself in the project's .venv)::

    python scripts/celery_topology.py --workers 2 --demo   # fake GitHub and OpenAI, one busy day, then stop
    python scripts/celery_topology.py --workers 3          # run until Ctrl-C; prints the UI's URL and login

In a test::

    with CeleryTopology(workers=2, extra_env={...}) as topology:
        topology.cli("variables", "set", "repo_digest_repos", ...)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"

if (
    __name__ == "__main__"
    and Path(sys.prefix).resolve() != VENV.resolve()
    and (VENV / "bin" / "python").exists()
):
    # `python scripts/celery_topology.py` from any interpreter: Airflow lives in the venv.
    os.execv(
        str(VENV / "bin" / "python"),
        [str(VENV / "bin" / "python"), str(Path(__file__).resolve()), *sys.argv[1:]],
    )

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import contextlib
import datetime as dt
import json
import signal
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from tests.live.airflow_stack import (
    FAST_SETTINGS,
    MARKER,
    AirflowStack,
    StackError,
    _host_tag,
    _pid_alive,
    free_port,
    utc,
)

# --------------------------------------------------------------------------------------
# The settings docker-compose.yaml shares (tests/test_compose.py reads these).

EXECUTOR = "CeleryExecutor"
XCOM_BACKEND = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
# XCom values of this many bytes or more (JSON-encoded) go to object storage, the rest to
# the metadata DB. A busy day's digest and its Markdown are tens to hundreds of kilobytes.
XCOM_THRESHOLD_BYTES = 65536
WORKER_COMMAND = ("celery", "worker")
ADMIN_USERS = "admin:admin"  # SimpleAuthManager: user admin with role admin
LLM_POOL_SLOTS = 16  # `python -m repo_digest.admin setup` reads REPO_DIGEST_LLM_POOL_SLOTS

# Same value here and in compose's common environment.
SHARED_SETTINGS: dict[str, str] = {
    "AIRFLOW__CORE__EXECUTOR": EXECUTOR,
    "AIRFLOW__CORE__XCOM_BACKEND": XCOM_BACKEND,
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": str(XCOM_THRESHOLD_BYTES),
    "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ADMIN_USERS,
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
    # The scheduler's /health server: compose's health check, the topology's readiness check.
    "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
    # Celery's Redis default, spelled out: Airflow warns on every start when it is unset.
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "86400",
    # Warm task processes: each worker imports repo_digest.preload before forking its pool.
    "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "repo_digest.celery_config.CELERY_CONFIG",
    # The scheduler finds tasks that became ready within 0.2 s (default 1 s).
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
}

# Same shape, other hosts and credentials. Groups name the parts the test compares.
_POSTGRES_URL = r"postgresql\+psycopg2://(?P<user>[^:@/]+)(:[^@/]*)?@(?P<host>[\w.-]+):5432/(?P<db>\w+)"
URL_SHAPES: dict[str, str] = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _POSTGRES_URL,
    # The result backend is the metadata DB itself (Celery adds its two tables).
    "AIRFLOW__CELERY__RESULT_BACKEND": r"db\+" + _POSTGRES_URL,
    "AIRFLOW__CELERY__BROKER_URL": r"redis://(?P<host>[\w.-]+):6379/(?P<db>\d+)",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": r"http://(?P<host>[\w.-]+):(?P<port>\d+)/execution/",
    # Local (a folder every component mounts) or a bucket, never inside a container's own disk.
    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": r"(file://(?P<path>/\S+)|(s3|gs|abfs)://\S+)",
}

# Secrets every component must share; compose reads each from .env (required, no default).
SECRET_ENV = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY")
# Connections as JSON (AIRFLOW_CONN_*), from .env in compose; may be empty (see README).
CONNECTION_ENV = ("AIRFLOW_CONN_GITHUB_DEFAULT", "AIRFLOW_CONN_OPENAI_DEFAULT")
STORE_ENV = "REPO_DIGEST_STORE"
POOL_SLOTS_ENV = "REPO_DIGEST_LLM_POOL_SLOTS"
CONCURRENCY_ENV = "AIRFLOW__CELERY__WORKER_CONCURRENCY"

# Names the comparison covers; everything else (PATH, HOME …) is the machine's.
COMPARED_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "REPO_DIGEST_")

# In the topology's environment, not in compose's common environment, and why.
TOPOLOGY_ONLY: dict[str, str] = {
    **{
        name: "test speed (tests/live/airflow_stack.py FAST_SETTINGS)"
        for name in FAST_SETTINGS
        if name not in SHARED_SETTINGS
    },
    "AIRFLOW__CORE__DAGS_FOLDER": "compose: the image's default /opt/airflow/dags",
    "AIRFLOW__CORE__PLUGINS_FOLDER": "compose: the image's default /opt/airflow/plugins",
    "AIRFLOW__API__HOST": "compose: the api-server's default 0.0.0.0 inside its container",
    "AIRFLOW__API__PORT": "compose: the default 8080",
    "AIRFLOW__API__BASE_URL": "compose: unset, the UI is used at whatever address reaches port 8080",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": "compose: set on the api-server and airflow-init only",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "compose: default; here loopback only",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "compose: default 8974; here a free port",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": "only set when asyncpg is missing (it is in the image)",
    "REPO_DIGEST_GIT_CACHE": "compose: the default, inside each container (mirrors are per worker)",
    MARKER: "the live-test process marker",
}
# In compose's common environment, not in the topology's, and why.
COMPOSE_ONLY: dict[str, str] = {
    "REPO_DIGEST_INCLUDE_DIR": "/opt/airflow/include; the topology runs from the checkout, where it is the default",
}
# Per worker, on top of the shared environment.
WORKER_ONLY: dict[str, str] = {
    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": "compose: 8793 in each worker's container; here one free port each",
    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "compose: each container's hostname; here one machine, so a name per worker",
    "REPO_DIGEST_WORKER_HOSTNAME": "what worker_hostname() returns",
}

WORKER_HOSTNAME_ENV = "REPO_DIGEST_WORKER_HOSTNAME"
HOSTNAME_CALLABLE = "scripts.celery_topology.worker_hostname"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the topology's workers: the name a task instance records.

    Containers have hostnames of their own; processes on one machine share one, so each
    worker is given its Celery node name (``worker1@<host>``) through the environment.
    """
    return os.environ.get(WORKER_HOSTNAME_ENV) or socket.getfqdn()


# --------------------------------------------------------------------------------------
# Redis: one database number per topology, claimed by a key naming its owner.

REDIS_CLAIM_KEY = "repo_digest_topology:owner"
REDIS_DBS = range(15, 0, -1)  # 0 is everybody's default: never used


def _redis(host: str, port: int, db: int) -> Any:
    import redis

    return redis.Redis(host=host, port=port, db=db, socket_timeout=5, socket_connect_timeout=5)


def _parse_claim(value: bytes | None) -> tuple[str, int] | None:
    """(host tag, owner pid) of a claim ``<host tag>:<pid>:<stack id>``."""
    if not value:
        return None
    parts = value.decode(errors="replace").split(":")
    return (parts[0], int(parts[1])) if len(parts) >= 3 and parts[1].isdigit() else None


def reap_redis_leftovers(host: str = "127.0.0.1", port: int = 6379) -> list[int]:
    """Flush the Redis databases claimed by topologies of this host whose process is gone."""
    flushed = []
    for db in REDIS_DBS:
        client = _redis(host, port, db)
        try:
            claim = _parse_claim(client.get(REDIS_CLAIM_KEY))
            if claim and claim[0] == _host_tag() and not _pid_alive(claim[1]):
                client.flushdb()
                flushed.append(db)
        finally:
            client.close()
    return flushed


# --------------------------------------------------------------------------------------


class CeleryTopology(AirflowStack):
    """AirflowStack on CeleryExecutor: api-server, scheduler, dag-processor and N Celery workers."""

    def __init__(
        self,
        workers: int = 2,
        *,
        extra_env: Mapping[str, str] | None = None,
        concurrency: int = 2,
        triggerer: bool = False,
        redis_host: str = "127.0.0.1",
        redis_port: int = 6379,
        llm_pool_slots: int = LLM_POOL_SLOTS,
        **kwargs: Any,
    ) -> None:
        if workers < 1:
            raise ValueError("at least one worker")
        super().__init__(extra_env, executor=EXECUTOR, **kwargs)
        self.workers = workers
        self.concurrency = concurrency
        self.triggerer = triggerer
        self.llm_pool_slots = llm_pool_slots
        self.redis_host, self.redis_port = redis_host, redis_port
        self.redis_db: int | None = None
        self._redis_claim = f"{_host_tag()}:{os.getpid()}:{self.id}"
        self._redis_db_used: int | None = None
        host = socket.gethostname()
        self.worker_names = [f"worker{i}@{host}" for i in range(1, workers + 1)]
        self.worker_log_ports: list[int] = []
        self.scheduler_health_port: int | None = None

    # ---- settings ----------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """The folder every process shares (compose: the repo-digest-data volume)."""
        assert self.tmp is not None, "topology not started"
        return self.tmp

    @property
    def xcom_dir(self) -> Path:
        return self.data_dir / "xcom"

    @property
    def broker_url(self) -> str:
        assert self.redis_db is not None, "no Redis database claimed"
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"

    @property
    def result_backend(self) -> str:
        return f"db+{self.sql_alchemy_conn}"

    def celery_settings(self) -> dict[str, str]:
        """What this topology adds to AirflowStack's environment (shared by every process)."""
        assert self.scheduler_health_port is not None
        return {
            **SHARED_SETTINGS,
            # No connection unless the caller gives one (extra_env), as compose's empty defaults.
            **{name: "" for name in CONNECTION_ENV},
            "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
            CONCURRENCY_ENV: str(self.concurrency),
            "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"file://{self.xcom_dir}",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(self.scheduler_health_port),
            POOL_SLOTS_ENV: str(self.llm_pool_slots),
        }

    def _make_env(self) -> dict[str, str]:
        env = super()._make_env()
        env.update(self.celery_settings())
        env.update(self.extra_env)  # the caller's word is last, as in AirflowStack
        return env

    def worker_env(self, index: int) -> dict[str, str]:
        """The environment of worker ``index`` (1-based) on top of the shared one."""
        return {
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_ports[index - 1]),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE,
            WORKER_HOSTNAME_ENV: self.worker_names[index - 1],
        }

    def process_specs(self) -> list[tuple[str, list[str], dict[str, str]]]:
        specs = super().process_specs()
        if self.triggerer:
            specs.append(("triggerer", ["triggerer"], {}))
        for index, name in enumerate(self.worker_names, start=1):
            args = [*WORKER_COMMAND, "--celery-hostname", name]
            specs.append((f"worker{index}", args, self.worker_env(index)))
        return specs

    @classmethod
    def preview_env(cls, workers: int = 2) -> tuple[dict[str, str], list[dict[str, str]]]:
        """The shared and per-worker environments a topology's processes get; starts nothing.

        For checks (tests/test_compose.py): placeholder folder, ports and Redis database.
        """
        topology = cls(workers=workers)
        topology.tmp = Path(tempfile.gettempdir()) / "repo_digest_live_preview"  # never created
        topology.port, topology.redis_db, topology.scheduler_health_port = 8080, 1, 8974
        topology.worker_log_ports = [8793 + i for i in range(workers)]
        try:
            return topology._make_env(), [topology.worker_env(i) for i in range(1, workers + 1)]
        finally:
            topology.tmp = None
            topology._session.close()

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        started = time.monotonic()
        reap_redis_leftovers(self.redis_host, self.redis_port)
        self.redis_db = self._claim_redis_db()
        self.scheduler_health_port = free_port()
        self.worker_log_ports = [free_port() for _ in self.worker_names]
        super().start()
        self.xcom_dir.mkdir(exist_ok=True)
        self.timings["total"] = time.monotonic() - started

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self._release_redis_db()

    def _claim_redis_db(self) -> int:
        for db in REDIS_DBS:
            client = _redis(self.redis_host, self.redis_port, db)
            try:
                # Only an empty database, claimed atomically: a parallel topology takes the next.
                if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, self._redis_claim, nx=True):
                    self._redis_db_used = db
                    return db
            finally:
                client.close()
        raise StackError(
            f"no empty Redis database among {list(REDIS_DBS)} on {self.redis_host}:{self.redis_port}"
        )

    def _release_redis_db(self) -> None:
        if self.redis_db is None:
            return
        client = _redis(self.redis_host, self.redis_port, self.redis_db)
        try:
            if client.get(REDIS_CLAIM_KEY) == self._redis_claim.encode():
                client.flushdb()  # the broker's queues, bindings and the claim
        finally:
            client.close()
        self.redis_db = None

    def _wait_ready(self, since: float) -> None:
        super()._wait_ready(since)  # metadatabase, scheduler and dag-processor healthy
        step = time.monotonic()
        self.poll("the scheduler's /health", self.startup_timeout, self._scheduler_health_ok, interval=0.5)
        missing: list[str] = []

        def workers_answer() -> bool | None:
            answered = self.ping_workers()
            missing[:] = [name for name in self.worker_names if name not in answered]
            return True if not missing else None

        try:
            self.poll(
                "the Celery workers to answer a ping", self.startup_timeout, workers_answer, interval=0.5
            )
        except StackError as exc:
            raise StackError(f"{exc}\nno answer from: {missing}") from None
        self.timings["workers_ready"] = time.monotonic() - step

    def _scheduler_health_ok(self) -> bool | None:
        url = f"http://127.0.0.1:{self.scheduler_health_port}/health"
        try:
            return True if self._session.get(url, timeout=2).ok else None
        except requests.RequestException:
            return None

    def ping_workers(self, timeout: float = 1.0) -> set[str]:
        """The Celery node names answering a broadcast ping on this topology's broker."""
        from celery import Celery

        app = Celery("repo_digest_topology_ping", broker=self.broker_url, set_as_current=False)
        try:
            replies = app.control.ping(timeout=timeout) or []
        except Exception:  # noqa: BLE001 - the broker not reachable yet: nobody answered
            return set()
        finally:
            app.close()
        return {name for reply in replies for name in reply}

    # ---- after a run ---------------------------------------------------------------------
    def task_instances(self, dag_id: str, run_id: str, task_id: str | None = None) -> list[dict[str, Any]]:
        """A run's task instances from REST (all pages), optionally of one task."""
        found: list[dict[str, Any]] = []
        path = f"{self.run_path(dag_id, run_id)}/taskInstances"
        while True:
            page = self.rest("GET", path, params={"limit": 100, "offset": len(found)}).json()
            found.extend(page["task_instances"])
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                break
        return [ti for ti in found if task_id is None or ti["task_id"] == task_id]

    def leftovers(self) -> list[str]:
        """What of this topology still exists after stop(): empty when everything is gone."""
        found = [f"process {pid}" for pid in self.pids()]
        with self._pg() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.db_name,))
            if cur.fetchone():
                found.append(f"database {self.db_name}")
        if self._redis_db_used is not None:
            client = _redis(self.redis_host, self.redis_port, self._redis_db_used)
            try:
                claim = client.get(REDIS_CLAIM_KEY)
                if claim == self._redis_claim.encode() or (claim is None and client.dbsize()):
                    found.append(f"redis db {self._redis_db_used}: {client.dbsize()} keys")
            finally:
                client.close()
        if self.tmp is not None and self.tmp.exists() and not self.keep_tmp:
            found.append(f"folder {self.tmp}")
        return found


# --------------------------------------------------------------------------------------
# The demo: the test fixture's busy day through fake GitHub and OpenAI servers.

DEMO_REPO = "acme/widgets"
DEMO_DAG_ID = "repo_digest__acme__widgets"
DEMO_TZ = "Asia/Shanghai"
DEMO_DAY = dt.date(2026, 2, 18)  # 48 commits in the fixture
DEMO_TOKEN = "ghp_topology_demo_not_real"
DEMO_LLM_KEY = "sk-topology-demo-not-real"
DEMO_MODEL = "gpt-4o-mini"


def fake_connections(github_url: str, llm_url: str) -> dict[str, str]:
    """AIRFLOW_CONN_* values pointing at the fakes (the same variables compose reads from .env)."""
    github = {"conn_type": "github", "password": DEMO_TOKEN, "host": github_url}
    llm = {"conn_type": "openai", "password": DEMO_LLM_KEY, "host": llm_url, "extra": {"model": DEMO_MODEL}}
    return {"AIRFLOW_CONN_GITHUB_DEFAULT": json.dumps(github), "AIRFLOW_CONN_OPENAI_DEFAULT": json.dumps(llm)}


@contextlib.contextmanager
def fakes(fixture_dir: Path, llm_delay: float = 0.3) -> Iterator[tuple[Any, Any, Any]]:
    """(fixture repo, fake GitHub serving it, fake OpenAI) for the demo and the live test."""
    from tests.fakes.git_fixture import build_fixture_repo
    from tests.fakes.github_api import FakeGitHub
    from tests.fakes.openai_api import FakeOpenAI

    fixture = build_fixture_repo(fixture_dir / "widgets")
    with FakeGitHub(token=DEMO_TOKEN, max_per_page=10) as github, \
            FakeOpenAI(api_key=DEMO_LLM_KEY, models=(DEMO_MODEL,), delay=llm_delay) as llm:  # fmt: skip
        github.add_repo(DEMO_REPO, fixture.path, logins=fixture.logins)
        yield fixture, github, llm


def run_demo_day(topology: CeleryTopology, day: dt.date = DEMO_DAY, timeout: float = 240) -> dict[str, Any]:
    """Track the fixture repo, trigger ``day`` through REST and wait for success; the run."""
    entry = {"repo": DEMO_REPO, "timezone": DEMO_TZ}
    topology.cli("variables", "set", "repo_digest_repos", json.dumps([entry]))
    topology.wait_for_dag(DEMO_DAG_ID)
    # Manual runs of a paused DAG stay queued. (Unpausing also schedules the latest
    # complete day, as catchup is off: an empty day in the fixture, a cheap run.)
    topology.unpause(DEMO_DAG_ID)
    run = topology.rest(
        "POST", f"/api/v2/dags/{quote(DEMO_DAG_ID)}/dagRuns", {"logical_date": utc(day)}
    ).json()
    topology.wait_for_run(DEMO_DAG_ID, run["dag_run_id"], timeout=timeout)
    return topology.get_run(DEMO_DAG_ID, run["dag_run_id"])


def digest_json(topology: CeleryTopology, day: dt.date = DEMO_DAY) -> dict[str, Any]:
    owner, name = DEMO_REPO.split("/")
    path = topology.store / owner / name / f"{day:%Y}" / f"{day.isoformat()}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _print_timings(label: str, timings: Mapping[str, float]) -> None:
    print(f"{label}: " + ", ".join(f"{key} {value:.1f}s" for key, value in timings.items()), flush=True)


def demo(workers: int, concurrency: int, triggerer: bool, llm_delay: float) -> int:
    with tempfile.TemporaryDirectory(prefix="repo_digest_topology_demo_") as fixture_dir:
        print("building the git fixture and starting fake GitHub and OpenAI servers", flush=True)
        with fakes(Path(fixture_dir), llm_delay) as (fixture, github, llm):
            env = fake_connections(github.base_url, llm.base_url)
            print(
                f"starting the Celery topology with {workers} workers (concurrency {concurrency})", flush=True
            )
            topology = CeleryTopology(workers, extra_env=env, concurrency=concurrency, triggerer=triggerer)
            with topology:
                _print_timings("started", topology.timings)
                print(
                    f"  api-server {topology.api_url}  broker {topology.broker_url}  database {topology.db_name}"
                )
                began = time.monotonic()
                run = run_demo_day(topology)
                print(f"run {run['dag_run_id']}: {run['state']} in {time.monotonic() - began:.1f}s")
                by_host: dict[str, int] = {}
                for ti in topology.task_instances(DEMO_DAG_ID, run["dag_run_id"], "llm_analyze"):
                    by_host[ti["hostname"]] = by_host.get(ti["hostname"], 0) + 1
                for host, count in sorted(by_host.items()):
                    print(f"  llm_analyze instances on {host}: {count}")
                data = digest_json(topology)
                expected = [c.sha for c in fixture.commits_on(DEMO_DAY, DEMO_TZ)]
                same = [c["sha"] for c in data["commits"]] == expected
                print(
                    f"digest {DEMO_DAY}: {len(data['commits'])} commits ({'all' if same else 'NOT the'} expected shas)"
                )
                xcom_files = sorted(p for p in topology.xcom_dir.rglob("*") if p.is_file())
                print(f"XCom values in object storage ({topology.xcom_dir}): {len(xcom_files)}")
                print(f"LLM requests: {len(llm.requests)}; GitHub requests: {len(github.requests)}")
                stopping = time.monotonic()
            print(
                f"stopped in {time.monotonic() - stopping:.1f}s; left behind: {topology.leftovers() or 'nothing'}"
            )
            ok = same and not topology.leftovers()
    return 0 if ok else 1


def serve(workers: int, concurrency: int, triggerer: bool) -> int:
    with CeleryTopology(workers, concurrency=concurrency, triggerer=triggerer) as topology:
        _print_timings("started", topology.timings)
        print(f"UI and REST: {topology.api_url}  (user admin, password {topology.password})")
        print(
            f"workers: {', '.join(topology.worker_names)}; broker {topology.broker_url}; logs {topology.logs_dir}"
        )
        print(
            f"the environment of `airflow …` against it: AIRFLOW_HOME={topology.home} plus {len(topology.env)} variables"
        )
        print("Ctrl-C stops everything.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                topology._check_alive()
                time.sleep(1)
    print(f"stopped; left behind: {topology.leftovers() or 'nothing'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="task slots per worker (default 2)")
    parser.add_argument("--triggerer", action="store_true", help="also start a triggerer, as compose does")
    parser.add_argument("--demo", action="store_true",
                        help="run the fixture's busy day through fake GitHub/OpenAI servers, report, stop")  # fmt: skip
    parser.add_argument(
        "--llm-delay", type=float, default=0.3, help="seconds the fake OpenAI takes per answer"
    )
    args = parser.parse_args(argv)
    # Ctrl-C and SIGTERM both end in the context managers' cleanup.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.demo:
        return demo(args.workers, args.concurrency, args.triggerer, args.llm_delay)
    return serve(args.workers, args.concurrency, args.triggerer)


if __name__ == "__main__":
    sys.exit(main())
