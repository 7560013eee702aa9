"""Stored frames as image files, for trainers whose dataset loaders take a video as a list of images.

``curate export`` from an extract-frames folder calls :func:`write_frame_files`: every frame of the
videos the exported questions use is written to ``ROOT/<video_key>/<index>.<ext>`` — the ``path`` the
shard already stores for it — with its bytes unchanged (jpeg/png as stored; raw frames are written as
lossless PNG, the one re-encoding). The loader then receives the frames extract-frames made and never
opens the mp4.

Contracts:
- one folder per video; files written atomically, and a file that already holds the same bytes is
  kept (a rerun writes nothing new);
- :class:`StoredVideo` gives the absolute paths in time order, the timestamps, and ``sample_fps``: the
  rate the stored frames represent, ``(T − 1) / (t_last − t_first)`` for T ≥ 2 frames spanning a
  positive time, else the video's fps (processors such as Qwen2.5-VL's use it for temporal positions).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import UserError
from schemas.atomic import atomic_path

COLUMNS = ["video_key", "frames", "timestamps", "fps", "height", "width", "encoding"]


@dataclass(frozen=True)
class StoredVideo:
    paths: tuple[str, ...]
    timestamps: tuple[float, ...]
    fps: float | None
    sample_fps: float

    @property
    def num_frames(self) -> int:
        return len(self.paths)


def sample_fps(timestamps: list[float], fps: float | None) -> float:
    """The rate the stored frames represent (see the module docstring); 1.0 when nothing says."""
    if len(timestamps) >= 2 and timestamps[-1] > timestamps[0]:
        return (len(timestamps) - 1) / (timestamps[-1] - timestamps[0])
    return float(fps) if fps else 1.0


def _png(raw: bytes, height: int, width: int) -> bytes:
    import numpy as np
    from PIL import Image

    image = Image.fromarray(np.frombuffer(raw, np.uint8).reshape(height, width, 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _write(path: Path, data: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_frame_files(
    folder: str | os.PathLike, keys: Iterable[str], root: str | os.PathLike
) -> dict[str, StoredVideo]:
    """Write the frames of the videos ``keys`` from the extract-frames folder ``folder`` under ``root``;
    return each key's :class:`StoredVideo`. A key without a frame row is absent from the result."""
    shards = sorted((Path(folder) / "frames").glob("part-*.parquet"))
    if not shards:
        raise UserError(f"{Path(folder) / 'frames'}: no part-*.parquet shards (run curate extract-frames first)")
    root = Path(root).resolve()
    wanted = sorted(set(keys))
    out: dict[str, StoredVideo] = {}
    for shard in shards:
        table = pq.read_table(shard, columns=COLUMNS)
        table = table.filter(pc.is_in(table.column("video_key"), pa.array(wanted, pa.string())))
        for row in table.to_pylist():
            paths = []
            for frame in row["frames"]:
                relative = frame["path"]
                data = frame["bytes"]
                if row["encoding"] == "raw":
                    relative = str(Path(relative).with_suffix(".png"))
                    data = _png(data, row["height"], row["width"])
                target = root / relative
                if root not in target.resolve().parents:
                    raise UserError(f"{shard}: frame path {relative!r} leaves the frames folder")
                _write(target, data)
                paths.append(str(target))
            timestamps = [float(t) for t in row["timestamps"]]
            out[row["video_key"]] = StoredVideo(
                tuple(paths), tuple(timestamps), row["fps"], sample_fps(timestamps, row["fps"])
            )
    return out
