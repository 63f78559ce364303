#!/usr/bin/env bash
# Differential harness: build this provider's venv and today's provider beside it (2.20.3, the
# release, and 2.21.0rc1, its release candidate) on the same pinned Airflow (3.3.2), run the corpus
# in bench/differential/dags through all three, and print the differences by path against each.
# Exit 1 on a difference not documented in bench/differential/allowed.json.
# Extra arguments go to bench/differential/run.py (e.g. --dags diff_docs,diff_branch).
set -euo pipefail
export PATH="$HOME/.local/bin:$PATH"
root="$(cd "$(dirname "$0")/.." && pwd)"
version="3.3.2"
ours="$("$root/scripts/setup-venv.sh" "$version" | tail -n 1)"
upstream_release="$("$root/scripts/setup-upstream-venv.sh" "$version" 2.20.3 | tail -n 1)"
upstream_candidate="$("$root/scripts/setup-upstream-venv.sh" "$version" 2.21.0rc1 | tail -n 1)"
exec "$ours/bin/python" "$root/bench/differential/run.py" --ours "$ours" \
  --upstream "$upstream_release" --upstream "$upstream_candidate" "$@"
