"""Benchmark: one training sample's 16 frames from the frame shards vs decoding them from the mp4.

What is measured
    The time to get one sample's 16 frames as a uint8 ``(T, H, W, C)`` array, in this process, from:

    (i)  the Parquet frame shards written by ``curate extract-frames`` (defaults: 16 uniform frames,
         384×384, JPEG quality 90), two ways:

         * ``pipelines.reader`` — ``VideoQAReader(DIR).iter()`` over every sample (one question per clip,
           so one JPEG decode of 16 frames per sample), total / samples, with its default
           ``decode_threads`` (``min(4, CPUs)``) and with 1 thread; opening the reader (reading
           ``mcq.parquet`` and the shards' ``video_key`` column, once per epoch) is timed apart;
         * a direct single-row read — ``pq.ParquetFile(shard).read_row_group(g, columns=["frames"])``, the
           row taken out and its 16 JPEGs decoded with Pillow into one array; per sample, for every row.

    (ii) the mp4, decoding the same 16 frames (the shard's ``frame_indices``):

         * PyAV, the best case of the decode path: one sequential pass without seeking, converting only
           the 16 wanted frames to ``rgb24`` and stopping after the last one; timed with
           ``thread_type="AUTO"`` and with FFmpeg's default single thread, the faster counts;
         * decord: ``VideoReader(path)`` + ``get_batch(indices).asnumpy()``.

    The mp4 frames stay at 640×360 (no resize), which favours the decode side: the shards already hold
    the 384×384 frames the model takes. Every measurement is a pass over all samples, run once to warm up
    (files in the page cache), then ``--repeat`` times (default 5), the ways interleaved round by round so
    drifting machine load hits them alike; the BEST (minimum) pass is reported, the median beside it. Before
    timing, both sides are checked to give 16 frames for the first sample.

The data
    ``--clips`` H.264 clips (default 4) made with the ffmpeg CLI from the ``testsrc2`` test pattern,
    each with its own hue shift: ``ffmpeg -f lavfi -i testsrc2=size=640x360:rate=30,hue=h=K -t 20
    -c:v libx264 -pix_fmt yuv420p`` (x264 defaults: preset medium, CRF 23, GOP up to 250), an mcq table
    with one question per clip, and shards made in-process with ``curate.frames.extract.run``.

Usage
    python benchmarks/bench_reader.py [--clips N] [--seconds S] [--repeat R]

Goals from the issue: reading a sample from the shards at least 50× faster than decoding it from the mp4
with JPEG q90 shards, 150× with ``raw`` shards (the same clips extracted a second time with
``encoding="raw"``: uint8 pixels, uncompressed Parquet). For comparison the raw shards are also rewritten
the way ``extract-frames`` wrote them before issue 12 (uncompressed, but Parquet's default dictionary
pages, statistics and 1 MiB pages for the frames too) and read through ``pipelines.reader``. The last line
printed is
``ratio (decode / shard read): jpeg N×, raw M×`` (PyAV best-case decode, the faster threading, over the
``pipelines.reader`` per-sample time).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_frames import make_clips, write_table  # the same clips and table

GOAL = 50.0  # JPEG q90 shards
RAW_GOAL = 150.0  # raw shards

# --------------------------------------------------------------------------------------------------
# Data: clips, an mcq table, the frame shards
# --------------------------------------------------------------------------------------------------


def make_shards(mcq_dir: Path, root: Path, out: Path, encoding: str = "jpeg") -> None:
    """``curate extract-frames`` with its defaults (``encoding`` aside), in this process, one worker."""
    from curate.frames.extract import ExtractConfig, run
    from curate.frames.work import FrameSpec

    config = ExtractConfig(
        mcq_dir=mcq_dir, video_root=root, output=out, workers=1, shaping=FrameSpec(encoding=encoding)
    )
    result = run(config)
    if result.decoded != result.videos:
        raise RuntimeError(f"extract-frames kept {result.decoded} of {result.videos} videos")


@dataclass
class Row:
    """Where one video's frames are, in the shards and on disk."""

    shard: Path
    group: int
    row: int  # within the row group
    video: Path
    indices: list[int]


def locate(out: Path, root: Path) -> list[Row]:
    """Every frame row of the shards, with the mp4 it came from and its ``frame_indices``."""
    import pyarrow.parquet as pq

    rows = []
    for shard in sorted((out / "frames").glob("part-*.parquet")):
        pf = pq.ParquetFile(shard)
        for g in range(pf.metadata.num_row_groups):
            table = pf.read_row_group(g, columns=["video", "frame_indices"])
            for i, (video, indices) in enumerate(
                zip(table.column("video").to_pylist(), table.column("frame_indices").to_pylist(), strict=True)
            ):
                rows.append(Row(shard, g, i, root / video, indices))
    return rows


# --------------------------------------------------------------------------------------------------
# The ways to get one sample's frames
# --------------------------------------------------------------------------------------------------


def open_reader(out: Path, **kwargs):
    from pipelines.reader import VideoQAReader

    return VideoQAReader(out, **kwargs)


def rewrite_as_before(out: Path, before: Path) -> None:
    """A copy of the folder ``out`` whose shards are written with Parquet's defaults apart from
    ``compression="none"``: the layout of ``extract-frames`` shards before issue 12."""
    import pyarrow.parquet as pq

    (before / "frames").mkdir(parents=True)
    (before / "mcq.parquet").write_bytes((out / "mcq.parquet").read_bytes())
    for shard in sorted((out / "frames").glob("part-*.parquet")):
        pf = pq.ParquetFile(shard)
        rows = max(pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups))
        pq.write_table(pf.read(), before / "frames" / shard.name, compression="none", row_group_size=rows)


def reader_pass(reader) -> int:
    """(i) every sample through ``pipelines.reader``; returns how many."""
    count = 0
    for sample in reader.iter():
        frames = sample["frames"]
        if frames.dtype != np.uint8 or frames.ndim != 4:
            raise RuntimeError(f"reader gave {frames.dtype} {frames.shape}")
        count += 1
    return count


def direct_read(row: Row) -> np.ndarray:
    """(i) one row group read with pyarrow, the row's 16 JPEGs decoded with Pillow."""
    import pyarrow.parquet as pq
    from PIL import Image

    table = pq.ParquetFile(row.shard).read_row_group(row.group, columns=["frames"])
    frames = table.column("frames")[row.row].as_py()
    images = []
    for frame in frames:
        with Image.open(io.BytesIO(frame["bytes"])) as image:
            images.append(np.asarray(image.convert("RGB")))
    return np.stack(images)


def pyav_decode(row: Row, threads: bool = True) -> np.ndarray:
    """(ii) best-case PyAV: sequential decode, only the wanted frames converted, stop after the last
    (``thread_type`` AUTO, or FFmpeg's default single thread)."""
    import av

    wanted = set(row.indices)
    last = max(wanted)
    kept: dict[int, np.ndarray] = {}
    with av.open(str(row.video)) as container:
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                kept[index] = frame.to_ndarray(format="rgb24")
            if index >= last:
                break
    return np.stack([kept[i] for i in row.indices])


def decord_decode(row: Row) -> np.ndarray:
    """(ii) decord: ``VideoReader`` + ``get_batch`` of the 16 indices."""
    import decord

    reader = decord.VideoReader(str(row.video), ctx=decord.cpu(0))
    return reader.get_batch(row.indices).asnumpy()


# --------------------------------------------------------------------------------------------------
# Timing and report
# --------------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall seconds of whole passes over every sample."""

    totals: list[float]
    samples: int

    @property
    def best(self) -> float:
        return min(self.totals) / self.samples

    @property
    def median(self) -> float:
        return statistics.median(self.totals) / self.samples


def time_passes(passes: dict[str, Callable[[], int]], repeat: int) -> dict[str, Timing]:
    """Each ``pass()`` (returning the samples it produced) once to warm up, then ``repeat`` rounds of one pass
    each, interleaved (so drifting machine load hits them alike)."""
    samples = {name: one_pass() for name, one_pass in passes.items()}
    totals: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(repeat):
        for name, one_pass in passes.items():
            start = time.perf_counter()
            if one_pass() != samples[name]:
                raise RuntimeError(f"{name}: a pass produced another number of samples")
            totals[name].append(time.perf_counter() - start)
    return {name: Timing(totals[name], samples[name]) for name in passes}


def per_row(fn: Callable[[Row], np.ndarray], rows: list[Row]) -> Callable[[], int]:
    def one_pass() -> int:
        for row in rows:
            fn(row)
        return len(rows)

    return one_pass


def check_same_frames(rows: list[Row]) -> str:
    """Both sides give 16 frames for each row; returns the shapes seen."""
    shard = direct_read(rows[0])
    mp4 = pyav_decode(rows[0])
    dec = decord_decode(rows[0])
    if not len(shard) == len(mp4) == len(dec) == len(rows[0].indices):
        raise RuntimeError(f"frame counts differ: shard {shard.shape}, pyav {mp4.shape}, decord {dec.shape}")
    return f"shard {tuple(shard.shape)}, mp4 {tuple(mp4.shape)}"


def print_table(rows: list[tuple[str, Timing]]) -> None:
    header = f"{'way':<62} {'ms/sample':>10} {'median':>8} {'samples/s':>10}"
    print(header)
    print("-" * len(header))
    for name, t in rows:
        print(f"{name:<62} {t.best * 1e3:>10.2f} {t.median * 1e3:>8.2f} {1 / t.best:>10.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=4, help="clips to generate (one sample each)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each clip")
    parser.add_argument("--repeat", type=int, default=5, help="passes per way; the best is reported")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_reader_") as tmp:
        tmp = Path(tmp)
        root, out = tmp / "videos", tmp / "frames_out"
        t0 = time.perf_counter()
        clips = make_clips(root, args.clips, args.seconds)
        mcq_dir = write_table(tmp / "mcq", clips, root)
        make_shards(mcq_dir, root, out)
        raw_out = tmp / "frames_raw"
        make_shards(mcq_dir, root, raw_out, encoding="raw")
        rows = locate(out, root)
        shard_mb = sum(p.stat().st_size for p in (out / "frames").glob("*.parquet")) / 1e6
        print(
            f"made {len(clips)} clips of {args.seconds:g} s and their shards ({shard_mb:.1f} MB, "
            f"{len(rows)} rows) in {time.perf_counter() - t0:.1f} s; frames: {check_same_frames(rows)}",
            flush=True,
        )

        start = time.perf_counter()
        reader = open_reader(out)
        opened = time.perf_counter() - start
        one_thread = open_reader(out, decode_threads=1)
        raw_reader = open_reader(raw_out)
        rewrite_as_before(raw_out, tmp / "frames_raw_before")
        raw_before = open_reader(tmp / "frames_raw_before")
        timings = time_passes(
            {
                f"(i) shards, pipelines.reader ({reader.decode_threads} decode threads)": lambda: reader_pass(reader),
                "(i) shards, pipelines.reader (1 decode thread)": lambda: reader_pass(one_thread),
                "(i) raw shards, pipelines.reader (uncompressed, 16x384x384x3)": lambda: reader_pass(raw_reader),
                "(i) raw shards as written before issue 12, pipelines.reader": lambda: reader_pass(raw_before),
                "(i) shards, direct: read_row_group + 16 JPEG decodes": per_row(direct_read, rows),
                "(ii) mp4, PyAV sequential, convert only the 16, AUTO threads": per_row(pyav_decode, rows),
                "(ii) mp4, the same, FFmpeg's default single thread": per_row(lambda r: pyav_decode(r, False), rows),
                "(ii) mp4, decord VideoReader + get_batch(16)": per_row(decord_decode, rows),
            },
            args.repeat,
        )
        results = list(timings.items())

    print(
        f"\none sample = 16 frames as uint8 (T, H, W, C); best of {args.repeat} passes over {len(rows)} samples "
        f"(median in its column); {os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end"
    )
    print(f"opening the reader (mcq.parquet + the shards' video_key column, once per epoch): {opened * 1e3:.1f} ms")
    print_table(results)
    reader_t, _, raw_t, _, direct_t, pyav_auto, pyav_single, decord_t = (t for _, t in results)
    pyav_t = min(pyav_auto, pyav_single, key=lambda t: t.best)
    print(f"PyAV best case: {pyav_t.best * 1e3:.1f} ms per sample (the faster of its two rows)")
    print(
        f"decord / reader: {decord_t.best / reader_t.best:.0f}×; "
        f"PyAV / direct row read: {pyav_t.best / direct_t.best:.0f}×"
    )
    ratio, raw_ratio = pyav_t.best / reader_t.best, pyav_t.best / raw_t.best
    print(
        f"jpeg: goal >= {GOAL:g}×: {'met' if ratio >= GOAL else 'NOT met'}; "
        f"raw: goal >= {RAW_GOAL:g}×: {'met' if raw_ratio >= RAW_GOAL else 'NOT met'}"
    )
    print(f"ratio (decode / shard read): jpeg {ratio:.0f}×, raw {raw_ratio:.0f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
