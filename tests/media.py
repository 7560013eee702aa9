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
``program_stream``         MPEG-2 video with B-frames in an MPEG program stream (``-f vob``/``mpeg``)
``transport_stream``       H.264 with B-frames in an MPEG transport stream
``bframe_avi``             MPEG-4 Part 2 (or H.264) with B-frames in AVI (no stored presentation times)
``open_gop``               MPEG-4 Part 2 / MPEG-2 with B-frames across keyframes, container by suffix
``vfr_switch``             25 fps for 4 s, then 5 fps (``-vsync vfr``): H.264 mp4 or MPEG-4 AVI
``mpeg1_es``               a raw MPEG-1 video elementary stream whose header duration is wrong
``short_gops``             H.264 with B-frames and a keyframe every ``gop`` frames (closed or open
                           GOPs), optionally switching from 25 to 5 fps: what sparse decoding seeks in
=========================  ======================================================================

:func:`reference_decode` is the reference the decoders are checked against: every frame the ffmpeg CLI
outputs (``-vsync passthrough``, autorotated, in the order the decoder emits them), with the sorted
presentation timestamps of a full PyAV decode. :func:`psnr` compares two frames.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
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


def make_clip(path: Path, seconds: float = 1.0, size: str = "96x64", rate: int = 10, codec: str = "libx264") -> Path:
    """The suite's everyday clip: ffmpeg's ``testsrc`` pattern, ``seconds`` long, ``size`` at ``rate`` fps,
    yuv420p in ``codec`` (parent folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"testsrc=duration={seconds}:size={size}:rate={rate}"
    ffmpeg("-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p", "-c:v", codec, path)
    return path


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


def short_gops(
    path: Path, frames: int = 120, gop: int = 12, open_gop: bool = False, vfr: bool = False, width: int = 160
) -> Path:
    """H.264 (3 B-frames, a keyframe every ``gop`` frames, scene-cut off; ``open_gop``: x264's open GOPs,
    whose leading B-frames reference the GOP before) in the container ``path``'s suffix names, 96 pixels
    high. ``vfr``: 25 fps for the first half of the frames, then 5 fps (``-vsync vfr``; mp4 then cuts the
    last frame with an edit list, as :func:`vfr_switch`)."""
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=3" + (":open-gop=1" if open_gop else "")
    if vfr:
        half = frames // 2
        graph = (
            f"testsrc2=s={width}x96:r=25:d={half / 25}[a];testsrc2=s={width}x96:r=5:d={(frames - half) / 5}[b];"
            "[a][b]concat=n=2:v=1:a=0,settb=1/25[v]"
        )
        source = ["-filter_complex", graph, "-map", "[v]", "-vsync", "vfr"]
    else:
        source = [*testsrc(width, 96, 25), "-frames:v", str(frames)]
    ffmpeg(*source, "-c:v", "libx264", "-preset", "veryfast", "-x264-params", params, "-pix_fmt", "yuv420p", path)
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


# ---------------------------------------------------------------------------------- failure kinds (issue 10)


def program_stream(path: Path, frames: int = 100, muxer: str = "vob", width: int = 160, height: int = 96) -> Path:
    """MPEG-2 video (B-frames, GOP 12: open GOPs) in an MPEG program stream; ``muxer`` is ``vob`` or ``mpeg``."""
    ffmpeg(
        *testsrc(width, height, 25),
        "-frames:v",
        str(frames),
        "-c:v",
        "mpeg2video",
        "-bf",
        "2",
        "-g",
        "12",
        "-q:v",
        "4",
        "-f",
        muxer,
        path,
    )
    return Path(path)


def transport_stream(path: Path, frames: int = 100, width: int = 160, height: int = 96) -> Path:
    """H.264 (3 B-frames, GOP 30, closed) in an MPEG transport stream."""
    ffmpeg(
        *testsrc(width, height, 25),
        "-frames:v",
        str(frames),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-bf",
        "3",
        "-g",
        "30",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "mpegts",
        path,
    )
    return Path(path)


def bframe_avi(
    path: Path, frames: int = 150, codec: str = "mpeg4", width: int = 160, height: int = 96, quality: int | None = 4
) -> Path:
    """AVI (which stores no presentation times) holding a stream with B-frames: ``mpeg4`` (MPEG-4 Part 2,
    2 B-frames, GOP 30: open GOPs; at constant ``quality``, or with None at the encoder's default 200 kb/s,
    where PyAV's libavcodec and the CLI's decode a few levels apart) or ``libx264`` (3 B-frames, GOP 30)."""
    if codec == "libx264":
        extra = ["-preset", "veryfast", "-bf", "3", "-pix_fmt", "yuv420p"]
    else:
        extra = ["-bf", "2", *(["-q:v", str(quality)] if quality else [])]
    ffmpeg(*testsrc(width, height, 25), "-frames:v", str(frames), "-c:v", codec, "-g", "30", *extra, "-f", "avi", path)
    return Path(path)


def open_gop(path: Path, frames: int = 150, codec: str = "mpeg4", width: int = 160, height: int = 96) -> Path:
    """``mpeg4`` or ``mpeg2video`` with 2 B-frames across keyframes (GOP 30; the B-frames after a keyframe
    in decode order show before it), in the container ``path``'s suffix names (mp4, mkv)."""
    ffmpeg(
        *testsrc(width, height, 25), "-frames:v", str(frames), "-c:v", codec, "-bf", "2", "-g", "30", "-q:v", "4", path
    )
    return Path(path)


def vfr_switch(
    path: Path,
    high: int = 25,
    low: int = 5,
    switch: float = 4.0,
    seconds: float = 9.8,
    width: int = 160,
    height: int = 96,
) -> Path:
    """``high`` fps for ``switch`` s, then ``low`` fps until ``seconds`` (the frames keep their real times:
    ``-vsync vfr``, time base 1/``high``). mp4 → H.264; avi → MPEG-4 Part 2 without B-frames (the AVI
    muxer writes empty packets for the gaps, so the header counts ``seconds · high`` frames)."""
    graph = (
        f"testsrc2=s={width}x{height}:r={high}:d={switch}[a];"
        f"testsrc2=s={width}x{height}:r={low}:d={seconds - switch:g}[b];"
        f"[a][b]concat=n=2:v=1:a=0,settb=1/{high}[v]"
    )
    if Path(path).suffix == ".avi":
        codec = ["-c:v", "mpeg4", "-q:v", "4", "-bf", "0"]
    else:
        codec = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    ffmpeg("-filter_complex", graph, "-map", "[v]", *codec, "-vsync", "vfr", path)
    return Path(path)


def mpeg1_es(path: Path, frames: int = 100, width: int = 160, height: int = 96) -> Path:
    """A raw MPEG-1 video elementary stream (``-f mpeg1video``) encoded at constant quality (``-q:v``): its
    sequence header then carries the maximum bitrate (104857200 b/s), so FFmpeg's duration estimate, file
    size / bitrate, is a few hundredths of a second for a 4-second clip."""
    ffmpeg(
        *testsrc(width, height, 25),
        "-frames:v",
        str(frames),
        "-c:v",
        "mpeg1video",
        "-q:v",
        "4",
        "-f",
        "mpeg1video",
        path,
    )
    return Path(path)


# ----------------------------------------------------------------------------------------------- reference


@dataclass
class Reference:
    """Every frame of a video as the ffmpeg CLI decodes it, the frames' presentation times, and the video's
    duration: the last presentation time + the container's duration of that frame's packet (else the gap
    before it)."""

    frames: list[np.ndarray]
    timestamps: list[float]
    duration: float


def read_ppm_stream(data: bytes) -> list[np.ndarray]:
    """Frames from concatenated binary PPM images (``P6 W H 255``), as uint8 HWC RGB."""
    frames, pos = [], 0
    while pos < len(data):
        fields: list[bytes] = []
        while len(fields) < 4:
            while data[pos : pos + 1].isspace():
                pos += 1
            end = pos
            while not data[end : end + 1].isspace():
                end += 1
            fields.append(data[pos:end])
            pos = end
        pos += 1  # the single whitespace byte after the maxval
        assert fields[0] == b"P6" and fields[3] == b"255", fields
        width, height = int(fields[1]), int(fields[2])
        size = width * height * 3
        frames.append(np.frombuffer(data[pos : pos + size], np.uint8).reshape(height, width, 3))
        pos += size
    return frames


def reference_decode(path: Path) -> Reference:
    """The reference decode of ``path``: frame ``i`` is the ``i``-th frame ``ffmpeg -i PATH -vsync
    passthrough`` outputs (autorotated, rgb24 through PPM, lossless); its time is the ``i``-th smallest
    ``(pts − stream start) · time_base`` of a full PyAV decode (pts sorted: FFmpeg's guessed pts in AVI
    come in decode order). The two must agree on the frame count."""
    import av

    cmd = [
        need_ffmpeg(),
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-vsync",
        "passthrough",
        "-f",
        "image2pipe",
        "-c:v",
        "ppm",
        "-pix_fmt",
        "rgb24",
        "pipe:",
    ]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.decode(errors='replace')}")
    frames = read_ppm_stream(proc.stdout)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pts = [frame.pts for frame in container.decode(stream)]
        start, time_base = stream.start_time, stream.time_base
    with av.open(str(path)) as container:
        packets = {p.pts: p.duration for p in container.demux(video=0) if p.size and not p.is_discard}
    assert None not in pts, "reference needs a pts on every frame"
    start = min(pts) if start is None else start
    timestamps = sorted(float((p - start) * time_base) for p in pts)
    assert len(frames) == len(timestamps), f"ffmpeg CLI decodes {len(frames)} frames, PyAV {len(timestamps)}"
    last = float((packets.get(max(pts)) or 0) * time_base)
    if last <= 0:
        gaps = [b - a for a, b in zip(timestamps[:-1], timestamps[1:], strict=True) if b > a]
        last = gaps[-1] if gaps else 0.0
    return Reference(frames, timestamps, timestamps[-1] + last)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 frames of one shape, in dB (``inf`` when identical)."""
    assert a.shape == b.shape, (a.shape, b.shape)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
