"""Score sampled completions with :mod:`rewards`, compute pass rates, choose exemplars.

Per completion (``samples.parquet``): ``think`` (the ``<think>`` text), ``predicted`` (the letter read
from the single ``<answer>`` block, or null), ``format`` (strict R1 format, 0/1), ``format_length``
(TinyLLaVA-Video-R1's format with its length term), ``accuracy`` (0/1), ``length`` (characters of the
stripped think text) and ``total`` = TinyLLaVA-Video-R1's ``a + (2a − 1)·f``, −2 for 0.

Per question (``passrate.parquet``): ``k`` samples, ``correct``, ``format_ok``, ``pass_rate = correct / k``.

Exemplars: only verified samples (right answer and strict format) are candidates. ``best`` keeps the
``per_question`` highest ``total`` (ties: think length closest to ``target_think_chars``, then sample
index); ``all-correct`` keeps every verified sample (at most ``per_question`` when given).
"""

from __future__ import annotations

import polars as pl

from rewards import r1_format, tinyllava_combine, tinyllava_format
from rewards._text import answer_block, as_text, single_block
from rewards.mcq import extract_choice, mcq_accuracy
from schemas.prompt import LETTERS

KEEP = ("best", "all-correct")


def score_completion(text: str, answer: int, options: list[str]) -> dict:
    """The reward columns of one completion (see the module docstring)."""
    body = as_text(text) or ""
    think = single_block(body, "<think>", "</think>")
    block = answer_block(body)
    choice = extract_choice(block, options) if block is not None else None
    accuracy = mcq_accuracy(body, answer, options)
    shaped = tinyllava_format(body)
    return {
        "think": think.strip() if think is not None else None,
        "predicted": LETTERS[choice] if choice is not None else None,
        "format": r1_format(body),
        "format_length": shaped,
        "accuracy": accuracy,
        "length": len(think.strip()) if think is not None else 0,
        "total": tinyllava_combine(accuracy, shaped),
    }


def pass_rates(samples: pl.DataFrame) -> pl.DataFrame:
    """One row per question: ``id, k, correct, format_ok, pass_rate``."""
    return (
        samples.group_by("id", maintain_order=True)
        .agg(
            k=pl.len().cast(pl.Int32),
            correct=(pl.col("accuracy") == 1).sum().cast(pl.Int32),
            format_ok=(pl.col("format") == 1).sum().cast(pl.Int32),
        )
        .with_columns(pass_rate=(pl.col("correct") / pl.col("k")).cast(pl.Float32))
    )


def select_exemplars(
    samples: pl.DataFrame, keep: str = "best", per_question: int | None = 1, target_think_chars: int = 600
) -> pl.DataFrame:
    """The kept samples (all columns of ``samples``), ordered by question then rank."""
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {KEEP}")
    verified = samples.filter((pl.col("accuracy") == 1) & (pl.col("format") == 1))
    ranked = verified.with_columns(_distance=(pl.col("length") - target_think_chars).abs()).sort(
        ["total", "_distance", "sample_index"], descending=[True, False, False]
    )
    if keep == "all-correct":
        ranked = ranked.sort(["sample_index"])
    ranked = ranked.with_columns(rank=pl.int_range(pl.len()).over("id").cast(pl.Int32))
    if per_question is not None:
        ranked = ranked.filter(pl.col("rank") < per_question)
    order = samples.select("id").unique(maintain_order=True).with_row_index("_q")
    return ranked.join(order, on="id").sort(["_q", "rank"]).drop("_q", "_distance")
