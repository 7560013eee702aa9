"""Open videos to check they are usable and read their duration (PyAV, bundled FFmpeg).

:func:`probe_video` never raises: it returns a :class:`Probe` whose ``error`` says why the file cannot
be used, with the details in ``detail``: ``video_missing``, ``video_not_a_file`` (a directory, a FIFO …),
``video_symlink_loop`` or ``video_unreadable`` (from :func:`curate.video_paths.classify`, which only
stats the path), else ``video_unreadable`` with the decoder's message. A video is usable when it is a
regular file, its container opens, it has a video stream and a frame decodes.

The duration is the one ``curate extract-frames`` stores: :func:`curate.frames.sampling.duration` of the
stream's presentation times (last presentation time + the last frame's duration), never the container's header
(an MPEG elementary stream's header duration is a guess from its bitrate, an AVI's counts dropped frames
as frames). The presentation times come from :func:`read_index`, which demuxes every packet of the video
stream (no decoding past the first frame), so probing reads the whole file once.

:func:`probe_many` probes each distinct path once, in parallel threads (FFmpeg releases the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from curate.frames.sampling import duration as frames_duration
from curate.video_paths import classify


@dataclass(frozen=True)
class Probe:
    path: str
    duration: float | None = None
    error: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class StreamIndex:
    """What demuxing a video stream's packets says about it, without decoding (but the first frame).

    - ``format``: the container format's name as FFmpeg gives it (``mov,mp4,m4a,3gp,3g2,mj2``, ``avi``,
      ``mpeg``, ``mpegts``, ``mpegvideo`` …);
    - ``fps``: the stream's average frame rate (0 when unknown);
    - ``timestamps``: the presentation times (seconds from the stream's start, sorted) of the packets that
      hold a frame — non-empty and not marked *discard* — or None when such a packet has no pts;
    - ``last_duration``: the container's duration (seconds) of the packet with the largest pts, 0 unknown;
    - ``packets``: how many such packets; ``discarded``: packets the container marks discard (an mp4 edit
      list cutting frames away: FFmpeg decodes them but never outputs them);
    - ``unique_pts``: no two packets share a pts;
    - ``closed_keyframes``: every keyframe's position in decode order equals its position in presentation
      order (false for open GOPs — MPEG-2, MPEG-4 Part 2 and HEVC with leading B-frames);
    - ``reorders``: the decoder reorders frames (B-frames: ``has_b_frames`` after the first frame);
    - ``rotation``: the first frame's display rotation (degrees counter-clockwise); ``first_frame``: a
      frame decoded; ``errors``: the demuxer's and decoder's messages on the way;
    - ``codec``: the stream's codec name; ``packet_pts`` / ``packet_dts``: each counted packet's pts / dts in
      decode order (stream time base ``time_base``, start ``start_pts``); ``keyframes``: the decode positions
      (into ``packet_pts``) of packets marked keyframe — what sparse decoding plans its seeks from.
    """

    format: str
    fps: float
    timestamps: list[float] | None
    last_duration: float
    packets: int
    discarded: int
    unique_pts: bool
    closed_keyframes: bool
    reorders: bool
    rotation: float
    first_frame: bool
    errors: list[str] = field(default_factory=list)
    codec: str = ""
    packet_pts: list[int | None] = field(default_factory=list)
    packet_dts: list[int | None] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)
    time_base: object = None
    start_pts: int | None = None


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def read_index(container) -> StreamIndex:
    """Demux the first video stream of an open PyAV ``container`` (see :class:`StreamIndex`)."""
    import av

    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    time_base, start = stream.time_base, stream.start_time
    pts: list[int | None] = []
    dts: list[int | None] = []
    durations: dict[int, int] = {}  # pts → the packet's duration
    keys: list[int] = []  # decode positions (among pts) of keyframes
    discarded = 0
    first = None
    errors: list[str] = []
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as exc:  # a damaged file: keep what was read
            errors.append(_message(exc))
            break
        if first is None:
            try:
                first = next(iter(stream.decode(packet)), None)
            except av.error.FFmpegError as exc:
                errors.append(_message(exc))
        if not packet.size:
            continue
        if getattr(packet, "is_discard", False):
            discarded += 1
            continue
        if packet.is_keyframe:
            keys.append(len(pts))
        pts.append(packet.pts)
        dts.append(packet.dts)
        if packet.pts is not None and packet.duration:
            durations[packet.pts] = packet.duration
    if first is None:
        try:
            first = next(iter(stream.decode(None)), None)  # a decoder that holds frames back until flushed
        except av.error.FFmpegError as exc:
            errors.append(_message(exc))
    reorders = bool(getattr(stream.codec_context, "has_b_frames", False))
    rotation = float(getattr(first, "rotation", 0) or 0) if first is not None else 0.0
    known = [p for p in pts if p is not None]
    timestamps = None
    last_duration = float(durations.get(max(known), 0) * time_base) if known and time_base is not None else 0.0
    closed = unique = True
    if pts and len(known) == len(pts) and time_base is not None:
        base = min(known) if start is None else start
        ordered = sorted(known)
        timestamps = [float((p - base) * time_base) for p in ordered]
        unique = len(set(known)) == len(known)
        rank = {p: i for i, p in enumerate(ordered)}
        closed = all(rank[pts[k]] == k for k in keys)
    return StreamIndex(
        format=container.format.name,
        fps=fps,
        timestamps=timestamps,
        last_duration=last_duration,
        packets=len(pts),
        discarded=discarded,
        unique_pts=unique,
        closed_keyframes=closed,
        reorders=reorders,
        rotation=rotation,
        first_frame=first is not None,
        errors=errors,
        codec=getattr(stream.codec_context.codec, "canonical_name", "") or stream.codec_context.name or "",
        packet_pts=pts,
        packet_dts=dts,
        keyframes=keys,
        time_base=time_base,
        start_pts=start,
    )


def probe_video(path: str) -> Probe:
    """Probe one file; see the module docstring for what counts as usable and how long it is."""
    import av  # imported here: filtering without videos must not pay for it

    found = classify(path)  # stat only: a FIFO is never opened
    if found.reason:
        return Probe(path, error=f"video_{found.reason}", detail=found.detail)
    try:
        with av.open(path) as container:
            if not container.streams.video:
                return Probe(path, error="video_unreadable", detail="no video stream")
            index = read_index(container)
    except Exception as exc:  # PyAV raises FFmpeg errors of many types; each is the video's fault
        return Probe(path, error="video_unreadable", detail=_message(exc))
    if not index.first_frame:
        detail = "no frame decodes" + (f" ({index.errors[0]})" if index.errors else "")
        return Probe(path, error="video_unreadable", detail=detail)
    if index.timestamps is None:  # packets without pts (some elementary streams): count them at the rate
        seconds = index.packets / index.fps if index.fps > 0 else None
        return Probe(path, duration=seconds)
    return Probe(path, duration=frames_duration(index.timestamps, index.fps, index.last_duration))


def probe_many(
    paths: Iterable[str], workers: int | None = None, on_done: Callable[[], None] | None = None
) -> dict[str, Probe]:
    """Probe each distinct path once, ``workers`` at a time (default: CPU count)."""
    unique = list(dict.fromkeys(paths))
    results: dict[str, Probe] = {}
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for probe in pool.map(probe_video, unique):
            results[probe.path] = probe
            if on_done is not None:
                on_done()
    return results
