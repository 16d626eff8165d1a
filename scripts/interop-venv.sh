#!/usr/bin/env bash
# Creates (or refreshes) the virtualenv with the reference implementations
# the interop tests drive: the real Keystone and python-openstackclient from
# PyPI. Idempotent: does nothing when the requirements have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${IRONSTONE_TEST_VENV:-.venv-interop}
requirements=tests/interop/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! command -v python3 >/dev/null; then
  echo "interop-venv: python3 not found; interop tests will be skipped" >&2
  exit 0
fi
echo "interop-venv: installing $(grep -cv '^#' "$requirements") packages into $venv" >&2
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
echo "$want" > "$stamp"
