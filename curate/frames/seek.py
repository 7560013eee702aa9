"""Sparse decoding: which packets to decode to reach the sampled frames, planned from the packet index.

The index (:class:`curate.probe.StreamIndex`, packets demuxed without decoding) lists the video packets in
decode order: packet ``d`` has pts ``p_d``; keyframes sit at decode positions ``K``. Frame ``i`` of the
full decode (presentation order) is the packet with the ``i``-th smallest pts, ``P_i = sorted(p)[i]``, so
the frame count ``n`` and every timestamp come from the index — when :func:`untrusted` says nothing
against it:

- the container keeps an exact seek index (mp4/mov sample tables, Matroska cues: :data:`SEEK_FORMATS`);
- the codec outputs one frame per packet (:data:`ONE_FRAME_CODECS`; not VP8, whose invisible alt-ref
  frames are packets of their own, nor MPEG-4 Part 2's packed B-frames, which only AVI carries);
- every packet has a pts and no two share one, the demuxer read to the end without an error, and the
  first packet is a keyframe (so the decoder outputs every packet's frame from the start).

A packet whose data fails to decode where no sampled frame needs it cannot be seen without decoding it;
every frame that *is* decoded is checked against the index (see :func:`curate.frames.decoders.pyav_runs`),
and any disagreement falls back to the full decode.

**Plan** (:func:`plan`): for each wanted frame ``i`` (ascending), ``d(i)`` is its packet's decode position
and ``k(i)`` the last keyframe whose pts is ≤ ``P_i`` (the frame and everything it references is decoded
after that keyframe: in an open GOP a frame shown before its keyframe is reached from the keyframe before).
Consecutive wanted frames share a *run* while ``k(next) ≤ end + seek_cost`` (decoding on is cheaper than
seeking); a run decodes packets ``k .. end`` (``end`` = the largest ``d`` in it). The plan's cost is
``Σ (end − k + 1) + seek_cost · runs`` packets. A sequential decode is the plan whose one run starts at
packet 0 — so the choice between sequential and seek decoding is made per video by the same rule.

**Skipping** (PyAV, :mod:`curate.frames.decoders.nonref`): inside a run the decoder drops the unwanted
pictures nothing references (about 44 % of x264-default H.264), so a packet decoded on costs about the
fraction ``f`` of references, and decoding on past a gap of ``g`` packets costs ``f · g`` rather than ``g``.
The plan still counts packets sent: which packets are references is read from their data while decoding,
not from the index, and the choice only moves where the next keyframe lies between ``seek_cost`` and
``seek_cost / f`` packets past a run's end (16–29 packets at f ≈ 0.56) — seeking there costs about what
decoding on would. :func:`planned_frames` (decord, torchcodec) counts every packet: they do not skip.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

SEEK_FORMATS = ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm")
ONE_FRAME_CODECS = ("h264", "hevc", "av1", "vp9", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg", "prores", "dnxhd")
SEEK_COST = 16  # packets: about what a seek, a decoder flush and refilling its frame threads cost


@dataclass(frozen=True)
class Run:
    """Decode from the keyframe at decode position ``start`` (pts ``key_pts``) until every frame in
    ``targets`` (presentation indices) is out. ``offsets``: the seek targets to try in turn — its pts, then
    its dts when smaller (demuxers index keyframes by one or the other)."""

    start: int
    end: int
    key_pts: int
    offsets: tuple[int, ...]
    targets: tuple[int, ...]

    @property
    def packets(self) -> int:
        return self.end - self.start + 1


def untrusted(index) -> str | None:
    """Why the packet index cannot stand for the full decode (module docstring), or None."""
    if index.format not in SEEK_FORMATS:
        return f"no exact seek index in {index.format!r} files"
    if index.codec not in ONE_FRAME_CODECS:
        return f"codec {index.codec!r} may not output one frame per packet"
    if index.errors:
        return f"the demuxer stopped early: {index.errors[0]}"
    if index.timestamps is None or not index.packet_pts:
        return "packets without presentation timestamps"
    if not index.unique_pts:
        return "packets share presentation timestamps"
    if not index.keyframes or index.keyframes[0] != 0:
        return "the stream does not start with a keyframe"
    return None


def plan(index, wanted: list[int], seek_cost: int = SEEK_COST) -> list[Run]:
    """The runs that decode the frames ``wanted`` (presentation indices, any order) — module docstring."""
    order = sorted(index.packet_pts)
    position = {p: d for d, p in enumerate(index.packet_pts)}
    keys = index.keyframes
    key_pts = [index.packet_pts[k] for k in keys]
    # keyframes sorted by pts (they are in decode order already in every sane stream; sort to be safe)
    by_pts = sorted(zip(key_pts, keys, strict=True))
    sorted_key_pts = [p for p, _ in by_pts]
    runs: list[Run] = []
    current: list | None = None  # [start, end, key pts, targets]
    for i in sorted(set(wanted)):
        pts = order[i]
        j = max(0, bisect.bisect_right(sorted_key_pts, pts) - 1)
        key_pts_i, start = by_pts[j]
        d = position[pts]
        if current is not None and start <= current[1] + seek_cost and start >= current[0]:
            current[1] = max(current[1], d)
            current[3].append(i)
            continue
        if current is not None:
            runs.append(_run(index, *current))
        current = [start, d, key_pts_i, [i]]
    if current is not None:
        runs.append(_run(index, *current))
    return runs


def _run(index, start: int, end: int, key_pts: int, targets: list[int]) -> Run:
    dts = index.packet_dts[start] if start < len(index.packet_dts) else None
    offsets = (key_pts, dts) if dts is not None and dts < key_pts else (key_pts,)
    return Run(start, end, key_pts, offsets, tuple(targets))


def cost(runs: list[Run], seek_cost: int = SEEK_COST) -> int:
    """Packets a plan decodes plus ``seek_cost`` per run (the quantity :func:`plan` keeps small)."""
    return sum(r.packets for r in runs) + seek_cost * len(runs)


def split(index, wanted: list[int], parts: int, seek_cost: int = SEEK_COST) -> list[list[Run]]:
    """The frames ``wanted`` as up to ``parts`` plans of about equal size that decoders can work on side by
    side (each from its own seek). The units are the runs of ``plan(index, wanted, seek_cost=0)`` (one per
    keyframe reached, in order); they are cut into contiguous groups, a group closed when the next unit's
    middle would pass ``g / parts`` of all their packets (``g``: the groups so far), and each group is
    planned with ``seek_cost``. One plan when ``parts`` is 1 or one unit holds every frame."""
    units = plan(index, wanted, seek_cost=0)
    if parts <= 1 or len(units) < 2:
        return [plan(index, wanted, seek_cost)]
    total = sum(u.packets for u in units)
    groups: list[list[int]] = [[]]
    done = 0
    for unit in units:
        if groups[-1] and len(groups) < parts and done + unit.packets / 2 > total * len(groups) / parts:
            groups.append([])
        groups[-1].extend(unit.targets)
        done += unit.packets
    return [plan(index, group, seek_cost) for group in groups]


def planned_frames(index, wanted: list[int]) -> int:
    """Frames a decoder that seeks to the keyframe before each wanted frame and decodes on while it can
    (decord's and torchcodec's rule: :func:`plan` with ``seek_cost`` 0) decodes; every packet when the index
    has no keyframe or pts to plan with."""
    if not index.keyframes or index.timestamps is None or not index.packet_pts:
        return index.packets
    return sum(r.packets for r in plan(index, wanted, seek_cost=0))
