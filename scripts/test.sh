#!/usr/bin/env bash
# The whole test suite, in lanes (see the README for what each covers):
#   1. lint, generated-file sync, docs (-W)
#   2. Airflow 3.3.2 / Python 3.11: unit, end-to-end (LocalExecutor, and CeleryExecutor with a real
#      Redis), packaging
#   3. the differential harness against 2.20.3 (Airflow 3.3.2)
#   4. Airflow 3.3.2 / Python 3.12: unit and the real-supervisor subset, DeprecationWarning visible
#   5. Airflow 3.2.2 / Python 3.11: unit and the real-supervisor subset
#   6. Airflow 3.1.8 / Python 3.11: unit and end-to-end
# Installs what it needs (uv, pinned venvs, Debian's redis-server). Extra arguments go to every
# pytest lane.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
status=0
step() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

# The Celery lane's broker: Debian's redis-server, started and stopped by the test itself.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing Debian's redis-server (the Celery lane's broker)" >&2
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  { $sudo_cmd apt-get install -y -q redis-server >/dev/null 2>&1 \
      || { $sudo_cmd apt-get update -q >/dev/null 2>&1 && $sudo_cmd apt-get install -y -q redis-server >/dev/null 2>&1; }; } \
    || echo "WARNING: redis-server could not be installed: the Celery lane will be skipped" >&2
fi

venv33="$(scripts/setup-venv.sh 3.3.2 | tail -n 1)"
venv312="$(scripts/setup-venv.sh 3.3.2 3.12 | tail -n 1)"
venv32="$(scripts/setup-venv.sh 3.2.2 | tail -n 1)"
venv31="$(scripts/setup-venv.sh 3.1.8 | tail -n 1)"
# What the Task SDK of each Airflow minor changes: misbehaving extractors and faulty backends, both modes.
supervisor_subset=(
  providers/openlineage/tests/e2e/test_misbehaving_extractors_e2e.py
  "providers/openlineage/tests/e2e/test_task_events_e2e.py::test_faulty_backend_adds_at_most_one_timeout"
)

step "ruff"
"$venv33/bin/ruff" check . || status=1
"$venv33/bin/ruff" format --check . || status=1

step "provider.yaml / get_provider_info.py in sync"
"$venv33/bin/python" scripts/generate_provider_info.py --check || status=1

step "docs (sphinx-build -W)"
"$venv33/bin/sphinx-build" -q -W -b html providers/openlineage/docs "${TMPDIR:-/tmp}/ol-provider-docs" || status=1

step "pytest on Airflow 3.3.2, Python 3.11 (unit, e2e on LocalExecutor and CeleryExecutor, packaging)"
"$venv33/bin/python" -m pytest -p no:cacheprovider --durations=15 "$@" || status=1

step "differential harness: the corpus through 2.20.3 and ours, no undocumented difference (~3 min)"
bash bench/differential.sh --json "${TMPDIR:-/tmp}/ol-differential.json" || status=1

step "pytest on Airflow 3.3.2, Python 3.12 (unit + real-supervisor subset, DeprecationWarning shown)"
"$venv312/bin/python" -m pytest -p no:cacheprovider -W "default::DeprecationWarning" \
  providers/openlineage/tests/unit "${supervisor_subset[@]}" providers/openlineage/tests/e2e/test_python312_fork_e2e.py \
  "$@" || status=1

step "pytest on Airflow 3.2.2, Python 3.11 (unit + real-supervisor subset)"
"$venv32/bin/python" -m pytest -p no:cacheprovider providers/openlineage/tests/unit "${supervisor_subset[@]}" "$@" \
  || status=1

step "pytest on Airflow 3.1.8, Python 3.11 (unit + e2e; packaging and Celery run on 3.3.2 only)"
"$venv31/bin/python" -m pytest -p no:cacheprovider -m "not packaging" "$@" || status=1

step "done: status $status"
exit $status
