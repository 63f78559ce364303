#!/usr/bin/env bash
# The main job: the example DAG through real Airflow 3.3 (scheduler + Task SDK supervisor, SQLite),
# lineage in thread mode with a file transport, then every emitted event printed on one line.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$("$root/scripts/setup-venv.sh" 3.3.2 | tail -n 1)"
exec "$venv/bin/python" "$root/dev/demo.py"
