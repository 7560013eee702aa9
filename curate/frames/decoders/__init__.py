"""Decode a video once and keep the sampled frames: PyAV, decord, torchcodec or the ffmpeg CLI.

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

- ``pyav`` gives the reference's frames. When the packet index (:func:`curate.probe.read_index`, packets
  demuxed without decoding) can stand for the full decode (:func:`curate.frames.seek.untrusted` says
  nothing against it), frame count and timestamps come from the index and only :func:`curate.frames.seek.plan`'s
  runs are decoded: from the keyframe before each sampled frame forward to it, or one run from the start
  when that is cheaper; inside a run, packets nobody sampled are sent with ``skip_frame`` NONREF, so
  pictures nothing references are never decoded (:mod:`curate.frames.decoders.nonref` says for which
  codecs). Given ``threads`` > 1 (a worker with CPUs to spare), the runs are cut at keyframes into plans
  of about equal size (:func:`curate.frames.seek.split`) decoded side by side, each thread on its own
  container. Every frame that comes out is checked against the index; any disagreement falls back to the
  full sequential decode, which counts every frame (no RGB conversion) and keeps its pts, plans the
  indices from the container's claim (``frames``, else duration × fps, timestamps ``i / fps``), converts
  the planned frames while decoding, then re-chooses with the true timestamps; when a chosen frame was not
  converted (the container over- or under-reported, or VFR moved the window) a second pass converts
  exactly those and stops after the last (rare). A packet the decoder rejects is skipped, as the ffmpeg
  CLI does, so a file cut short keeps its good frames. Trusted for every file PyAV opens.
- ``ffmpeg`` (ffmpeg-python over the CLI): ``ffprobe`` for the stream, then the CLI decodes with
  ``-copyts -fps_mode passthrough`` (``-vsync`` before ffmpeg 5.1), keeps only the sampled frames with a
  ``select`` filter, scales them with its ``scale`` filter and pipes ``rgb24`` (it autorotates), stopping
  after the last; where the index is trusted and the plan seeks, one call per run seeks with ``-ss``; see
  :mod:`curate.frames.decoders.ffmpeg`. Timestamps are the sorted pts of the packets PyAV demuxes
  when there are as many as frames — where the container stores no pts (AVI, elementary streams) FFmpeg
  guesses them, and the CLI's FFmpeg may guess differently from PyAV's, so one demuxer decides for every
  decoder — else the CLI's ``showinfo`` pts. The CLI's own messages do not say which packet failed, so a
  stream yielding no frame is ``zero_frames`` with ffmpeg's last lines as the detail.
  Trusted for every file; its frames equal PyAV's except where the two libavcodec builds differ.
- ``torchcodec`` (CPU, or NVDEC with ``device="cuda"``): exact-seek mode, refused unless the PyAV index is
  trusted as for sparse decoding; see :mod:`curate.frames.decoders.torchcodec`.
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
- ``auto`` is PyAV on the CPU (its sparse, non-reference-skipping decode is the fastest correct path
  measured here, and it is trusted for every file); with ``device="cuda"`` it tries torchcodec's NVDEC
  path first and falls back to PyAV on any refusal or failure. So ``auto`` always returns the
  reference's frames; a forced ``--decoder decord`` or ``torchcodec`` rejects what it cannot decode
  right instead of storing wrong frames.
"""

from __future__ import annotations

import os

from curate.frames.decoders.common import REASONS, DecodedVideo, Geometry, VideoError, check_file, rotate, sample
from curate.frames.decoders.decord import decode_decord, decord_distrust
from curate.frames.decoders.ffmpeg import decode_ffmpeg
from curate.frames.decoders.pyav import decode_pyav, pyav_index, reference
from curate.frames.decoders.torchcodec import DEVICES, check_cuda, check_device, decode_torchcodec
from curate.frames.sampling import Sampling

DECODERS = ("auto", "decord", "pyav", "ffmpeg", "torchcodec")
__all__ = [
    "DECODERS",
    "DEVICES",
    "REASONS",
    "DecodedVideo",
    "Geometry",
    "VideoError",
    "check_cuda",
    "check_decoder",
    "decode",
    "decord_distrust",
    "pyav_index",
    "reference",
    "rotate",
    "sample",
]


def decode(
    path: str,
    sampling: Sampling,
    start: float | None = None,
    end: float | None = None,
    decoder: str = "auto",
    geometry: Geometry = None,
    device: str = "cpu",
    threads: int = 1,
) -> DecodedVideo:
    """Decode ``path`` with ``decoder`` and keep the frames ``sampling`` chooses inside [start, end].

    ``geometry`` maps a decoded (rotated) ``(h, w)`` to the size the decoder may scale the pictures to
    (PyAV and the ffmpeg CLI do, in their colour conversion; decord and torchcodec return full-size frames —
    compare ``frames[0].shape`` with ``(height, width)``). ``device``: ``cpu``, or ``cuda``/``cuda:N`` for
    torchcodec's NVDEC path (``auto`` then tries torchcodec first, see the package docstring). ``threads``:
    the CPUs this video may use: how many plans (groups of seeks) PyAV may decode side by side
    (:func:`~curate.frames.decoders.pyav.pyav_plans`), the ffmpeg CLI's and torchcodec's FFmpeg threads
    (0: their automatic count, a thread per core; PyAV then decodes one plan)."""
    check_device(device)
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
    if device != "cpu" and decoder not in ("auto", "torchcodec"):
        raise ValueError(f"device {device!r} needs decoder 'torchcodec' or 'auto', not {decoder!r}")
    path = os.fspath(path)
    check_file(path)
    if decoder == "decord":
        return decode_decord(path, sampling, start, end)
    if decoder == "pyav":
        return decode_pyav(path, sampling, start, end, geometry, threads=threads)
    if decoder == "ffmpeg":
        return decode_ffmpeg(path, sampling, start, end, geometry, threads)
    if decoder == "torchcodec":
        return decode_torchcodec(path, sampling, start, end, device, threads)
    if device != "cpu":
        try:
            return decode_torchcodec(path, sampling, start, end, device, threads)
        except Exception:  # refused or failed: PyAV, the reference, has the last word
            pass
    return decode_pyav(path, sampling, start, end, geometry, threads=threads)


def check_decoder(decoder: str, device: str = "cpu") -> None:
    """ValueError (a user's mistake, before any video is read) when ``decoder`` cannot run here: unknown
    name or device, decord, PyAV or torchcodec not importable, the ``ffmpeg``/``ffprobe`` CLI not on PATH,
    or a CUDA device for a decoder without one. ``auto`` needs PyAV (and torchcodec on a CUDA device)."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
    check_device(device)
    if device != "cpu" and decoder not in ("auto", "torchcodec"):
        raise ValueError(f"device {device!r} needs decoder 'torchcodec' or 'auto', not {decoder!r}")
    import importlib.util
    import shutil

    modules = {
        "auto": ["av"],
        "decord": ["decord", "av"],
        "pyav": ["av"],
        "ffmpeg": ["ffmpeg", "av"],
        "torchcodec": ["torchcodec", "av"],
    }[decoder]
    if device != "cpu":
        modules = [*modules, "torchcodec"]
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise ValueError(f"decoder {decoder!r} needs the Python package {module!r}, which is not installed")
    if decoder == "ffmpeg":
        for tool in ("ffmpeg", "ffprobe"):
            if shutil.which(tool) is None:
                raise ValueError(f"decoder 'ffmpeg' needs the {tool} command on PATH")
