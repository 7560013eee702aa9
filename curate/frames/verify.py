"""``curate verify DIR``: re-read an output folder and check it against its manifest.

Checks, per file the manifest lists: it exists, its sha256 and byte size match, its Parquet row count
matches; frame shards also validate against :data:`schemas.frames.FRAMES_SCHEMA` and a sample of frames
(the first and last frame of up to ``sample`` rows per shard) decodes to the stored height × width.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from curate.errors import UserError
from curate.manifest import NAME, sha256_file
from schemas.errors import SchemaError
from schemas.frames import validate_frames


@dataclass
class VerifyResult:
    files: int = 0
    rows: int = 0
    frames_decoded: int = 0
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


def verify(directory: str | Path, sample: int = 8) -> VerifyResult:
    """Check ``directory`` against its ``manifest.json``; problems are listed, not raised."""
    out = Path(directory)
    path = out / NAME
    if not path.is_file():
        raise UserError(f"{path}: no such file (not a finished curate output)")
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["outputs"]
    except (ValueError, KeyError) as exc:
        raise UserError(f"{path}: not a curate manifest ({exc})") from None
    result = VerifyResult()
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
                _check_frames(file, result, sample)
    return result
