"""Benchmark: ``curate extract-frames`` vs decoding alone and vs TinyLLaVA-Video's loading path.

What is measured
    Seconds per video over the same ``--clips`` generated clips (default 8), three ways in one run:

    (a) decode-only floor: PyAV decodes every frame of the clip in this process; the frame objects are
        dropped, no pixel format conversion. Timed with ``thread_type="AUTO"`` (as the stage's PyAV decoder
        sets it) and with FFmpeg's default single thread; the faster of the two is the floor;
    (b) TinyLLaVA-Video's path, in this process: pytorchvideo's ``EncodedVideo.from_path(path,
        decoder="decord", decode_audio=False)`` + ``get_clip(0, duration)`` re-implemented with decord
        directly (the file read into ``io.BytesIO``, ``decord.VideoReader(..., num_threads=0)``, ``get_batch``
        of every frame index under decord's torch bridge, ``.to(torch.float32)``, THWC → CTHW), then the
        trainer's ``permute(1, 0, 2, 3)`` and 16 frames picked with ``np.linspace(0, total - 1, 16, dtype=int)``;
    (c) ``python -m curate.cli extract-frames MCQ --video-root DIR -o OUT --workers 1 -q`` as a whole
        process (start-up, imports, worker pool, decode + sample + resize to 384×384 + JPEG + Parquet
        shards + manifest) over an mcq table with one question per clip; per video = wall time / clips.
        The same command with ``--workers 2`` is reported as videos per second.

    Each is repeated ``--repeat`` times (default 3), a repeat covering every clip, the measurements
    interleaved (one repeat of each, then the next round) so drifting machine load hits them alike;
    in-process ones get one warm-up call first. The BEST (minimum) repeat is reported, the median beside
    it. As a diagnosis (not a goal) the table also gives (c)'s per-video work alone:
    ``curate.frames.work.process`` called in this process (decode + sample + resize + JPEG; no process
    start-up, pool or Parquet), with its decode on one thread and on every CPU (``--workers 1`` gives its
    one worker every CPU: the sampled frames are decoded as plans side by side, ``seek.split``).

The data
    ``--clips`` H.264 clips made with the ffmpeg CLI from the ``testsrc2`` test pattern (moving shapes,
    a running counter and a colour gradient), each with its own hue shift so no two files are alike:
    ``ffmpeg -f lavfi -i testsrc2=size=640x360:rate=30,hue=h=K -t 20 -c:v libx264 -pix_fmt yuv420p``.
    x264 keeps its defaults (preset medium, CRF 23, GOP up to 250 frames with scene-cut detection), so a
    20 s clip has a few key frames, ~600 frames and ~0.8 Mbit/s, a plausible 360p web video.

Long clips (issue 12)
    One ``--long-seconds`` (default 600) 640×360 30 fps H.264 clip with a keyframe every 250 frames
    (``-x264-params keyint=250:min-keyint=250:scenecut=0``, preset veryfast), 16 frames sampled:
    (L-a) the whole-decode floor (as (a): PyAV decodes every frame, no conversion, the faster of threaded
    and single-threaded), (L-work) ``work.process`` in-process (auto: PyAV, seeking from the packet index;
    decode + resize to 384² + JPEG; on one thread, the goal's row, and on every CPU), (L-c) the whole
    ``curate extract-frames --workers 1`` process. Before timing, the sparse decode's indices, timestamps
    and pixels, on one thread and on every CPU, are compared with the full decode's.

Usage
    python benchmarks/bench_frames.py [--clips N] [--seconds S] [--repeat R] [--long-seconds S]

Goals: (c) ≤ 1.15 × (a) (issue 12; 1.25× in issue 9) and (b) ≥ 3 × (c); long clip: (L-a) ≥ 5 × (L-work)
with identical frames and (L-a) ≥ 3 × (L-c). The lines before the last say whether each is met; the last
line printed is ``ratio (L-a / L-work): X.Yx``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curate.cpus import usable_cpus

WIDTH, HEIGHT, FPS = 640, 360, 30
NUM_FRAMES = 16  # TinyLLaVA-Video's frames per video, and extract-frames' default
GOAL_C_OVER_A = 1.15
GOAL_B_OVER_C = 3.0
GOAL_LONG_WORK = 5.0
GOAL_LONG_PROCESS = 3.0
LONG_GOP = 250
CPUS = usable_cpus()  # as --workers 1 sees them

# --------------------------------------------------------------------------------------------------
# Data: clips and an mcq table that references them
# --------------------------------------------------------------------------------------------------


def make_clips(root: Path, count: int, seconds: float) -> list[Path]:
    """``count`` clips ``clip_XX.mp4`` in ``root``, two ffmpeg processes at a time."""
    root.mkdir(parents=True, exist_ok=True)
    paths = [root / f"clip_{i:02d}.mp4" for i in range(count)]
    for first in range(0, count, 2):
        procs = [_start_clip(p, seconds, 360 * i // count) for i, p in enumerate(paths) if first <= i < first + 2]
        for proc in procs:
            if proc.wait() != 0:
                raise RuntimeError(f"ffmpeg failed: {' '.join(proc.args)}")
    return paths


def _start_clip(path: Path, seconds: float, hue: int, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """ffmpeg writing one H.264 640×360 30 fps clip of ``testsrc2`` with a hue shift, x264 defaults otherwise
    (``extra``: more output options)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("the ffmpeg CLI is needed to make the clips")
    source = f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS},hue=h={hue}"
    return subprocess.Popen(
        [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
            "-t",
            str(seconds),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            *extra,
            str(path),
        ]
    )


def make_long_clip(root: Path, seconds: float) -> Path:
    """The long clip: a keyframe every :data:`LONG_GOP` frames exactly, preset veryfast."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "long.mp4"
    params = f"keyint={LONG_GOP}:min-keyint={LONG_GOP}:scenecut=0"
    proc = _start_clip(path, seconds, 90, ("-preset", "veryfast", "-x264-params", params))
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(proc.args)}")
    return path


def check_sparse_frames(path: Path) -> str:
    """The seeking decode's indices, timestamps and pixels against the full decode's (16 uniform frames), on
    one thread and on every CPU (plans side by side)."""
    import numpy as np

    from curate.frames.decoders.pyav import decode_pyav
    from curate.frames.sampling import Sampling

    full = decode_pyav(str(path), Sampling(num_frames=NUM_FRAMES), sparse=False)
    for threads in sorted({1, CPUS}):
        sparse = decode_pyav(str(path), Sampling(num_frames=NUM_FRAMES), threads=threads)
        same = (sparse.indices, sparse.timestamps, sparse.num_frames_decoded) == (
            full.indices,
            full.timestamps,
            full.num_frames_decoded,
        )
        same = same and all(np.array_equal(a, b) for a, b in zip(sparse.frames, full.frames, strict=True))
        if not same:
            raise RuntimeError(f"{path}: the sparse decode on {threads} thread(s) differs from the full decode")
    on = " and ".join(map(str, sorted({1, CPUS})))
    return (
        f"identical frames: yes, on {on} thread(s) (16 of {full.num_frames_decoded} frames; the sparse "
        f"decode decoded {sparse.frames_decoded} frames, the full one {full.frames_decoded})"
    )


def write_table(mcq_dir: Path, clips: list[Path], root: Path) -> Path:
    """An ``mcq.parquet`` with one question per clip (paths relative to ``root``)."""
    import pyarrow as pa

    from schemas.mcq import write_mcq

    rows = [
        {
            "id": f"bench:{i}",
            "source": "bench",
            "subset": None,
            "video": str(p.relative_to(root)),
            "question": "What moves?",
            "options": ["a circle", "a square", "nothing"],
            "answer": 0,
            "problem_type": "multiple choice",
            "duration": None,
            "start": None,
            "end": None,
            "meta": "{}",
        }
        for i, p in enumerate(clips)
    ]
    mcq_dir.mkdir(parents=True, exist_ok=True)
    write_mcq(pa.Table.from_pylist(rows), mcq_dir / "mcq.parquet")
    return mcq_dir


# --------------------------------------------------------------------------------------------------
# The three paths
# --------------------------------------------------------------------------------------------------


def decode_floor(path: Path, threads: bool = True) -> int:
    """(a) PyAV decodes every frame, no conversion (``thread_type`` AUTO, or FFmpeg's default single
    thread); returns the number of frames."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def tinyllava(path: Path):
    """(b) TinyLLaVA-Video's loading: every frame to float32 via pytorchvideo's decord clip, keep 16."""
    import decord
    import numpy as np
    import torch

    # EncodedVideo.from_path: the file read into memory, then EncodedVideoDecord(BytesIO, num_threads=0)
    reader = decord.VideoReader(io.BytesIO(path.read_bytes()), ctx=decord.cpu(0), num_threads=0)
    fps = reader.get_avg_fps()
    duration = len(reader) / fps
    # get_clip(0.0, duration): frames ceil(fps * 0) .. ceil(fps * duration), float32, THWC → CTHW
    indices = list(range(0, min(math.ceil(fps * duration), len(reader))))
    with decord.bridge.use_torch():  # pytorchvideo sets decord's torch bridge: a zero-copy DLPack tensor
        frames = reader.get_batch(indices)
    video = frames.to(torch.float32).permute(3, 0, 1, 2)
    # the trainer: (C, T, H, W) → (T, C, H, W), then 16 uniform frames
    video = video.permute(1, 0, 2, 3)
    frame_indices = np.linspace(0, video.shape[0] - 1, NUM_FRAMES, dtype=int)
    return video[frame_indices]


def extract_command(mcq_dir: Path, root: Path, out: Path, workers: int) -> list[str]:
    """(c) the whole ``curate extract-frames`` process."""
    return [
        sys.executable,
        "-m",
        "curate.cli",
        "extract-frames",
        str(mcq_dir),
        "--video-root",
        str(root),
        "-o",
        str(out),
        "--workers",
        str(workers),
        "-q",
    ]


def stage_work(path: Path, root: Path, threads: int = 1):
    """(c)'s per-video work without the process around it: ``curate.frames.work.process`` in-process, its
    decode on ``threads`` threads (``--workers 1`` gives its worker every CPU)."""
    from curate.frames.work import FrameSpec, Task, process

    result = process(Task("bench", str(path.relative_to(root)), str(path)), FrameSpec(), threads)
    if "row" not in result:
        raise RuntimeError(f"{path}: {result}")
    return result


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Wall seconds of whole repeats (each over every clip)."""

    totals: list[float]
    videos: int

    @property
    def best(self) -> float:
        return min(self.totals) / self.videos

    @property
    def median(self) -> float:
        return statistics.median(self.totals) / self.videos

    @property
    def videos_per_s(self) -> float:
        return self.videos / min(self.totals)


Repeat = Callable[[], float]  # one repeat over every clip; returns its wall seconds


def in_process(fn: Callable[[Path], object], clips: list[Path]) -> Repeat:
    """``fn`` over every clip; one warm-up call now (imports, page cache)."""
    fn(clips[0])

    def one() -> float:
        start = time.perf_counter()
        for clip in clips:
            fn(clip)
        return time.perf_counter() - start

    return one


def whole_process(cmd: Callable[[Path], list[str]], scratch: Path, videos: int) -> Repeat:
    """The command with a fresh output folder each time (the stage skips finished videos); checks that
    every video got its frame row, then removes the output."""
    import pyarrow.parquet as pq

    def one() -> float:
        out = scratch / "run"
        start = time.perf_counter()
        proc = subprocess.run(cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd(out))} exited {proc.returncode}:\n{proc.stderr}")
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in (out / "frames").glob("part-*.parquet"))
        if rows != videos:
            raise RuntimeError(f"{out}: {rows} frame rows, expected {videos}")
        shutil.rmtree(out)
        return wall

    return one


def time_all(repeats: dict[str, Repeat], repeat: int, videos: int) -> dict[str, Timing]:
    """Each measurement ``repeat`` times, interleaved (so drifting machine load hits all of them alike)."""
    totals: dict[str, list[float]] = {name: [] for name in repeats}
    for _ in range(repeat):
        for name, one in repeats.items():
            totals[name].append(one())
    return {name: Timing(t, videos) for name, t in totals.items()}


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, Timing]]) -> None:
    header = f"{'path':<72} {'s/video':>8} {'median':>8} {'videos/s':>9}"
    print(header)
    print("-" * len(header))
    for name, t in rows:
        print(f"{name:<72} {t.best:>8.3f} {t.median:>8.3f} {t.videos_per_s:>9.2f}")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=8, help="clips to generate")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each clip")
    parser.add_argument("--repeat", type=int, default=3, help="repeats per path; the best is reported")
    parser.add_argument("--long-seconds", type=float, default=600.0, help="length of the long clip")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_frames_") as tmp:
        tmp = Path(tmp)
        root = tmp / "videos"
        t0 = time.perf_counter()
        clips = make_clips(root, args.clips, args.seconds)
        mcq_dir = write_table(tmp / "mcq", clips, root)
        frames = decode_floor(clips[0])
        mb = sum(p.stat().st_size for p in clips) / 1e6
        print(
            f"made {len(clips)} clips of {args.seconds:g} s ({frames} frames each, {mb:.1f} MB in all) "
            f"in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )

        timings = time_all(
            {
                "a_threads": in_process(decode_floor, clips),
                "a_single": in_process(lambda p: decode_floor(p, threads=False), clips),
                "b": in_process(tinyllava, clips),
                "work": in_process(lambda p: stage_work(p, root), clips),
                "work_all": in_process(lambda p: stage_work(p, root, CPUS), clips),
                "c": whole_process(lambda out: extract_command(mcq_dir, root, out, 1), tmp, len(clips)),
                "c2": whole_process(lambda out: extract_command(mcq_dir, root, out, 2), tmp, len(clips)),
            },
            args.repeat,
            len(clips),
        )

        t0 = time.perf_counter()
        long_root = tmp / "long"
        long = make_long_clip(long_root, args.long_seconds)
        long_mcq = write_table(tmp / "long_mcq", [long], long_root)
        print(
            f"made the long clip ({args.long_seconds:g} s, {long.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        identical = check_sparse_frames(long)
        longs = time_all(
            {
                "la_threads": in_process(decode_floor, [long]),
                "la_single": in_process(lambda p: decode_floor(p, threads=False), [long]),
                "lwork": in_process(lambda p: stage_work(p, long_root), [long]),
                "lwork_all": in_process(lambda p: stage_work(p, long_root, CPUS), [long]),
                "lc": whole_process(lambda out: extract_command(long_mcq, long_root, out, 1), tmp, 1),
            },
            args.repeat,
            1,
        )

    a_threads, a_single, b, c, c2 = (timings[k] for k in ("a_threads", "a_single", "b", "c", "c2"))
    a = min(a_threads, a_single, key=lambda t: t.best)
    print(
        f"\nseconds per video, best of {args.repeat} interleaved repeats over {len(clips)} clips (median in its "
        f"column); {os.cpu_count()} CPUs; python {sys.version.split()[0]}"
    )
    print_table(
        [
            ("(a) decode-only floor: PyAV, every frame, thread_type AUTO", a_threads),
            ("    the same, FFmpeg's default single thread", a_single),
            ("(b) TinyLLaVA-Video: decord every frame -> float32, keep 16", b),
            ("(c) curate extract-frames, whole process, --workers 1", c),
            ("    (c) with --workers 2", c2),
            ("    (c)'s work in-process: work.process (no start-up/pool/IO), 1 thread", timings["work"]),
            (f"    the same on {CPUS} threads (what --workers 1 gives its worker)", timings["work_all"]),
        ]
    )
    c_over_a = c.best / a.best
    b_over_c = b.best / c.best
    print(f"(a) is the faster of its two rows: {a.best:.3f} s per video")
    print(f"(c) throughput: {c.videos_per_s:.2f} videos/s with 1 worker, {c2.videos_per_s:.2f} videos/s with 2")
    print(f"ratio (c / a): {c_over_a:.2f}x (goal <= {GOAL_C_OVER_A}x: {verdict(c_over_a <= GOAL_C_OVER_A)})")
    print(f"goal (b) >= {GOAL_B_OVER_C:g}x (c): {verdict(b_over_c >= GOAL_B_OVER_C)}")
    print(f"ratio (b / c): {b_over_c:.1f}x")

    la = min(longs["la_threads"], longs["la_single"], key=lambda t: t.best)
    lwork, lc = longs["lwork"], longs["lc"]
    print(
        f"\nlong clip: {args.long_seconds:g} s, keyframe every {LONG_GOP} frames, {NUM_FRAMES} frames sampled; "
        f"seconds per video, best of {args.repeat} (median)"
    )
    print_table(
        [
            ("(L-a) whole-decode floor: PyAV, every frame, thread_type AUTO", longs["la_threads"]),
            ("      the same, FFmpeg's default single thread", longs["la_single"]),
            ("(L-work) work.process in-process (auto: PyAV, sparse), 1 thread", lwork),
            (f"         the same on {CPUS} threads (what --workers 1 gives its worker)", longs["lwork_all"]),
            ("(L-c) curate extract-frames, whole process, --workers 1", lc),
        ]
    )
    print(identical)
    work_ratio, process_ratio = la.best / lwork.best, la.best / lc.best
    print(
        f"ratio (L-a / L-c): {process_ratio:.1f}x (goal >= {GOAL_LONG_PROCESS:g}x: "
        f"{verdict(process_ratio >= GOAL_LONG_PROCESS)})"
    )
    print(f"goal (L-a) >= {GOAL_LONG_WORK:g}x (L-work): {verdict(work_ratio >= GOAL_LONG_WORK)}")
    print(f"ratio (L-a / L-work): {work_ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
