"""docker-compose.yaml agrees with the Celery topology the live tests run (no Docker needed).

scripts/celery_topology.py holds the settings both must share; ``CeleryTopology.preview_env``
is the environment its processes really get. This parses the compose file (interpolated as
``docker compose`` would with an .env copied from .env.example) and checks the executor, the
broker/result-backend/database/Execution-API URLs, the secrets and connections read from .env,
the XCom backend and the store on a volume every component mounts, the services with their
health checks, the scalable worker, the image built FROM apache/airflow:3.3.2, and that
.env.example names every variable the compose file reads and holds no secret.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import celery_topology as topology

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

AIRFLOW_SERVICES = (
    "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
    "airflow-worker", "airflow-init",
)  # fmt: skip
LONG_RUNNING = ("postgres", "redis", *(name for name in AIRFLOW_SERVICES if name != "airflow-init"))
DATA_MOUNT = "/opt/airflow/data"  # where the shared volume repo-digest-data is mounted
DATA_VOLUME = "repo-digest-data"
MOUNTS = {"./dags": "/opt/airflow/dags", "./plugins": "/opt/airflow/plugins", "./include": "/opt/airflow/include",
          DATA_VOLUME: DATA_MOUNT}  # fmt: skip
PLACEHOLDER_SECRET = "<from .env>"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
_VARIABLE_RE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """``docker compose``'s interpolation of one value; required variables get a placeholder."""
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        if op in (":-", "-"):
            return arg if current is None or (op == ":-" and current == "") else current
        if op in (":?", "?"):
            return current if current else PLACEHOLDER_SECRET  # compose would stop here
        return current or ""

    return _VARIABLE_RE.sub(replace, value)


def variables_read(text: str) -> set[str]:
    return {m.group("name") for m in _VARIABLE_RE.finditer(text) if m.group("name")}


def parse_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}: not NAME=value: {line!r}"
        values[name.strip()] = value.strip().strip("'\"")
    return values


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text) -> dict[str, Any]:
    return yaml.safe_load(compose_text)  # PyYAML resolves the anchors and `<<` merges


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def services(compose) -> dict[str, Any]:
    return compose["services"]


def service_env(services, name: str, env_example) -> dict[str, str]:
    raw = services[name].get("environment") or {}
    assert isinstance(raw, dict), f"{name}: environment as a mapping, please"
    return {key: str(interpolate(value, env_example)) for key, value in raw.items()}


@pytest.fixture(scope="module")
def common_env(compose, env_example) -> dict[str, str]:
    """The anchor's environment (x-airflow-common), as the containers get it."""
    raw = compose["x-airflow-common"]["environment"]
    return {key: str(interpolate(value, env_example)) for key, value in raw.items()}


@pytest.fixture(scope="module")
def raw_common_env(compose) -> dict[str, str]:
    return {key: str(value) for key, value in compose["x-airflow-common"]["environment"].items()}


@pytest.fixture(scope="module")
def topology_env() -> tuple[dict[str, str], list[dict[str, str]]]:
    return topology.CeleryTopology.preview_env(workers=2)


def compared(env: dict[str, str]) -> set[str]:
    return {name for name in env if name.startswith(topology.COMPARED_PREFIXES)}


# --- settings shared with the topology ----------------------------------------------------


def test_every_airflow_service_gets_the_common_environment(services, common_env, env_example):
    for name in AIRFLOW_SERVICES:
        env = service_env(services, name, env_example)
        missing = {key for key in common_env if env.get(key) != common_env[key]}
        assert not missing, f"{name} lacks or changes {sorted(missing)}"


def test_the_shared_settings_have_the_same_values(common_env, topology_env):
    shared, _ = topology_env
    for name, value in topology.SHARED_SETTINGS.items():
        assert common_env.get(name) == value, f"compose {name}={common_env.get(name)!r}, topology {value!r}"
        assert shared[name] == value, name
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == shared["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common_env["AIRFLOW__CORE__XCOM_BACKEND"].endswith(".XComObjectStorageBackend")
    assert int(common_env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"]) > 0


def test_urls_have_the_same_shapes(common_env, topology_env):
    shared, _ = topology_env
    for name, shape in topology.URL_SHAPES.items():
        for side, env in (("compose", common_env), ("topology", shared)):
            assert re.fullmatch(shape, env.get(name, "")), f"{side} {name}={env.get(name)!r} is not {shape}"
    for side, env in (("compose", common_env), ("topology", shared)):
        # Celery's results in the metadata DB itself.
        backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
        assert backend == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], side


def test_urls_point_at_the_right_services(services, common_env, topology_env, env_example):
    sql = re.fullmatch(
        topology.URL_SHAPES["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
        common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
    )
    postgres = service_env(services, "postgres", env_example)
    assert (
        sql["host"] == "postgres"
        and sql["user"] == postgres["POSTGRES_USER"]
        and sql["db"] == postgres["POSTGRES_DB"]
    )
    assert f":{postgres['POSTGRES_PASSWORD']}@" in common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert services["postgres"]["image"] == "postgres:16"

    broker = re.fullmatch(
        topology.URL_SHAPES["AIRFLOW__CELERY__BROKER_URL"], common_env["AIRFLOW__CELERY__BROKER_URL"]
    )
    assert broker["host"] == "redis" and services["redis"]["image"].startswith("redis:7.2")

    execution = re.fullmatch(
        topology.URL_SHAPES["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"],
        common_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"],
    )
    assert (execution["host"], execution["port"]) == ("airflow-apiserver", "8080")
    api = services["airflow-apiserver"]
    assert api["command"] == "api-server" and "8080:8080" in api["ports"]

    shared, _ = topology_env
    assert (
        shared["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        == f"http://127.0.0.1:{shared['AIRFLOW__API__PORT']}/execution/"
    )
    assert shared["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://127.0.0.1:6379/")
    assert shared["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
        "postgresql+psycopg2://postgres@127.0.0.1:5432/"
    )


def test_secrets_and_connections_come_from_env_by_the_same_names(raw_common_env, topology_env, env_example):
    shared, _ = topology_env
    for name in topology.SECRET_ENV:
        # Required: compose stops when .env lacks it, rather than running with a weak default.
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", raw_common_env.get(name, "")), (
            f"{name}: {raw_common_env.get(name)!r}"
        )
        assert name in env_example and shared[name], name
    for name in topology.CONNECTION_ENV:
        assert re.fullmatch(rf"\$\{{{name}(:-)?\}}", raw_common_env.get(name, "")), (
            f"{name}: {raw_common_env.get(name)!r}"
        )
        assert name in env_example, name
    assert topology.STORE_ENV in raw_common_env and topology.STORE_ENV in shared


def test_no_setting_exists_on_one_side_only_without_a_reason(common_env, topology_env):
    shared, workers = topology_env
    only_topology = compared(shared) - compared(common_env)
    only_compose = compared(common_env) - compared(shared)
    assert only_topology <= set(topology.TOPOLOGY_ONLY), sorted(only_topology - set(topology.TOPOLOGY_ONLY))
    assert only_compose <= set(topology.COMPOSE_ONLY), sorted(only_compose - set(topology.COMPOSE_ONLY))
    # The lists of differences stay true: nothing listed that is in fact on both sides.
    assert not set(topology.TOPOLOGY_ONLY) & compared(common_env)
    assert set(topology.COMPOSE_ONLY) <= only_compose
    for worker in workers:
        assert set(worker) == set(topology.WORKER_ONLY)
        assert worker["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == topology.HOSTNAME_CALLABLE


def test_the_store_and_large_xcoms_are_on_the_volume_every_component_mounts(
    compose, services, common_env, topology_env
):
    assert DATA_VOLUME in compose["volumes"]
    assert common_env[topology.STORE_ENV].startswith(DATA_MOUNT + "/")
    xcom = re.fullmatch(topology.URL_SHAPES["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"],
                        common_env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"])  # fmt: skip
    assert xcom["path"] and xcom["path"].startswith(DATA_MOUNT + "/")
    assert "/opt/airflow/plugins" in common_env["PYTHONPATH"].split(":")
    # The topology: both in the one folder all its processes share.
    shared, _ = topology_env
    data_dir = Path(shared[topology.STORE_ENV]).parent
    assert shared["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"] == f"file://{data_dir}/xcom"
    assert str(ROOT / "plugins") in shared["PYTHONPATH"].split(":")
    for name, service in services.items():
        if name in AIRFLOW_SERVICES or name in ("airflow-cli", "flower"):
            mounts = dict(volume.split(":")[:2] for volume in service["volumes"])
            for source, target in MOUNTS.items():
                assert mounts.get(source) == target, f"{name} does not mount {source} at {target}: {mounts}"


# --- services -------------------------------------------------------------------------------


def test_the_services_of_the_official_file_with_health_checks(services):
    assert set(LONG_RUNNING) | {"airflow-init"} <= set(services)
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck") or {}
        assert check.get("test"), f"{name} has no health check"
        assert services[name].get("restart") == "always", name
    assert services["airflow-scheduler"]["healthcheck"]["test"][-1] == "http://localhost:8974/health"
    assert "DagProcessorJob" in services["airflow-dag-processor"]["healthcheck"]["test"][-1]
    assert "TriggererJob" in services["airflow-triggerer"]["healthcheck"]["test"][-1]
    assert "inspect ping" in services["airflow-worker"]["healthcheck"]["test"][-1]
    for name in AIRFLOW_SERVICES:
        if name != "airflow-init":
            depends = services[name]["depends_on"]
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
            assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", (
                name
            )
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_the_worker_runs_the_topologys_command_and_scales(services):
    worker = services["airflow-worker"]
    assert worker["command"] == " ".join(topology.WORKER_COMMAND)
    # `--scale airflow-worker=N` needs no fixed name and no host port.
    assert "container_name" not in worker and "ports" not in worker
    assert "replicas" not in (worker.get("deploy") or {})
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown of Celery
    assert not any("container_name" in service for service in services.values())


def test_init_migrates_creates_the_pool_and_the_admins_password(services, env_example):
    init = services["airflow-init"]
    script = "\n".join(init["command"])
    assert "airflow db migrate" in script
    assert "python -m repo_digest.admin setup" in script
    assert str(init["user"]) == "0:0"  # to chown the volumes
    passwords = service_env(services, "airflow-apiserver", env_example)[
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
    ]
    assert passwords in script
    assert (
        service_env(services, "airflow-init", env_example)[
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
        ]
        == passwords
    )
    assert re.fullmatch(
        r"\$\{_AIRFLOW_WWW_USER_PASSWORD:\?[^}]+\}", init["environment"]["_AIRFLOW_WWW_USER_PASSWORD"]
    )
    # The password file's volume: the api-server and init only, not the workers running DAG code.
    folder = str(Path(passwords).parent)
    for name, service in services.items():
        mounted = any(volume.split(":")[1] == folder for volume in service.get("volumes", []))
        assert mounted == (name in ("airflow-apiserver", "airflow-init")), name
    assert topology.SHARED_SETTINGS["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].startswith("admin:")


def test_the_image_is_built_from_the_dockerfile_on_airflow_3_3_2(compose, services, compose_text):
    for name in (*AIRFLOW_SERVICES, "airflow-cli", "flower"):
        build = services[name].get("build")
        assert build in (".", {"context": "."}) or (
            isinstance(build, dict) and build.get("context") == "."
        ), name
        assert services[name]["image"] == services["airflow-worker"]["image"], name
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    froms = [line for line in lines if line.upper().startswith("FROM ")]
    assert len(froms) == 1 and re.fullmatch(r"FROM apache/airflow:3\.3\.2(-python3\.\d+)?", froms[0]), froms
    installs = [line for line in lines if line.startswith("RUN") and "pip install" in line]
    assert any(re.search(r"-r \S*requirements\.txt -c \S*constraints\.txt", line) for line in installs), (
        installs
    )
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in compose_text


# --- .env.example -----------------------------------------------------------------------------

# What a real secret looks like: a Fernet key, a GitHub or OpenAI-style token, any long random string.
_SECRET_LOOKING = [
    re.compile(r"(?=[A-Za-z0-9_-]{0,42}[a-z])(?=[A-Za-z0-9_-]{0,42}\d)[A-Za-z0-9_-]{43}="),  # Fernet key
    re.compile(r"\b(ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{16,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    re.compile(
        r"(?<![A-Za-z0-9_./-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{24,}"
    ),
]


def test_env_example_names_every_variable_the_compose_file_reads(compose_text, env_example):
    read = variables_read(compose_text)
    assert read, "the compose file reads nothing from .env?"
    missing = read - set(env_example)
    assert not missing, f".env.example lacks {sorted(missing)}"
    unused = set(env_example) - read
    assert not unused, f".env.example sets what compose never reads: {sorted(unused)}"


def test_env_example_holds_no_secret(env_example):
    for name in (*topology.SECRET_ENV, *topology.CONNECTION_ENV, "_AIRFLOW_WWW_USER_PASSWORD"):
        assert env_example[name] == "", f"{name} must be empty in .env.example"
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for pattern in _SECRET_LOOKING:
        found = pattern.search(text)
        assert found is None, f".env.example holds something secret-looking: {found.group(0)!r}"


def test_the_secret_detector_would_catch_real_looking_values():
    from cryptography.fernet import Fernet

    samples = [
        Fernet.generate_key().decode(),
        "ghp_" + "a1B2" * 9,
        "sk-proj-" + "Zx9" * 10,
        "q8Vt3_LmZ0pX7rKd2WnY5sHb",
    ]
    for sample in samples:
        assert any(p.search(f"X={sample}") for p in _SECRET_LOOKING), sample
