#!/usr/bin/env bash
# The misbehaving-extractor regression run, this provider against upstream 2.20.3 (see regression.py).
set -euo pipefail
OL_BENCH_SCRIPT=regression.py exec "$(dirname "$0")/compare.sh" "$@"
