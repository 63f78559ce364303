#!/usr/bin/env bash
# Today's provider's own system tests (2.21.0rc1's sdist) against 2.21.0rc1 and ours: exit 1 when a
# system DAG whose expected events match with 2.21.0rc1 does not match with ours. See run.py.
set -euo pipefail
export PATH="$HOME/.local/bin:$PATH"
root="$(cd "$(dirname "$0")/../.." && pwd)"
version="3.3.2"
ours="$("$root/scripts/setup-venv.sh" "$version" | tail -n 1)"
upstream="$("$root/scripts/setup-upstream-venv.sh" "$version" 2.21.0rc1 | tail -n 1)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ol-system-sdist.XXXXXX")"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: \
  "apache-airflow-providers-openlineage==2.21.0rc1" -d "$work" 2>/dev/null
tar -xzf "$work"/apache_airflow_providers_openlineage-2.21.0rc1.tar.gz -C "$work"
exec "$ours/bin/python" "$root/ci/system/run.py" --ours "$ours" --upstream "$upstream" \
  --sdist "$work/apache_airflow_providers_openlineage-2.21.0rc1" "$@"
