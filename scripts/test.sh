#!/usr/bin/env bash
# Run the test suite in the project's venv (installed first if missing). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install.sh
./scripts/install_browser.sh
exec .venv/bin/python -m pytest "$@"
