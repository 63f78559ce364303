#!/usr/bin/env bash
# Create (or reuse) .venvs/bench-upstream-<provider>-airflow-<airflow>: today's provider (2.20.3 by
# default, or the version given second, e.g. 2.21.0rc1) on the same pinned Airflow, for side-by-side
# runs. Prints the venv path on its last line.
set -euo pipefail
export PATH="$HOME/.local/bin:$PATH"
version="${1:?airflow version, e.g. 3.3.2}"
provider="${2:-2.20.3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
upstream="$root/.venvs/bench-upstream-$provider-airflow-$version"
constraints="$root/ci/constraints-airflow-$version.txt"
stamp="$upstream/.installed-$(sha256sum "$constraints" | cut -c1-16)"
# Jobs that run side by side may ask for the same venv: one builds it, the others wait for it.
mkdir -p "$root/.venvs"
exec 9>"$upstream.lock"
flock 9
if [ ! -f "$stamp" ]; then
  rm -rf "$upstream"
  uv venv --quiet --python 3.11 "$upstream" >&2
  uv pip install --quiet --compile-bytecode --python "$upstream/bin/python" -r "$constraints" \
    "apache-airflow-providers-openlineage==$provider" >&2
  touch "$stamp"
fi
echo "$upstream"
