"""Right frames on real videos (issue 10): every decoder returns, at each stored index, the frame and the
presentation time of the reference decode (``media.reference_decode``: the ffmpeg CLI's frames in the order
its decoder emits them, PyAV's sorted pts) or refuses the video; ``auto`` always returns them.

The clips reproduce the failure kinds measured on real files: MPEG program and transport streams, B-frame
AVI, open-GOP MPEG-4 Part 2 / MPEG-2, variable frame rate (a 25 → 5 fps switch, in mp4 and AVI), a raw
MPEG-1 elementary stream whose header duration is wrong, display rotations, and H.264 with short closed or
open GOPs (constant and variable rate, mp4 and Matroska) for sparse decoding to seek in. Each is 160×96
(rotations 64×48) and at most 150 frames.

Sparse decoding (PyAV seeking to the keyframe before each sampled frame) must return exactly what the full
decode returns — frames, indices, timestamps, count, duration — on every kind, with a start/end window too;
where the index cannot be trusted it falls back to the full decode, which the test also accepts.
torchcodec returns the reference's frames wherever the index is trusted and refuses the other kinds.

Pixels are compared exactly, except PyAV's on the MPEG-4 Part 2 B-frame AVI encoded at the encoder's default
bitrate: PyAV's bundled libavcodec and the CLI's decode it a few levels apart (PSNR 80–92 dB), so there
PSNR ≥ 40 dB is asked; a wrong frame is 8–28 dB away.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import media
import numpy as np
import pytest

from curate.frames import seek
from curate.frames.decoders import DECODERS, DecodedVideo, VideoError, decode, pyav_index
from curate.frames.decoders.pyav import decode_pyav
from curate.frames.sampling import Sampling, uniform_indices
from curate.probe import probe_video

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

SPARSE = Sampling(num_frames=7)  # decord seeks between these: where it goes wrong
BY_TIME = Sampling(mode="fps", fps=3.0, min_frames=4, max_frames=64)


@dataclass(frozen=True)
class Kind:
    """A clip kind: its file name, maker, what decord does with it, and whether PyAV's pixels are exact."""

    file: str
    make: object
    decord: str | None  # None: decord returns the reference's frames; else the reason it is refused for
    pyav_exact: bool = True

    @property
    def torchcodec(self) -> str | None:
        """None, or why torchcodec is refused: only mp4/mov and Matroska keep an exact seek index."""
        return "torchcodec_untrusted" if Path(self.file).suffix in (".vob", ".mpg", ".ts", ".avi", ".m1v") else None


KINDS = {
    "h264_mp4_bframes": Kind("clean.mp4", lambda p: media.clean_cfr(p, frames=100, width=160, height=96), None),
    "mpeg2_vob": Kind("ps.vob", lambda p: media.program_stream(p, muxer="vob"), "decord_untrusted"),
    "mpeg2_mpeg_ps": Kind("ps.mpg", lambda p: media.program_stream(p, muxer="mpeg"), "decord_untrusted"),
    "h264_mpegts": Kind("ts.ts", media.transport_stream, "decord_untrusted"),
    "mpeg4_avi_bframes": Kind("bf.avi", media.bframe_avi, "decord_untrusted"),
    # the encoder's default bitrate: PyAV's libavcodec decodes it a few levels off the CLI's (PSNR 80-90 dB)
    "mpeg4_avi_bframes_abr": Kind(
        "bf_abr.avi", lambda p: media.bframe_avi(p, quality=None), "decord_untrusted", pyav_exact=False
    ),
    "h264_avi_bframes": Kind("h264bf.avi", lambda p: media.bframe_avi(p, codec="libx264"), "decord_untrusted"),
    "mpeg4_mp4_open_gop": Kind("og.mp4", media.open_gop, "decord_untrusted"),
    "mpeg2_mkv_open_gop": Kind("og.mkv", lambda p: media.open_gop(p, codec="mpeg2video"), "decord_untrusted"),
    # ffmpeg's mp4 muxer cuts the last 5 fps frame with an edit list (a packet marked discard): decord returns it
    "vfr_switch_mp4": Kind("switch.mp4", media.vfr_switch, "decord_untrusted"),
    "vfr_switch_avi": Kind("switch.avi", media.vfr_switch, None),
    "vfr_pyav_mp4": Kind("vfr.mp4", media.vfr, None),
    "mpeg1_es": Kind("es.m1v", media.mpeg1_es, "broken metadata"),  # decord's own message: it cannot open it
    "rotation_90": Kind("rot90.mp4", lambda p: media.rotated(p, 90, frames=30), "decord_rotation"),
    "rotation_180": Kind("rot180.mp4", lambda p: media.rotated(p, 180, frames=30), None),
    "rotation_270": Kind("rot270.mp4", lambda p: media.rotated(p, 270, frames=30), "decord_rotation"),
    "h264_mp4_gop12": Kind("gop12.mp4", media.short_gops, None),
    "h264_mkv_open_gop12": Kind("ogop12.mkv", lambda p: media.short_gops(p, open_gop=True), "decord_untrusted"),
    "h264_mp4_open_gop12": Kind("ogop12.mp4", lambda p: media.short_gops(p, open_gop=True), "decord_untrusted"),
    "h264_mp4_vfr_gop12": Kind("vgop12.mp4", lambda p: media.short_gops(p, vfr=True), "decord_untrusted"),
}
SEEKING = ["h264_mp4_gop12", "h264_mkv_open_gop12", "h264_mp4_open_gop12", "h264_mp4_vfr_gop12", "mpeg4_mp4_open_gop"]


@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    media.need_ffmpeg()
    return tmp_path_factory.mktemp("reference_clips")


@functools.cache
def _reference(path: str) -> media.Reference:
    return media.reference_decode(Path(path))


def clip(folder: Path, kind: str) -> tuple[str, media.Reference]:
    path = folder / KINDS[kind].file
    if not path.exists():
        KINDS[kind].make(path)
    return str(path), _reference(str(path))


def assert_matches(video: DecodedVideo, ref: media.Reference, exact: bool) -> None:
    """``video`` holds the reference's frames and timestamps at its indices, and its count and duration."""
    assert video.num_frames_decoded == len(ref.frames)
    assert video.timestamps == pytest.approx([ref.timestamps[i] for i in video.indices], abs=1e-6)
    assert video.timestamps == sorted(video.timestamps)
    assert video.duration == pytest.approx(ref.duration, abs=1e-6)
    for index, frame in zip(video.indices, video.frames, strict=True):
        expected = ref.frames[index]
        assert frame.shape == expected.shape, (index, frame.shape, expected.shape)
        if exact:
            assert np.array_equal(frame, expected), f"frame {index}: PSNR {media.psnr(frame, expected):.1f} dB"
        else:
            assert media.psnr(frame, expected) >= 40, f"frame {index}: PSNR {media.psnr(frame, expected):.1f} dB"


@pytest.mark.parametrize("sampling", [SPARSE, BY_TIME], ids=["uniform7", "fps3"])
@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_decoder_returns_the_reference_frames_or_refuses(folder, kind, decoder, sampling):
    path, ref = clip(folder, kind)
    expected = KINDS[kind]
    refused = {"decord": expected.decord, "torchcodec": expected.torchcodec}.get(decoder)
    if refused is not None:
        with pytest.raises(VideoError) as info:
            decode(path, sampling, decoder=decoder)
        assert refused in str(info.value)
        return
    video = decode(path, sampling, decoder=decoder)
    via_pyav = video.decoder == "pyav"
    assert_matches(video, ref, exact=expected.pyav_exact or not via_pyav)


def same_as_full(video: DecodedVideo, full: DecodedVideo) -> None:
    assert (video.indices, video.timestamps, video.num_frames_decoded) == (
        full.indices,
        full.timestamps,
        full.num_frames_decoded,
    )
    assert video.duration == pytest.approx(full.duration, abs=1e-9) and video.fps == pytest.approx(full.fps)
    for a, b in zip(video.frames, full.frames, strict=True):
        assert np.array_equal(a, b)


WINDOW = {"start": 1.3, "end": 3.7}


@pytest.mark.parametrize("window", [{}, WINDOW], ids=["whole", "window"])
@pytest.mark.parametrize("sampling", [SPARSE, BY_TIME], ids=["uniform7", "fps3"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_sparse_decoding_equals_the_full_decode(folder, kind, sampling, window):
    """A seek per GOP where the index is trusted (``sparse=True``: ``seek_cost`` 0), the full decode otherwise;
    the same with the plan split over 2 and 3 threads, each on its own container (``seek.split``)."""
    path, ref = clip(folder, kind)
    full = decode_pyav(path, sampling, sparse=False, **window)
    assert full.frames_decoded >= full.num_frames_decoded == len(ref.frames)
    # None: the per-video choice of the default path
    for sparse, threads in ((True, 1), (None, 1), (None, 2), (True, 3)):
        same_as_full(decode_pyav(path, sampling, sparse=sparse, threads=threads, **window), full)


@pytest.mark.parametrize("kind", SEEKING)
def test_sparse_decoding_seeks_and_decodes_less(folder, kind):
    """On clips of many GOPs the index is trusted and the seeking decode touches fewer frames than there are."""
    path, _ = clip(folder, kind)
    assert seek.untrusted(pyav_index(path)) is None
    video = decode_pyav(path, Sampling(num_frames=3), sparse=True)
    assert video.frames_decoded < video.num_frames_decoded
    index = pyav_index(path)
    assert len(seek.plan(index, video.indices, seek_cost=0)) > 1  # it did seek
    assert len(seek.split(index, video.indices, 2)) == 2  # and threads=2 decodes two plans side by side:
    sides = decode_pyav(path, Sampling(num_frames=3), sparse=True, threads=2)
    assert sides.frames_decoded < sides.num_frames_decoded  # neither refused (the fallback decodes all)
    same_as_full(sides, video)


def cli_calls(monkeypatch) -> list[list[str]]:
    """The ffmpeg CLI's seek cost at its floor (``LAUNCH_PIXELS`` 0: a call costs what 16 packets do, so the
    small test clips are planned like long 360p ones), and a list of the calls made."""
    from curate.frames.decoders import ffmpeg as ffmpeg_module

    calls: list[list[str]] = []
    real = ffmpeg_module.run_ffmpeg

    def counted(command, *args, **kwargs):
        calls.append(command)
        return real(command, *args, **kwargs)

    monkeypatch.setattr(ffmpeg_module, "LAUNCH_PIXELS", 0)
    monkeypatch.setattr(ffmpeg_module, "run_ffmpeg", counted)
    return calls


@pytest.mark.parametrize("window", [{}, WINDOW], ids=["whole", "window"])
@pytest.mark.parametrize("sampling", [SPARSE, BY_TIME], ids=["uniform7", "fps3"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_the_ffmpeg_cli_seeking_returns_the_reference_frames(folder, monkeypatch, kind, sampling, window):
    """The CLI decoder with a call per run of the seek plan: the reference's frames and times wherever it
    seeks (a piped frame that is not the index's falls back to the decode from the start)."""
    path, ref = clip(folder, kind)
    calls = cli_calls(monkeypatch)
    video = decode(path, sampling, decoder="ffmpeg", **window)
    assert_matches(video, ref, exact=True)
    pyav = decode_pyav(path, sampling, **window)
    assert (video.indices, video.timestamps) == (pyav.indices, pyav.timestamps)
    index = pyav_index(path)
    runs = seek.plan(index, sorted(set(video.indices))) if seek.untrusted(index) is None else []
    if len(runs) > 1 or (runs and runs[0].start > 0):  # a call per run, frames chosen by time; no fallback
        assert len(calls) == len(runs) and all("between(t" in " ".join(c) for c in calls)
        assert ["-seek_timestamp" in c for c in calls] == [r.start > 0 for r in runs]
        assert video.frames_decoded == sum(r.packets for r in runs) < video.num_frames_decoded
    if kind in SEEKING and sampling is SPARSE and not window:
        assert len(runs) > 1  # the clips where it must seek


def test_the_ffmpeg_cli_falls_back_when_a_seek_pipes_a_frame_the_index_does_not_have(folder, monkeypatch):
    """A seeking call whose frames' times disagree with the index (here: every window moved by one frame)
    is not trusted: the decoder decodes from the start and returns the reference's frames."""
    from curate.frames.decoders import ffmpeg as ffmpeg_module

    path, ref = clip(folder, SEEKING[0])
    calls = cli_calls(monkeypatch)
    real = ffmpeg_module.time_windows
    shifted = lambda pts, time_base, wanted: real(pts, time_base, [i + 1 for i in wanted])  # noqa: E731
    monkeypatch.setattr(ffmpeg_module, "time_windows", shifted)
    video = decode(path, Sampling(num_frames=3), decoder="ffmpeg")
    assert_matches(video, ref, exact=True)
    assert "between(t" in " ".join(calls[0]) and "between(n" in " ".join(calls[-1])  # sought, then fell back


@pytest.mark.parametrize("failure", ["refused", "cannot_open"])
def test_a_plan_failing_in_its_own_thread_falls_back_to_the_full_decode(folder, monkeypatch, failure):
    """The plan decoded in the second thread is refused (the decoder disagreed with the index), or its
    container cannot be opened (out of file handles): the video is decoded in full instead, with the
    reference's frames."""
    import threading

    from curate.frames.decoders import pyav as pyav_module

    path, _ = clip(folder, SEEKING[0])
    sampling = Sampling(num_frames=3)
    full = decode_pyav(path, sampling, sparse=False)

    def in_side_thread() -> bool:
        return threading.current_thread() is not threading.main_thread()

    if failure == "refused":
        real_runs = pyav_module.pyav_runs

        def runs(*args, **kwargs):
            kept, decoded = real_runs(*args, **kwargs)
            return (None if in_side_thread() else kept), decoded

        monkeypatch.setattr(pyav_module, "pyav_runs", runs)
    else:
        real_open = pyav_module.open_pyav

        def open_in_main_only(p):
            if in_side_thread():
                raise VideoError("unreadable", "Too many open files")
            return real_open(p)

        monkeypatch.setattr(pyav_module, "open_pyav", open_in_main_only)
    video = decode_pyav(path, sampling, sparse=True, threads=2)
    same_as_full(video, full)
    assert video.frames_decoded >= video.num_frames_decoded  # the whole stream, after the refused plan


@pytest.mark.parametrize("kind", ["mpeg2_vob", "h264_mpegts", "mpeg4_avi_bframes", "mpeg1_es"])
def test_untrusted_index_decodes_everything(folder, kind):
    path, ref = clip(folder, kind)
    assert seek.untrusted(pyav_index(path)) is not None
    video = decode_pyav(path, SPARSE, sparse=True)
    assert video.frames_decoded >= len(ref.frames)


@pytest.mark.parametrize("kind", list(KINDS))
def test_auto_is_pyav_on_the_cpu(folder, kind):
    path, _ = clip(folder, kind)
    assert decode(path, SPARSE).decoder == "pyav"


@pytest.mark.parametrize("kind", [k for k, v in KINDS.items() if v.decord == "decord_untrusted"])
def test_decord_unguarded_returns_wrong_frames_on_the_kinds_it_is_refused_for(folder, kind):
    """The clips reproduce the failure: decord's own get_batch (no guard) returns neighbouring frames
    (PSNR < 30 dB), or frames the reference does not have."""
    decord = pytest.importorskip("decord")
    path, ref = clip(folder, kind)
    reader = decord.VideoReader(path)
    if len(reader) != len(ref.frames):
        return  # it would return frames that do not exist (the edit-listed mp4)
    indices = uniform_indices(len(ref.frames), 7)
    batch = reader.get_batch(indices).asnumpy()
    scores = [media.psnr(frame, ref.frames[i]) for frame, i in zip(batch, indices, strict=True)]
    assert min(scores) < 30, scores


# ------------------------------------------------------------------------------------ time, not index


def test_b_frame_avi_timestamps_are_sorted(folder):
    """FFmpeg guesses an AVI's pts in decode order: PyAV's frames come out with pts out of order, and the
    decoders sort them, so every decoder gives the same time to the same frame."""
    import av

    path, ref = clip(folder, "h264_avi_bframes")
    with av.open(path) as container:
        raw = [frame.pts for frame in container.decode(video=0)]
    assert raw != sorted(raw)  # the failure: out of order as decoded
    results = {name: decode(path, Sampling(num_frames=150), decoder=name) for name in ("pyav", "ffmpeg")}
    for video in results.values():
        assert video.timestamps == pytest.approx(ref.timestamps, abs=1e-6)
    windowed = [decode(path, SPARSE, start=1.0, end=2.0, decoder=name).indices for name in ("pyav", "ffmpeg", "auto")]
    assert windowed[0] == windowed[1] == windowed[2]


@pytest.mark.parametrize("kind,seconds", [("vfr_switch_avi", 9.64), ("vfr_switch_mp4", 9.6)])
def test_vfr_duration_is_the_decoded_span(folder, kind, seconds):
    """25 fps for 4 s then 5 fps: the duration is the last pts + that frame's packet duration, not frames /
    average rate (the AVI's header rate is 25, so that gave 129 / 25 = 5.16 s). AVI gives every packet one
    tick (1/25 s); the mp4 keeps 0.2 s per frame, and ffmpeg's muxer edit-lists its last frame away."""
    path, ref = clip(folder, kind)
    for name in ("auto", "pyav", "ffmpeg"):
        video = decode(path, SPARSE, decoder=name)
        assert video.duration == pytest.approx(seconds, abs=1e-6), name
    assert probe_video(path).duration == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("kind", ["vfr_switch_avi", "vfr_switch_mp4"])
def test_fps_sampling_covers_a_vfr_clip_evenly_in_time(folder, kind):
    path, ref = clip(folder, kind)
    video = decode(path, Sampling(mode="fps", fps=1.0, min_frames=4, max_frames=64))
    assert len(video.indices) == 10  # 1 fps over (9.6 s − 0 s + the last 0.2 s gap), an even count
    targets = np.linspace(ref.timestamps[0], ref.timestamps[-1], len(video.indices))
    assert np.abs(np.array(video.timestamps) - targets).max() <= 0.1 + 1e-9  # half the 5 fps spacing
    assert sum(t < 4.0 for t in video.timestamps) <= 5  # was 8 of 10 when sampling was even in index


def test_uniform_sampling_stays_even_in_frame_index(folder):
    """TinyLLaVA-Video's rule is even in index: on the 25 → 5 fps clip most frames land in the first 4 s."""
    path, ref = clip(folder, "vfr_switch_avi")
    video = decode(path, Sampling(num_frames=10))
    assert video.indices == uniform_indices(len(ref.frames), 10)
    assert sum(t < 4.0 for t in video.timestamps) == 8


# ----------------------------------------------------------------------------------------- probe = decode


@pytest.mark.parametrize("kind", list(KINDS))
def test_probe_duration_is_the_extract_frames_duration(folder, kind):
    path, ref = clip(folder, kind)
    probe = probe_video(path)
    assert probe.error is None
    assert probe.duration == pytest.approx(decode(path, SPARSE, decoder="pyav").duration, abs=1e-9)
    assert probe.duration == pytest.approx(ref.duration, abs=1e-6)


@pytest.mark.parametrize("kind", ["h264_mp4_bframes", "vfr_pyav_mp4", "mpeg2_mkv_open_gop", "rotation_180"])
def test_duration_equals_an_honest_header(folder, kind):
    """Where the container's header is right (mp4/Matroska written by ffmpeg or PyAV, no frame cut), the
    decoded duration is the same number: last pts + the last sample's own duration."""
    import av

    path, _ = clip(folder, kind)
    with av.open(path) as container:
        header = container.duration / 1_000_000
    assert decode(path, SPARSE).duration == pytest.approx(header, abs=1e-3)
    assert probe_video(path).duration == pytest.approx(header, abs=1e-3)


def test_mpeg1_elementary_stream_header_duration_is_not_trusted(folder):
    import av

    path, _ = clip(folder, "mpeg1_es")
    with av.open(path) as container:
        assert container.duration / 1_000_000 < 0.1  # the header's guess: file size / maximum bitrate
    assert probe_video(path).duration == pytest.approx(4.0, abs=0.05)  # 100 frames at 25 fps
    assert decode(path, SPARSE).duration == probe_video(path).duration


def test_filter_probe_keeps_the_mpeg1_stream(folder, tmp_path):
    """``curate filter --probe --min-duration 1`` used to reject it as ``too_short``."""
    from helpers import filter_files, write_csv

    clip(folder, "mpeg1_es")
    header = ["id", "video", "question", "o1", "o2", "answer", "duration"]
    table = write_csv(tmp_path / "qa.csv", header, [["q0", "es.m1v", "what is shown?", "bars", "cats", "A", ""]])
    mapping = ["id=id", "video=video", "question=question", "options=o1,o2", "answer=answer", "duration=duration"]
    outcome = filter_files(
        tmp_path / "out", table, format="generic", mapping=mapping, probe=True, video_root=folder, min_duration=1
    )
    assert outcome.reasons() == {}
    assert outcome.by_id()["generic:q0"]["duration"] == pytest.approx(4.0, abs=0.05)
