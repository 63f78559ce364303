#!/usr/bin/env bash
# Create (or reuse) .venvs/airflow-<version>[-py<python>]: pinned Airflow, test tools, and this
# provider (editable), on Python 3.11 unless a second argument names another interpreter version.
# Usage: scripts/setup-venv.sh 3.3.2 [3.12]   -> prints the venv path on its last line.
set -euo pipefail
version="${1:?airflow version, e.g. 3.3.2}"
python="${2:-3.11}"
root="$(cd "$(dirname "$0")/.." && pwd)"
constraints="$root/ci/constraints-airflow-$version.txt"
venv="$root/.venvs/airflow-$version"
[ "$python" = "3.11" ] || venv="$venv-py$python"
[ -f "$constraints" ] || { echo "no pinned set for Airflow $version: $constraints" >&2; exit 2; }

if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv from PyPI" >&2
  python3 -m pip install --quiet --user uv >&2 || python3 -m pip install --quiet uv >&2
  export PATH="$HOME/.local/bin:$PATH"
fi

stamp="$venv/.installed-$(sha256sum "$constraints" "$root/providers/openlineage/pyproject.toml" | sha256sum | cut -c1-16)"
# Jobs that run side by side may ask for the same venv: one builds it, the others wait for it.
mkdir -p "$root/.venvs"
exec 9>"$venv.lock"
flock 9
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  # uv finds the interpreter on PATH (pyenv shims included) or under ~/.pyenv/versions.
  interpreter="$python"
  if ! uv python find "$python" >/dev/null 2>&1; then
    interpreter="$(ls -d "$HOME"/.pyenv/versions/"$python".*/bin/python"$python" 2>/dev/null | tail -n 1)"
    [ -n "$interpreter" ] || { echo "no Python $python found (PATH, ~/.pyenv/versions)" >&2; exit 2; }
  fi
  uv venv --quiet --python "$interpreter" "$venv" >&2
  uv pip install --quiet --compile-bytecode --python "$venv/bin/python" -r "$constraints" >&2
  uv pip install --quiet --python "$venv/bin/python" --no-deps -e "$root/providers/openlineage" >&2
  touch "$stamp"
fi
echo "$venv"
