"""Encode frames for the shards and decode them back (Pillow for jpeg/png).

- ``jpeg``: baseline JPEG at ``quality`` (Pillow's default 4:2:0 chroma subsampling); lossy.
- ``png``: lossless; ``decode_frame(encode_frame(f)) == f``.
- ``raw``: ``frame.tobytes()`` — uint8 HWC RGB in C order, ``height · width · 3`` bytes; the shape is
  stored next to it (``height``/``width`` columns), so the pixels come back exactly.
"""

from __future__ import annotations

import io

import numpy as np

from schemas.frames import ENCODINGS

FILE_EXT = {"jpeg": "jpg", "png": "png", "raw": "rgb"}
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG"}


def check_frame(frame: np.ndarray) -> np.ndarray:
    """``frame`` as a C-contiguous uint8 ``H × W × 3`` array, or ValueError."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a uint8 HxWx3 RGB frame, got {frame.dtype} {frame.shape}")
    return np.ascontiguousarray(frame)


def encode_frame(frame: np.ndarray, encoding: str, quality: int = 90) -> bytes:
    """One frame's bytes in ``encoding`` (``quality`` 1–95 applies to jpeg only)."""
    frame = check_frame(frame)
    if encoding == "raw":
        return frame.tobytes()
    if encoding not in PIL_FORMAT:
        raise ValueError(f"encoding must be one of {ENCODINGS}, not {encoding!r}")
    from PIL import Image

    buffer = io.BytesIO()
    options = {"quality": int(quality)} if encoding == "jpeg" else {}
    Image.fromarray(frame).save(buffer, format=PIL_FORMAT[encoding], **options)
    return buffer.getvalue()


def decode_frame(data: bytes, encoding: str, height: int, width: int) -> np.ndarray:
    """Bytes from :func:`encode_frame` back to uint8 ``height × width × 3`` RGB (ValueError on a size mismatch)."""
    if encoding == "raw":
        if len(data) != height * width * 3:
            raise ValueError(f"raw frame has {len(data)} bytes, expected {height}x{width}x3 = {height * width * 3}")
        return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3).copy()
    if encoding not in PIL_FORMAT:
        raise ValueError(f"encoding must be one of {ENCODINGS}, not {encoding!r}")
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        frame = np.asarray(image.convert("RGB"))
    if frame.shape != (height, width, 3):
        raise ValueError(f"{encoding} frame is {frame.shape[0]}x{frame.shape[1]}, expected {height}x{width}")
    return frame


def decode_frames(frames: list[dict], encoding: str, height: int, width: int) -> np.ndarray:
    """Decode one video's stored frames (``[{bytes, path}, …]``) into a uint8 ``(T, H, W, C)`` array."""
    if not frames:
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    first = np.asarray(decode_frame(frames[0]["bytes"], encoding, height, width), dtype=np.uint8)
    out = np.empty((len(frames), *first.shape), dtype=np.uint8)
    out[0] = first
    for i, frame in enumerate(frames[1:], start=1):
        out[i] = decode_frame(frame["bytes"], encoding, height, width)
    return out
