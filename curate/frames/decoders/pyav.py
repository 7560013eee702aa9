"""PyAV: the reference decoder, sequential or sparse (seeking to the keyframe before each sampled frame),
skipping the unwanted frames nothing references where the packets say which (:func:`pyav_runs`). See
:mod:`curate.frames.decoders` for the contract, :mod:`curate.frames.seek` for the plan and
:mod:`curate.frames.decoders.nonref` for which pictures are skipped."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import numpy as np

from curate.frames import seek
from curate.frames.decoders.common import (
    DecodedVideo,
    Geometry,
    VideoError,
    check_file,
    measured_fps,
    message,
    result,
    rotate,
    sample,
    scaled_size,
)
from curate.frames.decoders.nonref import PacketFormat, packet_format, unreferenced
from curate.frames.sampling import Sampling, choose


def open_pyav(path: str):
    """``av.open`` with its failures turned into :class:`VideoError` (``unreadable``/``no_video_stream``)."""
    import av

    try:
        container = av.open(path)
    except FileNotFoundError as exc:
        raise VideoError("missing", message(exc)) from None
    except Exception as exc:  # FFmpeg's many error types: the container cannot be read
        raise VideoError("unreadable", message(exc)) from None
    if not container.streams.video:
        container.close()
        raise VideoError("no_video_stream", "the container holds no video stream")
    return container


def pyav_frames(container, stream, errors: list[str], durations: dict[int, int] | None = None) -> Iterator:
    """Decoded frames in order; a packet the demuxer or decoder rejects is noted in ``errors`` and skipped.
    ``durations`` collects each packet's duration by its pts."""
    import av

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:  # a damaged file: the demuxer cannot go on
            errors.append(message(exc))
            return
        if durations is not None and packet.pts is not None and packet.duration:
            durations[packet.pts] = packet.duration
        try:
            frames = stream.decode(packet)
        except av.error.FFmpegError as exc:
            errors.append(message(exc))
            continue
        yield from frames


def pyav_rate(container, stream) -> tuple[float, int]:
    """(average fps, claimed frame count) from the container; 0 when unknown."""
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    claimed = stream.frames or 0
    if not claimed and fps:
        if stream.duration is not None and stream.time_base is not None:
            claimed = round(float(stream.duration * stream.time_base) * fps)
        elif container.duration:
            claimed = round(container.duration / 1_000_000 * fps)
    return fps, claimed


def presentation_times(raw: list[int | None], base: int | None, time_base, fps: float) -> list[float]:
    """Sorted presentation times in seconds of frames whose pts (in output order) are ``raw``:
    ``(pts − base) · time_base`` (``base``: the stream's start, else the smallest pts). A frame without a
    pts gets the previous one's time + ``1 / fps``."""
    known = [p for p in raw if p is not None]
    if base is None and known:
        base = min(known)
    times: list[float] = []
    for pts in raw:
        if pts is not None and time_base is not None:
            times.append(float((pts - base) * time_base))
        else:
            times.append(times[-1] + 1 / (fps or 1.0) if times else 0.0)
    return sorted(times)


def to_rgb(frame, geometry: Geometry = None) -> np.ndarray:
    """A decoded PyAV frame as uint8 HWC RGB, display rotation applied; with ``geometry`` scaled inside the
    colour conversion (libswscale bicubic on the YUV frame, one ``sws_scale``) to geometry's size."""
    rotation = getattr(frame, "rotation", 0) or 0
    size = scaled_size(geometry, frame.height, frame.width, rotation)
    if size is None:
        return rotate(frame.to_ndarray(format="rgb24"), rotation)
    rgb = frame.reformat(width=size[1], height=size[0], format="rgb24", interpolation="BICUBIC").to_ndarray()
    return rotate(rgb, rotation)


def pyav_pass(
    path: str,
    wanted: set[int],
    count_all: bool,
    fps: float,
    errors: list[str],
    info: dict | None = None,
    geometry: Geometry = None,
    full: dict[int, np.ndarray] | None = None,
) -> tuple[list[float], dict[int, np.ndarray]]:
    """One sequential PyAV decode of ``path``: every frame's timestamp (sorted; see the module docstring) and
    the ``wanted`` frames as RGB (rotation applied, scaled to ``geometry``; into ``full``, when given, also
    unscaled). With ``count_all`` false it stops after the last wanted frame (the timestamps then cover only
    the frames read). Decoder errors go to ``errors``; ``info["decoded"]`` adds up the frames decoded, and
    with ``count_all`` ``info["last_frame"]`` is set to the last frame's packet duration in seconds."""
    raw: list[int | None] = []
    durations: dict[int, int] = {}
    kept: dict[int, np.ndarray] = {}
    last = max(wanted, default=-1)
    with open_pyav(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base, time_base = stream.start_time, stream.time_base
        for frame in pyav_frames(container, stream, errors, durations):
            raw.append(frame.pts)
            index = len(raw) - 1
            if info is not None and "size" not in info:
                info["size"] = shown_size(frame.height, frame.width, getattr(frame, "rotation", 0) or 0)
            if index in wanted:
                kept[index] = to_rgb(frame, geometry)
                if full is not None:
                    full[index] = to_rgb(frame)
            if not count_all and index >= last:
                break
    known = [p for p in raw if p is not None]
    if info is not None:
        info["decoded"] = info.get("decoded", 0) + len(raw)
    if info is not None and count_all:
        last_pts = max(known, default=None)
        ticks = durations.get(last_pts, 0) if last_pts is not None else 0
        info["last_frame"] = float(ticks * time_base) if time_base is not None else 0.0
    return presentation_times(raw, base, time_base, fps), kept


def pyav_runs(
    container, stream, index, runs: list[seek.Run], geometry: Geometry = None, skip: PacketFormat | None = None
):
    """Decode the :func:`curate.frames.seek.plan` ``runs`` of an open container: ``({index: RGB frame},
    frames decoded)``, or ``(None, frames decoded)`` when the decoder disagrees with the index (then the
    caller decodes it all).

    For each run: seek to its keyframe (``av_seek_frame`` backward by its pts; where that lands past it, by
    its dts), check that the first packet is a keyframe at or before it, then decode on. Frames shown
    before that landing keyframe (the leading pictures of an open GOP, which reference the GOP before) are
    dropped; every other frame must carry the next pts of the index in presentation order — a frame the
    decoder skipped or invented stops it.

    With ``skip`` (the stream's :class:`~curate.frames.decoders.nonref.PacketFormat`) each packet is sent with
    ``skip_frame`` DEFAULT when its pts is a wanted frame's and NONREF otherwise, so the decoder drops the
    unwanted pictures nothing references. Which ones it drops is read from the packets
    (:func:`~curate.frames.decoders.nonref.unreferenced`), so the check stays exact: the next frame out may
    pass over a pts of the index only where that packet was sent with NONREF and holds an unreferenced
    picture. A skipped frame is not decoded, so not counted."""
    import av

    order = sorted(index.packet_pts)
    rank = {p: i for i, p in enumerate(order)}
    context = stream.codec_context
    kept: dict[int, np.ndarray] = {}
    decoded = 0
    for run in runs:
        wanted, last = set(run.targets), max(run.targets)
        wanted_pts = {order[i] for i in wanted}
        landed = land(container, stream, run)
        if landed is None:
            return None, decoded
        packets, first = landed
        floor, expect = first.pts, rank.get(first.pts)
        if expect is None:
            return None, decoded
        dropped: set[int] = set()  # ranks sent with NONREF whose picture nothing references
        try:
            for packet in itertools.chain([first], packets):
                if skip is not None:
                    mode = "DEFAULT" if packet.pts is None or packet.pts in wanted_pts else "NONREF"
                    if context.skip_frame != mode:
                        context.skip_frame = mode
                    if mode == "NONREF" and packet.pts in rank and unreferenced(packet, skip):
                        dropped.add(rank[packet.pts])
                for frame in stream.decode(packet):
                    decoded += 1
                    if frame.pts is None:
                        return None, decoded
                    if frame.pts < floor:
                        continue
                    at = rank.get(frame.pts)
                    if at is None or at < expect or any(i not in dropped for i in range(expect, at)):
                        return None, decoded
                    if at in wanted:
                        kept[at] = to_rgb(frame, geometry)
                    expect = at + 1
                if expect > last:
                    break
        except av.error.FFmpegError:
            return None, decoded
        if expect <= last:
            return None, decoded
    return kept, decoded


def pyav_plans(path: str, container, stream, index, plans: list[list[seek.Run]], geometry: Geometry = None, skip=None):
    """:func:`pyav_runs` of each plan (:func:`curate.frames.seek.split`), side by side: the first in this
    thread on the open ``container``, each other in a thread of its own on its own container of ``path``
    with ``stream``'s thread type (PyAV lets go of the GIL while FFmpeg decodes and scales). ``({index:
    RGB frame}, frames decoded)`` of all together, or ``(None, frames decoded)`` when any plan was
    refused."""
    if len(plans) == 1:
        return pyav_runs(container, stream, index, plans[0], geometry, skip)
    from concurrent.futures import ThreadPoolExecutor

    def on_own_container(runs: list[seek.Run]):
        try:
            own = open_pyav(path)
        except VideoError:  # e.g. out of file handles: refused, so the caller decodes it all
            return None, 0
        with own:
            own_stream = own.streams.video[0]
            own_stream.thread_type = stream.thread_type
            own_stream.codec_context.thread_count = 1  # the plans side by side are the parallelism
            return pyav_runs(own, own_stream, index, runs, geometry, skip)

    with ThreadPoolExecutor(len(plans) - 1, thread_name_prefix="pyav-plan") as pool:
        others = [pool.submit(on_own_container, runs) for runs in plans[1:]]
        results = [pyav_runs(container, stream, index, plans[0], geometry, skip)]
        results += [future.result() for future in others]
    decoded = sum(count for _, count in results)
    if any(kept is None for kept, _ in results):
        return None, decoded
    return {i: frame for kept, _ in results for i, frame in kept.items()}, decoded


# At most this many plans of one video side by side: each holds a container and a decoder with its
# reference frames (and fps sampling on a long video could otherwise ask for one plan per keyframe).
MAX_PLANS = 8

# thread_type while skipping: slice threads only (one thread on x264's one-slice pictures), no frame threads.
# benchmarks/bench_frames_skip.py on this 2-core machine, work.process per video, best of 7 (median):
# 20 s clips 0.382 s (0.469) SLICE vs 0.498 s (0.552) AUTO, CPU 0.447 vs 0.532 s; 10-min clip 1.261 s
# (1.554) vs 1.474 s (1.851). Only when other processes loaded both cores did AUTO's wall time come out
# lower (it takes more of the shared CPU). Skipping works per packet with frame threads too (pthread_frame.c
# copies skip_frame on every submit_packet): AUTO decodes the same frames.
SKIP_THREADS = "SLICE"


def land(container, stream, run: seek.Run):
    """Seek for ``run``: ``(the packet iterator, its first packet)`` once a seek lands on a keyframe at or
    before the run's keyframe, trying ``run.offsets`` in turn; None when none does."""
    import av

    for offset in run.offsets:
        try:
            container.seek(offset, stream=stream, backward=True, any_frame=False)
            packets = container.demux(stream)
            first = next(packets, None)
        except av.error.FFmpegError:
            return None
        if first is not None and first.pts is not None and first.is_keyframe and first.pts <= run.key_pts:
            return packets, first
    return None


def decode_pyav(
    path: str,
    sampling: Sampling,
    start: float | None = None,
    end: float | None = None,
    geometry: Geometry = None,
    sparse: bool | None = None,
    nonref: bool = True,
    threads: int = 1,
) -> DecodedVideo:
    """PyAV decoder, the reference (see the module docstring). ``sparse``: None decides from the index
    (:func:`curate.frames.seek.untrusted`, then :func:`curate.frames.seek.plan`'s runs — one run from the
    first packet is a sequential decode that stops after the last sampled frame); False always decodes the
    whole stream counting frames (the reference); True is None but for tests, which ask for a seek per
    GOP (``seek_cost`` 0) to exercise seeking on small clips. ``nonref``: on a trusted index, skip the
    unwanted frames nothing references (:func:`pyav_runs`, where
    :func:`~curate.frames.decoders.nonref.packet_format` allows; False: decode
    every frame of the runs, for comparisons). ``threads``: on a trusted index, the sampled frames are
    decoded as up to this many plans (at most :data:`MAX_PLANS`) side by side
    (:func:`curate.frames.seek.split`, :func:`pyav_plans`)."""
    from curate.probe import read_index

    spent = 0
    with open_pyav(path) as container:
        stream = container.streams.video[0]
        fps, claimed = pyav_rate(container, stream)
        if sparse is not False:
            form = packet_format(stream) if nonref else None
            skip = form if isinstance(form, PacketFormat) else None
            stream.thread_type = SKIP_THREADS if skip is not None else "AUTO"
            index = read_index(container)
            spent = 1  # read_index decodes the first frame (for its rotation)
            if seek.untrusted(index) is None:
                timestamps = index.timestamps
                rate = measured_fps(index.fps, timestamps)
                indices = choose(timestamps, rate, sampling, start, end)
                parts = min(threads, MAX_PLANS)
                plans = seek.split(index, indices, parts, seek_cost=0 if sparse else seek.SEEK_COST)
                kept, decoded = pyav_plans(path, container, stream, index, plans, geometry, skip)
                spent += decoded  # a refused attempt's frames were decoded too
                if kept is not None:
                    size = shown_size(stream.codec_context.height, stream.codec_context.width, index.rotation)
                    return result("pyav", timestamps, rate, indices, kept, index.last_duration, size, spent)
    errors: list[str] = []
    info: dict = {"decoded": spent}

    def one_pass(wanted: set[int], count_all: bool) -> tuple[list[float], dict[int, np.ndarray]]:
        return pyav_pass(path, wanted, count_all, fps, errors, info, geometry)

    try:
        timestamps, fps, indices, kept = sample(one_pass, claimed, fps, sampling, start, end)
    except VideoError as exc:
        if exc.reason == "zero_frames" and errors:
            raise VideoError(errors[0], "no frame decoded; first decoder error") from None
        raise
    size = info.get("size")
    return result("pyav", timestamps, fps, indices, kept, info.get("last_frame", 0.0), size, info["decoded"])


def shown_size(height: int, width: int, rotation: float) -> tuple[int, int]:
    """``(height, width)`` of a stored frame as shown (swapped by a ±90° display rotation)."""
    return (width, height) if int(round(rotation / 90)) % 2 else (height, width)


def reference(
    path: str, indices: list[int], geometry: Geometry = None, full: dict[int, np.ndarray] | None = None
) -> tuple[list[float], dict[int, np.ndarray]]:
    """The reference decode (PyAV, whole stream, presentation order): every frame's timestamp and the frames
    at ``indices`` (those past the end are absent), scaled to ``geometry`` in the decoder when given (and
    into ``full``, when given, also at full size). What ``curate verify --decode`` compares shards with."""
    path = os.fspath(path)
    check_file(path)
    with open_pyav(path) as container:
        fps, _ = pyav_rate(container, container.streams.video[0])
    return pyav_pass(path, set(indices), True, fps, [], None, geometry, full)


def pyav_index(path: str):
    """:func:`curate.probe.read_index` of ``path`` (packets demuxed with PyAV, only the first frame decoded)."""
    from curate.probe import read_index

    with open_pyav(path) as container:
        return read_index(container)
