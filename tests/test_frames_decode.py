"""The four decoders agree frame for frame, count what they decode, and reject bad files with a reason.

Clips are generated once per session (``media``); each is 64×48 to 160×96 and a few seconds at most,
except the 4K clip (two frames).
"""

from __future__ import annotations

from pathlib import Path

import media
import numpy as np
import pytest

from curate.frames import decoders
from curate.frames.decoders import DECODERS, DecodedVideo, VideoError, decode, rotate, sample
from curate.frames.decoders import decord as decord_module
from curate.frames.decoders.pyav import presentation_times
from curate.frames.sampling import Sampling, uniform_indices

EXPLICIT = ("decord", "pyav", "ffmpeg", "torchcodec")
SIXTEEN = Sampling(num_frames=16)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Path:
    media.need_ffmpeg()
    return tmp_path_factory.mktemp("clips")


def cached(folder: Path, name: str, make, *args, **kwargs) -> str:
    path = folder / name
    if not path.exists():
        make(path, *args, **kwargs)
    return str(path)


@pytest.fixture(scope="session")
def clean(clips) -> str:
    """50 frames, 25 fps, 160×90 H.264 (B-frames: the default preset of the clean clip is ultrafast, so this
    one is encoded with B-frames on purpose to exercise reordering)."""
    path = clips / "clean.mp4"
    if not path.exists():
        media.ffmpeg(
            *media.testsrc(160, 90, 25),
            "-frames:v",
            "50",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-bf",
            "3",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            path,
        )
    return str(path)


def same(a: DecodedVideo, b: DecodedVideo, min_psnr: float | None = None) -> None:
    """Everything but ``decoder`` equal; timestamps at the precision the shards store (float32); the pixels
    equal, or with ``min_psnr`` each frame within that PSNR (dB) of the other's."""
    assert a.indices == b.indices
    assert np.array_equal(np.float32(a.timestamps), np.float32(b.timestamps))
    assert (a.num_frames_decoded, a.height, a.width) == (b.num_frames_decoded, b.height, b.width)
    assert a.fps == pytest.approx(b.fps) and a.duration == pytest.approx(b.duration)
    assert len(a.frames) == len(b.frames)
    for fa, fb in zip(a.frames, b.frames, strict=True):
        assert fa.shape == fb.shape and fa.dtype == fb.dtype == np.uint8
        if min_psnr is not None:
            assert media.psnr(fa, fb) >= min_psnr
        else:
            assert np.array_equal(fa, fb), f"pixels differ by up to {np.abs(fa.astype(int) - fb).max()}"


def decode_all(path: str, sampling: Sampling = SIXTEEN, names=EXPLICIT, **window) -> dict[str, DecodedVideo]:
    return {name: decode(path, sampling, decoder=name, **window) for name in names}


def reason(path: str, decoder: str) -> str:
    with pytest.raises(VideoError) as info:
        decode(path, SIXTEEN, decoder=decoder)
    return info.value.reason


# ------------------------------------------------------------------------------------- clean clip


@pytest.mark.slow
@pytest.mark.parametrize(
    "sampling,window",
    [
        (SIXTEEN, {}),
        (Sampling(num_frames=100), {}),  # more than the clip holds: repeats
        (Sampling(mode="fps", fps=2.0, min_frames=4, max_frames=64), {}),
        (SIXTEEN, {"start": 0.4, "end": 1.2}),
    ],
    ids=["uniform16", "uniform100", "fps2", "window"],
)
def test_decoders_identical_on_clean_cfr_clip(clean, sampling, window):
    results = decode_all(clean, sampling, **window)
    assert {r.decoder for r in results.values()} == set(EXPLICIT)
    same(results["decord"], results["pyav"])
    same(results["ffmpeg"], results["pyav"])
    same(results["torchcodec"], results["pyav"])


def test_clean_clip_contract(clean):
    video = decode(clean, SIXTEEN)
    assert video.decoder == "pyav"  # auto on the CPU: PyAV, the reference, seeking where it pays
    assert video.num_frames_decoded == 50 == media.frame_count(Path(clean))
    assert video.indices == np.floor(np.linspace(0, 49, 16)).astype(int).tolist()
    assert video.timestamps == pytest.approx([i / 25 for i in video.indices], abs=1e-6)
    assert (video.height, video.width, video.fps) == (90, 160, 25.0)
    assert video.duration == pytest.approx(2.0)
    assert all(f.shape == (90, 160, 3) and f.dtype == np.uint8 and f.flags.c_contiguous for f in video.frames)


def test_window_is_honoured(clean):
    video = decode(clean, SIXTEEN, start=0.4, end=1.2, decoder="pyav")
    assert video.indices == [10 + i for i in uniform_indices(21, 16)]  # frames 10..30 lie in [0.4, 1.2]
    assert min(video.timestamps) >= 0.4 and max(video.timestamps) <= 1.2 + 1e-9
    assert video.num_frames_decoded == 50  # the count is always the whole stream's


@pytest.mark.slow
@pytest.mark.parametrize("frames", [1, 7, 37])
def test_counts_equal_true_frame_count(clips, frames):
    path = cached(clips, f"count{frames}.mp4", media.clean_cfr, frames=frames, width=64, height=48)
    truth = media.frame_count(Path(path))
    assert truth == frames
    for name, video in decode_all(path).items():
        assert video.num_frames_decoded == frames, name


# --------------------------------------------------------------------------------------------- rejects


@pytest.mark.parametrize("decoder", DECODERS)
def test_missing_file(clips, decoder):
    assert reason(str(clips / "nope.mp4"), decoder) == "missing"


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize(
    "make", [media.zero_byte, media.random_bytes, media.truncated_no_moov], ids=["zero_byte", "random", "no_moov"]
)
def test_unreadable(clips, make, decoder):
    path = cached(clips, f"{make.__name__}.mp4", make)
    assert reason(path, decoder) == "unreadable"


@pytest.mark.parametrize("decoder", ["auto", "pyav", "ffmpeg"])
def test_audio_only_has_no_video_stream(clips, decoder):
    path = cached(clips, "audio.mp4", media.audio_only)
    assert reason(path, decoder) == "no_video_stream"


def test_audio_only_decord_says_it_cannot(clips):
    """decord 0.6 cannot tell 'no video stream' from 'no decoder' (AV1): its own message is the reason."""
    path = cached(clips, "audio.mp4", media.audio_only)
    assert "cannot find video stream" in reason(path, "decord")


@pytest.mark.parametrize("decoder", ["auto", "pyav", "ffmpeg"])
def test_no_frames(clips, decoder):
    path = cached(clips, "no_frames.mp4", media.no_frames)
    assert reason(path, decoder) == "zero_frames"


def test_errors_carry_reason_and_detail(clips):
    with pytest.raises(VideoError) as info:
        decode(str(clips / "nope.mp4"), SIXTEEN)
    assert info.value.reason == "missing" and "nope.mp4" in info.value.detail
    assert str(info.value).startswith("missing: ")


def test_unknown_decoder_is_a_value_error(clean):
    with pytest.raises(ValueError, match="decoder"):
        decode(clean, SIXTEEN, decoder="opencv")


# ------------------------------------------------------------------------------------ unusual inputs


def test_one_frame_video(clips):
    path = cached(clips, "one.mp4", media.one_frame)
    results = decode_all(path, names=DECODERS)
    for name, video in results.items():
        assert video.num_frames_decoded == 1, name
        assert video.indices == [0] * 16 and video.timestamps == [0.0] * 16
        assert len(video.frames) == 16 and video.frames[0].shape == (48, 64, 3)
    same(results["decord"], results["pyav"])
    same(results["ffmpeg"], results["pyav"])


@pytest.mark.slow
def test_over_reporting_container(clips):
    """The mp4 index claims 50 frames; half the data is gone. The count is what decodes, not the claim."""
    import av

    path = cached(clips, "over.mp4", media.over_reporting, frames=50)
    with av.open(path) as container:
        assert container.streams.video[0].frames == 50  # the claim
    truth = media.frame_count(Path(path))
    assert 0 < truth < 50
    results = decode_all(path, names=("auto", "pyav", "ffmpeg"))
    assert results["auto"].decoder == "pyav"  # decord trips over the missing data
    for name, video in results.items():
        assert video.num_frames_decoded == truth, name
        assert video.indices == uniform_indices(truth, 16), name
        assert video.duration == pytest.approx(truth / 25)
    same(results["ffmpeg"], results["pyav"])


def test_over_reporting_frames_match_the_intact_file(clips):
    """The frames that survive are the intact file's frames: the second pass picked the right ones."""
    path = cached(clips, "over.mp4", media.over_reporting, frames=50)
    intact = str(media.intra_clip(clips / "intact.mp4", 50))
    cut = decode(path, SIXTEEN, decoder="pyav")
    whole = decode(intact, Sampling(num_frames=50), decoder="pyav")
    for index, frame in zip(cut.indices, cut.frames, strict=True):
        assert np.array_equal(frame, whole.frames[index])


@pytest.mark.slow
@pytest.mark.parametrize(
    "codec,name,decord_works",
    [("vp9", "vp9.webm", False), ("hevc", "hevc.mkv", True), ("av1", "av1.mp4", False)],
)
def test_other_codecs(clips, codec, name, decord_works):
    path = cached(clips, name, media.codec_clip, codec, frames=30)
    truth = media.frame_count(Path(path))
    assert truth == 30
    auto = decode(path, SIXTEEN)
    assert auto.num_frames_decoded == 30 and auto.fps == pytest.approx(15.0)
    assert auto.indices == uniform_indices(30, 16)
    assert auto.decoder == "pyav"
    results = decode_all(path, names=("pyav", "ffmpeg", "torchcodec"))
    same(results["ffmpeg"], results["pyav"])
    same(results["torchcodec"], results["pyav"])  # torchcodec links the system FFmpeg, as the CLI does
    same(auto, results["pyav"])
    if decord_works:
        same(decode(path, SIXTEEN, decoder="decord"), results["pyav"])
    else:  # decord 0.6's FFmpeg 4.1: no AV1, VP9 fails
        with pytest.raises(VideoError):
            decode(path, SIXTEEN, decoder="decord")


def test_variable_frame_rate_keeps_real_timestamps(clips):
    pts_ms = [0, 40, 80, 200, 240, 500, 540, 1000, 1040, 1500]
    path = cached(clips, "vfr.mp4", media.vfr, pts_ms)
    results = decode_all(path, Sampling(num_frames=10))
    for name, video in results.items():
        assert video.num_frames_decoded == 10, name
        assert video.indices == list(range(10))
        assert video.timestamps == pytest.approx([t / 1000 for t in pts_ms], abs=1e-6), name
    same(results["decord"], results["pyav"])
    same(results["ffmpeg"], results["pyav"])
    # a window in seconds selects by real time, not by index / fps
    windowed = decode(path, Sampling(num_frames=4), start=0.45, end=1.1, decoder="pyav")
    assert windowed.indices == [5, 6, 7, 8]


@pytest.mark.slow
@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_video_comes_out_rotated(clips, degrees):
    path = cached(clips, f"rot{degrees}.mp4", media.rotated, degrees, frames=10, width=64, height=48)
    plain = cached(clips, "rot_plain.mp4", media.clean_cfr, frames=10, width=64, height=48)
    upright = decode(plain, Sampling(num_frames=10), decoder="pyav")
    results = decode_all(path, Sampling(num_frames=10), names=("auto", "pyav", "ffmpeg", "torchcodec"))
    same(results["ffmpeg"], results["pyav"])  # the ffmpeg CLI's autorotate is the reference
    same(results["torchcodec"], results["pyav"])  # torchcodec applies the display matrix itself
    same(results["auto"], results["pyav"])
    video = results["pyav"]
    if degrees == 180:
        assert (video.height, video.width) == (48, 64)
        same(decode(path, Sampling(num_frames=10), decoder="decord"), video)  # decord 0.6 turns 180° itself
    else:
        assert (video.height, video.width) == (64, 48)
        with pytest.raises(VideoError, match="rotation"):  # decord 0.6 cannot decode 90°/270°
            decode(path, SIXTEEN, decoder="decord")
    turned = [k for k in range(1, 4) if np.array_equal(np.rot90(upright.frames[0], k), video.frames[0])]
    assert len(turned) == 1  # the stored frames, turned by a multiple of 90°
    assert all(np.array_equal(np.rot90(u, turned[0]), f) for u, f in zip(upright.frames, video.frames, strict=True))


@pytest.mark.slow
def test_4k_frame(clips):
    path = cached(clips, "uhd.mp4", media.uhd, frames=2)
    results = decode_all(path, Sampling(num_frames=2))
    for video in results.values():
        assert video.num_frames_decoded == 2 and (video.height, video.width) == (2160, 3840)
        assert video.frames[0].shape == (2160, 3840, 3)
    same(results["decord"], results["pyav"])
    same(results["ffmpeg"], results["pyav"])
    same(results["torchcodec"], results["pyav"])


# --------------------------------------------------------------------------------------- mechanics


def test_auto_on_cuda_falls_back_to_pyav_on_any_torchcodec_failure(clean, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("torchcodec exploded")

    monkeypatch.setattr(decoders, "decode_torchcodec", broken)
    video = decode(clean, SIXTEEN, device="cuda")
    assert video.decoder == "pyav" and video.num_frames_decoded == 50


@pytest.mark.parametrize("threads", [1, 2, 3, 0])
def test_torchcodec_decodes_on_the_callers_share_of_the_cpus(clean, monkeypatch, threads):
    """``decode(..., threads=k)`` asks torchcodec's own decoder for k FFmpeg threads (not FFmpeg's automatic
    all-cores, which oversubscribes one-worker-per-CPU runs), with the same frames on any k."""
    pytest.importorskip("torchcodec")
    import torchcodec.decoders

    real, asked = torchcodec.decoders.VideoDecoder, []

    def spy(*args, **kwargs):
        asked.append(kwargs.get("num_ffmpeg_threads"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torchcodec.decoders, "VideoDecoder", spy)
    video = decode(clean, SIXTEEN, decoder="torchcodec", threads=threads)
    assert asked == [threads] and video.decoder == "torchcodec"
    same(video, decode(clean, SIXTEEN, decoder="pyav"))


@pytest.mark.parametrize("threads", [1, 2, 0])
def test_the_ffmpeg_cli_decodes_on_the_callers_share_of_the_cpus(clean, monkeypatch, threads):
    """``decode(..., decoder="ffmpeg", threads=k)`` runs the CLI with ``-threads k`` on its input (0: FFmpeg's
    automatic count), with the same frames on any k."""
    from curate.frames.decoders import ffmpeg as ffmpeg_module

    real, commands = ffmpeg_module.run_ffmpeg, []

    def spy(command, *args, **kwargs):
        commands.append(command)
        return real(command, *args, **kwargs)

    monkeypatch.setattr(ffmpeg_module, "run_ffmpeg", spy)
    video = decode(clean, SIXTEEN, decoder="ffmpeg", threads=threads)
    assert commands
    for command in commands:  # an input option: before -i
        at = command.index("-threads")
        assert at < command.index("-i") and command[at + 1] == str(threads)
    same(video, decode(clean, SIXTEEN, decoder="pyav"))


def fake_pass(n: int, calls: list):
    """A one-pass function over ``n`` frames at 10 fps whose frames are filled with their index."""

    def one_pass(wanted: set[int], count_all: bool):
        calls.append((set(wanted), count_all))
        kept = {i: np.full((2, 2, 3), i, np.uint8) for i in wanted if i < n}
        return [i / 10 for i in range(n)], kept

    return one_pass


def test_sample_single_pass_when_the_claim_is_right():
    calls: list = []
    timestamps, fps, indices, kept = sample(fake_pass(30, calls), 30, 10.0, Sampling(num_frames=4), None, None)
    assert len(calls) == 1 and calls[0] == (set(uniform_indices(30, 4)), True)
    assert indices == uniform_indices(30, 4) and len(timestamps) == 30 and fps == 10.0
    assert all(kept[i][0, 0, 0] == i for i in indices)


@pytest.mark.parametrize("claimed", [50, 20, 0])
def test_sample_second_pass_converts_only_what_is_missing(claimed):
    calls: list = []
    _, _, indices, kept = sample(fake_pass(30, calls), claimed, 10.0, Sampling(num_frames=4), None, None)
    assert indices == uniform_indices(30, 4)
    assert len(calls) == 2
    planned = set(uniform_indices(claimed, 4))
    assert calls[1] == (set(indices) - planned, False)  # the second pass may stop after its last frame
    assert all(kept[i][0, 0, 0] == i for i in indices)


def test_sample_zero_frames():
    with pytest.raises(VideoError) as info:
        sample(fake_pass(0, []), 10, 10.0, SIXTEEN, None, None)
    assert info.value.reason == "zero_frames"


def test_rotate_matches_numpy():
    frame = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert rotate(frame, 0) is frame
    assert np.array_equal(rotate(frame, 90), np.rot90(frame, 1))
    assert np.array_equal(rotate(frame, -90), np.rot90(frame, 3))
    assert np.array_equal(rotate(frame, 180), rotate(frame, -180))
    assert rotate(frame, 90).flags.c_contiguous


def test_check_decoder():
    for name in DECODERS:
        decoders.check_decoder(name)  # everything is installed in the test environment
    with pytest.raises(ValueError, match="decoder"):
        decoders.check_decoder("opencv")


def test_check_decoder_names_the_missing_tool(monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="ffmpeg command"):
        decoders.check_decoder("ffmpeg")


@pytest.mark.parametrize(
    ("available", "count", "device", "error"),
    [
        (False, 0, "cuda", "torch sees no CUDA device"),
        (True, 2, "cuda:2", "torch sees 2 CUDA devices"),
        (True, 1, "cuda:1", "torch sees 1 CUDA device$"),
        (True, 2, "cuda:1", None),
        (True, 1, "cuda", None),
    ],
)
def test_check_cuda_needs_the_device_torch_sees(monkeypatch, available, count, device, error):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    if error is None:
        decoders.check_cuda(device)
    else:
        with pytest.raises(ValueError, match=error):
            decoders.check_cuda(device)


# ------------------------------------------------------------------------------- torchcodec on CUDA


class _FallbackStatus:
    """What torchcodec's ``VideoDecoder.cpu_fallback`` answers: true when it decoded on the CPU."""

    def __init__(self, fell_back: bool) -> None:
        self.fell_back = fell_back

    def __bool__(self) -> bool:
        return self.fell_back


@pytest.mark.parametrize("fell_back", [False, True])
def test_torchcodec_says_where_it_decoded(clean, monkeypatch, fell_back):
    """On a CUDA device torchcodec decodes on the CPU when NVDEC cannot take the stream, and says so in
    ``cpu_fallback``: the result's device is then ``cpu``, else the CUDA device asked for. (Without a GPU
    here: torchcodec's decoder is made on the CPU and its ``cpu_fallback`` answered.)"""
    tc = pytest.importorskip("torchcodec.decoders")

    class OnCuda(tc.VideoDecoder):
        cpu_fallback = property(lambda self: _FallbackStatus(fell_back))

        def __init__(self, *args, **kwargs):
            assert kwargs["device"] == "cuda:1"
            super().__init__(*args, **{**kwargs, "device": "cpu"})

    monkeypatch.setattr(tc, "VideoDecoder", OnCuda)
    video = decode(clean, SIXTEEN, decoder="torchcodec", device="cuda:1")
    assert (video.device, video.decoded_by) == (
        ("cpu", "torchcodec") if fell_back else ("cuda:1", "torchcodec on cuda:1")
    )
    same(video, decode(clean, SIXTEEN, decoder="pyav"))


@pytest.fixture
def cuda() -> str:
    """``cuda`` where torch sees a GPU and torchcodec imports; skipped elsewhere (CI has no GPU)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchcodec")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: torchcodec's NVDEC path runs only on a machine with a GPU")
    return "cuda"


@pytest.mark.parametrize("decoder", ["torchcodec", "auto"])
def test_nvdec_decodes_the_references_frames(clean, cuda, decoder):
    """On a GPU, H.264 is decoded by NVDEC (not torchcodec's CPU fallback, not PyAV), at the reference's
    indices and timestamps, with its count, size, rate and duration; the pixels are NVDEC's and its colour
    conversion's, not bit-exact (torchcodec says so), within 30 dB PSNR of PyAV's."""
    video = decode(clean, SIXTEEN, decoder=decoder, device=cuda)
    assert video.decoded_by == "torchcodec on cuda"
    same(video, decode(clean, SIXTEEN, decoder="pyav"), min_psnr=30)


def test_extract_frames_on_the_gpu_counts_nvdec(tmp_path, clean, cuda):
    """``curate extract-frames --device cuda`` end to end: every video decoded by NVDEC, as the run says."""
    from helpers import extract_config, make_table

    from curate.frames.extract import run

    root = Path(clean).parent
    result = run(extract_config(make_table(tmp_path / "in", [Path(clean).name]), root, tmp_path / "out", device=cuda))
    assert (result.decoded, result.decoders) == (1, {"torchcodec on cuda": 1})


# ------------------------------------------------------------------------ trusting decord (issue 10)


def stream_index(**changes):
    """A StreamIndex decord is trusted with (an mp4 of closed GOPs), with ``changes`` applied."""
    from curate.probe import StreamIndex

    fields = {
        "format": "mov,mp4,m4a,3gp,3g2,mj2",
        "fps": 25.0,
        "timestamps": [i / 25 for i in range(10)],
        "last_duration": 0.04,
        "packets": 10,
        "discarded": 0,
        "unique_pts": True,
        "closed_keyframes": True,
        "reorders": True,
        "rotation": 0.0,
        "first_frame": True,
    }
    return StreamIndex(**{**fields, **changes})


@pytest.mark.parametrize(
    "changes,words",
    [
        ({}, None),
        ({"format": "matroska,webm"}, None),
        ({"format": "avi", "reorders": False}, None),
        ({"format": "mpeg"}, "'mpeg' files"),
        ({"format": "mpegts"}, "'mpegts' files"),
        ({"format": "mpegvideo"}, "'mpegvideo' files"),
        ({"format": "avi"}, "AVI with B-frames"),
        ({"timestamps": None}, "without presentation timestamps"),
        ({"unique_pts": False}, "share presentation timestamps"),
        ({"discarded": 1}, "marked discard"),
        ({"closed_keyframes": False}, "open GOP"),
    ],
)
def test_decord_distrust_rules(changes, words):
    why = decoders.decord_distrust(stream_index(**changes))
    assert why is None if words is None else words in why


def test_read_index_of_clips(clean, clips):
    """The demux facts the rules read: the clean clip's GOPs are closed, an MPEG-2 program stream's are not."""
    index = decoders.pyav_index(clean)
    assert index.format == "mov,mp4,m4a,3gp,3g2,mj2" and index.packets == 50 and index.discarded == 0
    assert index.closed_keyframes and index.unique_pts and index.reorders and index.first_frame
    assert index.timestamps == pytest.approx([i / 25 for i in range(50)])
    program = decoders.pyav_index(cached(clips, "ps.vob", media.program_stream, frames=60))
    assert program.format == "mpeg" and program.packets == 60 and not program.closed_keyframes


def test_untrusted_decord_is_refused_and_auto_falls_back(clean, monkeypatch):
    monkeypatch.setattr(decord_module, "decord_distrust", lambda index: "a rule says no")
    with pytest.raises(VideoError) as info:
        decode(clean, SIXTEEN, decoder="decord")
    assert (info.value.reason, info.value.detail) == ("decord_untrusted", "a rule says no")
    assert decode(clean, SIXTEEN).decoder == "pyav"


def test_decord_is_refused_when_its_times_differ_from_the_demuxer(clean, monkeypatch):
    shifted = decoders.pyav_index(clean)
    shifted = type(shifted)(**{**shifted.__dict__, "timestamps": [t + 0.01 for t in shifted.timestamps]})
    monkeypatch.setattr(decord_module, "pyav_index", lambda path: shifted)
    with pytest.raises(VideoError) as info:
        decode(clean, SIXTEEN, decoder="decord")
    assert info.value.reason == "decord_count" and "differ" in info.value.detail


def test_presentation_times_are_sorted():
    from fractions import Fraction

    assert presentation_times([1, 4, 2, 3], 0, Fraction(1, 25), 25.0) == pytest.approx([0.04, 0.08, 0.12, 0.16])
    assert presentation_times([10, 12, 11], None, Fraction(1, 10), 10.0) == pytest.approx([0.0, 0.1, 0.2])
    assert presentation_times([None, None], 0, None, 4.0) == [0.0, 0.25]  # no pts: 1 / fps apart


def test_reference_is_the_pyav_decode(clean):
    video = decode(clean, SIXTEEN, decoder="pyav")
    timestamps, frames = decoders.reference(clean, video.indices + [99])
    assert len(timestamps) == 50 and timestamps == sorted(timestamps)
    assert [timestamps[i] for i in video.indices] == video.timestamps
    assert 99 not in frames  # past the end
    for index, frame in zip(video.indices, video.frames, strict=True):
        assert np.array_equal(frames[index], frame)


def test_ffmpeg_seek_windows_hold_their_frame_and_no_other():
    """The ``between(t,…)`` windows of a seeking CLI call, on variable gaps (a 1/90000 time base, gaps of
    1, 3000 and 90000 ticks): each holds its frame's time, no other frame's, and is at most 2 ms wide."""
    from fractions import Fraction

    from curate.frames.decoders.ffmpeg import time_windows

    pts = [0, 1, 3001, 6001, 96001, 96002]
    tb = Fraction(1, 90000)
    windows = time_windows(pts, tb, list(range(len(pts))))
    for i, (low, high) in enumerate(windows):
        inside = [j for j, p in enumerate(pts) if low <= float(p * tb) <= high]
        assert inside == [i]
        assert 0 < high - low <= 0.002 + 1e-12
