"""``curate.frames.seek.split``: the sampled frames cut into plans that decoders work on side by side, on
packet indices built here (``plan`` reads only ``packet_pts``, ``packet_dts`` and ``keyframes``). That the
split plans decode the same frames as the full decode is tested on real clips in
``test_frames_reference.py``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from curate.frames import seek


def index(packets: int, gop: int) -> SimpleNamespace:
    """A stream without reordering: packet d has pts d, a keyframe every ``gop`` packets."""
    pts = list(range(packets))
    return SimpleNamespace(packet_pts=pts, packet_dts=pts, keyframes=list(range(0, packets, gop)))


def sixteen(packets: int) -> list[int]:
    return [int(i) for i in np.linspace(0, packets - 1, 16)]


def targets(plan: list[seek.Run]) -> list[int]:
    return [t for run in plan for t in run.targets]


@pytest.mark.parametrize("parts", [2, 3, 4, 8])
@pytest.mark.parametrize(("packets", "gop"), [(600, 250), (18_000, 250), (300, 12), (1000, 100)])
def test_split_keeps_every_frame_once_in_order_each_plan_from_a_keyframe(packets, gop, parts):
    idx, wanted = index(packets, gop), sixteen(packets)
    plans = seek.split(idx, wanted, parts)
    assert 2 <= len(plans) <= parts
    assert [t for plan in plans for t in targets(plan)] == wanted  # contiguous groups, nothing lost or repeated
    for plan in plans:
        assert all(run.start in idx.keyframes and run.start <= min(run.targets) for run in plan)


def test_split_balances_the_packets_decoded():
    """20 s at 30 fps, a keyframe every 250 packets: the units decode about 245, 240 and 100 packets;
    two plans get 245 and 340 (the better of the two cuts), not 485 and 100."""
    idx, wanted = index(600, 250), sixteen(600)
    sizes = [sum(run.packets for run in plan) for plan in seek.split(idx, wanted, 2)]
    units = [run.packets for run in seek.plan(idx, wanted, seek_cost=0)]
    assert len(units) == 3 and sizes == [units[0], units[1] + units[2]]
    idx, wanted = index(10_000, 100), sixteen(10_000)
    units = [run.packets for run in seek.plan(idx, wanted, seek_cost=0)]
    for parts in (2, 3, 4):
        sizes = [sum(run.packets for run in plan) for plan in seek.split(idx, wanted, parts, seek_cost=0)]
        assert len(sizes) == parts and sum(sizes) == sum(units)
        assert max(sizes) <= sum(units) / parts + max(units) / 2  # within half a unit of an even share


def test_one_part_or_one_keyframe_is_the_ordinary_plan():
    idx, wanted = index(600, 250), sixteen(600)
    assert seek.split(idx, wanted, 1) == [seek.plan(idx, wanted)]
    assert seek.split(idx, wanted, 1, seek_cost=0) == [seek.plan(idx, wanted, seek_cost=0)]
    single = index(120, 250)  # one GOP: nothing to share
    assert seek.split(single, sixteen(120), 4) == [seek.plan(single, sixteen(120))]


def test_each_plan_merges_its_runs_by_seek_cost():
    """Inside a plan, runs close together are decoded on rather than sought (the ordinary rule)."""
    idx, wanted = index(300, 12), sixteen(300)
    for plan in seek.split(idx, wanted, 2):
        group = targets(plan)
        assert plan == seek.plan(idx, group)
        assert len(plan) < len(seek.plan(idx, group, seek_cost=0))
