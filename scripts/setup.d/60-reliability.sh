#!/usr/bin/env bash
# The reliability harness: clang + libFuzzer runtime (scripts/fuzz, fuzz
# regression replay), valgrind (scripts/test-sanitized), PyPy and
# vmprof-python (real profiles to seed the fuzz corpora).
set -euo pipefail
need=()
for pkg in clang libclang-rt-14-dev valgrind pypy3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c "import vmprof" 2>/dev/null || python3 -m pip install --quiet vmprof
