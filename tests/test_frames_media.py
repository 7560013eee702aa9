"""Sampling formulas, frame encodings and resize modes (no video decoding here)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curate.frames.encode import FILE_EXT, decode_frame, encode_frame
from curate.frames.resize import RESIZE_MODES, resize, smart_resize, target_size
from curate.frames.sampling import (
    Sampling,
    choose,
    duration,
    fps_indices,
    fps_times,
    frame_duration,
    nearest,
    uniform_indices,
)
from schemas.frames import ENCODINGS


def picture(height: int = 90, width: int = 160, seed: int = 0) -> np.ndarray:
    """A smooth gradient with a few sharp bars and a little noise: something like a video frame."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) % 64 * 4], axis=-1)
    image[:, width // 3 : width // 3 + 4] = [255, 255, 255]
    noise = np.random.default_rng(seed).integers(-3, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------- sampling


def test_uniform_is_floor_linspace():
    assert uniform_indices(300, 16) == np.floor(np.linspace(0, 299, 16)).astype(int).tolist()
    assert uniform_indices(300, 16)[0] == 0 and uniform_indices(300, 16)[-1] == 299


@pytest.mark.parametrize("n,count", [(1, 16), (5, 16), (16, 16), (17, 16), (1000, 8), (2, 3)])
def test_uniform_matches_numpy_for_any_length(n, count):
    expected = np.floor(np.linspace(0, n - 1, count)).astype(int).tolist()
    assert uniform_indices(n, count) == expected
    assert len(uniform_indices(n, count)) == count


def test_uniform_repeats_when_fewer_frames_than_wanted():
    indices = uniform_indices(5, 16)
    assert len(indices) == 16 and sorted(set(indices)) == [0, 1, 2, 3, 4]
    assert indices == sorted(indices)
    assert uniform_indices(1, 16) == [0] * 16
    assert uniform_indices(0, 16) == []


@pytest.mark.parametrize(
    "n,video_fps,fps,lo,hi,count",
    [
        (300, 30.0, 2.0, 4, 768, 20),  # 10 s at 2 fps
        (30, 30.0, 2.0, 4, 768, 4),  # 1 s: 2 frames, raised to min_frames
        (3000, 30.0, 2.0, 4, 16, 16),  # 100 s: 200 frames, capped at max_frames
        (330, 30.0, 2.0, 4, 768, 22),  # round(22.0) = 22
        (345, 30.0, 2.0, 4, 768, 22),  # round(23.0) = 23, floored to an even 22
        (3, 30.0, 2.0, 4, 768, 2),  # fewer frames than min_frames: capped at n, floored to even
        (1, 30.0, 2.0, 4, 768, 1),  # a single frame
    ],
)
def test_fps_mode_counts(n, video_fps, fps, lo, hi, count):
    indices = fps_indices(n, video_fps, fps, lo, hi)
    assert len(indices) == count
    assert indices[0] == 0 and indices[-1] == n - 1
    assert indices == [round(x) for x in np.linspace(0, n - 1, count)]


def test_window_restricts_to_frames_inside():
    timestamps = [i / 10 for i in range(100)]  # 10 s at 10 fps
    indices = choose(timestamps, 10.0, Sampling(num_frames=16), start=2.0, end=5.0)
    assert indices[0] == 20 and indices[-1] == 50
    assert indices == [20 + i for i in np.floor(np.linspace(0, 30, 16)).astype(int)]
    fps_mode = choose(timestamps, 10.0, Sampling(mode="fps", fps=2.0), start=2.0, end=5.0)
    assert fps_mode[0] == 20 and fps_mode[-1] == 50 and len(fps_mode) == 6


def test_window_outside_video_falls_back_to_whole_video():
    timestamps = [i / 10 for i in range(20)]
    assert choose(timestamps, 10.0, Sampling(num_frames=4), start=50.0, end=60.0) == uniform_indices(20, 4)


def test_open_ended_windows():
    timestamps = [i / 10 for i in range(20)]
    assert choose(timestamps, 10.0, Sampling(num_frames=2), start=1.0) == [10, 19]
    assert choose(timestamps, 10.0, Sampling(num_frames=2), end=0.5) == [0, 5]


# ------------------------------------------------------------------------------ time, not index (issue 10)

# 25 fps for 4 s, then 5 fps until 9.8 s: 100 + 29 frames
SWITCH = [i / 25 for i in range(100)] + [4.0 + i / 5 for i in range(29)]


def test_duration_is_last_time_plus_one_frame():
    assert duration([i / 25 for i in range(50)], 25.0) == pytest.approx(2.0)
    assert duration(SWITCH, 129 / 9.8) == pytest.approx(9.8)  # the last frame lasts 0.2 s, as the one before
    assert duration([0.04 * i + 0.04 for i in range(150)], 25.0) == pytest.approx(6.04)  # on the stream's clock
    assert duration([0.0], 25.0) == pytest.approx(0.04)  # one frame: 1 / fps
    assert duration([0.0], 0.0) == 0.0 and duration([], 25.0) == 0.0
    assert frame_duration([0.0, 0.5, 1.0, 1.0], 25.0) == pytest.approx(0.5)  # the last gap that is not zero
    assert duration(SWITCH, 25.0, last_frame=0.04) == pytest.approx(9.64)  # the packet's own duration first
    assert duration(SWITCH, 25.0, last_frame=0.0) == pytest.approx(9.8)


@pytest.mark.parametrize("n", [1, 2, 3, 17, 50, 162, 225, 301, 1000])
@pytest.mark.parametrize("video_fps", [10.0, 23.976, 24.0, 25.0, 29.97, 60.0])
@pytest.mark.parametrize("fps", [0.5, 1.0, 2.0, 3.0])
def test_fps_by_time_is_qwens_index_rule_on_a_constant_rate_clip(n, video_fps, fps):
    timestamps = [i / video_fps for i in range(n)]
    for lo, hi in ((4, 768), (2, 16)):
        sampling = Sampling(mode="fps", fps=fps, min_frames=lo, max_frames=hi)
        assert choose(timestamps, video_fps, sampling) == fps_indices(n, video_fps, fps, lo, hi)


def test_fps_by_time_covers_a_vfr_clip_evenly():
    indices = choose(SWITCH, 129 / 9.8, Sampling(mode="fps", fps=1.0))
    assert len(indices) == 10  # round(9.8 s · 1 fps)
    times = [SWITCH[i] for i in indices]
    targets = np.linspace(0.0, SWITCH[-1], 10)
    assert np.abs(np.array(times) - targets).max() <= 0.1 + 1e-9  # each the nearest frame (5 fps: ≤ 0.1 s off)
    assert sum(t < 4.0 for t in times) == 4
    by_index = fps_indices(len(SWITCH), 129 / 9.8, 1.0, 4, 768)  # the old rule, even in index
    assert sum(SWITCH[i] < 4.0 for i in by_index) == 7  # 7 of 10 frames in the first 4 of 9.8 s


def test_uniform_stays_even_in_index_on_a_vfr_clip():
    indices = choose(SWITCH, 129 / 9.8, Sampling(num_frames=10))
    assert indices == uniform_indices(129, 10)
    assert sum(SWITCH[i] < 4.0 for i in indices) == 8  # TinyLLaVA-Video's definition, kept


def test_fps_by_time_in_a_window_measures_the_window():
    indices = choose(SWITCH, 129 / 9.8, Sampling(mode="fps", fps=2.0, min_frames=2), start=5.0, end=9.0)
    times = [SWITCH[i] for i in indices]
    assert times[0] == pytest.approx(5.0) and times[-1] == pytest.approx(9.0)
    assert len(indices) == 8  # (9.0 − 5.0 + 0.2) s · 2 fps = 8.4 → 8


def test_nearest():
    times = [0.0, 0.1, 0.1, 0.5]
    assert nearest(times, -1.0) == 0 and nearest(times, 9.0) == 3
    assert nearest(times, 0.05) == 0  # a tie takes the earlier frame
    assert nearest(times, 0.11) == 1  # the first of equal timestamps
    assert nearest(times, 0.31) == 3
    assert fps_times([], 1.0, 4, 768) == [] and fps_times([0.3], 1.0, 4, 768) == [0]


# ------------------------------------------------------------------------------------------- encoding


def test_file_extensions_cover_every_encoding():
    assert set(FILE_EXT) == set(ENCODINGS)


@pytest.mark.parametrize("encoding", ["png", "raw"])
def test_lossless_round_trip_is_exact(encoding):
    frame = picture()
    data = encode_frame(frame, encoding)
    back = decode_frame(data, encoding, *frame.shape[:2])
    assert back.dtype == np.uint8 and back.shape == frame.shape
    assert np.array_equal(back, frame)


def test_raw_is_c_order_hwc_bytes():
    frame = picture(4, 6)
    assert encode_frame(frame, "raw") == frame.tobytes()
    assert len(encode_frame(frame, "raw")) == 4 * 6 * 3
    mirrored = frame[:, ::-1]  # a strided view is written in C order too
    assert encode_frame(mirrored, "raw") == np.ascontiguousarray(mirrored).tobytes()


@pytest.mark.parametrize("quality,bound", [(90, 4.0), (50, 8.0)])
def test_jpeg_round_trip_is_close(quality, bound):
    frame = picture()
    data = encode_frame(frame, "jpeg", quality=quality)
    assert data[:2] == b"\xff\xd8"  # a JPEG SOI marker
    back = decode_frame(data, "jpeg", *frame.shape[:2])
    assert back.shape == frame.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - frame.astype(int)).mean() < bound


def test_jpeg_quality_changes_size():
    frame = picture()
    assert len(encode_frame(frame, "jpeg", quality=95)) > len(encode_frame(frame, "jpeg", quality=30))


def test_png_bytes_are_a_png():
    assert encode_frame(picture(), "png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_encoding_errors():
    with pytest.raises(ValueError, match="encoding"):
        encode_frame(picture(), "webp")
    with pytest.raises(ValueError, match="uint8"):
        encode_frame(picture().astype(np.float32), "png")
    with pytest.raises(ValueError, match="bytes"):
        decode_frame(b"\x00" * 10, "raw", 2, 2)
    with pytest.raises(ValueError, match="expected"):
        decode_frame(encode_frame(picture(8, 8), "png"), "png", 9, 8)


# --------------------------------------------------------------------------------------------- resize


@pytest.mark.slow
@pytest.mark.parametrize(
    "shape,mode,size,expected",
    [
        ((90, 160), "square", 384, (384, 384)),
        ((90, 160), "short-side", 384, (384, 683)),  # 160 · 384 / 90 = 682.67
        ((160, 90), "short-side", 384, (683, 384)),
        ((100, 100), "short-side", 50, (50, 50)),
        ((90, 160), "pad", 384, (384, 384)),
        ((90, 160), "none", 384, (90, 160)),
        ((2160, 3840), "square", 384, (384, 384)),
        ((48, 64), "short-side", 384, (384, 512)),  # upscaled
    ],
)
def test_resize_shapes(shape, mode, size, expected):
    frame = picture(*shape)
    assert target_size(*shape, mode, size, None) == expected
    out = resize(frame, mode, size)
    assert out.shape == (*expected, 3) and out.dtype == np.uint8


def test_none_returns_the_frame_unchanged():
    frame = picture()
    assert resize(frame, "none", 384) is frame


@pytest.mark.parametrize("shape", [(90, 160), (160, 90)])
def test_pad_borders_are_black_and_centred(shape):
    out = resize(np.full((*shape, 3), 200, np.uint8), "pad", 384)
    assert out.shape == (384, 384, 3)
    inner = 216  # round(90 · 384 / 160)
    border = (384 - inner) // 2  # 84
    if shape[0] < shape[1]:  # landscape: bars top and bottom
        assert not out[:border].any() and not out[border + inner :].any()
        assert (out[border : border + inner] == 200).all()
    else:
        assert not out[:, :border].any() and not out[:, border + inner :].any()
        assert (out[:, border : border + inner] == 200).all()


def test_resize_is_bicubic_and_keeps_flat_colour():
    flat = np.full((90, 160, 3), (10, 120, 250), np.uint8)
    for mode in RESIZE_MODES:
        out = resize(flat, mode, 64)
        if mode == "pad":
            out = out[16:-16]  # 90x160 fits as 36x64 between black bars
        assert (out == (10, 120, 250)).all()
    from PIL import Image

    frame = picture()
    expected = np.asarray(Image.fromarray(frame).resize((64, 64), Image.Resampling.BICUBIC))
    assert np.array_equal(resize(frame, "square", 64), expected)


def qwen_smart_resize(height: int, width: int, max_pixels: int, factor: int = 28) -> tuple[int, int]:
    """Qwen2.5-VL's reference (qwen_vl_utils.smart_resize) without min_pixels."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    return h_bar, w_bar


@pytest.mark.parametrize("shape", [(90, 160), (160, 90), (2160, 3840), (480, 640), (100, 100), (720, 1280)])
@pytest.mark.parametrize("max_pixels", [28 * 28 * 16, 200_704, 401_408])
def test_max_pixels_follows_qwen_smart_resize(shape, max_pixels):
    h, w = smart_resize(*shape, max_pixels)
    assert (h, w) == qwen_smart_resize(*shape, max_pixels)
    assert h % 28 == 0 and w % 28 == 0 and h * w <= max_pixels


def test_max_pixels_after_mode():
    # short-side 384 of 90x160 is 384x683 = 262,272 pixels > 200,704: beta = 1.1431
    assert target_size(90, 160, "short-side", 384, 200_704) == (308, 588)
    assert target_size(90, 160, "none", 384, 200_704) == (84, 168)  # only rounded to multiples of 28
    out = resize(picture(), "short-side", 384, max_pixels=200_704)
    assert out.shape == (308, 588, 3)
    padded = resize(np.full((90, 160, 3), 200, np.uint8), "pad", 384, max_pixels=100_000)
    assert padded.shape == (*smart_resize(384, 384, 100_000), 3)
    assert not padded[0].any() and not padded[-1].any() and (padded[padded.shape[0] // 2] == 200).all()


def test_resize_errors():
    with pytest.raises(ValueError, match="mode"):
        resize(picture(), "stretch", 384)
    with pytest.raises(ValueError, match="size"):
        resize(picture(), "square", 0)
    with pytest.raises(ValueError, match="max_pixels"):
        target_size(90, 160, "square", 384, 100)
