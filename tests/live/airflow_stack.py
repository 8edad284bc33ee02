"""Airflow's own processes, for tests: api-server, scheduler and dag-processor on PostgreSQL.

``AirflowStack`` is a context manager. On enter it creates a private PostgreSQL database, a
fresh AIRFLOW_HOME in a temporary folder and one environment shared by every child process;
migrates the database, starts ``airflow api-server``, ``airflow scheduler`` (LocalExecutor)
and ``airflow dag-processor`` in their own process groups (logs in ``<tmp>/logs``), creates
the project's pool (``python -m repo_digest.admin setup``; ``create_pool=False`` skips it) and waits until the api-server
reports the database, the scheduler and the dag-processor healthy. On exit (also after a
failure or Ctrl-C, and from an atexit guard and a SIGTERM handler when the test process is
stopped) it stops every process it started and drops its database::

    with AirflowStack(extra_env={"AIRFLOW_CONN_GITHUB_DEFAULT": "..."}) as stack:
        stack.cli("variables", "set", "repo_digest_repos", '[{"repo": "acme/widgets"}]')
        stack.wait_for_dag("repo_digest__acme__widgets")
        stack.rest("PATCH", "/api/v2/dags/repo_digest__acme__widgets", {"is_paused": False})

Airflow puts each task in a process group of its own, out of reach of a ``killpg`` on the
scheduler's group, so after the groups the stack also kills every process whose working
directory is inside its temporary folder (all children start there) or whose environment
carries its marker ``REPO_DIGEST_LIVE_STACK``. Only processes, folders and databases this
module made are ever stopped or removed. If the test process is killed outright (SIGKILL),
the three servers get SIGTERM from the kernel (PR_SET_PDEATHSIG) and shut their children
down; the database and folder left behind, named after the dead owner's pid, are reaped by
the next stack's start.

Set ``REPO_DIGEST_LIVE_KEEP=1`` to keep the temporary folder (AIRFLOW_HOME, logs, store).

Other topologies extend it (scripts/celery_topology.py: CeleryExecutor with Celery workers):
``executor`` names the executor; a subclass adds processes with ``process_specs`` (each may
carry environment of its own), settings with ``_make_env``, and readiness checks with
``_wait_ready``. Every process it spawns is stopped like the three servers.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import datetime as dt
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: `airflow` lives beside this python
DB_PREFIX = "repo_digest_live_"
MARKER = "REPO_DIGEST_LIVE_STACK"
TMP_PREFIX = "repo_digest_live_"
ADMIN_USER = "admin"
TERMINAL_RUN_STATES = frozenset({"success", "failed"})

# Airflow's defaults are made for production: parse every 30 s, detect removed DAGs after
# 50 s + up to 60 s, list the DAG folder every 5 min. These make a test see a Variable
# change within seconds.
FAST_SETTINGS: dict[str, str] = {
    # Re-parse each DAG file every 5 s (default 30): a Variable change shows within ~5-10 s.
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
    # List the DAG folder every 10 s (default 300); our files never change, cheap anyway.
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
    # A DAG no longer produced by a file that was re-parsed 10 s later is stale (default 50).
    "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "10",
    # ...checked every 5 s (default 60); despite its section, the dag-processor reads it.
    "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "5",
    # Quiet logs: no parsing stats table every 30 s.
    "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "0",
    # The scheduler's liveness row, which /api/v2/monitor/health reads (default 5 s).
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    # How often a running task checks for an external kill (a clear): default 5 s.
    "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
    # As scripts/env.sh and docker-compose.yaml set them for users: warm task processes
    # (repo_digest.preload in the LocalExecutor's forkserver), ready tasks found within 0.2 s.
    "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
    "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": "airflow,airflow.executors.local_executor,repo_digest.preload",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
    # Airflow's default, spelled out: new DAGs are paused; tests unpause what should run.
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
}

T = TypeVar("T")


class StackError(AssertionError):
    """Something the stack was asked to wait for did not happen; carries the logs' tails."""


# --------------------------------------------------------------------------------------
# Cleanup guards: every live stack is stopped at interpreter exit and on SIGTERM.

_LIVE: set[AirflowStack] = set()
_LIVE_LOCK = threading.RLock()
_previous_sigterm: Any = None


def _stop_all() -> None:
    with _LIVE_LOCK:
        stacks = list(_LIVE)
    for stack in stacks:
        with contextlib.suppress(BaseException):
            stack.stop()


atexit.register(_stop_all)


def _on_sigterm(signum: int, frame: Any) -> None:
    # Clean up, then do what SIGTERM did before: call that handler, or die of the signal.
    _stop_all()
    previous = _previous_sigterm if _previous_sigterm is not None else signal.SIG_DFL
    signal.signal(signal.SIGTERM, previous)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm_guard() -> None:
    global _previous_sigterm
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    if current is not _on_sigterm:
        _previous_sigterm = current
        signal.signal(signal.SIGTERM, _on_sigterm)


def _remove_sigterm_guard() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is _on_sigterm and not _LIVE:
        signal.signal(signal.SIGTERM, _previous_sigterm if _previous_sigterm is not None else signal.SIG_DFL)


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _term_when_parent_dies() -> None:  # runs in the child between fork and exec
    # If the test process is killed outright, the direct children still get SIGTERM.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


# --------------------------------------------------------------------------------------
# Helpers


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes() -> Iterator[tuple[int, str, str | None]]:
    """(pid, working directory, MARKER value or None) of every process we may inspect."""
    prefix = f"{MARKER}=".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, a zombie, or not ours to read
            continue
        marker = next((item[len(prefix) :].decode(errors="replace") for item in environ.split(b"\0")
                       if item.startswith(prefix)), None)  # fmt: skip
        yield int(entry.name), cwd, marker


def _owner_pid(name: str) -> int | None:
    """The test process's pid in a temp folder's name ``repo_digest_live_<pid>_…``."""
    rest = name.removeprefix(TMP_PREFIX)
    parts = rest.split("_", 1)
    return int(parts[0]) if rest != name and len(parts) == 2 and parts[0].isdigit() else None


def _kill_pids(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


_ACCESS_OK_RE = re.compile(r"\[http\.access\].* status_code=[23]\d\d")


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 2000 * lines))  # room for the access lines dropped below
            text = handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"<{exc}>"
    # The api-server logs every request; the tests' own polling would fill the tail.
    kept = [line for line in text.splitlines() if not _ACCESS_OK_RE.search(line)]
    return "\n".join(kept[-lines:])


# --------------------------------------------------------------------------------------


class AirflowStack:
    """A private Airflow (PostgreSQL, LocalExecutor) with its api-server, scheduler and dag-processor."""

    def __init__(
        self,
        extra_env: Mapping[str, str] | None = None,
        *,
        project: Path = ROOT,
        pg_host: str = "127.0.0.1",
        pg_port: int = 5432,
        pg_user: str = "postgres",
        startup_timeout: float = 180.0,
        keep_tmp: bool | None = None,
        executor: str = "LocalExecutor",
        create_pool: bool = True,
    ) -> None:
        self.project = Path(project).resolve()
        self.extra_env = dict(extra_env or {})
        self.executor = executor
        self.create_pool = create_pool
        self.pg = {"host": pg_host, "port": pg_port, "user": pg_user}
        self.startup_timeout = startup_timeout
        self.keep_tmp = os.environ.get("REPO_DIGEST_LIVE_KEEP") == "1" if keep_tmp is None else keep_tmp
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.db_name = f"{DB_PREFIX}{_host_tag()}_{os.getpid()}_{secrets.token_hex(4)}"
        self.tmp: Path | None = None
        self.port: int | None = None
        self.env: dict[str, str] = {}
        self.password = secrets.token_urlsafe(16)
        self.timings: dict[str, float] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._log_files: list[Any] = []
        self._db_created = False
        self._session = requests.Session()
        self._session.trust_env = False  # never a proxy for 127.0.0.1
        self._jwt: str | None = None

    # ---- paths -------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        assert self.tmp is not None, "stack not started"
        return self.tmp / "airflow_home"

    @property
    def logs_dir(self) -> Path:
        assert self.tmp is not None, "stack not started"
        return self.tmp / "logs"

    @property
    def store(self) -> Path:
        assert self.tmp is not None, "stack not started"
        return self.tmp / "digests"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sql_alchemy_conn(self) -> str:
        return f"postgresql+psycopg2://{self.pg['user']}@{self.pg['host']}:{self.pg['port']}/{self.db_name}"

    # ---- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> AirflowStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        started = time.monotonic()
        with _LIVE_LOCK:
            _LIVE.add(self)
        _install_sigterm_guard()
        self.reap_leftovers(self.pg)
        # The owner's pid in the name: leftovers of a killed test process can be told apart.
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}_"))
        self.home.mkdir()
        self.logs_dir.mkdir()
        self.port = free_port()
        self.env = self._make_env()
        # A file we write, so the password is known (Airflow only adds missing users to it).
        self.passwords_file.write_text(json.dumps({ADMIN_USER: self.password}))

        step = time.monotonic()
        with self._pg() as conn, conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True
        self.timings["create_database"] = time.monotonic() - step

        step = time.monotonic()
        self.cli("db", "migrate", timeout=300)
        self.timings["db_migrate"] = time.monotonic() - step

        step = time.monotonic()
        for name, args, env in self.process_specs():
            self._spawn(name, args, env)
        # While the processes boot: the pool the DAGs' tasks use (as the README's setup does;
        # without it, the scheduler makes it at a repo DAG's first run).
        if self.create_pool:
            self.admin("setup")
        self._wait_ready(step)
        self.timings["processes_ready"] = time.monotonic() - step
        self.timings["total"] = time.monotonic() - started

    def stop(self) -> None:
        """Stop every process, drop the database, remove the temporary folder. Idempotent."""
        try:
            self._stop_processes()
        finally:
            try:
                self._drop_database()
            finally:
                for handle in self._log_files:
                    with contextlib.suppress(OSError):
                        handle.close()
                self._log_files.clear()
                self._session.close()
                if self.tmp is not None and not self.keep_tmp:
                    shutil.rmtree(self.tmp, ignore_errors=True)
                with _LIVE_LOCK:
                    _LIVE.discard(self)
                _remove_sigterm_guard()

    @property
    def passwords_file(self) -> Path:
        assert self.tmp is not None, "stack not started"
        return self.tmp / "simple_auth_manager_passwords.json"

    def process_specs(self) -> list[tuple[str, list[str], dict[str, str]]]:
        """The long-running processes: (name, ``airflow`` arguments, environment of its own)."""
        api_args = ["api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        return [
            ("api-server", api_args, {}),
            ("scheduler", ["scheduler"], {}),
            ("dag-processor", ["dag-processor"], {}),
        ]

    def _make_env(self) -> dict[str, str]:
        """The environment every child process shares. Builds it only: creates no file."""
        from cryptography.fernet import Fernet

        assert self.tmp is not None
        inherited = {
            key: value
            for key, value in os.environ.items()
            # Nothing of the caller's Airflow (pytest's conftest sets its own AIRFLOW_HOME).
            if not key.startswith(("AIRFLOW", "_AIRFLOW", "REPO_DIGEST_", "PYTEST_")) and key != "PYTHONPATH"
        }
        env = {
            **inherited,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn,
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.project / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.project / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            # One secret for every component: the scheduler signs task tokens, the api-server checks them.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"{self.api_url}/",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
            **FAST_SETTINGS,
            "REPO_DIGEST_STORE": str(self.tmp / "digests"),
            "REPO_DIGEST_GIT_CACHE": str(self.tmp / "git-cache"),
            "PYTHONPATH": os.pathsep.join([str(self.project / "plugins"), str(self.project)]),
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            MARKER: self.id,
        }
        if importlib.util.find_spec("asyncpg") is None:
            # Airflow 3.3 derives postgresql+asyncpg://… from the sync URL and creates that
            # engine when any component starts: without asyncpg every `airflow` command dies
            # with ModuleNotFoundError. An empty async URL disables the async engine; only
            # features we do not use need it (GET …/dagRuns/{id}/wait, async task-state
            # calls, multi-team). With asyncpg installed Airflow's default applies.
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = ""
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> None:
        log = (self.logs_dir / f"{name}.log").open("ab")
        self._log_files.append(log)
        self._procs[name] = subprocess.Popen(
            [str(BIN / "airflow"), *args],
            env={**self.env, **(env or {})},
            cwd=self.tmp,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group
            preexec_fn=_term_when_parent_dies,
        )

    def _wait_ready(self, since: float) -> None:
        """Return once every process is ready; a subclass adds its own checks."""
        self._wait_healthy(since)

    def _wait_healthy(self, since: float) -> None:
        deadline = since + self.startup_timeout
        last: Any = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                response = self._session.get(f"{self.api_url}/api/v2/monitor/health", timeout=5)
                last = response.json() if response.ok else response.status_code
            except (requests.RequestException, ValueError) as exc:
                last = repr(exc)
            if isinstance(last, dict) and all(
                (last.get(part) or {}).get("status") == "healthy"
                for part in ("metadatabase", "scheduler", "dag_processor")
            ):
                return
            time.sleep(0.5)
        raise StackError(f"Airflow not healthy after {self.startup_timeout:.0f}s: {last}\n{self.logs_tail()}")

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                raise StackError(f"airflow {name} exited with {proc.returncode}\n{self.logs_tail()}")

    def _stop_processes(self, grace: float = 10.0) -> None:
        procs = list(self._procs.values())
        for proc in procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for proc in procs:  # the group may outlive its leader
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self._procs.clear()
        # Tasks run in process groups of their own, out of reach of the killpg above.
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            _kill_pids(pids)
            time.sleep(0.1)
        else:
            raise StackError(f"processes of stack {self.id} survive SIGKILL: {pids}")

    def server_pids(self) -> dict[str, int]:
        """The pid of each long-running process by name ("api-server", "scheduler", ...)."""
        return {name: proc.pid for name, proc in self._procs.items()}

    def pids(self) -> list[int]:
        """Every live process this stack started, however deep.

        Found by working directory (every child starts in the stack's temp folder and Airflow's
        processes stay there) or by MARKER in the environment. The marker alone misses many:
        setproctitle (api-server, LocalExecutor workers, task processes) overwrites the
        memory /proc/<pid>/environ reads.
        """
        if self.tmp is None:
            return []
        tmp = str(self.tmp)
        return [
            pid for pid, cwd, marker in _processes()
            if cwd == tmp or cwd.startswith(tmp + os.sep) or marker == self.id
        ]  # fmt: skip

    # ---- database ----------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def _pg_connect(cls, pg: Mapping[str, Any]) -> Iterator[Any]:
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", connect_timeout=10, **pg)
        conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        try:
            yield conn
        finally:
            conn.close()

    def _pg(self) -> contextlib.AbstractContextManager[Any]:
        return self._pg_connect(self.pg)

    def _drop_database(self) -> None:
        if not self._db_created:
            return
        with self._pg() as conn, conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        self._db_created = False

    @classmethod
    def reap_leftovers(cls, pg: Mapping[str, Any]) -> list[str]:
        """Stop processes and drop databases left by a test process that died without cleanup.

        Only this module's, and only those whose owning test process (the pid in their name)
        is gone: processes working in a ``repo_digest_live_<pid>_…`` temp folder or carrying
        MARKER ``<pid>-…``, those folders, and databases ``repo_digest_live_<this host>_<pid>_…``.
        """
        tmp_root = Path(tempfile.gettempdir())

        def orphaned(cwd: str, marker: str | None) -> bool:
            owners = []
            if cwd.startswith(str(tmp_root / TMP_PREFIX)):
                owners.append(_owner_pid(Path(cwd).relative_to(tmp_root).parts[0]))
            if marker is not None:
                owner = marker.split("-", 1)[0]
                owners.append(int(owner) if owner.isdigit() else None)
            return any(owner is not None and not _pid_alive(owner) for owner in owners)

        for _ in range(20):
            pids = [pid for pid, cwd, marker in _processes() if orphaned(cwd, marker)]
            if not pids:
                break
            _kill_pids(pids)
            time.sleep(0.1)
        for folder in tmp_root.glob(f"{TMP_PREFIX}*"):
            owner = _owner_pid(folder.name)
            if folder.is_dir() and owner is not None and not _pid_alive(owner):
                shutil.rmtree(folder, ignore_errors=True)
        dropped = []
        prefix = f"{DB_PREFIX}{_host_tag()}_"
        with cls._pg_connect(pg) as conn, conn.cursor() as cur:
            pattern = prefix.replace("_", r"\_") + "%"
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))
            for (name,) in cur.fetchall():
                owner = name[len(prefix) :].split("_", 1)[0]
                if owner.isdigit() and not _pid_alive(int(owner)):
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    dropped.append(name)
        return dropped

    # ---- commands ----------------------------------------------------------------------
    def cli(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``airflow *args`` with the stack's environment."""
        return self._run([str(BIN / "airflow"), *args], check=check, timeout=timeout)

    def admin(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``python -m repo_digest.admin *args`` with the stack's environment."""
        return self._run([sys.executable, "-m", "repo_digest.admin", *args], check=check, timeout=timeout)

    def _run(self, cmd: list[str], *, check: bool, timeout: float) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            cmd, env=self.env, cwd=self.tmp, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise StackError(
                f"{' '.join(cmd[1:])} exited with {result.returncode}\n"
                f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result

    # ---- REST --------------------------------------------------------------------------
    def _token(self) -> str:
        if self._jwt is None:
            credentials = {"username": ADMIN_USER, "password": self.password}
            response = self._session.post(f"{self.api_url}/auth/token", json=credentials, timeout=30)
            if not response.ok:
                raise StackError(f"POST /auth/token: {response.status_code} {response.text[:500]}")
            self._jwt = response.json()["access_token"]
        return self._jwt

    def rest(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        check: bool = True,
        timeout: float = 60,
    ) -> requests.Response:
        """A call to the api-server (``path`` like ``/api/v2/dags``) as admin.

        With ``check`` a non-2xx answer raises StackError naming the status and body.
        """
        for attempt in range(2):
            response = self._session.request(
                method, f"{self.api_url}{path}", json=json, params=params, timeout=timeout,
                headers={"Authorization": f"Bearer {self._token()}"},
            )  # fmt: skip
            if response.status_code == 401 and attempt == 0:
                self._jwt = None  # expired or the server restarted: log in again once
                continue
            break
        if check and not response.ok:
            raise StackError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}")
        return response

    # ---- waiting -----------------------------------------------------------------------
    def poll(self, what: str, timeout: float, probe: Callable[[], T | None], interval: float = 1.0) -> T:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            result = probe()
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                raise StackError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs_tail()}")
            time.sleep(interval)

    def get_dag(self, dag_id: str) -> dict[str, Any] | None:
        response = self.rest("GET", f"/api/v2/dags/{quote(dag_id, safe='')}", check=False)
        if response.status_code == 404:
            return None
        if not response.ok:
            raise StackError(f"GET dag {dag_id}: {response.status_code} {response.text[:500]}")
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 60) -> dict[str, Any]:
        """The DAG as REST shows it, once it exists and is not stale."""

        def probe() -> dict[str, Any] | None:
            dag = self.get_dag(dag_id)
            return dag if dag is not None and not dag["is_stale"] else None

        try:
            return self.poll(f"DAG {dag_id}", timeout, probe)
        except StackError as exc:
            raise StackError(f"{exc}\nimport errors: {self.import_errors()}") from None

    def wait_for_dag_stale(self, dag_id: str, timeout: float = 90) -> dict[str, Any] | None:
        """Wait until the DAG is stale (returns it) or gone (returns None)."""
        gone = object()

        def probe() -> Any:
            dag = self.get_dag(dag_id)
            if dag is None:
                return gone
            return dag if dag["is_stale"] else None

        result = self.poll(f"DAG {dag_id} to go stale", timeout, probe)
        return None if result is gone else result

    @staticmethod
    def run_path(dag_id: str, run_id: str) -> str:
        """``/api/v2/dags/{dag_id}/dagRuns/{run_id}``, quoted (run ids hold ':' and '+')."""
        return f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"

    def get_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.rest("GET", self.run_path(dag_id, run_id)).json()

    def get_runs(self, dag_id: str, *, run_type: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 100, "order_by": "logical_date"}
        if run_type:
            params["run_type"] = run_type
        path = f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns"
        return self.rest("GET", path, params=params).json()["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180, *, expect: str = "success") -> str:
        """Wait until the run ends; fail with its task states and the logs unless it ends as ``expect``."""
        def probe() -> dict[str, Any] | None:
            run = self.get_run(dag_id, run_id)
            return run if run["state"] in TERMINAL_RUN_STATES else None

        run = self.poll(f"run {dag_id} {run_id}", timeout, probe)
        if run["state"] != expect:
            report = self.run_report(dag_id, run_id)
            raise StackError(f"run {run_id} of {dag_id} ended {run['state']}, not {expect}\n{report}")
        return run["state"]

    def wait_for_runs(
        self, dag_id: str, count: int, timeout: float = 180, *, run_type: str | None = None
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` runs (of ``run_type``) exist and all have ended in success."""
        seen: list[dict[str, Any]] = []

        def probe() -> list[dict[str, Any]] | None:
            runs = self.get_runs(dag_id, run_type=run_type)
            seen[:] = runs
            failed = [run for run in runs if run["state"] == "failed"]
            if failed:
                reports = "\n".join(self.run_report(dag_id, run["dag_run_id"]) for run in failed)
                raise StackError(f"{len(failed)} run(s) of {dag_id} failed\n{reports}")
            if len(runs) >= count and all(run["state"] in TERMINAL_RUN_STATES for run in runs):
                return runs
            return None

        try:
            return self.poll(f"{count} {run_type or ''} runs of {dag_id}", timeout, probe)
        except StackError as exc:
            runs = "\n".join(f"  {run['dag_run_id']} {run['state']}" for run in seen) or "  (none)"
            raise StackError(f"{exc}\nruns seen:\n{runs}") from None

    def unpause(self, dag_id: str) -> dict[str, Any]:
        return self.rest("PATCH", f"/api/v2/dags/{quote(dag_id, safe='')}", {"is_paused": False}).json()

    def import_errors(self) -> list[dict[str, Any]]:
        return self.rest("GET", "/api/v2/importErrors", params={"limit": 100}).json()["import_errors"]

    # ---- diagnostics -------------------------------------------------------------------
    def logs_tail(self, lines: int = 40) -> str:
        """The last lines of each process's log."""
        if self.tmp is None or not self.logs_dir.exists():
            return "<no logs>"
        parts = [f"--- {path.name}\n{_tail(path, lines)}" for path in sorted(self.logs_dir.glob("*.log"))]
        return "\n".join(parts)

    def task_logs(self, dag_id: str, run_id: str) -> dict[str, Path]:
        """Task log files of a run by 'task_id[map_index] attempt=N'."""
        base = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        return {str(path.relative_to(base)): path for path in sorted(base.glob("task_id=*/**/attempt=*.log"))}

    def run_report(self, dag_id: str, run_id: str, lines: int = 30) -> str:
        """A failed run explained: its task instances' states and the tails of the failed ones' logs."""
        out = [f"=== run {run_id} of {dag_id}"]
        try:
            path = f"{self.run_path(dag_id, run_id)}/taskInstances"
            tis = self.rest("GET", path, params={"limit": 100}).json()["task_instances"]
            bad = set()
            for ti in tis:
                out.append(f"  {ti['task_id']}[{ti['map_index']}] {ti['state']} try {ti['try_number']}")
                if ti["state"] not in ("success", "skipped"):
                    bad.add(ti["task_id"])
            for name, log in self.task_logs(dag_id, run_id).items():
                if name.split("/", 1)[0].removeprefix("task_id=") in bad:
                    out.append(f"--- task log {name}\n{_tail(log, lines)}")
        except Exception as exc:  # diagnostics must not hide the original problem
            out.append(f"<could not read the run's tasks: {exc!r}>")
        out.append(self.logs_tail())
        return "\n".join(out)


def utc(day: dt.date) -> str:
    """A bare date as the CLI and REST write it: midnight UTC."""
    return f"{day.isoformat()}T00:00:00Z"
