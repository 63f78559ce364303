#!/usr/bin/env bash
# Other providers' OpenLineage unit tests (from their PyPI sdists, at the versions pinned in
# ci/compat/constraints.txt) against today's provider (2.20.3, 2.21.0rc1) and ours: exit 1 when a
# test that passes with either reference build fails with ours. See ci/compat/run.py.
set -euo pipefail
export PATH="$HOME/.local/bin:$PATH"
root="$(cd "$(dirname "$0")/../.." && pwd)"
constraints="$root/ci/compat/constraints.txt"
venv="$root/.venvs/compat-providers"
stamp="$venv/.installed-$(sha256sum "$constraints" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  uv venv --quiet --python 3.11 "$venv"
  uv pip install --quiet --python "$venv/bin/python" -r "$constraints"
  touch "$stamp"
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/ol-compat.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The sdists of the pinned providers whose tests exercise this one.
mkdir -p "$work/sdists" "$work/home"
for project in common-sql google amazon postgres snowflake trino databricks dbt-cloud; do
  pin="$(grep -E "^apache-airflow-providers-$project==" "$constraints")"
  "$venv/bin/python" -m pip --version >/dev/null 2>&1 || uv pip install --quiet --python "$venv/bin/python" pip
  "$venv/bin/python" -m pip download --quiet --no-deps --no-binary :all: "$pin" -d "$work/download" 2>/dev/null
done
for archive in "$work"/download/*.tar.gz; do tar -xzf "$archive" -C "$work/sdists"; done
AIRFLOW_HOME="$work/home" "$venv/bin/airflow" db migrate >/dev/null 2>&1
( cd "$root/providers/openlineage" && uv build --quiet --wheel --out-dir "$work/wheel" . )
exec "$venv/bin/python" "$root/ci/compat/run.py" --python "$venv/bin/python" --sdists "$work/sdists" \
  --ours "$(ls "$work"/wheel/*.whl)" --airflow-home "$work/home" \
  --reference apache-airflow-providers-openlineage==2.20.3 \
  --reference apache-airflow-providers-openlineage==2.21.0rc1
