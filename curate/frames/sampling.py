"""Which frames to keep. All functions are pure and work on the frames actually decoded.

- uniform (TinyLLaVA-Video): ``indices = floor(linspace(0, n − 1, N))`` — N indices over n decoded
  frames (repeats when n < N, as ``np.linspace(..., dtype=int)`` gives);
- fps (Qwen2.5-VL): ``N = round(n / video_fps · fps)``, clamped to [min_frames, max_frames] and to n,
  rounded down to a multiple of 2 (at least 2 when n ≥ 2), then ``round(linspace(0, n − 1, N))``;
- a clip window [start, end] (seconds) restricts both to the frames whose timestamps fall inside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

FRAME_FACTOR = 2


@dataclass(frozen=True)
class Sampling:
    """How to choose frames: ``mode`` is ``uniform`` (``num_frames``) or ``fps`` (``fps``,
    ``min_frames``, ``max_frames``)."""

    mode: str = "uniform"
    num_frames: int = 16
    fps: float = 2.0
    min_frames: int = 4
    max_frames: int = 768


def linspace(first: float, last: float, count: int) -> list[float]:
    """``count`` evenly spaced values from ``first`` to ``last`` inclusive (numpy's linspace)."""
    if count <= 0:
        return []
    if count == 1:
        return [float(first)]
    step = (last - first) / (count - 1)
    return [first + step * i for i in range(count - 1)] + [float(last)]


def uniform_indices(n: int, num_frames: int) -> list[int]:
    """``floor(linspace(0, n − 1, num_frames))``; empty when ``n`` is 0."""
    if n <= 0:
        return []
    return [int(math.floor(x)) for x in linspace(0, n - 1, num_frames)]


def fps_indices(n: int, video_fps: float, fps: float, min_frames: int, max_frames: int) -> list[int]:
    """Qwen2.5-VL style sampling at ``fps`` frames per second of video (see the module docstring)."""
    if n <= 0:
        return []
    if n == 1:
        return [0]
    wanted = round(n / video_fps * fps) if video_fps and video_fps > 0 else min_frames
    count = min(max(wanted, min_frames), max_frames, n)
    count = max(FRAME_FACTOR, count // FRAME_FACTOR * FRAME_FACTOR)
    return [int(round(x)) for x in linspace(0, n - 1, count)]


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
    """Indices (into the decoded frames) to keep, given every decoded frame's timestamp."""
    lo, hi = window(timestamps, start, end)
    n = hi - lo
    if sampling.mode == "fps":
        local = fps_indices(n, video_fps, sampling.fps, sampling.min_frames, sampling.max_frames)
    else:
        local = uniform_indices(n, sampling.num_frames)
    return [lo + i for i in local]
