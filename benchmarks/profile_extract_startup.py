"""Diagnosis (not a benchmark with a goal): where a whole ``curate extract-frames`` process spends its time.

What is measured
    The same command ``bench_frames.py`` times as (c) / (L-c) — ``python -m curate.cli extract-frames MCQ
    --video-root DIR -o OUT --workers 1 -q`` — run ``--repeat`` times as its own process with a fresh
    output folder, once plainly (the total) and once under a driver that wraps the stage's steps and
    prints a timeline, in wall seconds from the moment the parent launched the process:

    - ``interpreter``: launch → the driver's first line (Python start-up, ``site``);
    - ``import curate.cli``: building every command from its config;
    - each step of :func:`curate.frames.extract.run` that exists in this version (check, read table,
      keys, lock, pin, done keys, locate, pool start, each video's work in the worker — start, end and
      the worker's pid —, shard flush, the finishing writes, the manifest);
    - ``exit``: the atexit handlers' end → the process gone (interpreter teardown, where not skipped).

    Also ``python -c pass`` and ``python -c 'import curate.cli'`` alone, and which heavy modules a bare
    ``import curate.cli`` loads. Wall times move with the machine's load; compare runs made side by side.

Usage
    python benchmarks/profile_extract_startup.py MCQ_DIR VIDEO_ROOT [--repeat N]

The last line printed is ``whole process: X.XXX s (best of N)``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "polars", "torch", "av", "numpy", "pyarrow.parquet", "PIL.Image", "rich.progress", "pebble")

# (module, attribute, label): the stage's steps, wrapped where they exist
STEPS = [
    ("curate.frames.extract", "_check", "check options (decoder)"),
    ("curate.frames.extract", "_read_table", "read + validate mcq table"),
    ("curate.frames.extract", "_keys", "video keys"),
    ("curate.frames.extract", "finished", "finished? (manifest)"),
    ("curate.frames.extract", "_done_keys", "done keys (shards)"),
    ("curate.frames.extract", "_work_rejects", "work rejects"),
    ("curate.frames.extract", "locate", "locate videos"),
    ("curate.frames.extract", "_finish", "finish (rejects, mcq, manifest)"),
    ("curate.frames.extract", "write_rejects", "  write rejects.parquet"),
    ("curate.frames.extract", "write_mcq", "  write mcq.parquet"),
    ("curate.manifest", "pin", "pin folder"),
    ("curate.manifest", "write", "  write manifest"),
    ("curate.frames.extract:ShardWriter", "flush", "flush shard"),
    ("curate.frames.executors", "_pool", "start pool"),
    ("curate.frames.executors", "run_local", "executor (pool + all work)"),
]


def _now() -> float:
    return time.time()


class Timeline:
    """Events ``(label, start, end)`` in seconds since the launch."""

    def __init__(self, launch: float) -> None:
        self.launch = launch
        self.events: list[tuple[str, float, float]] = []

    def add(self, label: str, start: float, end: float) -> None:
        self.events.append((label, start - self.launch, end - self.launch))

    def wrap(self, label: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start = _now()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(label, start, _now())

        return timed


def timed_process(task, shaping):
    """The worker's per-video function, with its start/end times and pid in the result."""
    from curate.frames import work

    start = _now()
    result = work.process(task, shaping)
    return {**result, "_timing": (start, _now(), os.getpid())}


def child(argv: list[str]) -> int:
    """Run ``curate extract-frames ARGV`` under the timeline; print it as JSON on the last line."""
    launch = float(os.environ["PROFILE_LAUNCH"])
    timeline = Timeline(launch)
    timeline.add("interpreter start-up", launch, _now())
    start = _now()
    import curate.cli

    timeline.add("import curate.cli", start, _now())
    start = _now()
    import importlib

    for where, attr, label in STEPS:
        module_name, _, cls = where.partition(":")
        try:
            owner = importlib.import_module(module_name)
        except ImportError:
            continue
        owner = getattr(owner, cls, None) if cls else owner
        if owner is not None and hasattr(owner, attr):
            setattr(owner, attr, timeline.wrap(label, getattr(owner, attr)))
    executors = importlib.import_module("curate.frames.executors")
    if hasattr(executors, "process"):
        executors.process = timed_process
    timeline.add("import the stage (profiler's wrapping)", start, _now())

    worker_times: list[tuple[float, float, int]] = []
    extract = importlib.import_module("curate.frames.extract")
    runners = extract.RUNNERS
    original = runners["local"]

    def run_local(tasks, shaping, on_result, *args, **kwargs):
        def keep(task, result):
            if "_timing" in result:
                worker_times.append(result.pop("_timing"))
            on_result(task, result)

        return original(tasks, shaping, keep, *args, **kwargs)

    runners["local"] = run_local
    start = _now()

    def report() -> None:  # at exit, so a program() that ends the process itself still prints it
        timeline.add("curate command (parse, run, print)", start, _now())
        for i, (a, b, pid) in enumerate(worker_times):
            timeline.add(f"video {i} work in worker {pid}", a, b)
        print(json.dumps({"events": timeline.events, "end": _now() - launch}), flush=True)

    import atexit

    atexit.register(report)
    sys.argv = ["curate", "extract-frames", *argv]
    getattr(curate.cli, "program", curate.cli.app)()  # as `python -m curate.cli` runs it
    return 0


def _launch(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    env = {**os.environ, **(env or {}), "PROFILE_LAUNCH": repr(_now())}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr}")
    return wall, proc.stdout


def _best(cmd: list[str], repeat: int) -> float:
    return min(_launch(cmd)[0] for _ in range(repeat))


def compare(args) -> int:
    """This tree's whole process vs ``--against``'s and vs the whole-decode floor, ``--repeat`` interleaved
    rounds; best (median) seconds and the floor / process ratios."""
    import statistics

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_frames import decode_floor

    videos = sorted(p for p in args.video_root.rglob("*") if p.suffix in (".mp4", ".mkv", ".webm", ".avi"))
    decode_floor(videos[0])  # warm-up: imports, page cache
    times: dict[str, list[float]] = {"floor": [], "against": [], "this": []}
    with tempfile.TemporaryDirectory(prefix="profile_extract_") as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "curate.cli", "extract-frames", str(args.mcq_dir.resolve()), "--video-root",
               str(args.video_root.resolve()), "-o", str(out), "--workers", "1", "-q"]  # fmt: skip
        for _ in range(args.repeat):
            start = time.perf_counter()
            for video in videos:
                decode_floor(video)
            times["floor"].append(time.perf_counter() - start)
            for name, cwd in (("against", args.against), ("this", REPO)):
                start = time.perf_counter()
                subprocess.run(cmd, cwd=cwd, check=True, env={**os.environ, "PYTHONPATH": str(cwd)})
                times[name].append(time.perf_counter() - start)
                shutil.rmtree(out)
    for name, values in times.items():
        print(f"{name:<8} best {min(values):7.3f} s  median {statistics.median(values):7.3f} s  ({len(videos)} videos)")
    for name in ("against", "this"):
        print(f"floor / {name}: best {min(times['floor']) / min(times[name]):.2f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # the profiled process: the rest is the command's own arguments
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mcq_dir", type=Path)
    parser.add_argument("video_root", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--against",
        type=Path,
        help="a checkout of another commit (git archive C | tar -x -C DIR): its whole process is timed too, "
        "interleaved with this tree's and with PyAV decoding every frame of the videos (the floor)",
    )
    args = parser.parse_args(argv)
    if args.against:
        return compare(args)

    py = sys.executable
    loaded = _launch([py, "-c", f"import sys, curate.cli; print([m for m in {HEAVY!r} if m in sys.modules])"])[1]
    print(f"python -c pass:               {_best([py, '-c', 'pass'], args.repeat):.3f} s")
    print(f"python -c 'import curate.cli': {_best([py, '-c', 'import curate.cli'], args.repeat):.3f} s")
    print(f"heavy modules after import curate.cli: {loaded.strip()}")

    with tempfile.TemporaryDirectory(prefix="profile_extract_") as tmp:
        out = Path(tmp) / "out"
        common = [str(args.mcq_dir), "--video-root", str(args.video_root), "-o", str(out), "--workers", "1", "-q"]
        totals, profiled = [], []
        for _ in range(args.repeat):  # interleaved: plain, then profiled
            totals.append(_launch([py, "-m", "curate.cli", "extract-frames", *common])[0])
            shutil.rmtree(out)
            wall, stdout = _launch([py, __file__, "--child", *common])
            shutil.rmtree(out)
            profiled.append((wall, json.loads(stdout.strip().splitlines()[-1])))
        wall, report = min(profiled, key=lambda p: p[0])
        print(f"\ntimeline of the fastest profiled run ({wall:.3f} s wall), seconds since launch:")
        print(f"{'step':<44} {'start':>7} {'end':>7} {'took':>7}")
        for label, start, end in sorted(report["events"], key=lambda e: (e[1], -e[2])):
            print(f"{label:<44} {start:>7.3f} {end:>7.3f} {end - start:>7.3f}")
        end = report["end"]
        print(f"{'exit (after the atexit handlers)':<44} {end:>7.3f} {wall:>7.3f} {wall - end:>7.3f}")
        work = sum(e - s for label, s, e in report["events"] if label.startswith("video "))
        print(f"\nwork in the worker: {work:.3f} s; around it: {wall - work:.3f} s")
    print(f"whole process: {min(totals):.3f} s (best of {args.repeat})")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
