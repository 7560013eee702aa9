"""Trainer-side reader: the multiple-choice table joined with the frame shards on ``video_key``.

Input is an ``curate extract-frames`` output folder DIR: ``DIR/mcq.parquet`` (with ``video_key``) and
``DIR/frames/part-*.parquet`` (:data:`schemas.frames.FRAMES_SCHEMA`, one row per video). Each yielded
sample is one question::

    {"id", "video", "video_key", "question", "options", "answer" (0-based), "answer_letter",
     "solution" ("<answer>L</answer>"), "prompt" (question + options_block + instruction),
     "frames" (uint8 (T, H, W, C) array, or a list of PIL images with as_="pil"), "timestamps" (float32 (T,))}

How frames reach numpy (``as_="numpy"``): ``raw`` frames are one view over the Arrow buffer the shard
was read into (``np.frombuffer``, no copy: the row's frames are contiguous there, checked to be
``T × H × W × 3`` bytes; writable when that buffer is, as the Parquet reader's own are). ``jpeg`` frames
are decoded with libjpeg-turbo through ``simplejpeg`` straight into one ``(T, H, W, C)`` array: the
same pixels as Pillow's decoder (both libjpeg-turbo with the accurate integer IDCT and smooth chroma
upsampling; tested equal), about 4× faster; with Pillow when simplejpeg is not installed or refuses a
frame. ``png`` goes through Pillow. ``as_="pil"`` decodes every encoding with Pillow, as before.

Decode threads (``decode_threads``): the ``T`` JPEG frames of a video are cut into ``decode_threads``
contiguous runs decoded at once, one in the calling thread and the others on a thread pool that lives
for one :meth:`VideoQAReader.iter` (simplejpeg and Pillow release the GIL while decoding). Default
``min(4, CPUs this process may use)``; ``1`` decodes in the calling thread only — the right choice when
many processes decode at once (:class:`pipelines.torch_dataset.VideoQAIterableDataset` uses 1 in each
DataLoader worker unless told otherwise).

How it reads: the mcq table (small) is loaded once and grouped by ``video_key``; the ``video_key``
column of every shard is read once to plan the split and find questions without frames. The frame
shards are then streamed ``batch_rows`` rows at a time (``ParquetFile.iter_batches``), so memory stays
bounded by one batch; each video is decoded once and all its questions are yielded together. Shards are
opened memory-mapped, without pre-buffering, and read with one thread (:data:`PARQUET_READ`): from the
page cache a PLAIN page of raw frames is then one copy into the batch's buffer — 16 raw frames of 384²
in ~0.7 ms on shards written by today's ``extract-frames`` (no dictionary or statistics for the frames,
64 MiB pages), ~3 ms on shards written before with Parquet's defaults, which read the same. Each batch's
small columns are converted to Python and its frames column flattened (:class:`FrameBytes`) once.

How work is split (``shard_index`` of ``num_shards``): the frame rows (videos) of all shards, in file
order (``part-*.parquet`` sorted by name) and row order, are numbered 0..N-1 and cut into
``num_shards`` contiguous ranges; shard k owns rows ``[k·N // num_shards, (k+1)·N // num_shards)``
and every question of the videos in them. So every question is yielded by exactly one shard, videos
are balanced to within one, and a shard reads only the row groups overlapping its range. The number of
*questions* per shard can differ (videos carry different numbers of questions):
:meth:`VideoQAReader.num_samples` gives it exactly.

``shuffle_seed`` shuffles locally: the order of the row groups within a shard and the order of the
videos within each batch (and of the questions of a video). Questions whose ``video_key`` has no frame
row (the video was rejected, or its shard is missing) are skipped: their ids are in
:attr:`VideoQAReader.missing` and a :class:`MissingFramesWarning` says how many.
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.types as pat

from curate.cpus import usable_cpus
from curate.errors import UserError
from curate.frames.encode import decode_frame
from curate.frames.encode import decode_frames as decode_video
from schemas.errors import SchemaError
from schemas.mcq import read_mcq
from schemas.prompt import LETTERS, R1_INSTRUCTION, options_block

__all__ = ["MissingFramesWarning", "VideoQAReader", "iter_samples", "render_prompt"]

FRAME_COLUMNS = ["video_key", "frames", "timestamps", "height", "width", "encoding"]
DEFAULT_BATCH_ROWS = 16
MAX_DEFAULT_DECODE_THREADS = 4
PARQUET_READ = {"memory_map": True, "pre_buffer": False}  # + use_threads=False on each read


def default_decode_threads() -> int:
    """``min(4, CPUs this process may use)`` (:func:`curate.cpus.usable_cpus`)."""
    return max(1, min(MAX_DEFAULT_DECODE_THREADS, usable_cpus()))


def open_shard(path: str | os.PathLike) -> pq.ParquetFile:
    """A frame shard opened for reading with :data:`PARQUET_READ`."""
    return pq.ParquetFile(path, **PARQUET_READ)


class MissingFramesWarning(UserWarning):
    """Some questions have no frame row for their ``video_key`` and are skipped."""


def render_prompt(question: str, options: list[str], instruction: str | None = R1_INSTRUCTION) -> str:
    """``question`` + newline + ``A. text`` lines (:func:`curate.export.options_block`) + newline + instruction;
    the same text ``curate export --to trl`` writes as the user turn."""
    parts = [question, options_block(options)]
    if instruction:
        parts.append(instruction)
    return "\n".join(parts)


def shard_range(total: int, shard_index: int, num_shards: int) -> tuple[int, int]:
    """The contiguous ``[start, stop)`` of ``total`` rows that shard ``shard_index`` of ``num_shards`` owns."""
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(f"shard_index {shard_index} is not in 0..{num_shards - 1}")
    return total * shard_index // num_shards, total * (shard_index + 1) // num_shards


@dataclass(frozen=True)
class _RowGroup:
    path: Path
    index: int  # row group index in the file
    start: int  # global number of its first row
    num_rows: int


@dataclass(frozen=True)
class FrameBytes:
    """A ``frames`` column (``list<struct<bytes, path>>``) flattened once, without copying: ``data`` is the
    uint8 buffer holding every frame's bytes, frame ``k`` of the column is ``data[starts[k]:starts[k + 1]]``
    and row ``i`` holds frames ``rows[i]`` to ``rows[i + 1]``."""

    data: np.ndarray
    starts: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, frames: pa.ListArray | FrameBytes) -> FrameBytes:
        if isinstance(frames, FrameBytes):
            return frames
        struct = frames.values
        values = struct.flatten()[struct.type.get_field_index("bytes")]  # flatten(): the struct's offset applied
        _, offsets, data = values.buffers()
        kind = np.int64 if pat.is_large_binary(values.type) else np.int32
        starts = np.frombuffer(offsets, dtype=kind)[values.offset : values.offset + len(values) + 1]
        data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        return cls(data, starts, frames.offsets.to_numpy())

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ``i``: the data buffer and the ``T + 1`` offsets of its frames in it."""
        return self.data, self.starts[self.rows[i] : self.rows[i + 1] + 1]


def raw_frames(frames: pa.ListArray | FrameBytes, i: int, height: int, width: int) -> np.ndarray:
    """Row ``i``'s ``raw`` frames as one uint8 ``(T, H, W, 3)`` view of the Arrow buffer (no copy;
    read-only when the buffer is); ValueError naming the frame when one is not ``H·W·3`` bytes."""
    data, offsets = FrameBytes.of(frames).row(i)
    size = height * width * 3
    lengths = np.diff(offsets)
    bad = np.flatnonzero(lengths != size)
    if len(bad):
        raise ValueError(f"raw frame {bad[0]} has {lengths[bad[0]]} bytes, expected {height}x{width}x3 = {size}")
    if not len(lengths):
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(len(lengths), height, width, 3)


def jpeg_frames(
    frames: pa.ListArray | FrameBytes,
    i: int,
    height: int,
    width: int,
    pool: ThreadPoolExecutor | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Row ``i``'s ``jpeg`` frames decoded by libjpeg-turbo (``simplejpeg``, accurate IDCT and smooth
    upsampling: Pillow's pixels) into one uint8 ``(T, H, W, 3)`` array; a frame simplejpeg refuses, or
    of another size, goes through Pillow (:func:`curate.frames.encode.decode_frame`, whose errors name
    the size). Without simplejpeg every frame goes through Pillow.

    With a ``pool`` and ``threads`` > 1 the frames are cut into ``threads`` contiguous runs: the first
    decoded here, the others on ``pool`` (which needs ``threads - 1`` workers)."""
    data, offsets = FrameBytes.of(frames).row(i)
    out = np.empty((len(offsets) - 1, height, width, 3), dtype=np.uint8)
    try:
        import simplejpeg
    except ImportError:
        simplejpeg = None

    def decode(run: range) -> None:
        for k in run:
            frame = data[offsets[k] : offsets[k + 1]]
            if simplejpeg is not None:
                try:
                    if simplejpeg.decode_jpeg_header(frame)[:2] == (height, width):
                        simplejpeg.decode_jpeg(frame, colorspace="RGB", buffer=out[k])
                        continue
                except ValueError:
                    pass
            out[k] = decode_frame(frame.tobytes(), "jpeg", height, width)

    runs = max(1, min(threads, len(out))) if pool is not None else 1
    cuts = [len(out) * j // runs for j in range(runs + 1)]
    futures = [pool.submit(decode, range(a, b)) for a, b in zip(cuts[1:-1], cuts[2:], strict=True)]
    decode(range(cuts[0], cuts[1]))
    for future in futures:
        future.result()
    return out


def _threads(decode_threads: int | None) -> int:
    if decode_threads is None:
        return default_decode_threads()
    if int(decode_threads) < 1:
        raise ValueError(f"decode_threads={decode_threads}: expected 1 or more")
    return int(decode_threads)


@dataclass(frozen=True)
class _Decode:
    pool: ThreadPoolExecutor | None
    threads: int


class _Batch:
    """One record batch of frame rows with its small columns as Python lists and its frames flattened,
    each once per batch."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self.keys = batch.column("video_key").to_pylist()
        self.encodings = batch.column("encoding").to_pylist()
        self.heights = batch.column("height").to_pylist()
        self.widths = batch.column("width").to_pylist()
        self.timestamps = batch.column("timestamps").to_pylist()
        self.frames = batch.column("frames")
        self._frame_bytes: FrameBytes | None = None

    @property
    def frame_bytes(self) -> FrameBytes:
        if self._frame_bytes is None:
            self._frame_bytes = FrameBytes.of(self.frames)
        return self._frame_bytes


class VideoQAReader:
    """The joined view of one extract-frames folder; cheap to pickle to dataloader workers.

    ``len(reader)`` is the number of questions that have frames (the questions yielded over all shards).
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        instruction: str | None = R1_INSTRUCTION,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        warn_missing: bool = True,
        decode_threads: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.instruction = instruction
        self.batch_rows = max(1, int(batch_rows))
        self.decode_threads = _threads(decode_threads)
        mcq = read_mcq(self.directory / "mcq.parquet")
        if "video_key" not in mcq.column_names:
            raise SchemaError(f"{self.directory / 'mcq.parquet'}: column 'video_key': missing (run extract-frames)")
        self._questions: dict[str, list[dict[str, Any]]] = {}
        for row in mcq.select(["id", "video", "video_key", "question", "options", "answer"]).to_pylist():
            self._questions.setdefault(row["video_key"], []).append(row)

        self.shards = sorted((self.directory / "frames").glob("part-*.parquet"))
        if not self.shards:
            raise UserError(f"{self.directory / 'frames'}: no part-*.parquet shards (run curate extract-frames first)")
        self._row_groups: list[_RowGroup] = []
        self._keys: list[str] = []  # video_key of every frame row, in global row order
        for path in self.shards:
            pf = open_shard(path)
            for rg in range(pf.metadata.num_row_groups):
                n = pf.metadata.row_group(rg).num_rows
                self._row_groups.append(_RowGroup(path, rg, len(self._keys), n))
                keys = pf.read_row_group(rg, columns=["video_key"], use_threads=False).column("video_key")
                self._keys.extend(keys.to_pylist())
        present = set(self._keys)
        self.missing: list[str] = [q["id"] for key, qs in self._questions.items() if key not in present for q in qs]
        if self.missing and warn_missing:
            warnings.warn(
                f"{self.directory}: {len(self.missing)} question(s) have no frames for their video_key and are skipped"
                f" (first: {self.missing[0]!r})",
                MissingFramesWarning,
                stacklevel=2,
            )

    @property
    def num_videos(self) -> int:
        """Frame rows (videos) in the shards."""
        return len(self._keys)

    def num_samples(self, shard_index: int = 0, num_shards: int = 1) -> int:
        """Questions that shard ``shard_index`` of ``num_shards`` yields."""
        start, stop = shard_range(len(self._keys), shard_index, num_shards)
        return sum(len(self._questions.get(key, ())) for key in self._keys[start:stop])

    def __len__(self) -> int:
        return self.num_samples()

    def iter(
        self,
        *,
        as_: str = "numpy",
        shard_index: int = 0,
        num_shards: int = 1,
        shuffle_seed: int | None = None,
        decode_threads: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield this shard's questions with their frames (see the module docstring); ``decode_threads``
        overrides the reader's for this pass."""
        if as_ not in ("numpy", "pil"):
            raise ValueError(f"as_={as_!r}: expected 'numpy' or 'pil'")
        start, stop = shard_range(len(self._keys), shard_index, num_shards)
        groups = [g for g in self._row_groups if g.start < stop and g.start + g.num_rows > start]
        rng = random.Random(shuffle_seed) if shuffle_seed is not None else None
        if rng is not None:
            rng.shuffle(groups)
        threads = _threads(decode_threads) if decode_threads is not None else self.decode_threads
        return self._iter_groups(groups, start, stop, as_, rng, threads)

    def _iter_groups(
        self, groups: list[_RowGroup], start: int, stop: int, as_: str, rng: random.Random | None, threads: int
    ) -> Iterator[dict[str, Any]]:
        # threads start on the first JPEG row and stop when the pass ends or the generator is closed
        pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="jpeg-decode") if threads > 1 else None
        path, pf = None, None  # the last shard opened, kept while its row groups follow each other
        try:
            for group in groups:
                if group.path != path:
                    path, pf = group.path, open_shard(group.path)
                yield from self._iter_group(pf, group, start, stop, as_, rng, _Decode(pool, threads))
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _iter_group(
        self,
        pf: pq.ParquetFile,
        group: _RowGroup,
        start: int,
        stop: int,
        as_: str,
        rng: random.Random | None,
        decode: _Decode,
    ) -> Iterator[dict[str, Any]]:
        offset = group.start
        batches = pf.iter_batches(
            batch_size=self.batch_rows, row_groups=[group.index], columns=FRAME_COLUMNS, use_threads=False
        )
        for batch in batches:
            first, offset = offset, offset + batch.num_rows
            lo, hi = max(start, first), min(stop, offset)
            if lo >= hi:
                continue
            rows = _Batch(batch.slice(lo - first, hi - lo))
            wanted = [i for i, key in enumerate(rows.keys) if key in self._questions]
            if rng is not None:
                rng.shuffle(wanted)
            for i in wanted:
                yield from self._samples(rows, i, as_, rng, decode)

    def _samples(
        self, rows: _Batch, i: int, as_: str, rng: random.Random | None, decode: _Decode
    ) -> Iterator[dict[str, Any]]:
        key, encoding, height, width = rows.keys[i], rows.encodings[i], rows.heights[i], rows.widths[i]
        if as_ == "pil":
            from PIL import Image

            frames = [Image.fromarray(f) for f in decode_video(rows.frames[i].as_py(), encoding, height, width)]
        elif encoding == "raw":
            frames = raw_frames(rows.frame_bytes, i, height, width)
        elif encoding == "jpeg":
            frames = jpeg_frames(rows.frame_bytes, i, height, width, decode.pool, decode.threads)
        else:
            frames = decode_video(rows.frames[i].as_py(), encoding, height, width)
        timestamps = np.asarray(rows.timestamps[i], dtype=np.float32)
        questions = list(self._questions[key])
        if rng is not None:
            rng.shuffle(questions)
        for q in questions:
            letter = LETTERS[q["answer"]]
            yield {
                "id": q["id"],
                "video": q["video"],
                "video_key": key,
                "question": q["question"],
                "options": list(q["options"]),
                "answer": q["answer"],
                "answer_letter": letter,
                "solution": f"<answer>{letter}</answer>",
                "prompt": render_prompt(q["question"], q["options"], self.instruction),
                "frames": frames,
                "timestamps": timestamps,
            }


def iter_samples(
    directory: str | os.PathLike,
    *,
    as_: str = "numpy",
    shard_index: int = 0,
    num_shards: int = 1,
    shuffle_seed: int | None = None,
    instruction: str | None = R1_INSTRUCTION,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    decode_threads: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the questions of ``directory`` that shard ``shard_index`` of ``num_shards`` owns, each with its
    video's frames as a uint8 ``(T, H, W, C)`` array (``as_="pil"``: a list of RGB PIL images).

    A shorthand for ``VideoQAReader(directory, ...).iter(...)``; see the module docstring for the split.
    The questions of one video share one frames array: copy it before writing into it (``raw`` frames
    are a view of the shard's Arrow buffer).
    """
    reader = VideoQAReader(directory, instruction=instruction, batch_rows=batch_rows, decode_threads=decode_threads)
    return reader.iter(as_=as_, shard_index=shard_index, num_shards=num_shards, shuffle_seed=shuffle_seed)
