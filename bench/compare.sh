#!/usr/bin/env bash
# Build both venvs (this provider; upstream 2.20.3; same pinned Airflow, 3.3.2 unless
# OL_BENCH_AIRFLOW says otherwise) and run the side-by-side benchmark (OL_BENCH_SCRIPT, default
# compare.py). Extra arguments go to the script (e.g. --tasks 10).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${OL_BENCH_AIRFLOW:-3.3.2}"
ours="$("$root/scripts/setup-venv.sh" "$version" | tail -n 1)"
upstream="$("$root/scripts/setup-upstream-venv.sh" "$version" | tail -n 1)"
# Both sides import from compiled bytecode, as a production install does.
for venv in "$ours" "$upstream"; do
  if [ ! -f "$venv/.bytecode-compiled" ]; then
    "$venv/bin/python" -m compileall -q -j 0 "$venv/lib" >/dev/null 2>&1 || true
    touch "$venv/.bytecode-compiled"
  fi
done
"$ours/bin/python" -m compileall -q "$root/providers/openlineage/src" >/dev/null
exec "$ours/bin/python" "$root/bench/${OL_BENCH_SCRIPT:-compare.py}" --ours "$ours" --upstream "$upstream" "$@"
