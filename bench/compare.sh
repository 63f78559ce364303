#!/usr/bin/env bash
# Build both venvs (this provider; upstream 2.20.3; same pinned Airflow, 3.3.2 unless
# OL_BENCH_AIRFLOW says otherwise) and run the side-by-side benchmark (OL_BENCH_SCRIPT, default
# compare.py). Extra arguments go to the script (e.g. --tasks 10).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${OL_BENCH_AIRFLOW:-3.3.2}"
ours="$("$root/scripts/setup-venv.sh" "$version" | tail -n 1)"
upstream="$root/.venvs/bench-upstream-2.20.3-airflow-$version"
constraints="$root/ci/constraints-airflow-$version.txt"
stamp="$upstream/.installed-$(sha256sum "$constraints" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf "$upstream"
  uv venv --quiet --python 3.11 "$upstream" >&2
  uv pip install --quiet --python "$upstream/bin/python" -r "$constraints" \
    "apache-airflow-providers-openlineage==2.20.3" >&2
  touch "$stamp"
fi
exec "$ours/bin/python" "$root/bench/${OL_BENCH_SCRIPT:-compare.py}" --ours "$ours" --upstream "$upstream" "$@"
