"""PyAV skips the unwanted frames nothing references (``skip_frame`` NONREF per packet) and still returns
exactly the full decode: frames (pixels), indices, timestamps, count and duration — on B-frame (b-pyramid)
H.264, open GOPs, VFR with an edit list, start/end windows, HEVC, VP9 and AV1, and on a clip without
B-frames, where there is nothing to skip.

Which frames are references is read from the decoder itself: a frame that does not come out of a decode
with ``skip_frame`` NONREF on every packet is one nothing references.
"""

from __future__ import annotations

from pathlib import Path

import av
import media
import numpy as np
import pytest

from curate.frames import seek
from curate.frames.decoders import DecodedVideo, pyav_index
from curate.frames.decoders import pyav as pyav_module
from curate.frames.decoders.nonref import PacketFormat, hevc_temporal_layers, packet_format, unreferenced
from curate.frames.decoders.pyav import decode_pyav, open_pyav, pyav_runs
from curate.frames.sampling import Sampling

SIXTEEN = Sampling(num_frames=16)
BY_TIME = Sampling(mode="fps", fps=3.0, min_frames=4, max_frames=64)
WINDOW = {"start": 1.3, "end": 3.7}
B_FRAME = 3  # AVPictureType: 1 I, 2 P, 3 B


@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    media.need_ffmpeg()
    return tmp_path_factory.mktemp("skip_clips")


MAKERS = {
    # x264 veryfast: 3 B-frames, b-pyramid normal (the middle B of three is a reference)
    "bpyramid.mp4": lambda p: media.short_gops(p, frames=120, gop=250),
    "gop12.mp4": lambda p: media.short_gops(p),
    "ogop12.mkv": lambda p: media.short_gops(p, open_gop=True),
    "ogop12.mp4": lambda p: media.short_gops(p, open_gop=True),
    "vgop12.mp4": lambda p: media.short_gops(p, vfr=True),  # VFR, and mp4 edit-lists its last frame away
    "og_mpeg4.mp4": media.open_gop,
    "og_mpeg2.mkv": lambda p: media.open_gop(p, codec="mpeg2video"),
    "nob.mp4": lambda p: media.clean_cfr(p, frames=100, width=160, height=96),  # ultrafast: no B-frames
    "hevc.mkv": lambda p: media.codec_clip(p, "hevc", frames=60),
    "vp9.webm": lambda p: media.codec_clip(p, "vp9", frames=60),
    "av1.mp4": lambda p: media.codec_clip(p, "av1", frames=60),
}
SLOW = {"hevc.mkv", "vp9.webm", "av1.mp4", "og_mpeg2.mkv", "ogop12.mp4", "vgop12.mp4"}


def clip(folder: Path, name: str) -> str:
    path = folder / name
    if not path.exists():
        MAKERS[name](path)
    return str(path)


def references(path: str) -> tuple[list[int], set[int]]:
    """(every frame's pict_type in presentation order, the presentation indices of the frames nothing
    references: those a decode with ``skip_frame`` NONREF on every packet does not output)."""

    def decode(skip: bool) -> dict[int, int]:
        with av.open(path) as container:
            stream = container.streams.video[0]
            if skip:
                stream.codec_context.skip_frame = "NONREF"
            return {frame.pts: int(frame.pict_type) for frame in container.decode(stream)}

    everything, kept = decode(False), decode(True)
    order = sorted(everything)
    return [everything[p] for p in order], {i for i, p in enumerate(order) if p not in kept}


def same(video: DecodedVideo, full: DecodedVideo) -> None:
    assert (video.indices, video.timestamps, video.num_frames_decoded) == (
        full.indices,
        full.timestamps,
        full.num_frames_decoded,
    )
    assert video.duration == full.duration and video.fps == full.fps
    assert (video.height, video.width) == (full.height, full.width)
    for index, a, b in zip(video.indices, video.frames, full.frames, strict=True):
        assert np.array_equal(a, b), f"frame {index} differs"


CASES = [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in MAKERS if name != "bpyramid.mp4"
]


@pytest.mark.parametrize("window", [{}, WINDOW], ids=["whole", "window"])
@pytest.mark.parametrize("sampling", [SIXTEEN, BY_TIME], ids=["uniform16", "fps3"])
@pytest.mark.parametrize("name", ["bpyramid.mp4", *CASES])
def test_skipping_equals_the_full_decode(folder, name, sampling, window):
    path = clip(folder, name)
    full = decode_pyav(path, sampling, sparse=False, **window)
    for sparse in (None, True):  # the per-video choice (one sequential run here), and a seek per GOP
        same(decode_pyav(path, sampling, sparse=sparse, **window), full)


@pytest.mark.parametrize(
    "name",
    ["bpyramid.mp4", "gop12.mp4", "ogop12.mkv", "og_mpeg4.mp4", pytest.param("og_mpeg2.mkv", marks=pytest.mark.slow)],
)
def test_skipping_happens_and_decodes_less(folder, name):
    """One sequential run (16 frames of a short clip): without skipping it decodes every frame up to the last
    wanted one; with it, frames nothing references and nobody wants are never decoded."""
    path = clip(folder, name)
    _, nonref = references(path)
    assert nonref  # the clip has frames to skip
    whole = decode_pyav(path, SIXTEEN, nonref=False)
    skipping = decode_pyav(path, SIXTEEN)
    same(skipping, whole)
    n = whole.num_frames_decoded
    assert whole.frames_decoded >= n - 1  # read_index's first frame + all but what is in flight at the end
    skippable = nonref - set(skipping.indices)
    assert skipping.frames_decoded <= whole.frames_decoded - len(skippable) + 1
    assert skipping.frames_decoded < n


def test_b_pyramid_clip_has_reference_and_non_reference_b_frames(folder):
    types, nonref = references(clip(folder, "bpyramid.mp4"))
    b_frames = {i for i, t in enumerate(types) if t == B_FRAME}
    assert nonref <= b_frames  # x264 references every I and P frame
    assert b_frames - nonref  # pyramid B-frames are references …
    assert nonref  # … and the others are not


def test_a_wanted_non_reference_b_frame_still_comes_out(folder):
    """Uniform sampling lands on non-reference B-frames: they are decoded (skip_frame DEFAULT for their packet)
    and equal the full decode's."""
    path = clip(folder, "bpyramid.mp4")
    _, nonref = references(path)
    full = decode_pyav(path, SIXTEEN, sparse=False)
    assert set(full.indices) & nonref  # the test means something: some wanted frames are non-reference
    same(decode_pyav(path, SIXTEEN), full)


@pytest.mark.parametrize("name", ["bpyramid.mp4", "ogop12.mkv"])
def test_runs_of_only_non_reference_frames(folder, name):
    """Every wanted frame is one nothing references (a run per GOP, then one run for all): each comes out,
    identical to the full decode, and the other non-reference frames are skipped."""
    path = clip(folder, name)
    _, nonref = references(path)
    wanted = sorted(nonref)[::3]
    index = pyav_index(path)
    assert seek.untrusted(index) is None
    _, full = pyav_module.reference(path, wanted)
    for seek_cost in (0, 10**6):
        with open_pyav(path) as container:
            stream = container.streams.video[0]
            form = packet_format(stream)
            kept, decoded = pyav_runs(container, stream, index, seek.plan(index, wanted, seek_cost), skip=form)
        assert kept is not None
        assert sorted(kept) == wanted
        assert all(np.array_equal(kept[i], full[i]) for i in wanted)
        assert decoded <= index.packets - (len(nonref) - len(wanted))


@pytest.mark.parametrize(
    "name",
    [
        "bpyramid.mp4",
        "ogop12.mkv",
        "og_mpeg4.mp4",
        *(pytest.param(n, marks=pytest.mark.slow) for n in ("hevc.mkv", "og_mpeg2.mkv")),
    ],
)
def test_packets_read_as_unreferenced_are_what_the_decoder_skips(folder, name):
    """nonref.unreferenced, read from each packet's first slice NAL unit, names exactly the pictures FFmpeg
    drops with skip_frame NONREF."""
    path = clip(folder, name)
    _, nonref = references(path)
    with open_pyav(path) as container:
        stream = container.streams.video[0]
        form = packet_format(stream)
        assert isinstance(form, PacketFormat)
        pts = {packet.pts for packet in container.demux(stream) if packet.size and unreferenced(packet, form)}
    order = sorted(pyav_index(path).packet_pts)
    assert {order.index(p) for p in pts} == nonref


def test_no_b_frames_nothing_to_skip(folder):
    path = clip(folder, "nob.mp4")
    types, nonref = references(path)
    assert B_FRAME not in types and not nonref
    whole, skipping = decode_pyav(path, SIXTEEN, nonref=False), decode_pyav(path, SIXTEEN)
    same(skipping, whole)
    assert skipping.frames_decoded == whole.frames_decoded


def test_a_wanted_frame_that_never_comes_out_falls_back_to_the_full_decode(folder, monkeypatch):
    """The index claims one more frame, between frames 40 and 41, that no packet holds: with skipping on, a
    frame may pass over the pts of a packet sent with NONREF that holds an unreferenced picture, not over
    that one, so the run is refused (None) and decode_pyav decodes the whole stream instead — the same
    frames as the full decode."""
    import curate.probe

    path = clip(folder, "bpyramid.mp4")
    index = pyav_index(path)
    order = sorted(index.packet_pts)
    ghost = (order[40] + order[41]) // 2
    assert order[40] < ghost < order[41]
    lying = type(index)(
        **{**index.__dict__, "packet_pts": [*index.packet_pts, ghost], "packet_dts": [*index.packet_dts, None]}
    )
    with open_pyav(path) as container:
        stream = container.streams.video[0]
        form = packet_format(stream)
        for wanted in ([41], [45]):  # the ghost wanted, or passed over on the way to a later frame
            kept, decoded = pyav_runs(container, stream, lying, seek.plan(lying, wanted), skip=form)
            assert kept is None and decoded > 0  # what it decoded before it stopped is still counted
        assert pyav_runs(container, stream, index, seek.plan(index, [41]), skip=form)[0] is not None
    monkeypatch.setattr(curate.probe, "read_index", lambda container: lying)
    sampling = Sampling(num_frames=3)
    video, full = decode_pyav(path, sampling), decode_pyav(path, sampling, sparse=False)
    same(video, full)
    assert video.frames_decoded > video.num_frames_decoded + 1  # the refused runs, then the whole stream


def test_which_decoders_skip(folder):
    with open_pyav(clip(folder, "bpyramid.mp4")) as container:
        assert packet_format(container.streams.video[0]) == PacketFormat("h264", 4)
    with open_pyav(clip(folder, "og_mpeg4.mp4")) as container:  # B-VOPs found after their start code
        assert packet_format(container.streams.video[0]) == PacketFormat("mpeg4", 0)


@pytest.mark.slow
def test_hevc_skips_and_av1_vp9_do_not(folder):
    hevc = clip(folder, "hevc.mkv")
    with open_pyav(hevc) as container:
        stream = container.streams.video[0]
        assert hevc_temporal_layers(stream.codec_context.extradata) == 1
        assert packet_format(stream) == PacketFormat("hevc", 4)
    video = decode_pyav(hevc, SIXTEEN)
    assert video.frames_decoded < video.num_frames_decoded  # x265's TRAIL_N pictures were skipped
    for name in ("av1.mp4", "vp9.webm"):
        with open_pyav(clip(folder, name)) as container:
            assert "not one whose" in packet_format(container.streams.video[0])


def test_unreferenced_reads_the_first_slice():
    h264 = PacketFormat("h264", 4)
    sei, ref_slice, nonref_slice = b"\x06\x05\x00", b"\x41\x9a\x00", b"\x01\x9e\x00"

    def packet(*units: bytes, size: int = 4) -> bytes:
        return b"".join(len(u).to_bytes(size, "big") + u for u in units)

    assert unreferenced(packet(nonref_slice), h264)
    assert unreferenced(packet(sei, nonref_slice), h264)  # SEI first (x264's first frame)
    assert not unreferenced(packet(ref_slice), h264)
    assert not unreferenced(packet(sei), h264)  # no picture at all
    assert not unreferenced(b"\x00\x00", h264)  # cut short
    assert unreferenced(packet(nonref_slice, size=2), PacketFormat("h264", 2))
    hevc = PacketFormat("hevc", 4)
    assert unreferenced(packet(b"\x4e\x01", b"\x00\x01"), hevc)  # prefix SEI (39), then TRAIL_N (0)
    assert not unreferenced(packet(b"\x02\x01"), hevc)  # TRAIL_R (1)
    assert unreferenced(packet(bytes([8 << 1, 1])), hevc)  # RASL_N
    assert not unreferenced(packet(bytes([19 << 1, 1])), hevc)  # IDR_W_RADL
    vop = b"\x00\x00\x01\xb6"  # MPEG-4 Part 2: vop_coding_type in the top two bits of the next byte
    assert unreferenced(b"\x00\x00\x01\xb3" + vop + bytes([0b10 << 6]), PacketFormat("mpeg4", 0))
    assert not unreferenced(vop + bytes([0b01 << 6]), PacketFormat("mpeg4", 0))
    picture = b"\x00\x00\x01\x00\x00"  # MPEG-1/2: 10 bits temporal_reference, 3 bits picture_coding_type
    mpeg2 = PacketFormat("mpeg2video", 0)
    assert unreferenced(picture + bytes([3 << 3]), mpeg2) and not unreferenced(picture + bytes([2 << 3]), mpeg2)
    assert not unreferenced(picture, mpeg2) and not unreferenced(b"\x00" * 8, mpeg2)  # cut short, none


def test_hevc_temporal_layers_from_hvcc():
    record = bytearray(23)
    record[0] = 1
    record[21] = 0b00_001_1_11  # constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, 4-byte lengths
    assert hevc_temporal_layers(bytes(record)) == 1
    record[21] = 0b00_011_0_11
    assert hevc_temporal_layers(bytes(record)) == 3
    assert hevc_temporal_layers(b"\x00\x00\x00\x01\x40\x01") == 0  # Annex B parameter sets, not hvcC
    assert hevc_temporal_layers(None) == 0


@pytest.mark.parametrize("threads", ["AUTO", "FRAME", "SLICE"])
def test_skipping_works_per_packet_with_every_thread_type(folder, monkeypatch, threads):
    """Frame threads copy skip_frame from the caller's context as each packet is submitted, so every thread
    type skips the same frames and returns the same ones."""
    path = clip(folder, "bpyramid.mp4")
    whole = decode_pyav(path, SIXTEEN, nonref=False)
    monkeypatch.setattr(pyav_module, "SKIP_THREADS", threads)
    video = decode_pyav(path, SIXTEEN)
    same(video, whole)
    _, nonref = references(path)
    assert video.frames_decoded <= whole.frames_decoded - len(nonref - set(video.indices)) + 1
