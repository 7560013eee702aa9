"""Resize decoded frames to what the model's processor wants: in the decoder, or Pillow bicubic after it.

Modes (``size`` = S, input ``h × w``; lengths rounded half up, at least 1):

- ``square``: ``S × S``, aspect ratio ignored (TinyLLaVA-Video's SigLIP-384 input);
- ``short-side``: the shorter side becomes S, the longer ``round(long · S / short)``;
- ``pad``: scaled to fit inside ``S × S`` (longer side S, shorter ``round(short · S / long)``), then centred on
  a black ``S × S`` canvas (the odd pixel of a split goes to the bottom/right);
- ``none``: unchanged.

Small videos are upscaled to S like the model's own processor would; every mode produces its size.

``max_pixels`` (Qwen2.5-VL budgets) is applied afterwards, as Qwen2.5-VL's ``smart_resize`` does with
factor F = 28: ``h' = round(h / F) · F`` and ``w' = round(w / F) · F`` (at least F); when ``h' · w'`` exceeds
``max_pixels``, ``β = sqrt(h · w / max_pixels)`` and ``h' = floor(h / β / F) · F``, ``w' = floor(w / β / F) · F``.
Frames stored at that size are not resampled again by the Qwen processor. With ``pad`` the canvas is
resized this way and the picture fitted inside it. There is one resampling per frame in every case.

Where it happens: :func:`picture_size` is the size the *picture* is scaled to (for ``pad``, the fitted picture
inside the canvas). The PyAV and ffmpeg-CLI decoders scale to it inside their colour conversion —
libswscale's bicubic filter on the decoded YUV frame (``frame.reformat(w, h, "rgb24",
interpolation="BICUBIC")``, the CLI's ``scale=w:h:flags=bicubic``), so full-size RGB is never made — and
:func:`place` then puts the picture on its canvas (``pad``) or returns it. Decoders that hand back RGB
(decord, torchcodec) go through :func:`resize`: Pillow's bicubic on the full-size RGB frame, as before.
Both give the same sizes and modes; the pixels differ mostly in chroma (swscale scales the subsampled
chroma planes directly, Pillow scales RGB made from chroma replicated to full size) — the README's
extract-frames section gives the measured PSNR.
"""

from __future__ import annotations

import math

import numpy as np

RESIZE_MODES = ("square", "short-side", "pad", "none")
QWEN_FACTOR = 28


def half_up(x: float) -> int:
    """``floor(x + 0.5)``, at least 1."""
    return max(1, int(math.floor(x + 0.5)))


def smart_resize(height: int, width: int, max_pixels: int, factor: int = QWEN_FACTOR) -> tuple[int, int]:
    """Qwen2.5-VL's ``smart_resize`` without a minimum: both sides multiples of ``factor``, area ≤ max_pixels
    (see the module docstring)."""
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    return h, w


def fit(height: int, width: int, box_h: int, box_w: int) -> tuple[int, int]:
    """The largest ``h × w`` with the aspect of ``height × width`` that fits in ``box_h × box_w``."""
    scale = min(box_h / height, box_w / width)
    return min(box_h, half_up(height * scale)), min(box_w, half_up(width * scale))


def mode_size(height: int, width: int, mode: str, size: int) -> tuple[int, int]:
    """The output size of ``mode`` before ``max_pixels`` (for ``pad``: the canvas)."""
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, not {mode!r}")
    if mode == "none":
        return height, width
    if size < 1:
        raise ValueError(f"size must be at least 1, not {size}")
    if mode in ("square", "pad"):
        return size, size
    short = min(height, width)
    if height <= width:
        return size, half_up(width * size / short)
    return half_up(height * size / short), size


def target_size(height: int, width: int, mode: str, size: int, max_pixels: int | None) -> tuple[int, int]:
    """``(h, w)`` of the frame :func:`resize` returns for a ``height × width`` input."""
    h, w = mode_size(height, width, mode, size)
    if max_pixels is not None:
        if max_pixels < QWEN_FACTOR * QWEN_FACTOR:
            raise ValueError(f"max_pixels must be at least {QWEN_FACTOR * QWEN_FACTOR}, not {max_pixels}")
        h, w = smart_resize(h, w, max_pixels)
    return h, w


def picture_size(height: int, width: int, mode: str, size: int, max_pixels: int | None) -> tuple[int, int]:
    """``(h, w)`` the picture of a ``height × width`` frame is scaled to: :func:`target_size`, except for
    ``pad`` the picture fitted inside that canvas."""
    out_h, out_w = target_size(height, width, mode, size, max_pixels)
    return fit(height, width, out_h, out_w) if mode == "pad" else (out_h, out_w)


def place(picture: np.ndarray, height: int, width: int, mode: str, size: int, max_pixels: int | None) -> np.ndarray:
    """A picture already scaled to :func:`picture_size` of a ``height × width`` frame, on its ``pad`` canvas
    (centred on black, the odd pixel to the bottom/right) or unchanged for the other modes."""
    if mode != "pad":
        return picture
    out_h, out_w = target_size(height, width, mode, size, max_pixels)
    inner_h, inner_w = picture.shape[:2]
    canvas = np.zeros((out_h, out_w, *picture.shape[2:]), dtype=picture.dtype)
    top, left = (out_h - inner_h) // 2, (out_w - inner_w) // 2
    canvas[top : top + inner_h, left : left + inner_w] = picture
    return canvas


def scale(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic resize of a uint8 HWC frame to ``height × width`` (a no-op when already that size)."""
    if frame.shape[:2] == (height, width):
        return frame
    from PIL import Image

    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC))


def resize(frame: np.ndarray, mode: str, size: int, max_pixels: int | None = None) -> np.ndarray:
    """Resize a uint8 HWC RGB frame by ``mode`` and ``max_pixels`` (see the module docstring)."""
    height, width = frame.shape[:2]
    picture = scale(frame, *picture_size(height, width, mode, size, max_pixels))
    return place(picture, height, width, mode, size, max_pixels)
