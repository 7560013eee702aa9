"""Video-MME: the Hub Parquet (``videomme/test-*.parquet``; JSON lines of its rows are read too) and
the official grouped JSON (``[{video_id, duration, …, questions: [{question_id, …}]}]``).

Per question: ``question``, ``options`` (``A. Apples.``), ``answer`` (a letter). Videos are stored as
``<videoID>.mp4``. ``duration`` (short/medium/long) is the subset and a duration bound: short < 2 min,
medium 4–15 min, long 30–60 min (the benchmark's definition).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import Item, items_from_records, load_records, meta_of

SOURCE = "videomme"
BUCKETS = {"short": (0.0, 120.0), "medium": (240.0, 900.0), "long": (1800.0, 3600.0)}
MAPPED = ("question_id", "question", "options", "answer", "duration")


def _item(row: dict, video_fields: dict) -> Item:
    bucket = video_fields.get("duration")
    lo, hi = BUCKETS.get(bucket, (None, None))
    video_id = video_fields.get("videoID") or video_fields["video_id"]
    options = row["options"]
    if not isinstance(options, list):
        raise TypeError("options is not a list")
    return {
        "id": f"{SOURCE}:{row['question_id']}",
        "subset": bucket,
        "video": f"{video_id}.mp4",
        "question": row["question"],
        "options": [str(o) for o in options],
        "answer_letter": row["answer"],
        "duration_lo": lo,
        "duration_hi": hi,
        "meta": meta_of({**video_fields, **row}, MAPPED + ("questions",)),
    }


def to_items(rec: dict, index: int) -> list[Item]:
    if "questions" in rec:  # official grouped layout: one record per video
        return [_item(q, rec) for q in rec["questions"]]
    return [_item(rec, rec)]


def read(path: str | Path, **_: object) -> pl.DataFrame:
    return items_from_records(load_records(path), to_items, source=SOURCE, input_path=str(path))
