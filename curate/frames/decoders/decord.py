"""decord 0.6: seeks by itself, trusted only where its index is exact (see :mod:`curate.frames.decoders`)."""

from __future__ import annotations

import re

import numpy as np

from curate.frames import seek
from curate.frames.decoders.common import DecodedVideo, VideoError, measured_fps, message, result
from curate.frames.decoders.pyav import pyav_index
from curate.frames.sampling import Sampling, choose

# Containers whose seek index decord 0.6 uses exactly (see the package docstring); AVI only without B-frames.
DECORD_FORMATS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "flv", "avi")
DECORD_PREFIX = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: ")


def decord_message(exc: BaseException) -> str:
    """decord's message without its ``[hh:mm:ss] file.cc:line:`` prefixes, as ``decord: ...``."""
    return "decord: " + message(DECORD_PREFIX.sub("", str(exc)).strip() or type(exc).__name__)


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
    """decord decoder (see the package docstring); raises :class:`VideoError` where decord cannot be trusted.
    Its frames are full size (decord scales with its own FFmpeg 4.1's filter, not swscale's bicubic);
    ``frames_decoded`` is what decord's seek rule decodes by the index (:func:`curate.frames.seek.planned_frames`)."""
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
    spent = seek.planned_frames(index, unique)
    return result("decord", timestamps, fps, indices, kept, index.last_duration, frames_decoded=spent)


# ---------------------------------------------------------------------------------------------- ffmpeg

SHOWINFO = re.compile(r"Parsed_showinfo.*?\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:(\S+)")
