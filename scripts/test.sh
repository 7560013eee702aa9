#!/usr/bin/env bash
# The project's test command: set up .venv/ (scripts/setup.sh), lint with ruff, run the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k filter`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
