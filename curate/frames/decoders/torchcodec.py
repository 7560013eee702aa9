"""torchcodec (PyTorch's video decoder, CPU or NVDEC): exact seeking, trusted where the packet index is.

``torchcodec.decoders.VideoDecoder(path, seek_mode="exact")`` scans every packet first (skipping packets
marked discard), sorts them by pts and calls frame ``i`` the ``i``-th; ``get_frames_at(indices)`` seeks to
the keyframe before a frame (by its scanned index, ``avformat_seek_file`` on the keyframe's pts) unless the
frame shares a keyframe with the last one decoded, then decodes until the first frame whose display interval
reaches the wanted pts — so a frame the decoder drops is silently replaced by its successor. Hence:

- refused (``torchcodec_untrusted``) unless the PyAV index says frame ``i`` is packet ``i`` in pts order
  (:func:`curate.frames.seek.untrusted`, the same rule as PyAV's sparse decoding);
- refused (``torchcodec_count``) when its frame count differs from the index's or a returned frame's pts
  differs from the index's timestamp at that index (more than 1 µs);
- ``seek_mode="approximate"`` (no scan; positions guessed from the header's frame rate) is never used: it
  is wrong wherever the rate is not constant.

Frames come back full size, rotated by torchcodec itself (its metadata's ``rotation``); its own
``Resize`` transform is bilinear only, so frames are scaled afterwards like decord's (Pillow bicubic).
``device``: ``"cpu"`` or ``"cuda"`` / ``"cuda:N"`` (NVDEC through torchcodec's default CUDA backend; frames
are copied back to host memory). On a CUDA device torchcodec (0.17, read) decodes on the CPU instead
when NVDEC cannot take the stream (a codec or size the GPU does not support, no ``libnvcuvid``); it says so
in ``VideoDecoder.cpu_fallback``, and the result's ``device`` is then ``"cpu"``. ``frames_decoded`` is what
its seek rule decodes by the index (:func:`curate.frames.seek.planned_frames`).
"""

from __future__ import annotations

import numpy as np

from curate.frames import seek
from curate.frames.decoders.common import DecodedVideo, VideoError, measured_fps, message, result
from curate.frames.decoders.pyav import pyav_index
from curate.frames.sampling import Sampling, choose

DEVICES = ("cpu", "cuda")


def check_device(device: str) -> None:
    """ValueError unless ``device`` is ``cpu``, ``cuda`` or ``cuda:N``."""
    kind, _, number = device.partition(":")
    if kind not in DEVICES or (number and (kind != "cuda" or not number.isdigit())):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', not {device!r}")


def check_cuda(device: str) -> None:
    """ValueError unless torch sees the CUDA device ``device`` names (``cuda`` is device 0): without it
    ``auto`` would decode every video with PyAV on the CPU, and ``torchcodec`` reject every one."""
    try:
        import torch
    except ImportError:
        raise ValueError(f"device {device!r} needs torch, which is not installed") from None
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    number = int(device.partition(":")[2] or 0)
    if number >= count:
        seen = f"{count} CUDA device{'s' if count != 1 else ''}" if count else "no CUDA device"
        raise ValueError(f"device {device!r}: torch sees {seen}")


def decode_torchcodec(
    path: str,
    sampling: Sampling,
    start: float | None = None,
    end: float | None = None,
    device: str = "cpu",
    threads: int = 1,
) -> DecodedVideo:
    """torchcodec decoder (module docstring); raises :class:`VideoError` where it cannot be trusted.
    ``threads``: FFmpeg's decoding threads on the CPU (``num_ffmpeg_threads``), the caller's share of the
    CPUs (0: FFmpeg's automatic count, a thread per core, which oversubscribes a machine whose workers
    already use one core each)."""
    check_device(device)
    try:
        from torchcodec.decoders import VideoDecoder
    except ImportError as exc:
        raise VideoError("torchcodec_unavailable", message(exc)) from None
    index = pyav_index(path)
    why = seek.untrusted(index)
    if why:
        raise VideoError("torchcodec_untrusted", why)
    timestamps = index.timestamps
    try:
        reader = VideoDecoder(
            path, seek_mode="exact", dimension_order="NHWC", device=device, num_ffmpeg_threads=threads
        )
        if len(reader) != len(timestamps):
            counts = f"torchcodec indexed {len(reader)} frames, the demuxer {len(timestamps)}"
            raise VideoError("torchcodec_count", counts)
        fps = measured_fps(index.fps, timestamps)
        indices = choose(timestamps, fps, sampling, start, end)
        unique = sorted(set(indices))
        batch = reader.get_frames_at(unique)
        pts = batch.pts_seconds.double().cpu().numpy()
        frames = batch.data.cpu().numpy()
        ran_on = "cpu" if device == "cpu" or getattr(reader, "cpu_fallback", False) else device
    except VideoError:
        raise
    except Exception as exc:  # torchcodec's RuntimeErrors: the file or the device
        raise VideoError("torchcodec: " + message(exc)) from None
    base = float((index.start_pts or 0) * index.time_base) if index.time_base is not None else 0.0
    drift = float(np.max(np.abs(pts - base - np.asarray([timestamps[i] for i in unique])))) if unique else 0.0
    if drift > 1e-6:
        raise VideoError("torchcodec_count", f"torchcodec's frame times differ from the demuxer's by {drift:.3g} s")
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise VideoError("torchcodec_shape", f"torchcodec returned frames of shape {frames.shape}")
    kept = {i: np.ascontiguousarray(frames[j]) for j, i in enumerate(unique)}
    spent = seek.planned_frames(index, unique)
    last = index.last_duration
    return result("torchcodec", timestamps, fps, indices, kept, last, frames_decoded=spent, device=ran_on)
