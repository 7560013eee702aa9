"""Test videos made on the fly with the ffmpeg CLI (and PyAV where ffmpeg cannot say it), small and short.

Every maker writes one file and returns its path. Makers that need an encoder this ffmpeg build may
lack call :func:`require_encoder`, which skips the calling test naming the missing encoder. Nothing
here touches the network.

=========================  ======================================================================
maker                      what it writes
=========================  ======================================================================
``clean_cfr``              H.264 in mp4, constant frame rate, ``frames`` frames exactly (testsrc2)
``one_frame``              a single-frame H.264 mp4
``codec_clip``             VP9 webm / HEVC mkv / AV1 mp4 (``codec`` argument)
``vfr``                    H.264 mp4 whose frame durations vary (pts given by a PyAV writer)
``rotated``                H.264 mp4 with a 90°/180° display matrix (frames stored landscape)
``uhd``                    a 3840×2160 H.264 clip of one or two frames
``audio_only``             AAC audio in mp4, no video stream
``truncated_no_moov``      an mp4 cut before its ``moov`` atom (moov written last)
``over_reporting``         an mp4 whose index (moov, at the front) claims more frames than its
                           data holds: the tail of ``mdat`` is cut off, as in a broken download
``no_frames``              an mp4 whose index lists a video stream but whose ``mdat`` holds nothing
``zero_byte``, ``random_bytes``  not videos at all
=========================  ======================================================================
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

FFMPEG = shutil.which("ffmpeg")


def need_ffmpeg() -> str:
    """The ffmpeg CLI path, or skip the calling test."""
    if not FFMPEG:
        pytest.skip("ffmpeg CLI not installed")
    return FFMPEG


@functools.cache
def encoders() -> frozenset[str]:
    """Names of the encoders this ffmpeg build offers (``ffmpeg -encoders``)."""
    if not FFMPEG:
        return frozenset()
    out = subprocess.run([FFMPEG, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS":
            names.add(parts[1])
    return frozenset(names)


def require_encoder(*candidates: str) -> str:
    """The first of ``candidates`` this ffmpeg offers, else skip the test naming them."""
    need_ffmpeg()
    for name in candidates:
        if name in encoders():
            return name
    pytest.skip(f"ffmpeg encoder not available in this build: {' / '.join(candidates)}")


def ffmpeg(*args: str | os.PathLike) -> None:
    """Run ``ffmpeg -nostdin -v error -y ARGS`` and raise with its stderr on failure."""
    cmd = [need_ffmpeg(), "-nostdin", "-hide_banner", "-v", "error", "-y", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")


def testsrc(width: int, height: int, fps: int | str) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}"]


def clean_cfr(path: Path, frames: int = 50, width: int = 160, height: int = 90, fps: int = 25) -> Path:
    """H.264/yuv420p mp4 at a constant ``fps`` with exactly ``frames`` frames."""
    ffmpeg(
        *testsrc(width, height, fps),
        "-frames:v",
        str(frames),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "ultrafast",
        "-movflags",
        "+faststart",
        path,
    )
    return Path(path)


def one_frame(path: Path, width: int = 64, height: int = 48) -> Path:
    return clean_cfr(path, frames=1, width=width, height=height)


CODECS = {
    # name: (encoder candidates, extra args)
    "vp9": (("libvpx-vp9",), ["-b:v", "200k", "-deadline", "realtime", "-cpu-used", "8"]),
    "hevc": (("libx265",), ["-preset", "ultrafast", "-x265-params", "log-level=error"]),
    "av1": (("libsvtav1", "libaom-av1", "librav1e"), []),
}
AV1_ARGS = {
    "libsvtav1": ["-preset", "12"],
    "libaom-av1": ["-cpu-used", "8", "-row-mt", "1", "-b:v", "200k"],
    "librav1e": ["-speed", "10"],
}


def codec_clip(path: Path, codec: str, frames: int = 30, width: int = 160, height: int = 90, fps: int = 15) -> Path:
    """A clip in ``codec`` (``vp9``/``hevc``/``av1``); the container follows ``path``'s suffix."""
    candidates, extra = CODECS[codec]
    encoder = require_encoder(*candidates)
    extra = AV1_ARGS.get(encoder, extra)
    # libsvtav1 wants dimensions that are multiples of 8 in older builds; 160x96 is safe for every encoder
    if codec == "av1":
        height = (height + 7) // 8 * 8
    ffmpeg(*testsrc(width, height, fps), "-frames:v", str(frames), "-c:v", encoder, *extra, "-pix_fmt", "yuv420p", path)
    return Path(path)


def vfr(path: Path, pts_ms: list[int] | None = None, width: int = 64, height: int = 48) -> Path:
    """H.264 mp4 whose frames sit at ``pts_ms`` (milliseconds, uneven gaps), written with PyAV."""
    import av

    pts_ms = pts_ms or [0, 40, 80, 200, 240, 500, 540, 1000, 1040, 1500]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast", "bf": "0"}
        for i, pts in enumerate(pts_ms):
            image = np.full((height, width, 3), (i * 23) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def rotated(path: Path, degrees: int = 90, frames: int = 10, width: int = 64, height: int = 48) -> Path:
    """H.264 mp4 stored ``width``×``height`` with a display matrix of ``degrees`` (a multiple of 90).

    A stream copy of :func:`clean_cfr` (same frames) with ``-display_rotation`` (ffmpeg ≥ 6) or, on older
    builds, the ``rotate`` tag the mp4 muxer turns into a display matrix. Which way it turns is whatever
    ffmpeg's autorotate makes of it: the tests compare the decoders against the ffmpeg CLI.
    """
    plain = Path(path).with_suffix(".plain.mp4")
    clean_cfr(plain, frames=frames, width=width, height=height)
    try:
        ffmpeg("-display_rotation:v:0", str(-degrees), "-i", plain, "-c", "copy", path)
    except RuntimeError:
        ffmpeg("-i", plain, "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", path)
    plain.unlink()
    return Path(path)


def uhd(path: Path, frames: int = 2) -> Path:
    """A 3840×2160 H.264 clip of ``frames`` frames."""
    return clean_cfr(path, frames=frames, width=3840, height=2160, fps=25)


def audio_only(path: Path, seconds: float = 1.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", path)
    return Path(path)


def truncated_no_moov(path: Path) -> Path:
    """An mp4 whose ``moov`` atom (written last, no faststart) has been cut away: only ``ftyp`` + ``mdat``."""
    whole = Path(path).with_suffix(".whole.mp4")
    ffmpeg(
        *testsrc(160, 90, 25),
        "-frames:v",
        "50",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        whole,
    )
    data = whole.read_bytes()
    moov = data.rfind(b"moov")
    assert moov > 0, "moov atom not found"
    Path(path).write_bytes(data[: moov - 4][: len(data) // 2])
    whole.unlink()
    return Path(path)


def intra_clip(path: Path, frames: int = 50) -> Path:
    """An intra-only (``-g 1``) H.264 mp4 with ``moov`` first: every frame decodes on its own."""
    ffmpeg(
        *testsrc(160, 90, 25),
        "-frames:v",
        str(frames),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "1",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        path,
    )
    return Path(path)


def over_reporting(path: Path, frames: int = 50, kept_fraction: float = 0.5) -> Path:
    """An mp4 (moov first) whose sample table lists ``frames`` frames but whose ``mdat`` is cut to
    ``kept_fraction`` of its bytes, so fewer frames exist than the container claims. Intra-only
    (``-g 1``) so every surviving frame decodes on its own."""
    whole = intra_clip(Path(path).with_suffix(".whole.mp4"), frames)
    data = whole.read_bytes()
    mdat = data.find(b"mdat")
    assert mdat > 0 and data.find(b"moov") < mdat, "expected moov before mdat"
    body = len(data) - (mdat + 4)
    Path(path).write_bytes(data[: mdat + 4 + int(body * kept_fraction)])
    whole.unlink()
    return Path(path)


def zero_byte(path: Path) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def random_bytes(path: Path, size: int = 4096, seed: int = 0) -> Path:
    Path(path).write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return Path(path)


def frame_count(path: Path) -> int:
    """Frames that decode in ``path``, counted by ``ffprobe -count_frames`` (independent of our decoders)."""
    ffprobe = shutil.which("ffprobe")
    if not ffprobe:
        pytest.skip("ffprobe not installed")
    out = subprocess.run(
        [
            ffprobe,
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "default=nokey=1:noprint_wrappers=1",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())


def no_frames(path: Path) -> Path:
    """An mp4 whose ``moov`` lists a video stream with 50 frames and whose ``mdat`` is empty."""
    return over_reporting(path, kept_fraction=0.0)
