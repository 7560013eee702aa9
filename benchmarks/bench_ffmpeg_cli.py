"""Benchmark: the ffmpeg CLI decoder seeking run by run vs decoding from the start, side by side.

What is measured
    Wall seconds of ``curate.frames.decoders.decode(path, 16 uniform frames, decoder="ffmpeg",
    threads=CPUs)`` (what ``--workers 1`` gives a video) in this process, interleaved, best of ``--repeat``:

    * ``seek``  — as shipped: where the seek plan (seek cost: one CLI call, ``LAUNCH_PIXELS``) has runs past
      the first frame, one CLI call per run, seeking with ``-ss``;
    * ``start`` — the same decoder with seeking turned off (``LAUNCH_PIXELS`` so large the plan never seeks):
      one call decoding from the first frame to the last sampled one;
    * ``window`` — the first 20 s of the long clip sampled (``start=0, end=20``) with ``seek``: the call ends
      after the last sampled frame (``-frames:v``) instead of decoding the rest of the file.

    On one ``--long-seconds`` 640×360 30 fps H.264 clip (keyframe every 250 frames) and one 20 s clip
    (x264 defaults), made with the ffmpeg CLI as in ``bench_frames.py``. Before timing, both variants'
    indices, timestamps and pixels are checked equal to PyAV's.

Usage
    python benchmarks/bench_ffmpeg_cli.py [--long-seconds 600] [--repeat 3]

The last line is the ratio of ``start`` to ``seek`` on the long clip.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frames import make_clips, make_long_clip  # noqa: E402

from curate.cpus import usable_cpus  # noqa: E402
from curate.frames.decoders import decode  # noqa: E402
from curate.frames.decoders import ffmpeg as cli  # noqa: E402
from curate.frames.sampling import Sampling  # noqa: E402

SIXTEEN = Sampling(num_frames=16)
SHIPPED = cli.LAUNCH_PIXELS


def cli_decode(path: str, seeking: bool, **window):
    cli.LAUNCH_PIXELS = SHIPPED if seeking else 1 << 62
    try:
        return decode(path, SIXTEEN, decoder="ffmpeg", threads=usable_cpus(), **window)
    finally:
        cli.LAUNCH_PIXELS = SHIPPED


def check(path: str) -> int:
    """Both variants return PyAV's frames; returns the frames the shipped decoder decodes."""
    reference = decode(path, SIXTEEN, decoder="pyav")
    for seeking in (True, False):
        video = cli_decode(path, seeking)
        same = (video.indices, video.timestamps) == (reference.indices, reference.timestamps)
        if not same or not all(np.array_equal(a, b) for a, b in zip(video.frames, reference.frames, strict=True)):
            raise SystemExit(f"{path}: the ffmpeg CLI (seeking={seeking}) differs from PyAV")
    return cli_decode(path, True).frames_decoded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--long-seconds", type=float, default=600.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clips = {"long": str(make_long_clip(root / "long", args.long_seconds))}
        clips["20 s"] = str(make_clips(root / "short", 1, 20.0)[0])
        for name, path in clips.items():
            print(f"{name}: both identical to PyAV; {check(path):,} frames decoded as shipped")
        cases = {
            ("long", "seek"): lambda: cli_decode(clips["long"], True),
            ("long", "start"): lambda: cli_decode(clips["long"], False),
            ("long", "window"): lambda: cli_decode(clips["long"], True, start=0.0, end=20.0),
            ("20 s", "seek"): lambda: cli_decode(clips["20 s"], True),
            ("20 s", "start"): lambda: cli_decode(clips["20 s"], False),
        }
        best = dict.fromkeys(cases, float("inf"))
        for _ in range(args.repeat):
            for case, fn in cases.items():
                start = time.perf_counter()
                fn()
                best[case] = min(best[case], time.perf_counter() - start)
    for (clip, variant), seconds in best.items():
        print(f"{clip:5s} {variant:7s} {seconds:7.2f} s")
    print(f"20 s clip: start / seek {best['20 s', 'start'] / best['20 s', 'seek']:.2f}× (no seek planned there)")
    print(f"ratio (start / seek, {args.long_seconds:g} s clip): {best['long', 'start'] / best['long', 'seek']:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
