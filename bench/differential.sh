#!/usr/bin/env bash
# Differential harness: build this provider's venv and today's provider (2.20.3) beside it on the
# same pinned Airflow (3.3.2), run the corpus in bench/differential/dags through both, and print the
# differences by path. Exit 1 on a difference not documented in bench/differential/allowed.json.
# Extra arguments go to bench/differential/run.py (e.g. --dags diff_docs,diff_branch).
set -euo pipefail
export PATH="$HOME/.local/bin:$PATH"
root="$(cd "$(dirname "$0")/.." && pwd)"
version="3.3.2"
ours="$("$root/scripts/setup-venv.sh" "$version" | tail -n 1)"
upstream="$("$root/scripts/setup-upstream-venv.sh" "$version" | tail -n 1)"
exec "$ours/bin/python" "$root/bench/differential/run.py" --ours "$ours" --upstream "$upstream" "$@"
