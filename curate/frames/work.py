"""The per-video function every executor runs: decode → sample → resize → encode → one shard row.

:func:`process` never raises: it returns ``{"row": …}`` or ``{"reason": …, "detail": …}``. It runs in a
worker process (a hung decoder is the executor's to kill), so it only takes picklable arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from curate.frames.sampling import Sampling


@dataclass(frozen=True)
class Task:
    """One distinct (video, clip window) to decode; ``path`` is the file on disk."""

    video_key: str
    video: str
    path: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Shaping:
    """Everything that decides the stored frames, plus the decoder to use."""

    sampling: Sampling = Sampling()
    size: int = 384
    resize: str = "square"
    max_pixels: int | None = None
    encoding: str = "jpeg"
    jpeg_quality: int = 90
    decoder: str = "auto"


def process(task: Task, shaping: Shaping) -> dict:
    """Decode ``task`` and build its frame row, or say why not."""
    from curate.frames.decoders import VideoError, decode
    from curate.frames.encode import FILE_EXT, encode_frame
    from curate.frames.resize import resize

    try:
        video = decode(task.path, shaping.sampling, task.start, task.end, decoder=shaping.decoder)
    except VideoError as exc:
        return {"reason": exc.reason, "detail": exc.detail}
    except Exception as exc:  # an unexpected decoder failure is the video's, not the run's
        return {"reason": "unreadable", "detail": f"{type(exc).__name__}: {exc}"}
    if not video.frames:
        return {"reason": "zero_frames", "detail": "no frame decoded"}
    frames = [resize(f, shaping.resize, shaping.size, shaping.max_pixels) for f in video.frames]
    ext = FILE_EXT[shaping.encoding]
    height, width = frames[0].shape[:2]
    return {
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
        }
    }
