"""Clips for the decontamination tests and benchmark: synthetic "scenes" and their transformed copies.

:func:`scene_frames` draws a clip from a seed: each scene is a smooth random field (a coarse random grid
upscaled bicubically) with a few random shapes, seen through a window that pans slowly; a new scene starts
every ``scene_s`` seconds. Different seeds give unrelated clips that still share their look (same
generator, same palette range), so false matches between them are a fair test. :func:`write_clip` encodes
frames as H.264 with PyAV; :data:`TRANSFORMS` are ffmpeg filters/options making the copies the issue lists.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.media import ffmpeg

WIDTH, HEIGHT, FPS = 160, 96, 8


def scene_frames(
    seed: int, seconds: float = 4.0, fps: int = FPS, width: int = WIDTH, height: int = HEIGHT, scene_s: float = 1.0
) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 frames of a synthetic clip (see the module docstring)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    count = int(round(seconds * fps))
    per_scene = max(1, int(round(scene_s * fps)))
    frames = []
    canvas = None
    for i in range(count):
        if i % per_scene == 0:
            cw, ch = int(width * 1.3), int(height * 1.3)
            grid = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
            image = Image.fromarray(grid).resize((cw, ch), Image.Resampling.BICUBIC)
            draw = ImageDraw.Draw(image)
            for _ in range(4):
                x, y = int(rng.integers(0, cw - 20)), int(rng.integers(0, ch - 20))
                w, h = int(rng.integers(10, cw // 3)), int(rng.integers(10, ch // 3))
                colour = tuple(int(c) for c in rng.integers(0, 256, 3))
                (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x, y, x + w, y + h], fill=colour)
            canvas = np.asarray(image)
            dx, dy = rng.uniform(-1.5, 1.5), rng.uniform(-1, 1)
            x0, y0 = (cw - width) / 2, (ch - height) / 2
        step = i % per_scene
        x = int(np.clip(x0 + dx * step, 0, canvas.shape[1] - width))
        y = int(np.clip(y0 + dy * step, 0, canvas.shape[0] - height))
        frames.append(canvas[y : y + height, x : x + width])
    return np.stack(frames)


def write_clip(path: Path, frames: np.ndarray, fps: int = FPS) -> Path:
    """``frames`` as H.264/yuv420p mp4 at ``fps`` (PyAV)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        stream.codec_context.time_base = Fraction(1, fps)
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def scene_clip(path: Path, seed: int, seconds: float = 4.0) -> Path:
    return write_clip(path, scene_frames(seed, seconds))


# name → ffmpeg arguments between input and output (the copy keeps the original's frame rate)
TRANSFORMS: dict[str, list[str]] = {
    "reencode": ["-c:v", "mpeg4", "-q:v", "12"],  # another codec (MPEG-4 Part 2) at a much lower bitrate
    "resize": ["-vf", "scale=96:58", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28"],
    "letterbox": ["-vf", "scale=160:72,pad=160:120:0:24:black", "-c:v", "libx264", "-preset", "ultrafast"],
    "crop5": ["-vf", "crop=iw*0.95:ih*0.95", "-c:v", "libx264", "-preset", "ultrafast"],
    "trim": ["-ss", "1", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast"],
    "mirror": ["-vf", "hflip", "-c:v", "libx264", "-preset", "ultrafast"],
}


def transformed(source: Path, name: str, out: Path) -> Path:
    """A copy of ``source`` changed by :data:`TRANSFORMS` ``[name]`` (mp4 or, for ``reencode``, avi)."""
    ffmpeg("-i", source, *TRANSFORMS[name], "-an", out)
    return Path(out)


def mcq_folder(path: Path, rows: list[dict]) -> Path:
    """A folder holding an ``mcq.parquet`` of ``rows`` (the columns not given take neutral defaults)."""
    from schemas.mcq import MCQ_SCHEMA, write_mcq

    full = [
        {
            "subset": None,
            "problem_type": "multiple choice",
            "duration": None,
            "start": None,
            "end": None,
            "meta": "{}",
            "answer": 0,
            **r,
        }
        for r in rows
    ]
    import pyarrow as pa

    path.mkdir(parents=True, exist_ok=True)
    write_mcq(pa.Table.from_pylist(full, schema=MCQ_SCHEMA), path / "mcq.parquet")
    return path
