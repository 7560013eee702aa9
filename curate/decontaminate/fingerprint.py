"""Per-frame perceptual hashes with timestamps: a video's content fingerprint.

Each frame becomes one 64-bit hash (the DCT hash of ``imagehash.phash``, computed here in batch with numpy):

1. the frame in grey at ``GREY × GREY`` pixels (stored JPEG frames are decoded straight to that scale with
   libjpeg's DCT scaling, Pillow's ``draft``, so a stored frame costs a fraction of a full decode);
2. letterbox/pillarbox bars cut off: leading and trailing rows (columns) that are dark (mean < ``BAR_LEVEL``)
   and flat (standard deviation < ``BAR_FLAT``), at most ``MAX_BAR`` of the side each;
3. the rest resized (box filter) to 32 × 32, whatever its aspect ratio, so resizing and squashing
   (extract-frames' ``square`` resize) do not change the hash;
4. ``C = D · X · Dᵀ`` with ``D`` the orthonormal DCT-II matrix of size 32; the 8 × 8 lowest frequencies
   ``C[:8, :8]``; bit ``8u + v`` is ``C[u, v] > median(C[:8, :8])``, packed big-endian into a uint64.

The mirror image's hash comes for free: flipping left–right multiplies ``C[u, v]`` by ``(-1)^v``, so
``mirrored`` is the same threshold applied to ``C[u, v] · (-1)^v`` (exactly the hash of the flipped frame
up to the box filter's rounding).

A frame whose 32 × 32 grey image is nearly flat (standard deviation < ``BLANK_STD``: black, white, a fade)
is ``blank``: its hash says nothing about the video and it never takes part in matching.

Re-encoding, resizing, letterboxing and crops of a few percent move a hash by a few bits; an unrelated frame
differs in about 32 of 64 bits. What matching does with that is in :mod:`curate.decontaminate.match`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

GREY = 64
HASH_INPUT = 32
LOW = 8
BAR_LEVEL = 24.0
BAR_FLAT = 6.0
MAX_BAR = 0.35
BLANK_STD = 3.0


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II: ``D[k, i] = s_k cos(π (2i + 1) k / 2n)``, ``s_0 = √(1/n)``, else ``√(2/n)``."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d.astype(np.float32)


DCT = _dct_matrix(HASH_INPUT)[:LOW]  # only the rows of the low frequencies are ever needed
MIRROR_SIGN = np.array([(-1.0) ** v for v in range(LOW)], dtype=np.float32)[None, None, :]


@dataclass
class Fingerprint:
    """One video's fingerprint: per sampled frame, its time (s), hash, mirrored hash and blank flag."""

    timestamps: np.ndarray  # float32 (T,)
    hashes: np.ndarray  # uint64 (T,)
    mirrored: np.ndarray  # uint64 (T,)
    blank: np.ndarray  # bool (T,)

    def as_row(self) -> dict:
        return {
            "timestamps": self.timestamps.tolist(),
            "hashes": self.hashes.tolist(),
            "mirrored": self.mirrored.tolist(),
            "blank": self.blank.tolist(),
        }


def content_box(grey: np.ndarray) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` of ``grey`` (H × W float) once dark flat bars are cut off."""
    h, w = grey.shape

    def bars(means: np.ndarray, stds: np.ndarray, limit: int) -> tuple[int, int]:
        bar = (means < BAR_LEVEL) & (stds < BAR_FLAT)
        lead = int(np.argmin(bar)) if not bar.all() else len(bar)
        trail = int(np.argmin(bar[::-1])) if not bar.all() else len(bar)
        return min(lead, limit), min(trail, limit)

    top, bottom = bars(grey.mean(1), grey.std(1), int(h * MAX_BAR))
    left, right = bars(grey.mean(0), grey.std(0), int(w * MAX_BAR))
    return top, h - bottom, left, w - right


def _to_hash_input(grey: np.ndarray) -> np.ndarray:
    from PIL import Image

    top, bottom, left, right = content_box(grey.astype(np.float32))
    crop = np.ascontiguousarray(grey[top:bottom, left:right])
    image = Image.fromarray(crop).resize((HASH_INPUT, HASH_INPUT), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32)


def _pack(bits: np.ndarray) -> np.ndarray:
    """(T, 64) bool → (T,) uint64, bit 0 the most significant."""
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64).reshape(-1)


def hash_grey(greys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hashes, mirrored, blank)`` of grey uint8 frames (any size; see the module docstring)."""
    if not greys:
        empty = np.zeros(0, np.uint64)
        return empty, empty.copy(), np.zeros(0, bool)
    x = np.stack([_to_hash_input(g) for g in greys])  # (T, 32, 32)
    low = DCT @ x @ DCT.T  # (T, 8, 8): C[:8, :8]
    blank = x.reshape(len(x), -1).std(1) < BLANK_STD
    out = []
    for coefficients in (low, low * MIRROR_SIGN):
        flat = coefficients.reshape(len(x), -1)
        out.append(_pack(flat > np.median(flat, axis=1, keepdims=True)))
    return out[0], out[1], blank


def grey_of_rgb(frame: np.ndarray) -> np.ndarray:
    """An RGB uint8 frame as grey uint8 at ``GREY × GREY`` (box filter)."""
    from PIL import Image

    return np.asarray(Image.fromarray(frame).convert("L").resize((GREY, GREY), Image.Resampling.BOX))


def grey_of_stored(data: bytes, encoding: str, height: int, width: int) -> np.ndarray:
    """A stored frame (:mod:`curate.frames.encode`) as grey uint8 at about ``GREY`` pixels a side; JPEG is
    decoded at reduced scale (``draft``), never at full size."""
    from PIL import Image

    if encoding == "raw":
        return grey_of_rgb(np.frombuffer(data, np.uint8).reshape(height, width, 3))
    with Image.open(io.BytesIO(data)) as image:
        image.draft("L", (GREY, GREY))
        return np.asarray(image.convert("L").resize((GREY, GREY), Image.Resampling.BOX))


def fingerprint_greys(greys: list[np.ndarray], timestamps) -> Fingerprint:
    hashes, mirrored, blank = hash_grey(greys)
    return Fingerprint(np.asarray(timestamps, np.float32), hashes, mirrored, blank)


def fingerprint_frames(frames, timestamps) -> Fingerprint:
    """Fingerprint of RGB uint8 frames (a (T, H, W, 3) array or a list of arrays) at ``timestamps``."""
    return fingerprint_greys([grey_of_rgb(np.asarray(f)) for f in frames], timestamps)


def fingerprint_stored(row: dict) -> Fingerprint:
    """Fingerprint of one frame-shard row (``frames``, ``timestamps``, ``encoding``, ``height``, ``width``)."""
    greys = [grey_of_stored(f["bytes"], row["encoding"], row["height"], row["width"]) for f in row["frames"]]
    return fingerprint_greys(greys, row["timestamps"])


def fingerprint_video(path: str, fps: float, max_frames: int, decoder: str = "auto") -> Fingerprint:
    """Decode ``path`` (:func:`curate.frames.decoders.decode`: ``fps`` frames a second, at most ``max_frames``;
    ``fps`` 0: ``max_frames`` frames spread uniformly) and fingerprint it. Raises
    :class:`curate.frames.decoders.VideoError`."""
    from curate.frames.decoders import decode
    from curate.frames.sampling import Sampling

    if fps > 0:
        sampling = Sampling(mode="fps", fps=fps, min_frames=min(4, max_frames), max_frames=max_frames)
    else:
        sampling = Sampling(mode="uniform", num_frames=max_frames)
    video = decode(path, sampling, decoder=decoder)
    return fingerprint_frames(video.frames, video.timestamps)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bits that differ between uint64 hashes (broadcasting)."""
    return np.bitwise_count(np.bitwise_xor(a, b))
