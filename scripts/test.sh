#!/usr/bin/env bash
# The whole test suite: lint, generated-file sync, docs (-W), unit and end-to-end tests on
# Airflow 3.3.2, and the unit + end-to-end tests again on Airflow 3.1.8. Installs what it needs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
status=0
step() { echo; echo "=== $*"; }

venv33="$(scripts/setup-venv.sh 3.3.2 | tail -n 1)"
venv31="$(scripts/setup-venv.sh 3.1.8 | tail -n 1)"

step "ruff"
"$venv33/bin/ruff" check . || status=1
"$venv33/bin/ruff" format --check . || status=1

step "provider.yaml / get_provider_info.py in sync"
"$venv33/bin/python" scripts/generate_provider_info.py --check || status=1

step "docs (sphinx-build -W)"
"$venv33/bin/sphinx-build" -q -W -b html providers/openlineage/docs "${TMPDIR:-/tmp}/ol-provider-docs" || status=1

step "pytest on Airflow 3.3.2"
"$venv33/bin/python" -m pytest -p no:cacheprovider "$@" || status=1

step "differential harness: the corpus through 2.20.3 and ours, no undocumented difference (~3 min)"
bash bench/differential.sh --json "${TMPDIR:-/tmp}/ol-differential.json" || status=1

step "pytest on Airflow 3.1.8 (unit + e2e; packaging tests run once, on 3.3.2)"
"$venv31/bin/python" -m pytest -p no:cacheprovider -m "not packaging" "$@" || status=1

exit $status
