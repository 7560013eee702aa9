"""Decode a video once and keep the sampled frames: decord, PyAV or the ffmpeg CLI.

:func:`decode` returns a :class:`DecodedVideo` or raises :class:`VideoError` whose ``reason`` is one of
``missing`` (no such file), ``unreadable`` (empty, not a container, no index), ``no_video_stream``,
``zero_frames`` (a video stream with no frame in it), ``decord_untrusted`` / ``decord_rotation`` /
``decord_count`` (decord would not return the right frames, see below) or, for other failures (every
packet rejected by the decoder, a decoder that cannot handle the file), the decoder's own one-line message.

**The reference.** Frame ``i`` of a video is the ``i``-th frame FFmpeg's decoder outputs when the whole
stream is decoded from the start (decode order in, presentation order out) — what PyAV's sequential
decode and ``ffmpeg -i V -fps_mode passthrough`` give. Its timestamp is the ``i``-th smallest of the
frames' presentation timestamps: the pts are sorted, so timestamps never decrease even where the
container stores none and FFmpeg guesses them in decode order (an AVI with B-frames). Every decoder
returns, at each stored index, the reference's frame and timestamp, or refuses the video:

- **frames**: uint8 HWC RGB (``rgb24`` from libswscale's unscaled YUV→RGB path, the conversion all three
  use by default, so the pixels are bit-identical where the three libavcodec builds decode alike — decord
  bundles FFmpeg 4.1, PyAV its own, the CLI is the system's; some MPEG-4 Part 2 B-frame streams decode
  a few levels apart between builds, PSNR 80–92 dB), display rotation applied as ``np.rot90(frame, k)``,
  ``k = round(rotation / 90) mod 4`` where ``rotation`` is the display matrix's counter-clockwise angle
  (what ``ffmpeg`` does when it autorotates);
- **timestamps**: ``(pts − stream start) · time_base`` seconds, sorted (see above), so variable-frame-rate
  clips keep their uneven spacing;
- **num_frames_decoded**: frames counted while reading the stream, never the container's claim;
- **fps**: the stream's average frame rate (``avg_frame_rate``), else ``(n − 1) / (t_last − t_first)``;
- **duration**: :func:`curate.frames.sampling.duration` — last presentation time + the last frame's
  duration (its packet's, else the gap before it; what was decoded, not what the header says;
  ``curate filter --probe`` uses the same function and the same demuxer);
- **indices**: ``sampling.choose(timestamps, fps, sampling, start, end)`` (uniform: even in frame index;
  fps: even in presentation time).

How each decoder counts and converts, and what it is trusted for:

- ``pyav`` *is* the reference: it decodes sequentially, counting every frame (no RGB conversion) and
  keeping its pts. The indices depend on the count, so it *plans* them from the container's claim
  (``frames``, else duration × fps, timestamps ``i / fps``), converts the planned frames while decoding,
  then re-chooses with the true timestamps; when a chosen frame was not converted (the container over- or
  under-reported, or VFR moved the window) a second pass converts exactly those and stops after the last
  (rare). A packet the decoder rejects is skipped, as the ffmpeg CLI does, so a file cut short keeps its
  good frames. Trusted for every file PyAV opens.
- ``ffmpeg`` (ffmpeg-python over the CLI): ``ffprobe`` for the stream, then
  ``ffmpeg -copyts -i PATH -filter_complex [0:v:0]showinfo[s0] -map [s0] -f rawvideo -fps_mode passthrough
  -pix_fmt rgb24 pipe:`` (``-vsync`` before ffmpeg 5.1), which autorotates; frames are read from the pipe
  one at a time (every frame is converted by the CLI, only the chosen ones are kept). Timestamps are the
  sorted pts of the packets PyAV demuxes (:func:`curate.probe.read_index`) when there are as many as
  frames piped — where the container stores no pts (AVI, elementary streams) FFmpeg guesses them, and
  the CLI's FFmpeg may guess differently from PyAV's, so one demuxer decides for every decoder — else
  the sorted ``showinfo`` pts (the CLI's best-effort timestamps); the same plan / second pass as PyAV.
  The CLI's own messages do not say which packet failed, so a stream yielding no frame is ``zero_frames``
  with ffmpeg's last lines as the detail.
  Trusted for every file; its frames equal PyAV's except where the two libavcodec builds differ.
- ``decord`` (``VideoReader`` + ``get_batch`` of the chosen frames) seeks: it jumps to the keyframe it
  believes precedes a frame and counts frames from there, with keyframe positions taken in *decode*
  order and frame positions in *presentation* order, and with ``av_seek_frame`` by timestamp. That is
  right only where the container has an exact seek index and decode and presentation order agree at
  every keyframe; elsewhere it returns a neighbouring frame (PSNR 8–28 dB against the reference). So
  before decoding, the file is demuxed with PyAV (:func:`curate.probe.read_index`, packets only) and
  decord is refused (``decord_untrusted``, naming the rule) unless all of these hold:
  the container is mp4/mov, Matroska/WebM, FLV or AVI (not MPEG program/transport streams, elementary
  streams or anything else); every packet has a pts and no two share one; no packet is marked discard
  (an mp4 edit list cutting frames: decord would return them); every keyframe is at the same position
  in decode and presentation order (closed GOPs: not MPEG-2/MPEG-4 Part 2 with leading B-frames); and in
  AVI, which stores no presentation times, the stream does not reorder frames (no B-frames).
  Its count is the packet index it builds when opening (``GetFramePTS``: every packet read, not the
  header); when that disagrees with ``len(reader)`` (the header) or with PyAV's packet count, or its
  timestamps with PyAV's, decord cannot reach every frame, so it refuses (``decord_count``). decord's
  timestamps are float32, which moves frames across a window's edges (1.2 s becomes 1.2000000477 s), so
  the exact ones come from PyAV's demux. decord 0.6 rotates 180° itself but cannot decode 90°/270° display
  matrices (it crashes on a size mismatch), so those are refused (``decord_rotation``).
- ``auto`` tries decord and falls back to PyAV on any refusal or failure (AV1, VP9 in decord's FFmpeg
  4.1, rotated, damaged or untrusted files); when both fail, PyAV's reason is the one reported. So
  ``auto`` always returns the reference's frames; a forced ``--decoder decord`` rejects what it cannot
  decode right instead of storing wrong frames.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from curate.frames.sampling import Sampling, choose, duration

DECODERS = ("auto", "decord", "pyav", "ffmpeg")
REASONS = ("missing", "unreadable", "no_video_stream", "zero_frames")
# Containers whose seek index decord 0.6 uses exactly (see the module docstring); AVI only without B-frames.
DECORD_FORMATS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "flv", "avi")


class VideoError(Exception):
    """A video that cannot be used: ``reason`` (one of :data:`REASONS`, or the decoder's message) and
    ``detail`` (the decoder's words, for the rejects table)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class DecodedVideo:
    """The sampled frames of one video and what was learnt while decoding it (see the module docstring)."""

    frames: list[np.ndarray]  # a repeated index repeats the same array object
    indices: list[int]
    timestamps: list[float]
    num_frames_decoded: int
    fps: float
    duration: float
    height: int
    width: int
    decoder: str


# One pass over a video: given the indices to convert, every frame's timestamp and {index: RGB frame}.
Pass = Callable[[set[int], bool], tuple[list[float], dict[int, np.ndarray]]]


def decode(
    path: str,
    sampling: Sampling,
    start: float | None = None,
    end: float | None = None,
    decoder: str = "auto",
) -> DecodedVideo:
    """Decode ``path`` with ``decoder`` and keep the frames ``sampling`` chooses inside [start, end]."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
    path = os.fspath(path)
    check_file(path)
    if decoder == "decord":
        return decode_decord(path, sampling, start, end)
    if decoder == "pyav":
        return decode_pyav(path, sampling, start, end)
    if decoder == "ffmpeg":
        return decode_ffmpeg(path, sampling, start, end)
    try:
        return decode_decord(path, sampling, start, end)
    except Exception:  # decord fails on many valid files (AV1, rotation, damage): PyAV has the last word
        return decode_pyav(path, sampling, start, end)


def check_decoder(decoder: str) -> None:
    """ValueError (a user's mistake, before any video is read) when ``decoder`` cannot run here: unknown
    name, decord or PyAV not importable, or the ``ffmpeg``/``ffprobe`` CLI not on PATH. ``auto`` needs PyAV."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
    import importlib.util
    import shutil

    modules = {"auto": ["av"], "decord": ["decord", "av"], "pyav": ["av"], "ffmpeg": ["ffmpeg"]}[decoder]
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise ValueError(f"decoder {decoder!r} needs the Python package {module!r}, which is not installed")
    if decoder == "ffmpeg":
        for tool in ("ffmpeg", "ffprobe"):
            if shutil.which(tool) is None:
                raise ValueError(f"decoder 'ffmpeg' needs the {tool} command on PATH")


def check_file(path: str) -> None:
    """``missing`` when ``path`` is not a file, ``unreadable`` when it is empty."""
    if not os.path.isfile(path):
        raise VideoError("missing", f"no such file: {path}")
    if os.path.getsize(path) == 0:
        raise VideoError("unreadable", "empty file (0 bytes)")


def message(exc: BaseException | str) -> str:
    """The first line of an exception's (or a string's) text, its type name when empty; at most 200 characters."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


DECORD_PREFIX = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ")


def decord_message(exc: BaseException) -> str:
    """decord's message without its ``[hh:mm:ss] file.cc:line:`` prefixes, as ``decord: ...``."""
    return "decord: " + message(DECORD_PREFIX.sub("", str(exc)).strip() or type(exc).__name__)


def rotate(frame: np.ndarray, rotation: float) -> np.ndarray:
    """Apply a display matrix's counter-clockwise ``rotation`` (degrees) as ffmpeg's autorotate does."""
    k = int(round(rotation / 90)) % 4
    return np.ascontiguousarray(np.rot90(frame, k)) if k else frame


# ---------------------------------------------------------------------------------------------- shared


def plan(claimed: int, fps: float, sampling: Sampling, start: float | None, end: float | None) -> set[int]:
    """The indices :func:`choose` would pick if the container's claim (``claimed`` frames at ``fps``) held."""
    rate = fps if fps > 0 else 1.0
    return set(choose([i / rate for i in range(max(claimed, 0))], rate, sampling, start, end))


def measured_fps(rate: float, timestamps: list[float]) -> float:
    """The stream's average rate when known, else ``(n − 1) / (t_last − t_first)``, else 0."""
    if rate and rate > 0:
        return float(rate)
    span = timestamps[-1] - timestamps[0] if len(timestamps) > 1 else 0.0
    return (len(timestamps) - 1) / span if span > 0 else 0.0


def sample(
    one_pass: Pass, claimed: int, rate: float, sampling: Sampling, start: float | None, end: float | None
) -> tuple[list[float], float, list[int], dict[int, np.ndarray]]:
    """Plan from the claim, decode once counting, re-choose with the truth, second pass if a frame is missing.

    ``one_pass(wanted, count_all)`` converts the ``wanted`` frames; with ``count_all`` false it may stop after
    the last wanted one. Returns (all timestamps, fps, chosen indices, {index: frame}).
    """
    timestamps, kept = one_pass(plan(claimed, rate, sampling, start, end), True)
    if not timestamps:
        raise VideoError("zero_frames", "the video stream decoded to no frames")
    fps = measured_fps(rate, timestamps)
    indices = choose(timestamps, fps, sampling, start, end)
    missing = set(indices) - kept.keys()
    if missing:
        _, more = one_pass(missing, False)
        kept.update(more)
        if set(indices) - kept.keys():
            raise VideoError("unstable_decode", "a second pass decoded fewer frames than the first")
    return timestamps, fps, indices, kept


def result(
    decoder: str,
    timestamps: list[float],
    fps: float,
    indices: list[int],
    kept: dict[int, np.ndarray],
    last_frame: float = 0.0,
) -> DecodedVideo:
    """The :class:`DecodedVideo`; ``last_frame``: the last frame's own duration in seconds (0: unknown)."""
    frames = [kept[i] for i in indices]
    n = len(timestamps)
    height, width = frames[0].shape[:2]
    return DecodedVideo(
        frames=frames,
        indices=list(indices),
        timestamps=[timestamps[i] for i in indices],
        num_frames_decoded=n,
        fps=float(fps),
        duration=duration(timestamps, fps, last_frame),
        height=int(height),
        width=int(width),
        decoder=decoder,
    )


# ------------------------------------------------------------------------------------------------ PyAV


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


def pyav_pass(
    path: str, wanted: set[int], count_all: bool, fps: float, errors: list[str], info: dict | None = None
) -> tuple[list[float], dict[int, np.ndarray]]:
    """One sequential PyAV decode of ``path``: every frame's timestamp (sorted; see the module docstring) and
    the ``wanted`` frames as RGB (rotation applied). With ``count_all`` false it stops after the last wanted
    frame (the timestamps then cover only the frames read). Decoder errors go to ``errors``; with
    ``count_all``, ``info["last_frame"]`` is set to the last frame's packet duration in seconds (0: unknown)."""
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
            if index in wanted:
                kept[index] = rotate(frame.to_ndarray(format="rgb24"), getattr(frame, "rotation", 0) or 0)
            if not count_all and index >= last:
                break
    known = [p for p in raw if p is not None]
    if info is not None and count_all:
        last_pts = max(known, default=None)
        ticks = durations.get(last_pts, 0) if last_pts is not None else 0
        info["last_frame"] = float(ticks * time_base) if time_base is not None else 0.0
    return presentation_times(raw, base, time_base, fps), kept


def decode_pyav(path: str, sampling: Sampling, start: float | None = None, end: float | None = None) -> DecodedVideo:
    """PyAV decoder, the reference (see the module docstring)."""
    with open_pyav(path) as container:
        fps, claimed = pyav_rate(container, container.streams.video[0])
    errors: list[str] = []
    info: dict = {}

    def one_pass(wanted: set[int], count_all: bool) -> tuple[list[float], dict[int, np.ndarray]]:
        return pyav_pass(path, wanted, count_all, fps, errors, info)

    try:
        timestamps, fps, indices, kept = sample(one_pass, claimed, fps, sampling, start, end)
    except VideoError as exc:
        if exc.reason == "zero_frames" and errors:
            raise VideoError(errors[0], "no frame decoded; first decoder error") from None
        raise
    return result("pyav", timestamps, fps, indices, kept, info.get("last_frame", 0.0))


def reference(path: str, indices: list[int]) -> tuple[list[float], dict[int, np.ndarray]]:
    """The reference decode (PyAV, whole stream, presentation order): every frame's timestamp and the frames
    at ``indices`` (those past the end are absent). What ``curate verify --decode`` compares shards with."""
    path = os.fspath(path)
    check_file(path)
    with open_pyav(path) as container:
        fps, _ = pyav_rate(container, container.streams.video[0])
    return pyav_pass(path, set(indices), True, fps, [])


def pyav_index(path: str):
    """:func:`curate.probe.read_index` of ``path`` (packets demuxed with PyAV, only the first frame decoded)."""
    from curate.probe import read_index

    with open_pyav(path) as container:
        return read_index(container)


def decord_distrust(index) -> str | None:
    """Why decord 0.6 would return other frames than the reference for a stream with this
    :class:`curate.probe.StreamIndex`, or None when nothing says so (the rules of the module docstring)."""
    if index.format not in DECORD_FORMATS:
        return f"decord seeks inexactly in {index.format!r} files (no exact seek index)"
    if index.timestamps is None:
        return "packets without presentation timestamps"
    if not index.unique_pts:
        return "packets share presentation timestamps"
    if index.discarded:
        return f"{index.discarded} packets marked discard (edit list), which decord would return as frames"
    if not index.closed_keyframes:
        return "open GOP: a keyframe's decode position differs from its presentation position"
    if index.format == "avi" and index.reorders:
        return "AVI with B-frames: no presentation timestamps stored, frames reordered"
    return None


# ---------------------------------------------------------------------------------------------- decord


def decode_decord(path: str, sampling: Sampling, start: float | None = None, end: float | None = None) -> DecodedVideo:
    """decord decoder (see the module docstring); raises :class:`VideoError` where decord cannot be trusted."""
    try:
        import decord
        from decord.video_reader import _CAPI_VideoReaderGetFramePTS
    except ImportError as exc:
        raise VideoError("decord_unavailable", message(exc)) from None
    decord.logging.set_level(decord.logging.QUIET)  # its FFmpeg's console noise; failures raise anyway
    try:
        index, unindexed = pyav_index(path), None
    except VideoError as exc:  # decord's own message comes first (it may not open the file either)
        index, unindexed = None, exc
    if index is not None and int(round(index.rotation / 90)) % 2:
        raise VideoError("decord_rotation", f"decord 0.6 cannot decode a {index.rotation:g}° display rotation")
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0))
    except RuntimeError as exc:  # decord's "Error reading <path>": the container does not open
        raise VideoError("unreadable", message(exc)) from None
    except Exception as exc:
        raise VideoError(decord_message(exc)) from None
    try:
        if unindexed is not None:
            raise VideoError(unindexed.reason, f"{unindexed.detail} (PyAV cannot index it to check decord)")
        distrust = decord_distrust(index)
        if distrust:
            raise VideoError("decord_untrusted", distrust)
        pts = _CAPI_VideoReaderGetFramePTS(reader._handle).asnumpy()
        if not len(pts):
            raise VideoError("zero_frames", "decord indexed no frames")
        if len(pts) != len(reader):
            raise VideoError("decord_count", f"header claims {len(reader)} frames, index holds {len(pts)}")
        timestamps = index.timestamps
        if len(timestamps) != len(pts):
            raise VideoError("decord_count", f"decord indexed {len(pts)} frames, the demuxer {len(timestamps)}")
        exact = np.asarray(timestamps)
        excess = np.abs(pts[:, 0].astype(np.float64) - exact) - 4 * np.finfo(np.float32).eps * np.abs(exact)
        drift = float(np.max(excess))
        if drift > 1e-3:  # float32 rounding allowed for
            raise VideoError("decord_count", f"decord's frame times differ from the demuxer's by {drift:.3g} s")
        fps = measured_fps(reader.get_avg_fps(), timestamps)
        indices = choose(timestamps, fps, sampling, start, end)
        unique = sorted(set(indices))
        batch = reader.get_batch(unique).asnumpy()
    except VideoError:
        raise
    except Exception as exc:
        raise VideoError(decord_message(exc)) from None
    finally:
        del reader
    if batch.ndim != 4 or batch.shape[-1] != 3:
        raise VideoError("decord_shape", f"decord returned frames of shape {batch.shape}")
    kept = {i: np.ascontiguousarray(batch[j]) for j, i in enumerate(unique)}
    return result("decord", timestamps, fps, indices, kept, index.last_duration)


# ---------------------------------------------------------------------------------------------- ffmpeg

SHOWINFO = re.compile(r"Parsed_showinfo.*?\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(\S+)")
TIME_BASE = re.compile(r"Parsed_showinfo.*?config in time_base:\s*(\d+)/(\d+)")


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


def ffmpeg_command(path: str, fps_mode: str) -> list[str]:
    """The CLI call (built with ffmpeg-python) that pipes every frame as rgb24 with ``showinfo`` on stderr."""
    import ffmpeg

    video = ffmpeg.input(path, copyts=None)["v:0"].filter("showinfo")
    out = video.output("pipe:", format="rawvideo", pix_fmt="rgb24", **{fps_mode: "passthrough"})
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", *out.get_args()]  # globals first


def ffmpeg_times(log: str, start_pts: int, time_base: Fraction | None) -> list[float]:
    """Per-frame seconds from ``showinfo`` lines: ``(pts − start_pts) · time_base``."""
    match = TIME_BASE.search(log)
    tb = Fraction(int(match.group(1)), int(match.group(2))) if match else time_base
    times = []
    for _, pts, pts_time in SHOWINFO.findall(log):
        times.append(float((int(pts) - start_pts) * tb) if tb else float(pts_time))
    return times


def decode_ffmpeg(path: str, sampling: Sampling, start: float | None = None, end: float | None = None) -> DecodedVideo:
    """ffmpeg CLI decoder (see the module docstring)."""
    stream = ffmpeg_stream(path)
    try:
        index = pyav_index(path)
        packets, last_frame = index.timestamps or [], index.last_duration
    except VideoError:  # PyAV cannot read it: the CLI's own timestamps
        packets, last_frame = [], 0.0
    height, width = ffmpeg_geometry(stream)
    rate = ratio(stream.get("avg_frame_rate")) or ratio(stream.get("r_frame_rate"))
    fps = float(rate) if rate else 0.0
    time_base = ratio(stream.get("time_base"))
    start_pts = int(stream.get("start_pts") or 0)
    claimed = int(stream.get("nb_frames") or 0)
    duration = stream.get("duration") or stream.get("format_duration")
    if not claimed and duration and fps:
        claimed = round(float(duration) * fps)
    size = height * width * 3
    errors: list[str] = []
    info = {"last_frame": last_frame}

    def one_pass(wanted: set[int], count_all: bool) -> tuple[list[float], dict[int, np.ndarray]]:
        kept: dict[int, np.ndarray] = {}
        last, count = max(wanted, default=-1), 0
        for fps_mode in ("fps_mode", "vsync"):  # -fps_mode since ffmpeg 5.1, -vsync before
            with tempfile.TemporaryFile() as log:
                proc = subprocess.Popen(ffmpeg_command(path, fps_mode), stdout=subprocess.PIPE, stderr=log)
                count = 0
                while count_all or count <= last:
                    data = proc.stdout.read(size)
                    if len(data) < size:
                        break
                    if count in wanted:
                        kept[count] = np.frombuffer(data, np.uint8).reshape(height, width, 3).copy()
                    count += 1
                proc.stdout.close()
                if proc.poll() is None and not count_all:
                    proc.kill()
                code = proc.wait()
                log.seek(0)
                text = log.read().decode("utf-8", "replace")
            if code != 0 and f"Unrecognized option '{fps_mode}'" in text:
                continue
            break
        if code != 0 and count == 0:
            lines = [ln.strip() for ln in text.splitlines() if "showinfo" not in ln and "Conversion failed" not in ln]
            errors.append("; ".join(lines[-2:])[:200] or f"ffmpeg exited with {code}")
        times = ffmpeg_times(text, start_pts, time_base)[:count]
        if count_all and len(times) != count:
            raise VideoError("ffmpeg_showinfo", f"{count} frames piped but {len(times)} timestamps logged")
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
    return result("ffmpeg", timestamps, fps, indices, kept, info["last_frame"])
