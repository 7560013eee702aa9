"""Side by side: PyAV's per-video work with and without skipping non-reference frames (issue 12).

What is measured
    Seconds per video, in this process, interleaved (one call of each variant, then the next round; the
    best and the median of ``--repeat`` rounds are printed), on the clips ``bench_frames.py`` makes:
    ``--clips`` 20 s 640×360 30 fps x264-default clips and one ``--long-seconds`` clip (keyframe every 250
    frames, preset veryfast), 16 uniform frames:

    (a)        the decode-only floor: PyAV decodes every frame, no conversion, the faster of
               ``thread_type`` AUTO and FFmpeg's default (bench_frames' path (a));
    off        ``curate.frames.work.process`` (auto decoder = PyAV from the packet index; resize to 384²,
               JPEG) with non-reference skipping turned off (``nonref.packet_format`` refusing every stream:
               every packet of the runs decoded, frame threads AUTO — the code before skipping);
    skip/T     the same with skipping on, the decoder's ``thread_type`` T (``pyav.SKIP_THREADS``).

    Before timing, each variant's frames, indices and timestamps are compared with ``off``'s.

Usage
    python benchmarks/bench_frames_skip.py [--clips N] [--repeat R] [--long-seconds S] [--threads AUTO,SLICE]

The last line printed is ``ratio (off / skip, 20 s clips): X.XXx``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_frames import decode_floor, make_clips, make_long_clip  # noqa: E402


def variants(threads: list[str]) -> dict[str, tuple[bool, str]]:
    return {"off": (False, "AUTO"), **{f"skip/{t}": (True, t) for t in threads}}


def work(path: Path, skip: bool, threads: str) -> dict:
    import curate.frames.decoders.pyav as pyav
    from curate.frames.work import FrameSpec, Task, process

    pyav.SKIP_THREADS = threads
    if not skip:
        saved, pyav.packet_format = pyav.packet_format, lambda stream: "skipping turned off"
    try:
        result = process(Task("bench", path.name, str(path)), FrameSpec())
    finally:
        if not skip:
            pyav.packet_format = saved
    if "row" not in result:
        raise RuntimeError(f"{path}: {result}")
    return result


def check(clips: list[Path], names: dict[str, tuple[bool, str]]) -> dict[str, int]:
    """Every variant stores the same row as ``off``; returns each variant's frames decoded over the clips."""
    decoded: dict[str, int] = {}
    for clip in clips:
        rows = {name: work(clip, *how) for name, how in names.items()}
        base = rows["off"]["row"]
        for name, result in rows.items():
            decoded[name] = decoded.get(name, 0) + result["frames_decoded"]
            row = result["row"]
            same = all(row[k] == base[k] for k in ("frame_indices", "timestamps", "num_frames_decoded", "frames"))
            if not same:
                raise RuntimeError(f"{clip}: {name} stores other frames than 'off'")
    return decoded


def measure(clips: list[Path], names: dict[str, tuple[bool, str]], repeat: int) -> dict[str, list[float]]:
    runs: dict[str, object] = {
        "(a) floor AUTO": lambda c: decode_floor(c, True),
        "(a) floor single": lambda c: decode_floor(c, False),
        **{name: (lambda c, how=how: work(c, *how)) for name, how in names.items()},
    }
    for fn in runs.values():
        fn(clips[0])  # warm-up
    totals: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            start, cpu = time.perf_counter(), cpu_seconds()
            for clip in clips:
                fn(clip)
            totals[name].append((time.perf_counter() - start) / len(clips))
            CPU.setdefault(name, []).append((cpu_seconds() - cpu) / len(clips))
    floor = [min(a, b) for a, b in zip(totals.pop("(a) floor AUTO"), totals.pop("(a) floor single"), strict=True)]
    CPU["(a) floor"] = [min(a, b) for a, b in zip(CPU.pop("(a) floor AUTO"), CPU.pop("(a) floor single"), strict=True)]
    return {"(a) floor": floor, **totals}


CPU: dict[str, list[float]] = {}  # CPU seconds per video (all threads) of each measured call, by variant


def cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(title: str, totals: dict[str, list[float]], decoded: dict[str, int], clips: int) -> None:
    floor = min(totals["(a) floor"])
    print(f"\n{title}")
    print(
        f"{'':16s} {'best s':>8s} {'median s':>9s} {'best / (a)':>11s} {'cpu s (median)':>15s} {'frames decoded':>15s}"
    )
    for name, values in totals.items():
        frames = f"{decoded[name] / clips:.0f}" if name in decoded else ""
        best, median = min(values), statistics.median(values)
        cpu = statistics.median(CPU.pop(name)) if name in CPU else float("nan")
        print(f"{name:16s} {best:8.3f} {median:9.3f} {best / floor:11.2f} {cpu:15.3f} {frames:>15s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--long-seconds", type=float, default=600.0)
    parser.add_argument("--threads", default="AUTO,SLICE", help="thread types to try with skipping")
    args = parser.parse_args()
    names = variants(args.threads.split(","))
    with tempfile.TemporaryDirectory(prefix="bench_skip_") as scratch:
        root = Path(scratch)
        short = make_clips(root / "short", args.clips, args.seconds)
        long = [make_long_clip(root / "long", args.long_seconds)] if args.long_seconds > 0 else []
        results = []
        for title, clips in ((f"{len(short)} × {args.seconds:g} s clips, 16 frames", short), ("long clip", long)):
            if not clips:
                continue
            decoded = check(clips, names)
            totals = measure(clips, names, args.repeat)
            report(title, totals, decoded, len(clips))
            results.append(totals)
    short_totals = results[0]
    best_skip = min(min(v) for k, v in short_totals.items() if k.startswith("skip/"))
    print(f"\nratio (off / skip, 20 s clips): {min(short_totals['off']) / best_skip:.2f}x")


if __name__ == "__main__":
    main()
