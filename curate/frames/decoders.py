"""Decode a video once and keep the sampled frames: decord, PyAV or the ffmpeg CLI.

:func:`decode` returns a :class:`DecodedVideo` or raises :class:`VideoError` whose ``reason`` is one of
``missing`` (no such file), ``unreadable`` (empty, not a container, no index), ``no_video_stream``,
``zero_frames`` (a video stream with no frame in it) or, for other failures (every packet rejected by the
decoder, a decoder that cannot handle the file), the decoder's own one-line message. Every decoder returns
the same :class:`DecodedVideo` for the same file:

- **frames**: uint8 HWC RGB (``rgb24`` from libswscale's unscaled YUV→RGB path, the conversion all three
  use by default, so the pixels are bit-identical), display rotation applied as ``np.rot90(frame, k)``,
  ``k = round(rotation / 90) mod 4`` where ``rotation`` is the display matrix's counter-clockwise angle
  (what ``ffmpeg`` does when it autorotates);
- **timestamps**: ``(pts − stream start) · time_base`` seconds, the frame's real presentation time
  (decord's own convention), so variable-frame-rate clips keep their uneven spacing;
- **num_frames_decoded**: frames counted while reading the stream, never the container's claim;
- **fps**: the stream's average frame rate (``avg_frame_rate``), else ``(n − 1) / (t_last − t_first)``;
- **duration**: ``num_frames_decoded / fps`` (what was decoded, not what the header says);
- **indices**: ``sampling.choose(timestamps, fps, sampling, start, end)``.

How each decoder counts and converts:

- ``pyav`` decodes sequentially, counting every frame (no RGB conversion) and keeping its timestamp. The
  indices depend on the count, so it *plans* them from the container's claim (``frames``, else
  duration × fps, timestamps ``i / fps``), converts the planned frames while decoding, then re-chooses
  with the true timestamps; when a chosen frame was not converted (the container over- or under-reported,
  or VFR moved the window) a second pass converts exactly those and stops after the last (rare). A packet
  the decoder rejects is skipped, as the ffmpeg CLI does, so a file cut short keeps its good frames.
- ``decord`` (``VideoReader`` + ``get_batch`` of the chosen frames): its count is the packet index it
  builds when opening (``GetFramePTS``: every packet read, not the header); when that disagrees with
  ``len(reader)`` (the header) decord cannot reach every frame, so it refuses. decord's timestamps are
  float32, which moves frames across a window's edges (1.2 s becomes 1.2000000477 s), so the exact ones
  come from demuxing the file with PyAV (packets only, no decoding; their count must equal decord's).
  decord 0.6 rotates 180° itself but cannot decode 90°/270° display matrices (it crashes on a size
  mismatch), so those are refused; the rotation is read from the first frame PyAV decodes.
- ``ffmpeg`` (ffmpeg-python over the CLI): ``ffprobe`` for the stream, then
  ``ffmpeg -copyts -i PATH -filter_complex [0:v:0]showinfo[s0] -map [s0] -f rawvideo -fps_mode passthrough
  -pix_fmt rgb24 pipe:`` (``-vsync`` before ffmpeg 5.1), which autorotates; frames are read from the pipe
  one at a time (every frame is converted by the CLI, only the chosen ones are kept), timestamps come from
  ``showinfo``'s pts; the same plan / second pass as PyAV.
  The CLI's own messages do not say which packet failed, so a stream yielding no frame is ``zero_frames``
  with ffmpeg's last lines as the detail.
- ``auto`` tries decord and falls back to PyAV on any failure (AV1, VP9 in decord's FFmpeg 4.1, rotated
  or damaged files); when both fail, PyAV's reason is the one reported.
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

from curate.frames.sampling import Sampling, choose

DECODERS = ("auto", "decord", "pyav", "ffmpeg")
REASONS = ("missing", "unreadable", "no_video_stream", "zero_frames")


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
    decoder: str, timestamps: list[float], fps: float, indices: list[int], kept: dict[int, np.ndarray]
) -> DecodedVideo:
    frames = [kept[i] for i in indices]
    n = len(timestamps)
    height, width = frames[0].shape[:2]
    return DecodedVideo(
        frames=frames,
        indices=list(indices),
        timestamps=[timestamps[i] for i in indices],
        num_frames_decoded=n,
        fps=float(fps),
        duration=n / fps if fps > 0 else 0.0,
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


def pyav_frames(container, stream, errors: list[str]) -> Iterator:
    """Decoded frames in order; a packet the demuxer or decoder rejects is noted in ``errors`` and skipped."""
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


def decode_pyav(path: str, sampling: Sampling, start: float | None = None, end: float | None = None) -> DecodedVideo:
    """PyAV decoder (see the module docstring)."""
    with open_pyav(path) as container:
        fps, claimed = pyav_rate(container, container.streams.video[0])
    errors: list[str] = []

    def one_pass(wanted: set[int], count_all: bool) -> tuple[list[float], dict[int, np.ndarray]]:
        timestamps: list[float] = []
        kept: dict[int, np.ndarray] = {}
        last = max(wanted, default=-1)
        with open_pyav(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            base, time_base = stream.start_time, stream.time_base
            for frame in pyav_frames(container, stream, errors):
                if frame.pts is not None and time_base is not None:
                    base = frame.pts if base is None else base
                    timestamps.append(float((frame.pts - base) * time_base))
                else:
                    timestamps.append(timestamps[-1] + 1 / (fps or 1.0) if timestamps else 0.0)
                index = len(timestamps) - 1
                if index in wanted:
                    kept[index] = rotate(frame.to_ndarray(format="rgb24"), getattr(frame, "rotation", 0) or 0)
                if not count_all and index >= last:
                    break
        return timestamps, kept

    try:
        timestamps, fps, indices, kept = sample(one_pass, claimed, fps, sampling, start, end)
    except VideoError as exc:
        if exc.reason == "zero_frames" and errors:
            raise VideoError(errors[0], "no frame decoded; first decoder error") from None
        raise
    return result("pyav", timestamps, fps, indices, kept)


def pyav_index(path: str) -> tuple[float, list[float] | None]:
    """(display rotation of the first frame, every packet's exact timestamp in presentation order) by demuxing
    with PyAV, decoding only until the first frame; timestamps are None when a packet has no pts."""
    import av

    with open_pyav(path) as container:
        stream = container.streams.video[0]
        base, time_base = stream.start_time, stream.time_base
        pts: list[int | None] = []
        first = None
        for packet in container.demux(stream):
            if first is None:
                try:
                    first = next(iter(stream.decode(packet)), None)
                except av.error.FFmpegError:
                    pass
            if packet.size:
                pts.append(packet.pts)
    rotation = float(getattr(first, "rotation", 0) or 0) if first is not None else 0.0
    if not pts or None in pts or time_base is None:
        return rotation, None
    base = min(pts) if base is None else base
    return rotation, [float((p - base) * time_base) for p in sorted(pts)]


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
        rotation, exact = pyav_index(path)
    except VideoError:
        rotation, exact = 0.0, None
    if int(round(rotation / 90)) % 2:
        raise VideoError("decord_rotation", f"decord 0.6 cannot decode a {rotation:g}° display rotation")
    try:
        reader = decord.VideoReader(path, ctx=decord.cpu(0))
    except RuntimeError as exc:  # decord's "Error reading <path>": the container does not open
        raise VideoError("unreadable", message(exc)) from None
    except Exception as exc:
        raise VideoError(decord_message(exc)) from None
    try:
        pts = _CAPI_VideoReaderGetFramePTS(reader._handle).asnumpy()
        if not len(pts):
            raise VideoError("zero_frames", "decord indexed no frames")
        if len(pts) != len(reader):
            raise VideoError("decord_count", f"header claims {len(reader)} frames, index holds {len(pts)}")
        if exact is not None and len(exact) != len(pts):
            raise VideoError("decord_count", f"decord indexed {len(pts)} frames, the demuxer {len(exact)}")
        timestamps = exact if exact is not None else [float(t) for t in pts[:, 0]]
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
    return result("decord", timestamps, fps, indices, kept)


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
        return times, kept

    try:
        timestamps, fps, indices, kept = sample(one_pass, claimed, fps, sampling, start, end)
    except VideoError as exc:
        if exc.reason == "zero_frames" and errors:
            raise VideoError("zero_frames", f"ffmpeg: {errors[0]}") from None
        raise
    return result("ffmpeg", timestamps, fps, indices, kept)
