#!/usr/bin/env bash
# Third-party readers the export tests check every format against:
# go tool pprof (Go), speedscope in headless Chromium, Firefox Profiler CLI,
# callgrind_annotate (valgrind), gprof2dot, snakeviz, pstats, inferno.
# Idempotent: each part is skipped when already installed.
set -euo pipefail

apt_need=()
for pkg in chromium valgrind; do
    dpkg -s "$pkg" >/dev/null 2>&1 || apt_need+=("$pkg")
done
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
    apt_need+=(golang-go)
fi
if ! command -v npm >/dev/null 2>&1; then
    apt_need+=(nodejs npm)
fi
if [ ${#apt_need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_need[@]}" >/dev/null
fi

NODE_PREFIX=/opt/pyrometer-tools/node
node_need=()
for pkg in speedscope playwright-core @firefox-devtools/profiler-cli ajv; do
    [ -f "$NODE_PREFIX/node_modules/$pkg/package.json" ] || node_need+=("$pkg")
done
if [ ${#node_need[@]} -gt 0 ]; then
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --loglevel=error "${node_need[@]}" >/dev/null
fi

py_need=()
for mod in gprof2dot snakeviz vmprof; do
    python3 -c "import $mod" >/dev/null 2>&1 || py_need+=("$mod")
done
if [ ${#py_need[@]} -gt 0 ]; then
    python3 -m pip install --quiet "${py_need[@]}"
fi

if ! command -v inferno-flamegraph >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/inferno-flamegraph" ]; then
    if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cargo >/dev/null
    fi
    CARGO="$(command -v cargo || echo "$HOME/.cargo/bin/cargo")"
    "$CARGO" install --quiet --locked inferno
fi
