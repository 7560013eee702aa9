"""The ffmpeg CLI (through ffmpeg-python): converts and pipes only the sampled frames (``select`` in the
filter graph), scaled by its ``scale`` filter. See :mod:`curate.frames.decoders`.

Where the packet index is trusted (:func:`curate.frames.seek.untrusted`) and :func:`~curate.frames.seek.plan`
seeks (its seek cost: a CLI call, :data:`LAUNCH_PIXELS`), each run of the plan is one CLI call that seeks to
the run's keyframe (``-ss`` on the stream's own timestamps: ``-seek_timestamp 1 -copyts``, no accurate-seek
trimming), pipes the frames whose time is a sampled frame's and is stopped after the last
(:func:`seek_command`); every piped frame's ``showinfo`` pts must be the index's, else the video is decoded
from the start as below. Otherwise one call decodes from the first frame up to the last sampled one."""

from __future__ import annotations

import ctypes
import functools
import math
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from curate.frames import seek
from curate.frames.decoders.common import DecodedVideo, Geometry, VideoError, result, sample
from curate.frames.decoders.pyav import pyav_index
from curate.frames.sampling import Sampling, choose

SHOWINFO = re.compile(r"Parsed_showinfo.*?\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(\S+)")
TIME_BASE = re.compile(r"Parsed_showinfo.*?config in time_base:\s*(\d+)/(\d+)")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def ratio(text: str | None) -> Fraction | None:
    """``"30000/1001"`` → Fraction; None for missing or ``0/0``."""
    try:
        value = Fraction(text) if text else None
    except (ValueError, ZeroDivisionError):
        return None
    return value if value else None


def ffmpeg_stream(path: str) -> dict:
    """The first video stream as ``ffprobe`` describes it (plus ``format_duration``)."""
    import ffmpeg

    try:
        info = ffmpeg.probe(path)
    except ffmpeg.Error as exc:
        lines = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VideoError("unreadable", lines[-1][:200] if lines else "ffprobe failed") from None
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        raise VideoError("no_video_stream", "the container holds no video stream")
    stream = dict(streams[0])
    stream["format_duration"] = info.get("format", {}).get("duration")
    return stream


def ffmpeg_geometry(stream: dict) -> tuple[int, int]:
    """(height, width) after autorotation: swapped for a ±90° display matrix or ``rotate`` tag."""
    rotation = 0.0
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            rotation = float(side["rotation"])
    rotation = rotation or float((stream.get("tags") or {}).get("rotate", 0) or 0)
    height, width = int(stream["height"]), int(stream["width"])
    return (width, height) if int(round(rotation / 90)) % 2 else (height, width)


# A CLI call (loading FFmpeg's libraries, opening the file: ~0.15 s on the 2-core machine the benchmarks ran
# on) costs about what decoding this many pixels of H.264 costs (~3 ns a pixel there): the seek cost of the
# CLI's plan in frames of the video's size, so a run is only cut where a call is cheaper than decoding on.
LAUNCH_PIXELS = 50_000_000
MAX_TERMS = 32  # FFmpeg's expression parser fails ("Cannot allocate memory") on long sums


def piped(select: list[int]) -> list[int]:
    """The frame numbers the CLI pipes for ``select`` (sorted): exactly those when they fall in at most
    :data:`MAX_TERMS` runs of consecutive numbers, else every frame from the first to the last."""
    runs = [[select[0], select[0]]] if select else []
    for i in select[1:]:
        if i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return select if len(runs) <= MAX_TERMS else list(range(select[0], select[-1] + 1))


def select_expression(frames: list[int]) -> str:
    """``select``'s expression for sorted frame numbers: ``between(n,a,b)`` per run of consecutive ones."""
    terms, first = [], 0
    for j in range(1, len(frames) + 1):
        if j == len(frames) or frames[j] != frames[j - 1] + 1:
            terms.append(f"between(n,{frames[first]},{frames[j - 1]})")
            first = j
    return "+".join(terms) or "0"


def ffmpeg_command(
    path: str,
    fps_mode: str,
    select: list[int],
    size: tuple[int, int] | None = None,
    log_all: bool = True,
    threads: int = 0,
) -> list[str]:
    """The CLI call (built with ffmpeg-python) that pipes the frames numbered ``select`` (sorted, decoder
    output order) as rgb24, scaled to ``size`` ``(h, w)`` by swscale's bicubic filter when given; ``showinfo``
    logs every frame (``log_all``, to count them and read their pts: it decodes to the end) or only the
    piped ones (then it stops after the last). ``threads``: the decoder's threads (0: FFmpeg's automatic
    count, a thread per core)."""
    import ffmpeg

    video = ffmpeg.input(path, copyts=None, threads=threads)["v:0"]
    if log_all:
        video = video.filter("showinfo")
    video = video.filter("select", select_expression(select))
    return rgb_pipe(video, fps_mode, size, None if log_all else len(select))


def rgb_pipe(video, fps_mode: str, size: tuple[int, int] | None, frames: int | None) -> list[str]:
    """The CLI call that pipes the selected ``video`` as rgb24 with its pts (``fps_mode`` passthrough),
    scaled to ``size`` ``(h, w)`` by swscale's bicubic filter when given. ``frames``: how many are selected —
    then each is logged by ``showinfo`` and the CLI ends once the last is out (``-frames:v``; else the
    rawvideo muxer holds the last frame's bytes until the end of the file); ``None``: it decodes to the end."""
    if size is not None:
        video = video.filter("scale", size[1], size[0], flags="bicubic")
    options = {fps_mode: "passthrough"}
    if frames is not None:
        video = video.filter("showinfo")
        options["frames:v"] = frames
    out = video.output("pipe:", format="rawvideo", pix_fmt="rgb24", **options)
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", *out.get_args()]  # globals first


def seek_command(
    path: str,
    fps_mode: str,
    key_time: Fraction | None,
    windows: list[tuple[float, float]],
    size: tuple[int, int] | None = None,
    threads: int = 0,
) -> list[str]:
    """The CLI call that seeks to the keyframe at ``key_time`` (seconds on the stream's own timestamps;
    ``None``: from the start, no seek) and pipes, as rgb24 scaled like :func:`ffmpeg_command`'s, the frames
    whose time falls in one of ``windows`` (``(low, high)`` seconds, the same timestamps), logging each
    with ``showinfo``. ``-ss`` is rounded up to the microsecond FFmpeg parses, so the seek lands on that
    keyframe (the demuxer takes the last keyframe at or before it), never the one before it; frames
    decoded before a window (an open GOP's leading pictures) are not selected. ``threads`` as for
    :func:`ffmpeg_command`."""
    import ffmpeg

    options: dict = {"copyts": None, "threads": threads}
    if key_time is not None:
        micros = math.ceil(key_time * 1_000_000)
        options.update(ss=f"{micros // 1_000_000}.{micros % 1_000_000:06d}", seek_timestamp=1, noaccurate_seek=None)
    video = ffmpeg.input(path, **options)["v:0"]
    video = video.filter("select", "+".join(f"between(t,{lo:.9f},{hi:.9f})" for lo, hi in windows) or "0")
    return rgb_pipe(video, fps_mode, size, len(windows))


def time_windows(pts: list[int], time_base: Fraction, wanted: list[int]) -> list[tuple[float, float]]:
    """``(low, high)`` seconds around each wanted frame's time ``pts[i] * time_base`` (``pts`` sorted: the
    frames in presentation order): a quarter of the gap to its nearest neighbour on each side (at most
    1 ms), so no other frame's time falls inside. Exact fractions, made only around the wanted frames (a
    long clip has tens of thousands of packets)."""
    windows = []
    for i in wanted:
        gaps = [(pts[j + 1] - pts[j]) * time_base for j in (i - 1, i) if 0 <= j and j + 1 < len(pts)]
        time, half = pts[i] * time_base, min([Fraction(1, 1000), *(g / 4 for g in gaps)])
        windows.append((float(time - half), float(time + half)))
    return windows


def die_with_parent() -> None:
    """``preexec_fn`` of the ffmpeg child: the kernel SIGKILLs it when the worker that started it dies (a
    pebble timeout terminates the worker; kill -9 of the run kills the workers), so no ffmpeg outlives
    its worker."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass


def run_ffmpeg(command: list[str], frames: int, size: int, log) -> tuple[list[bytes], int]:
    """Start ``command``, read up to ``frames`` frames of ``size`` bytes from its stdout (all of them when
    ``frames`` is None), then stop it: killed at once when it is not done (it would decode on to the end),
    and in every case — an exception, a signal — before returning. Returns (frames read, exit code)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, preexec_fn=die_with_parent)
    chunks: list[bytes] = []
    try:
        while frames is None or len(chunks) < frames:
            data = proc.stdout.read(size)
            if len(data) < size:
                break
            chunks.append(data)
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
    return chunks, code


def call_cli(command: Callable[[str], list[str]], frames: int | None, size: int) -> tuple[list[bytes], int, str]:
    """:func:`run_ffmpeg` on ``command(fps_mode)``: ``-fps_mode`` (ffmpeg 5.1 on), else ``-vsync`` when the
    CLI does not know it. Returns (frames read, exit code, the CLI's log)."""
    for fps_mode in ("fps_mode", "vsync"):
        with tempfile.TemporaryFile() as log:
            chunks, code = run_ffmpeg(command(fps_mode), frames, size, log)
            log.seek(0)
            text = log.read().decode("utf-8", "replace")
        if not (code != 0 and f"Unrecognized option '{fps_mode}'" in text):
            break
    return chunks, code, text


def ffmpeg_times(log: str, start_pts: int, time_base: Fraction | None) -> list[float]:
    """Per-frame seconds from ``showinfo`` lines: ``(pts − start_pts) · time_base``."""
    match = TIME_BASE.search(log)
    tb = Fraction(int(match.group(1)), int(match.group(2))) if match else time_base
    times = []
    for _, pts, pts_time in SHOWINFO.findall(log):
        times.append(float((int(pts) - start_pts) * tb) if tb else float(pts_time))
    return times


def decode_ffmpeg(
    path: str,
    sampling: Sampling,
    start: float | None = None,
    end: float | None = None,
    geometry: Geometry = None,
    threads: int = 1,
) -> DecodedVideo:
    """ffmpeg CLI decoder (see the package docstring); ``threads``: the CLI's decoding threads, the caller's
    share of the CPUs (0: FFmpeg's automatic count, which oversubscribes one-worker-per-CPU runs)."""
    stream = ffmpeg_stream(path)
    try:
        index = pyav_index(path)
        packets, last_frame = index.timestamps or [], index.last_duration
    except VideoError:  # PyAV cannot read it: the CLI's own timestamps
        index, packets, last_frame = None, [], 0.0
    height, width = ffmpeg_geometry(stream)
    scaled = geometry(height, width) if geometry is not None else None
    if scaled == (height, width):
        scaled = None
    out_h, out_w = scaled or (height, width)
    size = (height, width) if scaled else None  # the decoded size, for result() when scaled in the CLI
    rate = ratio(stream.get("avg_frame_rate")) or ratio(stream.get("r_frame_rate"))
    fps = float(rate) if rate else 0.0
    time_base = ratio(stream.get("time_base"))
    start_pts = int(stream.get("start_pts") or 0)
    claimed = int(stream.get("nb_frames") or 0)
    duration = stream.get("duration") or stream.get("format_duration")
    if not claimed and duration and fps:
        claimed = round(float(duration) * fps)
    errors: list[str] = []
    info = {"last_frame": last_frame, "decoded": 0}

    def frame(chunk: bytes) -> np.ndarray:
        return np.frombuffer(chunk, np.uint8).reshape(out_h, out_w, 3).copy()

    def agree(times: list[float], numbers: list[int]) -> bool:
        """The CLI's times of the frames piped as ``numbers`` are the index's (within 1 µs)."""
        return len(times) >= len(numbers) and all(abs(times[j] - packets[i]) <= 1e-6 for j, i in enumerate(numbers))

    def pipe(wanted: list[int], log_all: bool, stop: bool) -> tuple[dict[int, np.ndarray], str, int]:
        """Frames ``wanted`` (sorted) and the CLI's log; ``stop``: kill it once they are read."""
        numbers = piped(wanted)
        chunks, code, text = call_cli(
            lambda fps_mode: ffmpeg_command(path, fps_mode, numbers, scaled, log_all, threads),
            len(numbers) if stop else None,
            out_h * out_w * 3,
        )
        chosen = set(wanted)
        kept = {i: frame(c) for i, c in zip(numbers, chunks, strict=False) if i in chosen}
        return kept, text, code

    def seeking(unique: list[int]) -> tuple[dict[int, np.ndarray], int] | None:
        """The frames ``unique`` one CLI call per run of the seek plan, with the frames the plan decodes; None
        when the plan does not seek, a run has more frames than one ``select`` expression holds, or any
        piped frame is not the index's."""
        runs = seek.plan(index, unique, seek_cost=max(seek.SEEK_COST, LAUNCH_PIXELS // max(1, height * width)))
        if not runs or (len(runs) == 1 and runs[0].start == 0) or max(len(r.targets) for r in runs) > MAX_TERMS:
            return None
        tb, order = Fraction(index.time_base), sorted(index.packet_pts)
        kept: dict[int, np.ndarray] = {}
        for run in runs:
            key = run.key_pts * tb if run.start > 0 else None
            targets = list(run.targets)
            windows = time_windows(order, tb, targets)
            command = functools.partial(seek_command, path, key_time=key, windows=windows, size=scaled, threads=threads)
            chunks, _, text = call_cli(command, len(targets), out_h * out_w * 3)
            if len(chunks) != len(targets) or not agree(ffmpeg_times(text, start_pts, time_base), targets):
                return None
            kept.update((i, frame(chunk)) for i, chunk in zip(targets, chunks, strict=True))
        return kept, sum(r.packets for r in runs)

    if index is not None and seek.untrusted(index) is None:
        # n and the timestamps from the index: the sampled frames by seeking (above) or by one call from the
        # start converting only them, their pts checked
        rate_n = fps or float(index.fps)
        indices = choose(packets, rate_n, sampling, start, end)
        unique = sorted(set(indices))
        sought = seeking(unique)
        if sought is not None:
            return result("ffmpeg", packets, rate_n, indices, sought[0], last_frame, size, sought[1])
        kept, text, _ = pipe(unique, False, True)
        if len(kept) == len(unique) and agree(ffmpeg_times(text, start_pts, time_base), piped(unique)):
            spent = unique[-1] + 1 if unique else 0  # the CLI decodes up to the last chosen frame
            return result("ffmpeg", packets, rate_n, indices, kept, last_frame, size, spent)

    def one_pass(wanted: set[int], count_all: bool) -> tuple[list[float], dict[int, np.ndarray]]:
        kept, text, code = pipe(sorted(wanted), count_all, not count_all)
        times = ffmpeg_times(text, start_pts, time_base)
        count = len(times) if count_all else len(kept)
        info["decoded"] += count if count_all else (max(kept, default=-1) + 1)
        if code != 0 and count == 0:
            lines = [ln.strip() for ln in text.splitlines() if "showinfo" not in ln and "Conversion failed" not in ln]
            errors.append("; ".join(lines[-2:])[:200] or f"ffmpeg exited with {code}")
        if count_all and len(packets) == count:
            return list(packets), kept
        if count_all:  # the CLI's timestamps: the gap before the last frame stands for its duration
            info["last_frame"] = 0.0
        return sorted(times), kept

    try:
        timestamps, fps, indices, kept = sample(one_pass, claimed, fps, sampling, start, end)
    except VideoError as exc:
        if exc.reason == "zero_frames" and errors:
            raise VideoError("zero_frames", f"ffmpeg: {errors[0]}") from None
        raise
    return result("ffmpeg", timestamps, fps, indices, kept, info["last_frame"], size, info["decoded"])
