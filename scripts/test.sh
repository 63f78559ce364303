#!/usr/bin/env bash
# The whole test suite, in lanes (see the README for what each covers):
#   1. lint (ruff, import-linter layers, mypy), generated-file sync, docs (-W), bench's own tests
#   2. Airflow 3.3.2 / Python 3.11: unit, end-to-end (LocalExecutor, and CeleryExecutor with a real
#      Redis), the slow set (tests marked ``slow``: fault matrices run once, here), packaging
#   3. the differential harness against 2.20.3 and 2.21.0rc1 (Airflow 3.3.2)
#   3b. other providers' OpenLineage unit tests (PyPI sdists) against 2.20.3, 2.21.0rc1 and ours
#   3c. today's provider's own system tests (2.21.0rc1 sdist) against 2.21.0rc1 and ours
#   4. Airflow 3.3.2 / Python 3.12: unit, fork under 3.12 and misbehaving extractors, DeprecationWarning visible
#   5. Airflow 3.2.2 / Python 3.11: unit and the real-supervisor subset
#   6. Airflow 3.1.8 / Python 3.11: unit and the task path end to end (events, attempts, guarantees)
# 1, 3, 3b, 3c, the unit tests of 2, 4, 5, 6, and the end-to-end tests of 2 that check content, not
# time (packaging, the doctor, child jobs, extraction, emission policy) run side by side first; the
# timed end-to-end parts after, one at a time.
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
# Today's provider beside the same Airflow, for the differential and system-test jobs (built here,
# once, before those jobs run side by side).
scripts/setup-upstream-venv.sh 3.3.2 2.20.3 >/dev/null
scripts/setup-upstream-venv.sh 3.3.2 2.21.0rc1 >/dev/null
# What the Task SDK of each Airflow minor changes: misbehaving extractors and faulty backends, both modes.
supervisor_subset=(
  providers/openlineage/tests/e2e/test_misbehaving_extractors_e2e.py
  "providers/openlineage/tests/e2e/test_task_events_e2e.py::test_faulty_backend_adds_at_most_one_timeout"
)

# Phase 1, timing-free work side by side (2 cores): lint + docs, the differential harness, and the
# unit tests of every lane (they wait on fake clocks, sockets and small real timeouts, so they mostly
# sleep). Each writes a log of its own, printed in order when all are done.
# Phase 2, one at a time: the end-to-end lanes, whose slot-time bounds need the cores to themselves.
logs="$(mktemp -d "${TMPDIR:-/tmp}/ol-ci-logs.XXXXXX")"
declare -A job_pids=()
job_names=()
job() {  # job NAME COMMAND...: run in the background, output to $logs/NAME.log
  local name="$1"; shift
  job_names+=("$name")
  ( "$@" ) >"$logs/$name.log" 2>&1 &
  job_pids[$name]=$!
}
lint_and_docs() {
  local rc=0
  step "ruff"
  "$venv33/bin/ruff" check . || rc=1
  "$venv33/bin/ruff" format --check . || rc=1
  step "layers and import circles (import-linter, contracts in pyproject.toml)"
  "$venv33/bin/lint-imports" --no-cache || rc=1
  step "types (mypy on the provider's package)"
  "$venv33/bin/mypy" || rc=1
  step "bench's own tests (the compare verdict)"
  "$venv33/bin/python" -m pytest -q -p no:cacheprovider bench/tests || rc=1
  step "provider.yaml / get_provider_info.py in sync"
  "$venv33/bin/python" scripts/generate_provider_info.py --check || rc=1
  step "docs (sphinx-build -W)"
  "$venv33/bin/sphinx-build" -q -W -b html providers/openlineage/docs "$logs/docs-html" || rc=1
  return $rc
}
unit=(providers/openlineage/tests/unit)

job lint-docs lint_and_docs
job differential bash -c 'echo "=== differential harness: the corpus through 2.20.3, 2.21.0rc1 and ours, no undocumented difference"; exec bash bench/differential.sh --json "$0"' \
  "${TMPDIR:-/tmp}/ol-differential.json"
job system-tests bash -c 'echo "=== 2.21.0rc1 system tests: every system DAG whose events match with 2.21.0rc1 matches with ours"; exec bash ci/system/run.sh'
job provider-compat bash -c 'echo "=== other providers: their OpenLineage tests that pass with 2.20.3 or 2.21.0rc1 pass with ours"; exec bash ci/compat/run.sh'
# End-to-end tests that check what is emitted, never how long it took, and the packaging tests.
content_e2e=(
  providers/openlineage/tests/packaging
  providers/openlineage/tests/e2e/test_check_cli_e2e.py
  providers/openlineage/tests/e2e/test_child_jobs_e2e.py
  providers/openlineage/tests/e2e/test_extraction_e2e.py
  providers/openlineage/tests/e2e/test_emission_policy_e2e.py
)
job e2e-content-3.3.2 "$venv33/bin/python" -m pytest -p no:cacheprovider --durations=5 "${content_e2e[@]}" "$@"
job unit-3.3.2 "$venv33/bin/python" -m pytest -p no:cacheprovider "${unit[@]}" "$@"
job unit-3.3.2-py3.12 "$venv312/bin/python" -m pytest -p no:cacheprovider -W "default::DeprecationWarning" "${unit[@]}" "$@"
job unit-3.2.2 "$venv32/bin/python" -m pytest -p no:cacheprovider "${unit[@]}" "$@"
job unit-3.1.8 "$venv31/bin/python" -m pytest -p no:cacheprovider "${unit[@]}" "$@"
for name in "${job_names[@]}"; do
  rc=0; wait "${job_pids[$name]}" || rc=$?
  step "$name (side by side with the other timing-free jobs): exit $rc"
  cat "$logs/$name.log"
  [ "$rc" = 0 ] || status=1
done

step "pytest on Airflow 3.3.2, Python 3.11: end-to-end on LocalExecutor and CeleryExecutor (slow set included)"
timing_e2e=()
for test_file in providers/openlineage/tests/e2e/test_*_e2e.py; do
  case " ${content_e2e[*]} " in *" $test_file "*) ;; *) timing_e2e+=("$test_file") ;; esac
done
"$venv33/bin/python" -m pytest -p no:cacheprovider --durations=15 "${timing_e2e[@]}" "$@" || status=1

step "pytest on Airflow 3.3.2, Python 3.12: fork under 3.12's warnings, misbehaving extractors, DeprecationWarning shown"
"$venv312/bin/python" -m pytest -p no:cacheprovider -W "default::DeprecationWarning" -m "not slow" \
  providers/openlineage/tests/e2e/test_misbehaving_extractors_e2e.py \
  providers/openlineage/tests/e2e/test_python312_fork_e2e.py "$@" || status=1

step "pytest on Airflow 3.2.2, Python 3.11: real-supervisor subset"
"$venv32/bin/python" -m pytest -p no:cacheprovider -m "not slow" "${supervisor_subset[@]}" "$@" || status=1

# Task SDK 1.1 (Airflow 3.1) is where a stuck task hurt most: the task path end to end (events, attempts,
# deferral, overtime, SIGTERM, misbehaving extractors). The spool, child jobs, the doctor and the
# long-lived processes do not depend on the Task SDK's version and run on 3.3.2.
step "pytest on Airflow 3.1.8, Python 3.11: the task path end to end"
"$venv31/bin/python" -m pytest -p no:cacheprovider --durations=10 -m "not packaging and not slow" \
  providers/openlineage/tests/e2e/test_misbehaving_extractors_e2e.py providers/openlineage/tests/e2e/test_guarantees_e2e.py \
  providers/openlineage/tests/e2e/test_task_events_e2e.py providers/openlineage/tests/e2e/test_attempts_e2e.py \
  -k "misbehaving or overtime or faulty_backend or sigterm or (attempt and fork)" "$@" || status=1

rm -rf "$logs"
step "done: status $status"
exit $status
