"""``video_key``: a stable hash of the video path, its clip window and the config that shaped the frames.

    video_key = sha256(json([video, start, end, sampling, size, resize, max_pixels, encoding,
                             jpeg_quality]))[:24]

The decoder is not part of the key (every decoder must return the same frames). Two configs never share
a key, so frames made with different settings cannot be mixed up in one output.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any


def frames_config(shaping: Any) -> dict:
    """The fields of a :class:`curate.frames.work.FrameSpec` that change the stored frames (not the decoder)."""
    return {
        "sampling": dataclasses.asdict(shaping.sampling),
        "size": shaping.size,
        "resize": shaping.resize,
        "max_pixels": shaping.max_pixels,
        "encoding": shaping.encoding,
        "jpeg_quality": shaping.jpeg_quality if shaping.encoding == "jpeg" else None,
    }


def video_key(video: str, start: float | None, end: float | None, shaping: dict) -> str:
    blob = json.dumps([video, start, end, shaping], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]
