#!/usr/bin/env bash
# Set up .venv/ and run the whole pipeline on the embedded sample (curate demo): synthetic clips of a
# moving coloured square with questions answerable from the pixels, in the LLaVA-Video-178K format →
# filter → extract-frames → reward scoring of reference completions → coldstart with a tiny model on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-out/demo}
.venv/bin/curate demo --output "$out"
.venv/bin/curate verify "$out/frames"
