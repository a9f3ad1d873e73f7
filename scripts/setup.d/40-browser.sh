#!/usr/bin/env bash
# Headless Chromium and playwright-core drive the HTML flame graph in tests;
# PyPI vmprof writes the real vmprof profiles those tests load.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
PREFIX=/opt/pyrometer-tools/node
if [ ! -f "$PREFIX/node_modules/playwright-core/package.json" ]; then
    mkdir -p "$PREFIX"
    npm install --silent --no-audit --no-fund --prefix "$PREFIX" playwright-core >/dev/null
fi
python3 -c "import vmprof" 2>/dev/null || python3 -m pip install --quiet vmprof
