#!/usr/bin/env bash
# Build both venvs (this provider; upstream 2.20.3, same pinned Airflow 3.3.2) and run the
# side-by-side benchmark. Extra arguments go to bench/compare.py (e.g. --tasks 10).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ours="$("$root/scripts/setup-venv.sh" 3.3.2 | tail -n 1)"
upstream="$root/.venvs/bench-upstream-2.20.3"
constraints="$root/ci/constraints-airflow-3.3.2.txt"
stamp="$upstream/.installed-$(sha256sum "$constraints" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf "$upstream"
  uv venv --quiet --python 3.11 "$upstream" >&2
  uv pip install --quiet --python "$upstream/bin/python" -r "$constraints" \
    "apache-airflow-providers-openlineage==2.20.3" >&2
  touch "$stamp"
fi
exec "$ours/bin/python" "$root/bench/compare.py" --ours "$ours" --upstream "$upstream" "$@"
