"""Per-frame perceptual hashes with timestamps: a video's content fingerprint.

Each frame becomes one 64-bit hash (the DCT hash of ``imagehash.phash``, computed for all frames of a video at
once with numpy):

1. the frame in grey at ``GREY × GREY`` pixels (stored JPEG frames are decoded straight to grey at libjpeg's
   smallest DCT scale ≥ ``GREY``, so a stored frame costs a fraction of a full decode; then a box filter);
2. letterbox/pillarbox bars cut off: leading and trailing rows (columns) that are dark (mean < ``BAR_LEVEL``)
   and flat (standard deviation < ``BAR_FLAT``), at most ``MAX_BAR`` of the side each;
3. the rest resampled (area average, :func:`area_weights`) to 32 × 32, whatever its aspect ratio, so resizing
   and squashing (extract-frames' ``square`` resize) do not change the hash;
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

GREY = 48  # the normal form: a 384-pixel stored frame decodes to it at libjpeg's 1/8 scale
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


def _bars(bar: np.ndarray, limit: int) -> np.ndarray:
    """Per row of ``bar`` ((T, n) bool), the length of its leading run of ``True``, at most ``limit``."""
    run = np.where(bar.all(1), bar.shape[1], np.argmin(bar, axis=1))
    return np.minimum(run, limit)


def content_box(greys: np.ndarray) -> np.ndarray:
    """``(T, 4)`` int: ``top, bottom, left, right`` (bottom and right exclusive) of each ``GREY × GREY`` frame
    of ``greys`` ((T, GREY, GREY) float) once dark flat bars are cut off (see the module docstring)."""
    n = greys.shape[1]
    limit = int(n * MAX_BAR)
    out = []
    for axis in (2, 1):  # row statistics (mean over columns), then column statistics
        bar = (greys.mean(axis) < BAR_LEVEL) & (greys.std(axis) < BAR_FLAT)
        out += [_bars(bar, limit), n - _bars(bar[:, ::-1], limit)]
    return np.stack(out, axis=1)


def area_weights(n_in: int, lo: np.ndarray, hi: np.ndarray, n_out: int) -> np.ndarray:
    """``(T, n_out, n_in)`` box-filter weights: output cell ``k`` of frame ``t`` is the area average of the input
    interval ``[lo + k·s, lo + (k + 1)·s)``, ``s = (hi − lo) / n_out``; input pixel ``j`` (the interval
    ``[j, j + 1)``) weighs ``overlap / s``, so each row of weights sums to 1."""
    lo = np.asarray(lo, np.float32)[:, None, None]
    step = (np.asarray(hi, np.float32)[:, None, None] - lo) / n_out
    a = lo + step * np.arange(n_out, dtype=np.float32)[None, :, None]
    j = np.arange(n_in, dtype=np.float32)[None, None, :]
    overlap = np.minimum(a + step, j + 1) - np.maximum(a, j)
    return np.maximum(overlap, 0) / step


def _pack(bits: np.ndarray) -> np.ndarray:
    """(T, 64) bool → (T,) uint64, bit 0 the most significant."""
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64).reshape(-1)


def hash_grey(greys: np.ndarray | list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(hashes, mirrored, blank)`` of grey uint8 frames at ``GREY × GREY`` (see the module docstring), all
    frames at once: the bar-free box of each frame is resampled to 32 × 32 by ``R · G · Cᵀ`` with the
    :func:`area_weights` ``R`` of its rows and ``C`` of its columns."""
    if len(greys) == 0:
        empty = np.zeros(0, np.uint64)
        return empty, empty.copy(), np.zeros(0, bool)
    g = np.asarray(greys, dtype=np.float32)  # (T, GREY, GREY)
    box = content_box(g)
    rows = area_weights(GREY, box[:, 0], box[:, 1], HASH_INPUT)
    cols = area_weights(GREY, box[:, 2], box[:, 3], HASH_INPUT)
    x = rows @ g @ cols.transpose(0, 2, 1)  # (T, 32, 32)
    low = DCT @ x @ DCT.T  # (T, 8, 8): C[:8, :8]
    blank = x.reshape(len(x), -1).std(1) < BLANK_STD
    out = []
    for coefficients in (low, low * MIRROR_SIGN):
        flat = coefficients.reshape(len(x), -1)
        out.append(_pack(flat > np.median(flat, axis=1, keepdims=True)))
    return out[0], out[1], blank


def _grey_to_normal(image) -> np.ndarray:
    """A Pillow ``L`` image at ``GREY × GREY`` (box filter)."""
    from PIL import Image

    return np.asarray(image.resize((GREY, GREY), Image.Resampling.BOX))


def grey_of_rgb(frame: np.ndarray) -> np.ndarray:
    """An RGB uint8 frame as grey uint8 at ``GREY × GREY`` (box filter)."""
    from PIL import Image

    return _grey_to_normal(Image.fromarray(frame).convert("L"))


def _decode_grey_small(data: bytes) -> np.ndarray:
    """A JPEG decoded to grey at the smallest libjpeg DCT scale (``M/8``) that keeps both sides ≥ ``GREY``:
    simplejpeg when installed (less per-call overhead), else Pillow's ``draft`` (the same libjpeg scaling)."""
    try:
        import simplejpeg
    except ImportError:
        simplejpeg = None
    if simplejpeg is not None:
        return simplejpeg.decode_jpeg(data, colorspace="GRAY", min_height=GREY, min_width=GREY)[..., 0]
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.draft("L", (GREY, GREY))
        return np.asarray(image.convert("L"))


def grey_of_stored(data: bytes, encoding: str, height: int, width: int) -> np.ndarray:
    """A stored frame (:mod:`curate.frames.encode`) as grey uint8 at ``GREY × GREY`` (a JPEG is decoded at reduced
    scale, :func:`_decode_grey_small`, never at full size)."""
    from PIL import Image

    if encoding == "raw":
        return grey_of_rgb(np.frombuffer(data, np.uint8).reshape(height, width, 3))
    if encoding == "jpeg":
        grey = _decode_grey_small(data)
        return grey if grey.shape == (GREY, GREY) else _grey_to_normal(Image.fromarray(grey))
    with Image.open(io.BytesIO(data)) as image:
        return _grey_to_normal(image.convert("L"))


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
