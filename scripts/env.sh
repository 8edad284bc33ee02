# Source this file to use the project's local Airflow: `source scripts/env.sh`.
# Everything lives inside the checkout: the venv in .venv, AIRFLOW_HOME in .airflow.
_repo_digest_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_DIGEST_ROOT="$_repo_digest_root"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_repo_digest_root/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$_repo_digest_root/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$_repo_digest_root/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
# Users of the embedded UI: admin (password written to $AIRFLOW_HOME by Airflow on first start).
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export REPO_DIGEST_STORE="${REPO_DIGEST_STORE:-$AIRFLOW_HOME/digests}"
# Task processes start warm: the LocalExecutor forks them from a forkserver that has already
# imported what they need (repo_digest.preload), and the scheduler looks for tasks that became
# ready every 0.2 s instead of every 1 s (docs/BENCHMARKS.md: what each saves and costs).
export AIRFLOW__SCHEDULER__MP_START_METHOD="${AIRFLOW__SCHEDULER__MP_START_METHOD:-forkserver}"
export AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD="${AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD:-airflow,airflow.executors.local_executor,repo_digest.preload}"
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="${AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME:-0.2}"
# The library package, for `python -m repo_digest.admin` (Airflow adds plugins/ itself).
export PYTHONPATH="$_repo_digest_root/plugins:$_repo_digest_root${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$_repo_digest_root/.venv/bin:$PATH"
unset _repo_digest_root
