"""``curate verify DIR [--decode]``: re-read an output folder and check it against its manifest.

Checks, per file the manifest lists: it exists, its sha256 and byte size match, its Parquet row count
matches; frame shards also validate against :data:`schemas.frames.FRAMES_SCHEMA` and a sample of frames
(the first and last frame of up to ``sample`` rows per shard) decodes to the stored height × width.

Those checks only re-read what was written: a shard whose frames are the wrong frames of the video passes
them. With ``decode`` (``--decode``) up to ``videos`` rows, spread evenly over all frame shards, are also
checked against their video: each is decoded again with the reference decoder
(:func:`curate.frames.decoders.reference`: PyAV, the whole stream in presentation order), and

- the stream must still decode to ``num_frames_decoded`` frames;
- the stored ``timestamps`` must be the reference's at ``frame_indices`` (within 0.1 ms plus float32
  rounding);
- every stored frame must match the reference frame at its index after the same resize and encoding (the
  output's ``manifest.json`` config): PSNR ≥ :data:`MIN_PSNR` — 30 dB for jpeg (two JPEG encodings of the
  same picture), 40 dB for png and raw (lossless, but decord's, PyAV's and the ffmpeg CLI's libavcodec
  builds decode some streams a few levels apart, e.g. MPEG-4 Part 2 with B-frames, 80–92 dB). A
  neighbouring frame of a moving scene is typically 8–28 dB away.

Videos are found under ``video_root`` (default: the one the manifest records). A video that is missing
or no longer decodes is a problem too: the shard cannot be vouched for.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from curate.errors import UserError
from curate.manifest import NAME, sha256_file
from curate.options import Surface, config, option
from curate.video_paths import locate
from schemas.errors import SchemaError
from schemas.frames import validate_frames

MIN_PSNR = {"jpeg": 30.0, "png": 40.0, "raw": 40.0}
TIME_TOLERANCE = 1e-4


@dataclass
class VerifyResult:
    files: int = 0
    rows: int = 0
    frames_decoded: int = 0
    videos_decoded: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_frames(path: Path, result: VerifyResult, sample: int) -> None:
    from curate.frames.encode import decode_frame

    try:
        table = validate_frames(pq.ParquetFile(path).read())
    except (SchemaError, OSError, ValueError) as exc:
        result.problems.append(f"{path}: {exc}")
        return
    rows = table.slice(0, sample).to_pylist()
    for row in rows:
        for frame in (row["frames"][0], row["frames"][-1]) if row["frames"] else ():
            try:
                pixels = decode_frame(frame["bytes"], row["encoding"], row["height"], row["width"])
            except Exception as exc:
                result.problems.append(f"{path}: video_key {row['video_key']}: frame does not decode: {exc}")
                continue
            if pixels.shape[:2] != (row["height"], row["width"]):
                result.problems.append(f"{path}: video_key {row['video_key']}: frame is {pixels.shape[:2]}")
            result.frames_decoded += 1


def psnr(a, b) -> float:
    """Peak signal-to-noise ratio of two uint8 arrays of one shape, in dB (``inf`` when equal)."""
    import numpy as np

    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def check_row(row: dict, video: Path, config: dict) -> list[str]:
    """Problems found comparing one frame row with a fresh reference decode of ``video`` (module docstring)."""
    from functools import partial

    from curate.frames.decoders import VideoError, reference
    from curate.frames.encode import decode_frame, encode_frame
    from curate.frames.resize import picture_size, place, resize

    name = f"video {row['video']} (video_key {row['video_key']})"
    indices = row["frame_indices"]
    mode, size, max_pixels = config.get("resize", "none"), config.get("size", 0), config.get("max_pixels")
    geometry = partial(picture_size, mode=mode, size=size, max_pixels=max_pixels)
    full: dict = {}  # stored frames were scaled in the decoder (PyAV, ffmpeg) or after it (decord, torchcodec)
    try:
        timestamps, frames = reference(str(video), indices, geometry, full)
    except VideoError as exc:
        return [f"{name}: cannot re-decode {video}: {exc}"]
    problems = []
    if len(timestamps) != row["num_frames_decoded"]:
        problems.append(f"{name}: decodes to {len(timestamps)} frames, the shard says {row['num_frames_decoded']}")
    encoding, quality = row["encoding"], config.get("jpeg_quality") or 90
    floor = MIN_PSNR.get(encoding, MIN_PSNR["png"])
    for position, (index, stored) in enumerate(zip(indices, row["frames"], strict=True)):
        where = f"{name}: frame {position} (index {index})"
        if index not in frames:
            problems.append(f"{where}: the video has no such frame")
            continue
        stored_time, expected_time = row["timestamps"][position], timestamps[index]
        if abs(stored_time - expected_time) > TIME_TOLERANCE + 2.4e-7 * abs(expected_time):
            problems.append(f"{where}: timestamp {stored_time:.6f} s, the video says {expected_time:.6f} s")
        shown = full[index].shape[:2]
        both = [place(frames[index], *shown, mode, size, max_pixels), resize(full[index], mode, size, max_pixels)]
        if both[0].shape[:2] != (row["height"], row["width"]):
            got = f"{both[0].shape[0]}x{both[0].shape[1]}"
            problems.append(f"{where}: a fresh decode resizes to {got}, stored {row['height']}x{row['width']}")
            continue
        kept = decode_frame(stored["bytes"], encoding, row["height"], row["width"])
        score = max(
            psnr(kept, decode_frame(encode_frame(f, encoding, quality), encoding, row["height"], row["width"]))
            for f in both
        )
        if score < floor:
            problems.append(f"{where}: PSNR {score:.1f} dB against a fresh decode (at least {floor:g} dB expected)")
    return problems


def _check_decode(out: Path, shards: list[Path], config: dict, videos: int, video_root: Path | None) -> VerifyResult:
    """Re-decode ``videos`` frame rows spread evenly over ``shards`` (see the module docstring)."""
    from curate.frames.sampling import uniform_indices

    result = VerifyResult()
    root = video_root if video_root is not None else config.get("video_root")
    if root is None:
        raise UserError(f"{out / NAME}: records no video_root; pass --video-root")
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: video root is not a directory (pass --video-root)")
    counts = [pq.ParquetFile(shard).metadata.num_rows for shard in shards]
    total = sum(counts)
    chosen = sorted(set(uniform_indices(total, min(videos, total))))
    offset = 0
    for shard, count in zip(shards, counts, strict=True):
        local = [i - offset for i in chosen if offset <= i < offset + count]
        offset += count
        if not local:
            continue
        table = pq.ParquetFile(shard).read()
        for i in local:
            row = table.slice(i, 1).to_pylist()[0]
            where = locate(row["video"], root)  # the rule extract-frames applied: never opens a FIFO
            if where.reason:
                result.problems.append(f"video {row['video']}: {where.reason}: {where.detail}")
            else:
                result.problems += check_row(row, Path(where.path), config)
            result.videos_decoded += 1
    return result


@config
class VerifyConfig:
    """The options of ``curate verify``."""

    directory: Path = option(help="An output folder with a manifest.json.")
    sample: int = option(8, "Rows per shard whose frames are decoded.", ge=0)
    decode: bool = option(
        False, "Also re-decode videos and compare their frames with the stored ones.", flag="--decode"
    )
    videos: int = option(4, "Videos re-decoded with --decode (spread over the shards).", ge=1)
    video_root: Path | None = option(None, "Where the videos are for --decode (default: the manifest's).")


SURFACE = Surface(VerifyConfig, argument="directory")


def run(config: VerifyConfig) -> VerifyResult:
    """:func:`verify` with the options of ``config``."""
    return verify(config.directory, config.sample, config.decode, config.videos, config.video_root)


def verify(
    directory: str | Path, sample: int = 8, decode: bool = False, videos: int = 4, video_root: str | Path | None = None
) -> VerifyResult:
    """Check ``directory`` against its ``manifest.json``; with ``decode``, also re-decode ``videos`` videos
    (see the module docstring). Problems are listed, not raised."""
    out = Path(directory)
    path = out / NAME
    if not path.is_file():
        raise UserError(f"{path}: no such file (not a finished curate output)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        entries = manifest["outputs"]
    except (ValueError, KeyError) as exc:
        raise UserError(f"{path}: not a curate manifest ({exc})") from None
    if decode and videos < 1:
        raise UserError("--videos must be at least 1")
    result = VerifyResult()
    shards: list[Path] = []
    for entry in entries:
        file = out / entry["file"]
        result.files += 1
        if not file.is_file():
            result.problems.append(f"{file}: missing")
            continue
        if file.stat().st_size != entry.get("bytes") or sha256_file(file) != entry.get("sha256"):
            result.problems.append(f"{file}: sha256 or size differs from the manifest")
            continue
        if file.suffix == ".parquet":
            rows = pq.ParquetFile(file).metadata.num_rows
            result.rows += rows
            if "rows" in entry and rows != entry["rows"]:
                result.problems.append(f"{file}: {rows} rows, manifest says {entry['rows']}")
            if entry["file"].startswith("frames/"):
                problems = len(result.problems)
                _check_frames(file, result, sample)
                if len(result.problems) == problems:
                    shards.append(file)
    if decode:
        if not shards and not result.problems:
            raise UserError(f"{out}: --decode needs frame shards (an extract-frames output)")
        decoded = _check_decode(out, shards, manifest.get("config") or {}, videos, video_root)
        result.videos_decoded = decoded.videos_decoded
        result.problems += decoded.problems
    return result
