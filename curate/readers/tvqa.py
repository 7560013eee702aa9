"""TVQA jsonl (``tvqa_{train,val,test_public}.jsonl``): ``{a0..a4, answer_idx, q, qid, ts, vid_name,
[show_name]}``.

``vid_name`` is the clip (TVQA ships clips as frame folders; the path is kept as published), ``ts``
(``"48.62-60.02"``) the start/end window of the question in seconds; ``show_name`` the subset. The public
test split has no ``answer_idx``: those rows are rejected ``no_answer``.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from curate.readers.base import Item, items_from_records, load_records, meta_of

SOURCE = "tvqa"
OPTIONS = [f"a{i}" for i in range(5)]


def _window(ts: object) -> tuple[float | None, float | None]:
    try:
        start, end = (float(x) for x in str(ts).split("-", 1))
    except ValueError:
        return None, None
    if math.isnan(start) or math.isnan(end):
        return None, None
    return start, end


def to_items(rec: dict, index: int) -> list[Item]:
    start, end = _window(rec.get("ts"))
    answer = rec.get("answer_idx")
    return [
        {
            "id": f"{SOURCE}:{rec['qid']}",
            "subset": rec.get("show_name"),
            "video": rec["vid_name"],
            "question": rec["q"],
            "options": [str(rec[k]) for k in OPTIONS],
            "answer_index": answer,
            "start": start,
            "end": end,
            "meta": meta_of(rec, ("q", "vid_name", "answer_idx", *OPTIONS)),
            "reject": "no_answer" if answer is None else None,
        }
    ]


def read(path: str | Path, **_: object) -> pl.DataFrame:
    return items_from_records(load_records(path), to_items, source=SOURCE, input_path=str(path))
