"""Benchmark re-packagings with the options inside the question text and an integer answer, as in
Flash-VStream's ``test_qa.json`` for MVBench, Video-MME and EgoSchema:
``{id, video_id, question: "…\\n(A) …\\n(B) …", answer: 2, [duration, task_type, …]}``.

Not a published benchmark format, but common; the instruction lines around the question are dropped.
A numeric ``duration`` is kept; Video-MME's words (short/medium/long) become a bound.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import Item, items_from_records, load_records, meta_of
from curate.readers.videomme import BUCKETS

SOURCE = "inline_mc"
MAPPED = ("id", "video_id", "question", "answer", "duration")


def to_items(rec: dict, index: int) -> list[Item]:
    duration = rec.get("duration")
    lo, hi = BUCKETS.get(duration, (None, None)) if isinstance(duration, str) else (None, None)
    answer = rec["answer"]
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise TypeError("answer is not an integer index")
    return [
        {
            "id": f"{SOURCE}:{rec.get('id', index)}",
            "subset": rec.get("task_type"),
            "video": str(rec["video_id"]),
            "question": rec["question"],
            "answer_index": answer,
            "duration": duration if isinstance(duration, (int, float)) else None,
            "duration_lo": lo,
            "duration_hi": hi,
            "meta": meta_of(rec, MAPPED, duration_bucket=duration if isinstance(duration, str) else None),
        }
    ]


def read(path: str | Path, **_: object) -> pl.DataFrame:
    return items_from_records(load_records(path), to_items, source=SOURCE, input_path=str(path))
