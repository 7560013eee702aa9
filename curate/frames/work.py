"""The per-video function every executor runs: decode → sample → resize → encode → one shard row.

:func:`process` never raises: it returns ``{"row": …}`` or ``{"reason": …, "detail": …}``. It runs in a
worker process (a hung decoder is the executor's to kill), so it only takes picklable arguments.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from curate.frames.sampling import Sampling
from curate.options import config, option
from schemas.frames import ENCODINGS


@dataclass(frozen=True)
class Task:
    """One distinct (video, clip window) to decode; ``path`` is the file on disk."""

    video_key: str
    video: str
    path: str
    start: float | None = None
    end: float | None = None


def _resize_modes() -> tuple[str, ...]:
    from curate.frames.resize import RESIZE_MODES

    return RESIZE_MODES


def _decoders() -> tuple[str, ...]:
    from curate.frames.decoders import DECODERS

    return DECODERS


@config(frozen=True)
class FrameSpec:
    """Everything that decides the stored frames, plus the decoder to use."""

    sampling: Sampling = option(factory=Sampling)
    size: int = option(384, "Target size in pixels.", ge=1, le=16384)
    resize: str = option("square", "How frames are sized.", choices=_resize_modes)
    max_pixels: int | None = option(None, "Scale frames down to at most this many pixels.", ge=1)
    encoding: str = option("jpeg", "How frames are stored.", choices=ENCODINGS)
    jpeg_quality: int = option(90, "JPEG quality (1–100).", ge=1, le=100)
    decoder: str = option("auto", "Video decoder.", choices=_decoders)
    device: str = option(
        "cpu",
        "Where videos are decoded: cpu, or cuda / cuda:N (torchcodec on NVDEC; auto then tries it first).",
        pattern=r"^(cpu|cuda(:\d+)?)$",
    )


def warm() -> None:
    """Import what :func:`process` imports on its first call (the decoders, PyAV, Pillow): a worker calls it
    when it starts, while the driver is still reading its table, so the first video does not wait for
    it. A module that fails to import is left for :func:`process` to report per video."""
    import importlib

    modules = (
        "curate.frames.decoders",
        "curate.frames.encode",
        "curate.frames.resize",
        "curate.probe",
        "av",
        "PIL.Image",
    )
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: S112 - reported per video by process()
            continue
    if "PIL.Image" in sys.modules:
        sys.modules["PIL.Image"].preinit()  # the JPEG/PNG (and BMP, GIF, PPM) plugins Image.save loads first


def process(task: Task, shaping: FrameSpec, threads: int = 1) -> dict:
    """Decode ``task`` and build its frame row, or say why not. ``{"row": …, "frames_decoded": k,
    "decoded_by": name}``: ``name`` the decoder that decoded it (and its device off the CPU), ``k``
    what the decoder actually decoded (sparse decoding: far fewer than the row's ``num_frames_decoded``, the
    stream's frame count). Pictures come scaled from decoders that scale in their colour conversion (PyAV,
    the ffmpeg CLI); the others' full-size frames are resized here (:mod:`curate.frames.resize`).
    ``threads``: the CPUs this video may use (see :func:`curate.frames.decoders.decode`)."""
    from functools import partial

    from curate.frames.decoders import VideoError, decode
    from curate.frames.encode import FILE_EXT, encode_frame
    from curate.frames.resize import picture_size, place, resize

    mode, size, max_pixels = shaping.resize, shaping.size, shaping.max_pixels
    geometry = partial(picture_size, mode=mode, size=size, max_pixels=max_pixels)
    device = shaping.device
    try:
        video = decode(task.path, shaping.sampling, task.start, task.end, shaping.decoder, geometry, device, threads)
    except VideoError as exc:
        return {"reason": exc.reason, "detail": exc.detail}
    except Exception as exc:  # an unexpected decoder failure is the video's, not the run's
        return {"reason": "unreadable", "detail": f"{type(exc).__name__}: {exc}"}
    if not video.frames:
        return {"reason": "zero_frames", "detail": "no frame decoded"}
    full = (video.height, video.width)
    frames = [
        resize(f, mode, size, max_pixels) if f.shape[:2] == full else place(f, *full, mode, size, max_pixels)
        for f in video.frames
    ]
    ext = FILE_EXT[shaping.encoding]
    height, width = frames[0].shape[:2]
    return {
        "frames_decoded": video.frames_decoded,
        "decoded_by": video.decoded_by,
        "row": {
            "video_key": task.video_key,
            "video": task.video,
            "frames": [
                {
                    "bytes": encode_frame(f, shaping.encoding, shaping.jpeg_quality),
                    "path": f"{task.video_key}/{i:06d}.{ext}",
                }
                for f, i in zip(frames, video.indices, strict=True)
            ],
            "frame_indices": list(video.indices),
            "timestamps": [float(t) for t in video.timestamps],
            "num_frames_decoded": video.num_frames_decoded,
            "fps": video.fps,
            "duration": video.duration,
            "orig_height": video.height,
            "orig_width": video.width,
            "height": height,
            "width": width,
            "encoding": shaping.encoding,
        },
    }
