#!/usr/bin/env bash
# Create or refresh the virtual environment at .venv/ with everything the project needs, the base install's
# environment at .venv-base/ (`pip install .`, no extras: what tests/test_base_install.py runs the core
# commands in; VIDEOQA_BASE=0 skips it), and the trainer tier's own environment at .venv-trainers/ (verl,
# ms-swift, OpenRLHF: pins the project's cannot share; VIDEOQA_TRAINERS=0 skips it).
# Installs ffmpeg/ffprobe from Debian when missing and we are root (the tests generate videos with it).
# Re-installs the project only when pyproject.toml changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffprobe >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ffmpeg (Debian package)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
  else
    echo "setup: ffmpeg/ffprobe not found; install them (e.g. apt-get install ffmpeg)" >&2
  fi
fi

# The report test renders HTML in headless Chromium (Debian's package).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (Debian package, for the report test)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium not found; the report test needs it (e.g. apt-get install chromium)" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.videoqa-rl-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log=.venv/install.log
  echo "setup: installing videoqa-rl and its dependencies into .venv/ (log: $log)" >&2
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[dev]"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: pip install failed (full log: $log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi

# The base install: the project as a user installs it (`pip install .`, a built wheel, no extras). The
# dependencies are installed when pyproject.toml changes; the project itself again whenever its files do.
if [ "${VIDEOQA_BASE:-1}" != 0 ]; then
  if [ ! -x .venv-base/bin/python ]; then
    "$PYTHON" -m venv .venv-base
  fi
  stamp=.venv-base/.videoqa-rl-installed
  want=$({ cat pyproject.toml; find curate pipelines schemas rewards -type f ! -path '*/__pycache__/*' \
    | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log=.venv-base/install.log
    echo "setup: installing videoqa-rl without extras into .venv-base/ (log: $log)" >&2
    # setuptools builds the wheel through build/lib, which keeps modules since deleted from the tree
    rm -rf build
    if ! { .venv-base/bin/python -m pip install --upgrade pip \
        && .venv-base/bin/python -m pip install . \
        && .venv-base/bin/python -m pip install --no-deps --force-reinstall .; } >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "setup: pip install failed (full log: $log)" >&2
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
fi

# The trainer tier's environment: the trainers pinned in tests/trainers/own_venv/requirements*.txt and the
# project (editable) on top. Rebuilt when those files or pyproject.toml change.
if [ "${VIDEOQA_TRAINERS:-1}" != 0 ]; then
  reqs=tests/trainers/own_venv
  if [ ! -x .venv-trainers/bin/python ]; then
    "$PYTHON" -m venv .venv-trainers
  fi
  stamp=.venv-trainers/.videoqa-rl-installed
  want=$(cat pyproject.toml "$reqs"/requirements.txt "$reqs"/requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log=.venv-trainers/install.log
    echo "setup: installing the trainer tier (verl, ms-swift, OpenRLHF) into .venv-trainers/ (log: $log)" >&2
    if ! { .venv-trainers/bin/python -m pip install --upgrade pip \
        && .venv-trainers/bin/python -m pip install -r "$reqs"/requirements.txt \
        && .venv-trainers/bin/python -m pip install --no-deps -r "$reqs"/requirements-nodeps.txt \
        && .venv-trainers/bin/python -m pip install -e ".[frames]"; } >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      echo "setup: pip install failed (full log: $log)" >&2
      exit 1
    fi
    echo "$want" > "$stamp"
  fi
fi
