#!/usr/bin/env bash
# The project's test command: set up .venv/, .venv-base/ and .venv-trainers/ (scripts/setup.sh), lint with
# ruff, run the test suite in .venv/ (tests/test_base_install.py runs the core commands from .venv-base/),
# then the trainer tier that needs its own environment (tests/trainers/own_venv) in .venv-trainers/.
# Extra arguments go to both pytest runs, e.g. `bash scripts/test.sh -k verl`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest --ignore=tests/trainers/own_venv "$@"
if [ "${VIDEOQA_TRAINERS:-1}" != 0 ]; then
  set +e
  .venv-trainers/bin/python -m pytest tests/trainers/own_venv "$@"
  rc=$?
  set -e
  # 5 = no test selected: fine when the arguments (-k …) selected tests of the first run only
  if [ "$rc" -ne 0 ] && ! { [ "$rc" -eq 5 ] && [ $# -gt 0 ]; }; then exit "$rc"; fi
fi
