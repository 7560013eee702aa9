"""Benchmark: torchcodec with one FFmpeg thread per video vs FFmpeg's automatic all-cores, one worker per CPU.

What is measured
    Wall seconds for ``curate.frames.decoders.decode(path, 16 uniform frames, decoder="torchcodec",
    threads=k)`` over the clips, split between one worker process per usable CPU (``curate
    extract-frames``' default pool), side by side in one run, best of ``--repeat``:

    * ``threads=1`` — what ``--workers`` = CPUs gives each video now (``num_ffmpeg_threads=1``);
    * ``threads=0`` — torchcodec's ``num_ffmpeg_threads=0``, FFmpeg picking a thread per core in every
      worker, which is what the decoder asked for before.

    Clips: ``--clips`` 20 s 640×360 30 fps H.264 clips and one ``--long-seconds`` clip (keyframe every
    250 frames), made with the ffmpeg CLI as in ``bench_frames.py``; each clip is decoded twice per pass.

Usage
    python benchmarks/bench_torchcodec_threads.py [--clips 8] [--long-seconds 120] [--repeat 3]

The last line is the ratio of the automatic threads' time to one thread's on the short clips (> 1: one
thread per video is faster).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frames import make_clips, make_long_clip  # noqa: E402

from curate.cpus import usable_cpus  # noqa: E402
from curate.frames.decoders import decode  # noqa: E402
from curate.frames.sampling import Sampling  # noqa: E402

SIXTEEN = Sampling(num_frames=16)


def decode_all(paths: list[str], threads: int) -> int:
    """Decode each path with torchcodec; ``threads=0`` asks for FFmpeg's automatic count (what the decoder
    did before it was given the worker's share); returns the frames kept."""
    import torchcodec.decoders

    real = torchcodec.decoders.VideoDecoder
    if threads == 0:
        torchcodec.decoders.VideoDecoder = lambda *a, **kw: real(*a, **{**kw, "num_ffmpeg_threads": 0})
    try:
        return sum(len(decode(p, SIXTEEN, decoder="torchcodec", threads=max(threads, 1)).frames) for p in paths)
    finally:
        torchcodec.decoders.VideoDecoder = real


def timed(pool: ProcessPoolExecutor, workers: int, paths: list[str], threads: int) -> float:
    start = time.perf_counter()
    list(pool.map(decode_all, [paths[w::workers] for w in range(workers)], [threads] * workers))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--long-seconds", type=float, default=120.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    workers = usable_cpus()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        short = [str(p) for p in make_clips(root / "short", args.clips, 20.0)] * 2
        long = [str(make_long_clip(root / "long", args.long_seconds))] * 2
        print(f"{workers} workers; {len(short)} decodes of 20 s clips, {len(long)} of a {args.long_seconds:g} s clip")
        best: dict[tuple[str, int], float] = {}
        with ProcessPoolExecutor(workers) as pool:
            timed(pool, workers, short[:workers], 1)  # start the workers and import torchcodec in each
            for _ in range(args.repeat):
                for name, paths in (("short", short), ("long", long)):
                    for threads in (1, 0):
                        seconds = timed(pool, workers, paths, threads)
                        best[name, threads] = min(best.get((name, threads), seconds), seconds)
    for name in ("short", "long"):
        one, auto = best[name, 1], best[name, 0]
        print(f"{name:5s}: one FFmpeg thread per video {one:6.2f} s, automatic {auto:6.2f} s ({auto / one:.2f}×)")
    print(f"ratio (automatic / one thread per video, 20 s clips): {best['short', 0] / best['short', 1]:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
