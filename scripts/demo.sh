#!/usr/bin/env bash
# Set up .venv/ and run the main job on the bundled sample annotations (curate/samples/):
# curate filter → out/demo/{mcq,rejects}.parquet + stats.json, export it for TinyLLaVA-Video-R1, then
# curate extract-frames on small generated clips standing in for the videos (ffmpeg testsrc) and verify.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-out/demo}
.venv/bin/curate filter curate/samples/*.json curate/samples/*.csv --output "$out" --force
.venv/bin/curate export "$out" --to tinyllava --output "$out/tinyllava.jsonl"
videos="$out/videos"
for v in $(.venv/bin/python -c "import polars as pl, sys; print(*pl.read_parquet(sys.argv[1])['video'].unique())" "$out/mcq.parquet"); do
  mkdir -p "$(dirname "$videos/$v")"
  [ -f "$videos/$v" ] || ffmpeg -loglevel error -y -f lavfi -i testsrc2=duration=4:size=320x240:rate=25 \
    -pix_fmt yuv420p -c:v libx264 "$videos/$v"
done
rm -rf "$out/frames_out"
.venv/bin/curate extract-frames "$out" --video-root "$videos" --output "$out/frames_out" --num-frames 8
.venv/bin/curate verify "$out/frames_out"
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
