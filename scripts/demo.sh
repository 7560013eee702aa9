#!/usr/bin/env bash
# Set up .venv/ and run the main job on the bundled sample annotations (curate/samples/):
# curate filter → out/demo/{mcq,rejects}.parquet + stats.json, then export it for TinyLLaVA-Video-R1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-out/demo}
.venv/bin/curate filter curate/samples/*.json curate/samples/*.csv --output "$out" --force
.venv/bin/curate export "$out" --to tinyllava --output "$out/tinyllava.jsonl"
.venv/bin/python - "$out" <<'PY'
import json, sys
import polars as pl
out = sys.argv[1]
pl.Config.set_fmt_str_lengths(50)
print(pl.read_parquet(f"{out}/mcq.parquet").select("id", "question", "options", "answer"))
print(pl.read_parquet(f"{out}/rejects.parquet").select("id", "reason", "detail"))
stats = json.load(open(f"{out}/stats.json"))
print({k: stats[k] for k in ("read", "kept", "rejected", "kept_plus_rejected_equals_read", "reasons")})
PY
