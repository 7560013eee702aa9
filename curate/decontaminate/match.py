"""Which query videos (training) show the same content as which reference videos (benchmark), from their
per-frame hashes (:mod:`curate.decontaminate.fingerprint`), in time that grows about linearly with the number
of frames.

Candidates (LSH banding): each 64-bit hash is cut into ``bands`` bands of ``w = 64 / bands`` bits; a query
frame and a reference frame are candidates when one band is equal. Per band, the reference frames are sorted
by that band's value (numpy), each query frame's bucket is looked up (a counting table; binary search for
bands wider than 22 bits), and only the pairs inside buckets are formed (never all pairs). With random
hashes a bucket of 16 bits holds about ``R / 65,536`` reference frames, so the work is
``Q · bands · R / 2^16`` pair checks instead of ``Q · R``. A bucket larger than ``max_bucket`` (a degenerate
hash shared by thousands of frames: a title card, a logo) is skipped in that band; its frames can still meet
through another band. A frame pair that differs in ``d`` bits shares at least one of 4 bands with
probability ``1 − P(every band has a differing bit)`` (≈ 0.94 at d = 4, ≈ 0.6 at d = 8); a video needs only
``min_frames`` of its frames found, so copies whose frames differ by a few bits are found with high
probability; the benchmark measures it.

Verification, per candidate frame pair: ``hamming(q, r) ≤ threshold`` (vectorised popcount); a pair found in
band ``b`` is kept there only if no earlier band is equal too, so each pair is counted once. Per (query video,
reference video, orientation), first the cheap filter: at least ``min(min_frames, query frames)`` distinct
query frames among the surviving pairs. Then the offsets ``Δ = t_r − t_q`` of the surviving pairs; their median
``Δ*``; the pairs with ``|Δ − Δ*| ≤ tolerance`` are consistent (the copy may start anywhere in the reference,
or the reference in the copy: trimmed segments, but played at the same speed). Then::

    matched  = distinct query frames in a consistent pair
    overlap  = query frames whose time + Δ* falls in the reference's span [first − tol, last + tol]
    similarity = matched / overlap

and the pair matches when ``matched ≥ min(min_frames, query frames)`` and ``similarity ≥ min_fraction``.
Counting against ``overlap`` rather than all query frames is what lets a trimmed copy match its source in
both directions. Orientation 1 is the reference's mirrored hashes (a left–right flipped copy).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

MATCH_SCHEMA = {
    "qid": pl.UInt32,
    "rid": pl.UInt32,
    "mirrored": pl.Boolean,
    "matched": pl.UInt32,
    "overlap": pl.UInt32,
    "similarity": pl.Float64,
    "hamming": pl.Float64,
    "offset": pl.Float64,
}
FRAMES_SCHEMA = {"vid": pl.UInt32, "t": pl.Float32, "h": pl.UInt64, "mirrored": pl.Boolean}


@dataclass(frozen=True)
class MatchParams:
    threshold: int = 12
    bands: int = 4
    min_frames: int = 3
    min_fraction: float = 0.5
    tolerance: float = 1.0
    max_bucket: int = 4096  # reference frames in one band bucket at most (larger: skipped in that band)
    pair_budget: int = 4_000_000  # candidate pairs checked per numpy step (bounds memory, not results)


def frames_table(ids, fingerprints, mirrored: bool = False) -> pl.DataFrame:
    """Long table ``(vid, t, h, mirrored)`` of the non-blank frames of ``fingerprints`` (one per id); with
    ``mirrored`` the mirrored hashes are added as orientation ``True``."""
    ids = np.asarray(list(ids), dtype=np.uint32)
    fingerprints = list(fingerprints)
    if len(ids) != len(fingerprints):
        raise ValueError("one id per fingerprint")
    if not fingerprints:
        return pl.DataFrame(schema=FRAMES_SCHEMA)
    counts = np.array([len(fp.hashes) for fp in fingerprints], dtype=np.int64)
    keep = ~np.concatenate([fp.blank for fp in fingerprints]).astype(bool)
    vid = np.repeat(ids, counts)[keep]
    t = np.concatenate([fp.timestamps for fp in fingerprints]).astype(np.float32)[keep]
    h = np.concatenate([fp.hashes for fp in fingerprints]).astype(np.uint64)[keep]
    parts = [(vid, t, h, np.zeros(len(h), bool))]
    if mirrored:
        m = np.concatenate([fp.mirrored for fp in fingerprints]).astype(np.uint64)[keep]
        parts.append((vid, t, m, np.ones(len(m), bool)))
    columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return pl.DataFrame(dict(zip(FRAMES_SCHEMA, columns, strict=True)), schema=FRAMES_SCHEMA)


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per uint64 (``np.bitwise_count`` on numpy ≥ 2, else a byte table)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    return table[x.view(np.uint8)].reshape(-1, 8).sum(1, dtype=np.uint8)


def _band(h: np.ndarray, b: int, width: int) -> np.ndarray:
    return (h >> np.uint64(b * width)) & np.uint64((1 << width) - 1)


def _chunks(sizes: np.ndarray, budget: int) -> Iterator[tuple[int, int]]:
    """``[a, c)`` ranges of query frames whose bucket sizes add up to about ``budget`` pairs each."""
    ends = np.cumsum(sizes)
    start = 0
    while start < len(sizes):
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + budget, side="right"))
        stop = max(stop, start + 1)
        yield start, stop
        start = stop


def _buckets(rk: np.ndarray, qk: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lo, size, order)``: reference frames sorted by band value (``order``), and per query frame where its
    bucket starts in that order and how many it holds. Bands of up to 22 bits: a counting sort and a direct
    table (``np.bincount``); wider bands: binary search."""
    if width <= 22:
        small = rk.astype(np.uint16 if width <= 16 else np.uint32)
        order = np.argsort(small, kind="stable")  # radix sort for uint16
        counts = np.bincount(small, minlength=1 << width)
        starts = np.cumsum(counts) - counts
        index = qk.astype(np.int64)
        return starts[index], counts[index], order
    order = np.argsort(rk, kind="stable")
    rk = rk[order]
    lo = np.searchsorted(rk, qk, side="left")
    return lo, np.searchsorted(rk, qk, side="right") - lo, order


def candidate_pairs(qh: np.ndarray, rh: np.ndarray, params: MatchParams) -> tuple[np.ndarray, ...]:
    """``(qf, rf, d)``: every (query frame, reference frame) pair that shares a band and lies within
    ``threshold`` bits, once (see the module docstring), with its Hamming distance ``d``."""
    width = 64 // params.bands
    found: list[tuple[np.ndarray, ...]] = []
    for b in range(params.bands):
        rk, qk = _band(rh, b, width), _band(qh, b, width)
        lo, sizes, order = _buckets(rk, qk, width)
        rhs = rh[order]
        sizes[sizes > params.max_bucket] = 0
        for a, c in _chunks(sizes, params.pair_budget):
            size = sizes[a:c]
            n = int(size.sum())
            if not n:
                continue
            ends = np.cumsum(size)  # each query frame's pairs end here in this chunk
            pos = np.arange(n) - np.repeat(ends - size - lo[a:c], size)  # index into the sorted reference
            x = np.repeat(qh[a:c], size) ^ rhs[pos]
            d = popcount(x)
            hit = np.flatnonzero(d <= params.threshold)
            keep = np.ones(len(hit), bool)
            for earlier in range(b):  # a pair equal in an earlier band was counted there
                keep &= _band(x[hit], earlier, width) != 0
            hit = hit[keep]
            qf = a + np.searchsorted(ends, hit, side="right")
            found.append((qf, order[pos[hit]], d[hit]))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint8)
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def match(query: pl.DataFrame, reference: pl.DataFrame, params: MatchParams = MatchParams()) -> pl.DataFrame:
    """Matching (query, reference) video pairs (:data:`MATCH_SCHEMA`; see the module docstring) between
    frame tables from :func:`frames_table` (the query's ``mirrored`` column is ignored)."""
    if query.is_empty() or reference.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    query = query.select("vid", "t", "h")
    qf, rf, d = candidate_pairs(query.get_column("h").to_numpy(), reference.get_column("h").to_numpy(), params)
    qv, qt = query.get_column("vid").to_numpy(), query.get_column("t").to_numpy()
    rv, rt = reference.get_column("vid").to_numpy(), reference.get_column("t").to_numpy()
    pairs = pl.DataFrame(
        {
            "qf": qf,
            "qid": qv[qf],
            "rid": rv[rf],
            "mirrored": reference.get_column("mirrored").to_numpy()[rf],
            "d": d,
            "delta": rt[rf].astype(np.float64) - qt[qf],
        }
    )
    sizes = query.group_by("vid").agg(n=pl.len().cast(pl.UInt32)).rename({"vid": "qid"})
    needed = pl.min_horizontal(pl.lit(params.min_frames, pl.UInt32), pl.col("n"))
    group = ["qid", "rid", "mirrored"]
    pairs = (
        pairs.join(sizes, on="qid")
        .filter(pl.col("qf").n_unique().over(group) >= needed)  # cheap: enough frames collide at all
        .with_columns(star=pl.col("delta").median().over(group))
        .filter((pl.col("delta") - pl.col("star")).abs() <= params.tolerance)
    )
    found = (
        pairs.group_by(group)
        .agg(
            matched=pl.col("qf").n_unique().cast(pl.UInt32),
            hamming=pl.col("d").cast(pl.Float64).mean(),
            offset=pl.col("star").first(),
            n=pl.col("n").first(),
        )
        .filter(pl.col("matched") >= needed)
    )
    if found.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    spans = reference.group_by("vid").agg(lo=pl.col("t").min(), hi=pl.col("t").max()).rename({"vid": "rid"})
    tol = params.tolerance
    aligned = (pl.col("qt") + pl.col("offset")).cast(pl.Float64)
    overlap = (
        found.select(group + ["offset"])
        .join(query.select(qid="vid", qt="t"), on="qid")
        .join(spans, on="rid")
        .filter((aligned >= pl.col("lo") - tol) & (aligned <= pl.col("hi") + tol))
        .group_by(group)
        .agg(overlap=pl.len().cast(pl.UInt32))
    )
    return (
        found.join(overlap, on=group, how="left")
        .with_columns(overlap=pl.max_horizontal(pl.col("overlap").fill_null(0), pl.col("matched")))
        .with_columns(similarity=pl.col("matched") / pl.col("overlap"))
        .filter(pl.col("similarity") >= params.min_fraction)
        .select(list(MATCH_SCHEMA))
        .cast(MATCH_SCHEMA)
        .sort(group)
    )


def best_per_query(matches: pl.DataFrame) -> pl.DataFrame:
    """One row per query video: its most similar reference (ties: more frames matched, then fewer bits)."""
    return matches.sort(["similarity", "matched", "hamming"], descending=[True, True, False]).unique(
        "qid", keep="first", maintain_order=True
    )
