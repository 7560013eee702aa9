"""Which query videos (training) show the same content as which reference videos (benchmark), from their
per-frame hashes (:mod:`curate.decontaminate.fingerprint`), in time that grows about linearly with the number
of frames.

Candidates (LSH banding): each 64-bit hash is cut into ``bands`` bands of ``64 / bands`` bits; a query frame
and a reference frame are candidates when one band is equal (an equi-join on ``(band, value)``, never all
pairs). With random hashes a band of 16 bits puts about ``R / 65,536`` reference frames in each bucket, so the
work is ``Q · bands · R / 2^16`` pair checks instead of ``Q · R``. A frame pair that differs in ``d`` bits
shares at least one of 4 bands with probability ``1 − P(every band has a differing bit)`` (≈ 0.94 at d = 4,
≈ 0.6 at d = 8); a video needs only ``min_frames`` of its frames found, so copies whose frames differ by a
few bits are found with high probability; the benchmark measures it.

Verification, per candidate frame pair: ``hamming(q, r) ≤ threshold``. Per (query video, reference video,
orientation): the offsets ``Δ = t_r − t_q`` of the surviving pairs; their median ``Δ*``; the pairs with
``|Δ − Δ*| ≤ tolerance`` are consistent (the copy may start anywhere in the reference, or the reference in
the copy: trimmed segments, but played at the same speed). Then::

    matched  = distinct query frames in a consistent pair
    overlap  = query frames whose time + Δ* falls in the reference's span [first − tol, last + tol]
    similarity = matched / overlap

and the pair matches when ``matched ≥ min(min_frames, query frames)`` and ``similarity ≥ min_fraction``.
Counting against ``overlap`` rather than all query frames is what lets a trimmed copy match its source in
both directions. Orientation 1 is the reference's mirrored hashes (a left–right flipped copy).
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class MatchParams:
    threshold: int = 12
    bands: int = 4
    min_frames: int = 3
    min_fraction: float = 0.5
    tolerance: float = 1.0
    chunk_frames: int = 1_000_000


def frames_table(ids, fingerprints, mirrored: bool = False) -> pl.DataFrame:
    """Long table ``(vid, t, h, mirrored)`` of the non-blank frames of ``fingerprints`` (one per id); with
    ``mirrored`` the mirrored hashes are added as orientation ``True``."""
    vids, ts, hs, flips = [], [], [], []
    for vid, fp in zip(ids, fingerprints, strict=True):
        keep = ~fp.blank
        n = int(keep.sum())
        for flip, hashes in ((False, fp.hashes), (True, fp.mirrored)) if mirrored else ((False, fp.hashes),):
            vids.append(pl.repeat(vid, n, dtype=pl.UInt32, eager=True))
            ts.append(fp.timestamps[keep])
            hs.append(hashes[keep])
            flips.append(pl.repeat(flip, n, dtype=pl.Boolean, eager=True))
    if not vids:
        return pl.DataFrame(schema={"vid": pl.UInt32, "t": pl.Float32, "h": pl.UInt64, "mirrored": pl.Boolean})
    import numpy as np

    return pl.DataFrame(
        {
            "vid": pl.concat(vids),
            "t": np.concatenate(ts).astype("float32"),
            "h": np.concatenate(hs).astype("uint64"),
            "mirrored": pl.concat(flips),
        }
    )


def _band_keys(frames: pl.DataFrame, bands: int) -> pl.DataFrame:
    """``(key, f)``: per frame row ``f`` and band ``b``, ``key = b · 2^w + bits of band b`` (w = 64 / bands)."""
    width = 64 // bands
    keys = [
        (pl.col("h") // pl.lit(1 << (b * width), pl.UInt64)) % pl.lit(1 << width, pl.UInt64)
        + pl.lit(b << width, pl.UInt64)
        for b in range(bands)
    ]
    return frames.select(pl.col("f"), pl.concat_list(keys).alias("key")).explode("key")


def match(query: pl.DataFrame, reference: pl.DataFrame, params: MatchParams = MatchParams()) -> pl.DataFrame:
    """Matching (query, reference) video pairs (:data:`MATCH_SCHEMA`; see the module docstring) between
    frame tables from :func:`frames_table` (the query's ``mirrored`` column is ignored)."""
    if query.is_empty() or reference.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    ref = reference.with_row_index("f")
    ref_keys = _band_keys(ref, params.bands)
    spans = ref.group_by("vid").agg(lo=pl.col("t").min(), hi=pl.col("t").max()).rename({"vid": "rid"})
    ref = ref.select(rf="f", rid="vid", rt="t", rh="h", mirrored="mirrored")
    query = query.select("vid", "t", "h").sort("vid", maintain_order=True)
    out = []
    counts = query.group_by("vid", maintain_order=True).len()
    start, rows = 0, 0
    bounds = []
    for length in counts.get_column("len").to_list():  # chunks of whole videos, about chunk_frames rows each
        rows += length
        if rows >= params.chunk_frames:
            bounds.append((start, rows))
            start, rows = start + rows, 0
    if rows:
        bounds.append((start, rows))
    for offset, length in bounds:
        out.append(_match_chunk(query.slice(offset, length), ref, ref_keys, spans, params))
    return pl.concat(out)


def _match_chunk(chunk: pl.DataFrame, ref, ref_keys, spans, params: MatchParams) -> pl.DataFrame:
    q = chunk.with_row_index("f")
    pairs = (
        _band_keys(q, params.bands)
        .join(ref_keys, on="key", suffix="_r")
        .select(qf="f", rf="f_r")
        .join(q.select(qf="f", qid="vid", qt="t", qh="h"), on="qf")
        .join(ref, on="rf")
        .with_columns(d=(pl.col("qh") ^ pl.col("rh")).bitwise_count_ones())
        .filter(pl.col("d") <= params.threshold)
        .unique(["qf", "rf"])
        .with_columns(delta=(pl.col("rt") - pl.col("qt")).cast(pl.Float64))
    )
    group = ["qid", "rid", "mirrored"]
    consistent = pairs.with_columns(star=pl.col("delta").median().over(group)).filter(
        (pl.col("delta") - pl.col("star")).abs() <= params.tolerance
    )
    found = consistent.group_by(group).agg(
        matched=pl.col("qf").n_unique().cast(pl.UInt32),
        hamming=pl.col("d").mean().cast(pl.Float64),
        offset=pl.col("star").first(),
    )
    sizes = q.group_by("vid").agg(n=pl.len()).rename({"vid": "qid"})
    found = found.join(sizes, on="qid").filter(
        pl.col("matched") >= pl.min_horizontal(pl.lit(params.min_frames, pl.UInt32), pl.col("n").cast(pl.UInt32))
    )
    if found.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    tol = params.tolerance
    aligned = (pl.col("qt") + pl.col("offset")).cast(pl.Float64)
    overlap = (
        found.select(group + ["offset"])
        .join(q.select(qid="vid", qt="t"), on="qid")
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
    )


def best_per_query(matches: pl.DataFrame) -> pl.DataFrame:
    """One row per query video: its most similar reference (ties: more frames matched, then fewer bits)."""
    return matches.sort(["similarity", "matched", "hamming"], descending=[True, True, False]).unique(
        "qid", keep="first", maintain_order=True
    )
