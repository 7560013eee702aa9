"""``stats.json`` of ``curate filter``: counts per source, subset and reason, and histograms."""

from __future__ import annotations

import polars as pl

DURATION_BINS = [0, 15, 30, 60, 120, 180, 300, 600, 1800, 3600]


def _counts(df: pl.DataFrame, column: str) -> dict:
    rows = df.group_by(column).len().sort(column, nulls_last=True).iter_rows()
    return {("null" if k is None else str(k)): n for k, n in rows}


def _breakdown(df: pl.DataFrame, key: pl.Expr) -> dict:
    out: dict[str, dict] = {}
    grouped = (
        df.with_columns(_k=key)
        .group_by("_k")
        .agg(
            read=pl.len(),
            kept=pl.col("reject").is_null().sum(),
            reasons=pl.col("reject").drop_nulls(),
        )
    )
    for k, read, kept, reasons in grouped.sort("_k", nulls_last=True).iter_rows():
        counts: dict[str, int] = {}
        for r in reasons:
            counts[r] = counts.get(r, 0) + 1
        out["null" if k is None else k] = {
            "read": read,
            "kept": kept,
            "rejected": read - kept,
            "reasons": dict(sorted(counts.items())),
        }
    return out


def duration_histogram(kept: pl.DataFrame) -> dict[str, int]:
    """Kept items per duration bin (seconds, ``lo-hi``; ``unknown`` when no duration is known)."""
    hist: dict[str, int] = {}
    durations = kept.get_column("duration")
    unknown = durations.null_count()
    edges = DURATION_BINS + [float("inf")]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        n = durations.filter((durations >= lo) & (durations < hi)).len()
        if n:
            hist[f"{lo}-{hi if hi != float('inf') else 'inf'}"] = n
    if unknown:
        hist["unknown"] = unknown
    return hist


def filter_stats(
    df: pl.DataFrame,
    kept: pl.DataFrame,
    *,
    formats: dict[str, str],
    letters_before: dict[str, int],
    letters_after: dict[str, int] | None,
    option_variants: int,
    duration_unknown: int,
    videos_probed: int,
) -> dict:
    """All counts of one filter run. ``df`` is every item read (``reject`` null = kept)."""
    read = df.height
    rejected = df.filter(pl.col("reject").is_not_null()).height
    letters: dict = letters_before
    if letters_after is not None:
        letters = {"before_shuffle": letters_before, "after_shuffle": letters_after}
    return {
        "read": read,
        "kept": kept.height,
        "rejected": rejected,
        "kept_plus_rejected_equals_read": kept.height + rejected == read,
        "formats": formats,
        "reasons": _counts(df.filter(pl.col("reject").is_not_null()), "reject"),
        "by_source": _breakdown(df, pl.col("source")),
        "by_subset": _breakdown(df, pl.col("source") + pl.lit("/") + pl.col("subset").fill_null("null")),
        "answer_letter_histogram": letters,
        "option_count_histogram": _counts(kept.with_columns(n=pl.col("options").list.len()), "n"),
        "duration_histogram": duration_histogram(kept),
        "duration_unknown": duration_unknown,
        "same_question_different_options": option_variants,
        "videos_probed": videos_probed,
    }
