"""Matched frame pairs kept for the report (``pairs.parquet``): for a few content matches, the training video's
frame next to the benchmark video's frame at the matched time, as small JPEG thumbnails.

The benchmark's frames are stored nowhere (its videos are decoded on the fly to fingerprint them), and a
report must open offline from the output folder alone, so the stage keeps these thumbnails itself rather than
the report decoding videos later. Per pair: the training frame at ``t``, the middle non-blank fingerprinted
frame whose ``t + offset`` lies in the benchmark's fingerprinted span, read from the stored frames
(TRAIN/frames) or decoded from ``--train-video-root``; the benchmark frame decoded at ``t + offset`` (PyAV,
the frame nearest that time). A pair one of whose frames cannot be read is left out.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.decontaminate.fingerprint import Fingerprint

THUMB = 192  # longest side of a thumbnail, pixels
PAIRS_SCHEMA = pa.schema(
    [
        ("train_row", pa.uint32()),
        ("bench_row", pa.uint32()),
        ("how", pa.string()),
        ("similarity", pa.float64()),
        ("train_time", pa.float32()),
        ("bench_time", pa.float32()),
        ("train_image", pa.binary()),
        ("bench_image", pa.binary()),
    ]
)


def thumbnail(rgb: np.ndarray) -> bytes:
    """An RGB frame as a JPEG whose longest side is at most :data:`THUMB` pixels."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb))
    image.thumbnail((THUMB, THUMB))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def frame_at(path: str | Path, t: float) -> np.ndarray | None:
    """The RGB frame of the video at ``path`` whose presentation time is nearest ``t`` seconds (None when the
    video does not open or has no frames)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.time_base is not None:
                container.seek(max(int(t / stream.time_base), 0), stream=stream, backward=True)
            best, gap = None, float("inf")
            for frame in container.decode(stream):
                time = frame.time if frame.time is not None else 0.0
                if abs(time - t) < gap:
                    best, gap = frame.to_ndarray(format="rgb24"), abs(time - t)
                elif time > t:
                    break
            return best
    except (av.FFmpegError, OSError, IndexError):
        return None


def stored_frames_at(folder: Path, wanted: dict[str, float]) -> dict[str, np.ndarray]:
    """``{video_key: RGB frame}``: per key of ``wanted``, the stored frame (extract-frames shards in
    ``folder/frames``) whose timestamp is nearest the wanted time."""
    from curate.frames.encode import decode_frame

    out: dict[str, np.ndarray] = {}
    columns = ["video_key", "frames", "timestamps", "encoding", "height", "width"]
    for shard in sorted((folder / "frames").glob("part-*.parquet")):
        table = pq.read_table(shard, columns=columns, filters=[("video_key", "in", list(wanted))])
        for row in table.to_pylist():
            times = np.asarray(row["timestamps"], np.float64)
            if not len(times):
                continue
            i = int(np.argmin(np.abs(times - wanted[row["video_key"]])))
            try:
                out[row["video_key"]] = decode_frame(
                    row["frames"][i]["bytes"], row["encoding"], row["height"], row["width"]
                )
            except Exception:  # noqa: BLE001 - a frame that does not decode only drops its example
                continue
    return out


def aligned_time(query: Fingerprint, reference: Fingerprint, offset: float) -> float:
    """The middle non-blank query time whose ``t + offset`` lies in the reference's span (else the middle one)."""
    times = query.timestamps[~query.blank] if (~query.blank).any() else query.timestamps
    ref = reference.timestamps[~reference.blank] if (~reference.blank).any() else reference.timestamps
    inside = times[(times + offset >= ref.min()) & (times + offset <= ref.max())] if len(ref) else times
    pick = inside if len(inside) else times
    return float(pick[len(pick) // 2])


def example_pairs(candidates: list[dict], train_frame, count: int) -> pa.Table:
    """Up to ``count`` pairs (:data:`PAIRS_SCHEMA`) from ``candidates`` (best first; each a dict with
    ``train_row``, ``bench_row``, ``how``, ``similarity``, ``train_time``, ``bench_time``, ``bench_path``);
    ``train_frame(rows_and_times)`` returns ``{train_row: RGB frame}`` for a list of (row, time)."""
    rows = []
    chosen = candidates[: count * 2]  # a few spare for pairs whose frames cannot be read
    train = train_frame([(c["train_row"], c["train_time"]) for c in chosen]) if chosen else {}
    for c in chosen:
        if len(rows) == count or c["train_row"] not in train:
            continue
        bench = frame_at(c["bench_path"], c["bench_time"])
        if bench is None:
            continue
        rows.append(
            {
                **{k: c[k] for k in ("train_row", "bench_row", "how", "similarity", "train_time", "bench_time")},
                "train_image": thumbnail(train[c["train_row"]]),
                "bench_image": thumbnail(bench),
            }
        )
    return pa.Table.from_pylist(rows, schema=PAIRS_SCHEMA)
