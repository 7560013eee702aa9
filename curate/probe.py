"""Open videos to check they are usable and read their duration (PyAV, bundled FFmpeg).

:func:`probe_video` never raises: it returns a :class:`Probe` whose ``error`` is ``video_missing`` or
``video_unreadable`` (with the decoder's message in ``detail``) when the file cannot be used. A video
is usable when it exists, its container opens, it has a video stream and its first frame decodes.
:func:`probe_many` probes each distinct path once, in parallel threads (FFmpeg releases the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    path: str
    duration: float | None = None
    error: str | None = None
    detail: str | None = None


def probe_video(path: str) -> Probe:
    """Probe one file; see the module docstring for what counts as usable."""
    import av  # imported here: filtering without videos must not pay for it

    if not os.path.isfile(path):
        return Probe(path, error="video_missing", detail=f"no such file: {path}")
    try:
        with av.open(path) as container:
            if not container.streams.video:
                return Probe(path, error="video_unreadable", detail="no video stream")
            stream = container.streams.video[0]
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            first = next(container.decode(stream), None)
            if first is None:
                return Probe(path, error="video_unreadable", detail="no frame decodes")
            return Probe(path, duration=duration)
    except Exception as exc:  # PyAV raises FFmpeg errors of many types; each is the video's fault
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Probe(path, error="video_unreadable", detail=message)


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
