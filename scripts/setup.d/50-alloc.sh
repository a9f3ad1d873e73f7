#!/usr/bin/env bash
# Allocation tracking: libunwind (native frames, --native; linked into the
# extension) and memray from PyPI (the comparison in bench/alloc_*).
set -euo pipefail
if ! dpkg -s libunwind-dev >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libunwind-dev >/dev/null
fi
python3 -c "import memray" 2>/dev/null || python3 -m pip install --quiet memray
