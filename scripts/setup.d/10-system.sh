#!/usr/bin/env bash
# Compilers and libraries the C core builds against.
set -euo pipefail
need=()
for pkg in build-essential zlib1g-dev clang libclang-rt-14-dev valgrind; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

