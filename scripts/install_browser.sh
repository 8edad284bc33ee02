#!/usr/bin/env bash
# Debian's chromium and chromedriver for the browser test (browsers cannot be downloaded
# by test tools here; Debian's packages can). Idempotent; needs root, as CI has.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null
