"""Which frames to keep, and how long the decoded frames last. Pure functions over the frames actually
decoded: frame ``i`` is the ``i``-th frame the decoder outputs (presentation order) and ``timestamps[i]``
its presentation time in seconds, non-decreasing (see :mod:`curate.frames.decoders`).

- **uniform** (TinyLLaVA-Video): ``indices = floor(linspace(0, n − 1, N))`` — N indices spread evenly *in
  frame index* over the n decoded frames (repeats when n < N, as ``np.linspace(..., dtype=int)`` gives).
  On a variable-frame-rate clip the frames therefore crowd where the rate is high; that is the
  definition TinyLLaVA-Video trains with, and it is kept.
- **fps** (Qwen2.5-VL, by presentation time): the frames span ``D = t_last − t_first + d`` seconds
  (``d``: :func:`frame_duration`, the last gap between timestamps); ``N = round(D · fps)``, clamped to
  [min_frames, max_frames] and to n, rounded down to a multiple of 2 (at least 2 when n ≥ 2). The targets are
  ``t_k = linspace(t_first, t_last, N)`` and each takes the frame whose timestamp is nearest to it (the
  earlier on a tie). So the frames are spread evenly *in time*, a variable-frame-rate clip is covered
  evenly, and on a constant-rate clip this is exactly Qwen2.5-VL's ``round(linspace(0, n − 1, N))`` with
  ``N = round(n / video_fps · fps)`` (:func:`fps_indices`, the index form, kept for reference).
- a clip window [start, end] (seconds) restricts both to the frames whose timestamps fall inside it
  (fps mode then measures D over those frames).
- **duration** of a video (:func:`duration`): ``t_last + d_last``, the end of the last frame on the clock
  the timestamps use (zero at the stream's start), where ``d_last`` is the duration the container gives
  the last frame's packet (mp4 ``stts``, Matroska, the parser's for MPEG streams; one tick in AVI), else
  ``d`` — what was decoded, never the container's header. The extract-frames rows and
  ``curate filter --probe`` both use it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from curate.options import config, option

FRAME_FACTOR = 2
SAMPLING_MODES = ("uniform", "fps")


@config(frozen=True)
class Sampling:
    """How to choose frames: ``mode`` is ``uniform`` (``num_frames``) or ``fps`` (``fps``,
    ``min_frames``, ``max_frames``)."""

    mode: str = option("uniform", "How frames are chosen.", choices=SAMPLING_MODES)
    num_frames: int = option(16, "Frames per video (uniform sampling).", ge=1)
    fps: float = option(2.0, "Frames per second of video (--sampling fps).", gt=0)
    min_frames: int = option(4, "At least this many frames (--sampling fps).", ge=1)
    max_frames: int = option(768, "At most this many frames (--sampling fps).", ge=1)

    def __post_init__(self) -> None:
        if self.min_frames > self.max_frames:
            raise ValueError(f"--min-frames {self.min_frames} is above --max-frames {self.max_frames}")


def linspace(first: float, last: float, count: int) -> list[float]:
    """``count`` evenly spaced values from ``first`` to ``last`` inclusive (numpy's linspace)."""
    if count <= 0:
        return []
    if count == 1:
        return [float(first)]
    step = (last - first) / (count - 1)
    return [first + step * i for i in range(count - 1)] + [float(last)]


def frame_duration(timestamps: Sequence[float], video_fps: float = 0.0) -> float:
    """How long the last frame lasts: the last positive gap between timestamps (the last frame shows as long
    as the one before it, which on a variable-frame-rate clip is the rate at its end), else ``1 / video_fps``
    (a single frame, or all at one time), else 0."""
    for i in range(len(timestamps) - 1, 0, -1):
        gap = timestamps[i] - timestamps[i - 1]
        if gap > 0:
            return float(gap)
    return 1.0 / video_fps if video_fps and video_fps > 0 else 0.0


def duration(timestamps: Sequence[float], video_fps: float = 0.0, last_frame: float = 0.0) -> float:
    """A video's duration from its decoded frames: last presentation time + the last frame's duration —
    ``last_frame`` (seconds; the container's own duration of that frame's packet) when positive, else
    :func:`frame_duration`; 0 when no frame was decoded. ``timestamps`` are sorted seconds from the
    stream's start."""
    if not timestamps:
        return 0.0
    last = last_frame if last_frame and last_frame > 0 else frame_duration(timestamps, video_fps)
    return max(0.0, float(timestamps[-1]) + last)


def uniform_indices(n: int, num_frames: int) -> list[int]:
    """``floor(linspace(0, n − 1, num_frames))``; empty when ``n`` is 0."""
    if n <= 0:
        return []
    return [int(math.floor(x)) for x in linspace(0, n - 1, num_frames)]


def fps_count(n: int, seconds: float, fps: float, min_frames: int, max_frames: int) -> int:
    """How many frames fps mode keeps of ``n`` frames spanning ``seconds``: ``round(seconds · fps)`` (Python's
    round, half to even, after rounding the product to 6 decimals so that float sums do not move a tie),
    clamped to [min_frames, max_frames] and to n, rounded down to a multiple of 2 (at least 2; 1 when n = 1)."""
    if n <= 0:
        return 0
    if n == 1:
        return 1
    wanted = round(round(seconds * fps, 6)) if seconds > 0 else min_frames  # 13.4999999 from float sums is 13.5
    count = min(max(wanted, min_frames), max_frames, n)
    return max(FRAME_FACTOR, count // FRAME_FACTOR * FRAME_FACTOR)


def fps_indices(n: int, video_fps: float, fps: float, min_frames: int, max_frames: int) -> list[int]:
    """Qwen2.5-VL's index form for a constant-rate clip: ``round(linspace(0, n − 1, N))`` with
    ``N = fps_count(n, n / video_fps, …)``. :func:`fps_times` is what :func:`choose` uses; on a
    constant-rate clip both pick the same frames."""
    if n <= 0:
        return []
    seconds = n / video_fps if video_fps and video_fps > 0 else 0.0
    count = fps_count(n, seconds, fps, min_frames, max_frames)
    return [int(round(x)) for x in linspace(0, n - 1, count)]


def nearest(timestamps: Sequence[float], target: float) -> int:
    """Index of the timestamp nearest to ``target`` (sorted ``timestamps``; the earlier on a tie)."""
    i = bisect.bisect_left(timestamps, target)
    if i == 0:
        return 0
    if i == len(timestamps):
        return len(timestamps) - 1
    before = bisect.bisect_left(timestamps, timestamps[i - 1])  # the first of equal timestamps
    return before if target - timestamps[i - 1] <= timestamps[i] - target else i


def fps_times(
    timestamps: Sequence[float], fps: float, min_frames: int, max_frames: int, video_fps: float = 0.0
) -> list[int]:
    """fps mode by presentation time (see the module docstring): indices into ``timestamps``."""
    n = len(timestamps)
    if n <= 1:
        return [0] * n
    first, last = float(timestamps[0]), float(timestamps[-1])
    seconds = last - first + frame_duration(timestamps, video_fps)
    count = fps_count(n, seconds, fps, min_frames, max_frames)
    return [nearest(timestamps, t) for t in linspace(first, last, count)]


def window(timestamps: Sequence[float], start: float | None, end: float | None) -> tuple[int, int]:
    """``(first, last + 1)``: the decoded frames whose timestamps lie in [start, end]; the whole range
    when no window is given or none falls inside (a window outside the video is not an error here)."""
    n = len(timestamps)
    if start is None and end is None:
        return 0, n
    lo = 0 if start is None else next((i for i, t in enumerate(timestamps) if t >= start), n)
    hi = n if end is None else next((i for i in range(n - 1, -1, -1) if timestamps[i] <= end), -1) + 1
    if hi <= lo:
        return 0, n
    return lo, hi


def choose(
    timestamps: Sequence[float],
    video_fps: float,
    sampling: Sampling,
    start: float | None = None,
    end: float | None = None,
) -> list[int]:
    """Indices (into the decoded frames) to keep, given every decoded frame's timestamp (non-decreasing)."""
    lo, hi = window(timestamps, start, end)
    if sampling.mode == "fps":
        local = fps_times(list(timestamps[lo:hi]), sampling.fps, sampling.min_frames, sampling.max_frames, video_fps)
    else:
        local = uniform_indices(hi - lo, sampling.num_frames)
    return [lo + i for i in local]
