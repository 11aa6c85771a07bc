#!/usr/bin/env bash
# Creates (once) the Python virtual environment the reference scripts use, tools/.venv,
# and installs the packages named on the command line that it lacks. Prints its python.
# Usage: PY=$(tools/venv.sh tokenizers zstandard)
# ELECTRA_VENV=/path/to/venv uses (and creates) that environment instead of tools/.venv.
set -euo pipefail
cd "$(dirname "$0")"
venv=${ELECTRA_VENV:-$PWD/.venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
fi
missing=()
for spec in "$@"; do
  name=${spec%%[=<>]*}
  "$venv/bin/python" -m pip show -q "$name" >/dev/null 2>&1 || missing+=("$spec")
done
if ((${#missing[@]})); then
  "$venv/bin/python" -m pip install -q "${missing[@]}" >&2
fi
echo "$venv/bin/python"
