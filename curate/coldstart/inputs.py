"""Questions with their frames, in batches, for coldstart sampling.

Two sources: an ``extract-frames`` folder (``mcq.parquet`` with ``video_key`` + ``frames/`` shards, read
row group by row group, each video decoded once for all its questions), or a ``filter`` folder plus
``--video-root`` (each distinct video decoded on the fly with the same decoders and resize as
extract-frames). Blind prompts need no frames at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.frames.encode import decode_frames
from curate.frames.work import FrameSpec
from curate.video_paths import locate

Item = tuple[dict, "np.ndarray | None"]


def from_shards(directory: Path, questions: list[dict], counts: dict) -> Iterator[Item]:
    """Questions in shard order with their decoded frames; questions without frames are counted."""
    by_key: dict[str, list[dict]] = defaultdict(list)
    for q in questions:
        by_key[q.get("video_key")].append(q)
    columns = ["video_key", "frames", "height", "width", "encoding"]
    for shard in sorted((directory / "frames").glob("part-*.parquet")):
        file = pq.ParquetFile(shard)
        for group in range(file.num_row_groups):
            for row in file.read_row_group(group, columns=columns).to_pylist():
                waiting = by_key.pop(row["video_key"], [])
                if not waiting:
                    continue
                frames = decode_frames(row["frames"], row["encoding"], row["height"], row["width"])
                for q in waiting:
                    yield q, frames
    counts["missing_frames"] = sum(len(v) for v in by_key.values())


def from_videos(video_root: Path, questions: list[dict], shaping: FrameSpec, counts: dict) -> Iterator[Item]:
    """Questions with frames decoded on the fly; a video that fails is counted and its questions skipped."""
    from curate.frames.work import Task, process

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for q in questions:
        groups[(q["video"], q.get("start"), q.get("end"))].append(q)
    raw = FrameSpec(shaping.sampling, shaping.size, shaping.resize, shaping.max_pixels, "raw", 90, shaping.decoder)
    for (video, start, end), waiting in groups.items():
        where = locate(video, video_root)  # the rule extract-frames applies (outside the root, a FIFO …)
        result = process(Task("", video, where.path, start, end), raw) if where.reason is None else {}
        if "row" not in result:
            counts["video_errors"] = counts.get("video_errors", 0) + len(waiting)
            continue
        row = result["row"]
        frames = decode_frames(row["frames"], "raw", row["height"], row["width"])
        for q in waiting:
            yield q, frames


def blind(questions: list[dict]) -> Iterator[Item]:
    for q in questions:
        yield q, None
