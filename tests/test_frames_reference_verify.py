"""``curate verify --decode``: stored frames are compared with a fresh reference decode of their videos, so a
shard whose frames are the wrong ones is caught even when its bytes match the manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import media
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import make_table, run_cli

from curate.frames.extract import ExtractConfig, run
from curate.frames.sampling import Sampling
from curate.frames.verify import verify
from curate.frames.work import FrameSpec
from curate.manifest import sha256_file

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

VIDEOS = ("a.mp4", "b.mp4", "c.vob")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """Two H.264 mp4s (decord reads them) and an MPEG-2 program stream (PyAV reads it)."""
    media.need_ffmpeg()
    root = tmp_path_factory.mktemp("verify_videos")
    media.clean_cfr(root / "a.mp4", frames=50, width=160, height=96)
    media.clean_cfr(root / "b.mp4", frames=40, width=128, height=72, fps=20)
    media.program_stream(root / "c.vob", frames=60)
    return root


def extract(tmp_path: Path, library: Path, encoding: str) -> Path:
    make_table(tmp_path / "in", list(VIDEOS))
    out = tmp_path / "out"
    shaping = FrameSpec(sampling=Sampling(num_frames=6), size=48, resize="short-side", encoding=encoding)
    result = run(ExtractConfig(tmp_path / "in", library, out, shaping=shaping, workers=1))
    assert result.decoded == len(VIDEOS)
    return out


def swap_frames(out: Path, video: str, first: int, second: int) -> None:
    """Swap two stored frames' bytes of ``video`` and rewrite the manifest's sha256 and size, so the plain
    checks (sha256, schema, frames decode) still pass."""
    for shard in sorted((out / "frames").glob("part-*.parquet")):
        table = pq.read_table(shard)
        rows = table.to_pylist()
        hits = [row for row in rows if row["video"] == video]
        if not hits:
            continue
        frames = hits[0]["frames"]
        frames[first]["bytes"], frames[second]["bytes"] = frames[second]["bytes"], frames[first]["bytes"]
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), shard)
        manifest_path = out / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["outputs"]:
            if entry["file"] == f"frames/{shard.name}":
                entry["bytes"], entry["sha256"] = shard.stat().st_size, sha256_file(shard)
        manifest_path.write_text(json.dumps(manifest))
        return
    raise AssertionError(f"{video} not in any shard")


@pytest.mark.parametrize("encoding", ["jpeg", "png", "raw"])
def test_decode_passes_on_a_good_output(tmp_path, library, encoding):
    out = extract(tmp_path, library, encoding)
    result = run_cli("verify", out, "--decode", "--videos", "3", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] and summary["videos_decoded"] == 3 and summary["problems"] == []


@pytest.mark.parametrize("encoding", ["jpeg", "png", "raw"])
@pytest.mark.parametrize("video", ["b.mp4", "c.vob"])
def test_decode_catches_swapped_frames_that_plain_verify_passes(tmp_path, library, encoding, video):
    out = extract(tmp_path, library, encoding)
    swap_frames(out, video, 1, 4)
    plain = run_cli("verify", out)
    assert plain.exit_code == 0, plain.output  # the bytes match the manifest and every frame decodes
    checked = run_cli("verify", out, "--decode", "--videos", "3")
    assert checked.exit_code == 1
    problems = [line for line in checked.output.splitlines() if "PSNR" in line]
    assert problems and all(f"video {video} (video_key " in line for line in problems)  # names the video
    assert any("frame 1 (index" in line for line in problems) and any("frame 4 (index" in line for line in problems)


def test_decode_finds_videos_under_another_root(tmp_path, library):
    out = extract(tmp_path, library, "jpeg")
    moved = tmp_path / "moved"
    shutil.copytree(library, moved)
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert Path(config["video_root"]) == library
    assert verify(out, decode=True, videos=3, video_root=moved).ok
    (moved / "b.mp4").unlink()
    result = verify(out, decode=True, videos=3, video_root=moved)
    assert not result.ok and any("b.mp4" in problem and "missing" in problem for problem in result.problems)


def test_decode_notices_a_changed_video(tmp_path, library):
    """The video was replaced after extraction (another frame count): the shard no longer describes it."""
    out = extract(tmp_path, library, "png")
    changed = tmp_path / "changed"
    shutil.copytree(library, changed)
    media.clean_cfr(changed / "a.mp4", frames=30, width=160, height=96)
    problems = verify(out, decode=True, videos=3, video_root=changed).problems
    assert any("a.mp4" in p and "decodes to 30 frames, the shard says 50" in p for p in problems)


def test_decode_needs_frame_shards(tmp_path):
    from helpers import LLAVA_MC, filter_files

    filtered = filter_files(tmp_path / "filtered", LLAVA_MC)
    plain = run_cli("verify", filtered.out)
    assert plain.exit_code == 0, plain.output
    result = run_cli("verify", filtered.out, "--decode")
    assert result.exit_code == 2 and "frame shards" in result.output
