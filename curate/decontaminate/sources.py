"""Loading what decontamination compares: benchmark annotations as tables, and fingerprints of videos —
from an extract-frames folder's stored frames (cached in ``DIR/fingerprints/part-XXXXX.parquet``, one per
frame shard, recomputed when the shard's size changes) or decoded from video files (cached in the output
folder, keyed by path, size and modification time)."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.decontaminate.fingerprint import Fingerprint, fingerprint_stored, fingerprint_video
from curate.errors import UserError
from schemas.atomic import write_parquet_atomic

ANNOTATION_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")
FP_VERSION = "phash64-v2"
FP_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("stamp", pa.string()),
        ("timestamps", pa.list_(pa.float32())),
        ("hashes", pa.list_(pa.uint64())),
        ("mirrored", pa.list_(pa.uint64())),
        ("blank", pa.list_(pa.bool_())),
    ]
)
COLUMNS = ["id", "source", "subset", "video", "question", "options"]


def read_benchmark(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """The benchmark's items (:data:`COLUMNS`) and the files read: an ``mcq.parquet`` (or a folder holding
    one), an annotation file in any format ``curate filter`` reads, or a folder of such files."""
    from curate.normalize import normalize
    from curate.readers import read
    from schemas.mcq import read_mcq

    if not path.exists():
        raise UserError(f"{path}: no such file or folder (--against)")
    if path.name == "mcq.parquet" or (path / "mcq.parquet").is_file():
        file = path if path.is_file() else path / "mcq.parquet"
        return pl.from_arrow(read_mcq(file)).select(COLUMNS), [str(file)]
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in ANNOTATION_SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise UserError(f"{path}: no annotation files (.json, .jsonl, .csv, .parquet) in this folder")
    frames = []
    for file in files:
        _, raw = read(file)
        items = normalize(raw).filter(pl.col("reject").is_null() & pl.col("video").is_not_null())
        frames.append(items.select(COLUMNS))
    return pl.concat(frames), [str(f) for f in files]


def _to_row(key: str, stamp: str, fp: Fingerprint) -> dict:
    return {"key": key, "stamp": stamp, **fp.as_row()}


def _from_row(row: dict) -> Fingerprint:
    return Fingerprint(
        np.asarray(row["timestamps"], np.float32),
        np.asarray(row["hashes"], np.uint64),
        np.asarray(row["mirrored"], np.uint64),
        np.asarray(row["blank"], bool),
    )


def _read_cache(path: Path) -> dict[str, tuple[str, Fingerprint]]:
    if not path.is_file():
        return {}
    try:
        rows = pq.ParquetFile(path).read().to_pylist()
    except (pa.ArrowInvalid, OSError):
        return {}
    return {r["key"]: (r["stamp"], _from_row(r)) for r in rows}


def _write_cache(path: Path, rows: list[dict]) -> bool:
    try:
        write_parquet_atomic(pa.Table.from_pylist(rows, schema=FP_SCHEMA), path)
        return True
    except OSError:  # a read-only frames folder: fingerprints are recomputed next time
        return False


def _ticker(progress, total: int):
    """``progress(total)``'s tick (see :func:`curate.console.progress`), or a no-op without ``progress``."""
    return progress(total) if progress is not None and total else (lambda: None)


def stored_fingerprints(frames_dir: Path, progress=None) -> tuple[dict[str, Fingerprint], dict]:
    """``{video_key: Fingerprint}`` of an extract-frames folder, and counts (``computed``, ``cached``);
    ``progress(total)`` is started with the shards' rows when some must be computed, and ticked per row."""
    from curate.lock import output_lock

    out: dict[str, Fingerprint] = {}
    counts = {"computed": 0, "cached": 0}
    shards = sorted((frames_dir / "frames").glob("part-*.parquet"))
    with output_lock(frames_dir):  # extract-frames must not be writing shards meanwhile
        todo = []
        for shard in shards:
            stamp = f"{FP_VERSION}:{shard.stat().st_size}"
            cache_path = frames_dir / "fingerprints" / shard.name
            cached = _read_cache(cache_path)
            if cached and all(s == stamp for s, _ in cached.values()):
                out.update({k: fp for k, (_, fp) in cached.items()})
                counts["cached"] += len(cached)
            else:
                todo.append((shard, stamp, cache_path))
        tick = _ticker(progress, sum(pq.ParquetFile(shard).metadata.num_rows for shard, _, _ in todo))
        for shard, stamp, cache_path in todo:
            rows = []
            columns = ["video_key", "frames", "timestamps", "encoding", "height", "width"]
            for batch in pq.ParquetFile(shard).iter_batches(batch_size=64, columns=columns):
                for row in batch.to_pylist():
                    fp = fingerprint_stored(row)
                    out[row["video_key"]] = fp
                    rows.append(_to_row(row["video_key"], stamp, fp))
                    tick()
            counts["computed"] += len(rows)
            _write_cache(cache_path, rows)
    return out, counts


def _decode_one(args: tuple[str, float, int]) -> tuple[str, Fingerprint | None, str | None]:
    path, fps, max_frames = args
    try:
        return path, fingerprint_video(path, fps, max_frames), None
    except Exception as exc:  # a bad benchmark video is counted, never fatal
        return path, None, getattr(exc, "reason", type(exc).__name__)


def _ticked(result, tick):
    tick()
    return result


def decoded_fingerprints(
    paths: list[str], cache: Path, fps: float, max_frames: int, workers: int | None = None, progress=None
) -> tuple[dict[str, Fingerprint], dict]:
    """``{path: Fingerprint}`` of video files (missing or unreadable ones are left out and counted), with
    the cache at ``cache`` reused for files whose size and mtime are unchanged; ``progress(total)`` is
    started with the videos to decode and ticked per video."""
    cached = _read_cache(cache)
    out: dict[str, Fingerprint] = {}
    counts = {"computed": 0, "cached": 0, "missing": 0, "unreadable": 0}
    todo, stamps = [], {}
    for path in dict.fromkeys(paths):
        try:
            st = os.stat(path)
        except OSError:
            counts["missing"] += 1
            continue
        stamps[path] = f"{FP_VERSION}:{fps}:{max_frames}:{st.st_size}:{st.st_mtime_ns}"
        if path in cached and cached[path][0] == stamps[path]:
            out[path] = cached[path][1]
            counts["cached"] += 1
        else:
            todo.append((path, fps, max_frames))
    workers = min(workers or os.cpu_count() or 1, max(1, len(todo)))
    tick = _ticker(progress, len(todo))
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = [_ticked(r, tick) for r in pool.map(_decode_one, todo, chunksize=4)]
    else:
        results = [_ticked(_decode_one(t), tick) for t in todo]
    for path, fp, _ in results:
        if fp is None:
            counts["unreadable"] += 1
        else:
            out[path] = fp
            counts["computed"] += 1
    if counts["computed"]:
        _write_cache(cache, [_to_row(p, stamps[p], fp) for p, fp in out.items()])
    return out, counts
