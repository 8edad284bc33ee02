#!/usr/bin/env bash
# From a fresh clone to a digest on disk, with no network and no credentials:
# installs .venv, sets up a project-local Airflow (SQLite, LocalExecutor, AIRFLOW_HOME=.airflow),
# builds a demo git repository, tracks it through the Variable and runs one day's digest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
source scripts/env.sh
mkdir -p "$AIRFLOW_HOME"
log="$AIRFLOW_HOME/quickstart.log"
: > "$log"
echo "Setting up Airflow in $AIRFLOW_HOME (log: $log)"
airflow db migrate >>"$log" 2>&1
python -m repo_digest.admin setup | tee -a "$log"
demo_repo="$AIRFLOW_HOME/demo-repo"
python -m tests.fakes.git_fixture "$demo_repo" >>"$log" 2>&1
python -m repo_digest.admin add-repo "{\"repo\": \"demo/sample\", \"source\": \"git\", \"url\": \"$demo_repo\", \"timezone\": \"Asia/Shanghai\"}" | tee -a "$log"
day=2026-02-19
echo "Running the digest of demo/sample for $day (airflow dags test)"
airflow dags test repo_digest__demo__sample "$day" >>"$log" 2>&1 || { tail -n 40 "$log"; exit 1; }
digest="$REPO_DIGEST_STORE/demo/sample/${day:0:4}/$day.md"
test -s "$digest" || { echo "no digest at $digest; see $log" >&2; exit 1; }
echo "Digest written: $digest"
