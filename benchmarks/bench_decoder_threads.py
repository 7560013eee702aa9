"""Benchmark: torchcodec and the ffmpeg CLI with one FFmpeg thread per video vs FFmpeg's automatic count, one
worker per CPU.

What is measured
    Wall seconds for ``curate.frames.decoders.decode(path, 16 uniform frames, decoder=D, threads=k)`` over
    the clips, split between one worker process per usable CPU (``curate extract-frames``' default pool),
    side by side in one run, best of ``--repeat``, for D in ``--decoders``:

    * ``threads=1`` — what ``--workers`` = CPUs gives each video (``num_ffmpeg_threads=1``, ``-threads 1``);
    * ``threads=0`` — FFmpeg's automatic count, a thread per core in every worker (what both decoders
      asked for before they were given the worker's share).

    Clips: ``--clips`` 20 s 640×360 30 fps H.264 clips and one ``--long-seconds`` clip (keyframe every 250
    frames), made with the ffmpeg CLI as in ``bench_frames.py``; each clip is decoded twice per pass.

Usage
    python benchmarks/bench_decoder_threads.py [--decoders torchcodec,ffmpeg] [--clips 8] [--long-seconds 120]
        [--repeat 3]

The last line is the smallest ratio, over the decoders, of the automatic count's time to one thread's on
the short clips (> 1: one thread per video is faster).
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


def decode_all(paths: list[str], decoder: str, threads: int) -> int:
    """Decode each path; returns the frames kept."""
    return sum(len(decode(p, SIXTEEN, decoder=decoder, threads=threads).frames) for p in paths)


def timed(pool: ProcessPoolExecutor, workers: int, paths: list[str], decoder: str, threads: int) -> float:
    start = time.perf_counter()
    shares = [paths[w::workers] for w in range(workers)]
    list(pool.map(decode_all, shares, [decoder] * workers, [threads] * workers))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decoders", default="torchcodec,ffmpeg")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--long-seconds", type=float, default=120.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    decoders = args.decoders.split(",")
    workers = usable_cpus()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        short = [str(p) for p in make_clips(root / "short", args.clips, 20.0)] * 2
        long = [str(make_long_clip(root / "long", args.long_seconds))] * 2
        print(f"{workers} workers; {len(short)} decodes of 20 s clips, {len(long)} of a {args.long_seconds:g} s clip")
        best: dict[tuple[str, str, int], float] = {}
        with ProcessPoolExecutor(workers) as pool:
            for decoder in decoders:  # start the workers and import each decoder in each
                timed(pool, workers, short[:workers], decoder, 1)
            for _ in range(args.repeat):
                for decoder in decoders:
                    for name, paths in (("short", short), ("long", long)):
                        for threads in (1, 0):
                            seconds = timed(pool, workers, paths, decoder, threads)
                            key = (decoder, name, threads)
                            best[key] = min(best.get(key, seconds), seconds)
    ratios = []
    for decoder in decoders:
        for name in ("short", "long"):
            one, auto = best[decoder, name, 1], best[decoder, name, 0]
            print(f"{decoder:10s} {name:5s}: one thread per video {one:6.2f} s, automatic {auto:6.2f} s", end=" ")
            print(f"({auto / one:.2f}×)")
        ratios.append(best[decoder, "short", 0] / best[decoder, "short", 1])
    print(f"ratio (automatic / one thread per video, 20 s clips, smallest over the decoders): {min(ratios):.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
