#!/usr/bin/env bash
# Python packages the tests drive: pytest, and vmprof-python (its reader
# checks that pyrometer's profiles are real vmprof files).
set -euo pipefail
python3 -m pip install --quiet --disable-pip-version-check pytest vmprof
