"""What every decoder shares: the error and result types, the plan / second-pass sampler, rotation and
geometry (the size the decoder scales a frame's picture to). See :mod:`curate.frames.decoders`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from curate.frames.sampling import Sampling, choose, duration

REASONS = ("missing", "unreadable", "no_video_stream", "zero_frames")
# (h, w) of a decoded (rotated) frame → (h, w) its picture is scaled to; None: keep the decoded size.
Geometry = Callable[[int, int], tuple[int, int]] | None


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
    frames_decoded: int = 0  # frames the decoder actually decoded for this video (sparse: far fewer than n)
    device: str = "cpu"  # where they were decoded: "cpu", or the CUDA device whose NVDEC decoded them

    @property
    def decoded_by(self) -> str:
        """The decoder and, off the CPU, its device: ``"pyav"``, ``"torchcodec on cuda"`` (the run's stats
        count videos by it)."""
        return self.decoder if self.device == "cpu" else f"{self.decoder} on {self.device}"


# One pass over a video: given the indices to convert, every frame's timestamp and {index: RGB frame}.
Pass = Callable[[set[int], bool], tuple[list[float], dict[int, np.ndarray]]]


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
    size: tuple[int, int] | None = None,
    frames_decoded: int = 0,
    device: str = "cpu",
) -> DecodedVideo:
    """The :class:`DecodedVideo`; ``last_frame``: the last frame's own duration in seconds (0: unknown);
    ``size``: the decoded (rotated) ``(height, width)`` when the frames were scaled in the decoder;
    ``device``: where they were decoded."""
    frames = [kept[i] for i in indices]
    height, width = size or frames[0].shape[:2]
    return DecodedVideo(
        frames=frames,
        indices=list(indices),
        timestamps=[timestamps[i] for i in indices],
        num_frames_decoded=len(timestamps),
        fps=float(fps),
        duration=duration(timestamps, fps, last_frame),
        height=int(height),
        width=int(width),
        decoder=decoder,
        frames_decoded=int(frames_decoded),
        device=device,
    )


def scaled_size(geometry: Geometry, height: int, width: int, rotation: float) -> tuple[int, int] | None:
    """The ``(h, w)`` to scale a *stored* ``height × width`` frame to (before its display ``rotation``) so
    that, rotated, it has ``geometry``'s size; None when no scaling is needed."""
    if geometry is None:
        return None
    swap = int(round(rotation / 90)) % 2 == 1
    shown = (width, height) if swap else (height, width)
    out_h, out_w = geometry(*shown)
    if (out_h, out_w) == shown:
        return None
    return (out_w, out_h) if swap else (out_h, out_w)
