"""One DAG-file parse, the way the dag-processor's child does it, timed and watched.

Run by bench/parse.py in a fresh interpreter per measurement:

    python bench/parse_child.py FILE BUNDLE_DIR

Not timed: interpreter start, importing Airflow's parsing code and the pre-import of the
``airflow.*`` modules the file names (the dag-processor does both before it forks the
child). Timed: ``BundleDagBag(file)`` (imports the file, so every repo_digest module
and the Variable read) and serializing every DAG it made (``_serialize_dags``), which is
what the child sends back. While the file is parsed it counts Variable reads, connection
lookups at every layer, network attempts (Python sockets: connect, getaddrinfo) and
metadata-DB statements. Prints one JSON object on stdout.
"""

from __future__ import annotations

import collections
import json
import socket
import sys
import time

STARTED = time.perf_counter()
COUNTS: collections.Counter[str] = collections.Counter()
ARMED = False  # count only while the file is parsed
NETWORK: list[str] = []


def _count(name: str, detail: str | None = None) -> None:
    if ARMED:
        COUNTS[name] += 1
        if detail is not None and len(NETWORK) < 20:
            NETWORK.append(detail)


# --- network: installed before anything else is imported --------------------------------
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
_getaddrinfo, _create_connection = socket.getaddrinfo, socket.create_connection


def _family(sock: socket.socket) -> str:
    return "unix" if sock.family == getattr(socket, "AF_UNIX", None) else "inet"


def connect(self, address):  # type: ignore[no-untyped-def]
    _count(f"socket_connect_{_family(self)}", f"connect {address!r}")
    return _connect(self, address)


def connect_ex(self, address):  # type: ignore[no-untyped-def]
    _count(f"socket_connect_{_family(self)}", f"connect_ex {address!r}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    _count("dns_lookup", f"getaddrinfo {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


def create_connection(address, *args, **kwargs):  # type: ignore[no-untyped-def]
    _count("create_connection", f"create_connection {address!r}")
    return _create_connection(address, *args, **kwargs)


socket.socket.connect = connect  # type: ignore[method-assign]
socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = getaddrinfo
socket.create_connection = create_connection


def _wrap_function(module: object, name: str, counter: str) -> None:
    original = getattr(module, name, None)
    if original is None:
        return

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        _count(counter)
        return original(*args, **kwargs)

    setattr(module, name, wrapper)


def _wrap_method(cls: type, name: str, counter: str) -> None:
    raw = cls.__dict__.get(name)
    if raw is None:
        return
    if isinstance(raw, classmethod):
        function = raw.__func__

        def cls_wrapper(klass, *args, **kwargs):  # type: ignore[no-untyped-def]
            _count(counter)
            return function(klass, *args, **kwargs)

        setattr(cls, name, classmethod(cls_wrapper))
        return

    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        _count(counter)
        return raw(self, *args, **kwargs)

    setattr(cls, name, wrapper)


def _install_airflow_counters() -> None:
    import sqlalchemy
    from airflow.sdk.bases.hook import BaseHook
    from airflow.sdk.definitions.connection import Connection
    from airflow.sdk.definitions.variable import Variable
    from airflow.sdk.execution_time import context
    from sqlalchemy.engine import Engine

    _wrap_method(Variable, "get", "variable_get")  # what the DAG file calls
    _wrap_function(context, "_get_variable", "variable_backend_chain")
    _wrap_function(context, "_get_connection", "connection_lookup_sdk")
    _wrap_function(context, "_async_get_connection", "connection_lookup_sdk")
    _wrap_method(BaseHook, "get_connection", "connection_lookup_hook")
    _wrap_method(Connection, "get", "connection_lookup_sdk_connection")
    try:
        from airflow.models.connection import Connection as ModelConnection

        _wrap_method(ModelConnection, "get_connection_from_secrets", "connection_lookup_models")
    except ImportError:
        pass
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend
    from airflow.secrets.metastore import MetastoreBackend

    _wrap_method(EnvironmentVariablesBackend, "get_variable", "variable_from_env")
    _wrap_method(MetastoreBackend, "get_variable", "variable_from_metadata_db")
    for backend in (EnvironmentVariablesBackend, MetastoreBackend):
        for method in ("get_connection", "get_conn_value"):
            _wrap_method(backend, method, "connection_lookup_backend")

    @sqlalchemy.event.listens_for(Engine, "before_cursor_execute")
    def _statement(*args, **kwargs):  # type: ignore[no-untyped-def]
        _count("db_statement")


def main(file: str, bundle: str) -> dict[str, object]:
    global ARMED
    import structlog
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.dag_processing.processor import _pre_import_airflow_modules, _serialize_dags

    log = structlog.get_logger("bench.parse")
    _pre_import_airflow_modules(file, log)
    _install_airflow_counters()
    ready = time.perf_counter()

    ARMED = True
    start = time.perf_counter()
    bag = BundleDagBag(dag_folder=file, bundle_path=bundle, bundle_name="dags-folder", load_op_links=False)
    bagged = time.perf_counter()
    serialized, errors = _serialize_dags(bag, log)
    done = time.perf_counter()
    ARMED = False

    return {
        "setup_s": ready - STARTED,
        "bag_s": bagged - start,
        "serialize_s": done - bagged,
        "parse_s": done - start,
        "dags": len(bag.dags),
        "serialized": len(serialized),
        "import_errors": {**bag.import_errors, **errors},
        "counts": dict(COUNTS),
        "network": NETWORK,
    }


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2])
    sys.stdout.write("\n@@RESULT@@" + json.dumps(result, default=str) + "\n")
