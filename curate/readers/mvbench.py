"""MVBench task JSON (``json/<task>.json``): ``[{video, question, candidates, answer, [start, end]}]``.

``answer`` is the text of the right candidate. The task (file stem) is the subset. ``video`` is relative
to the task's folder in MVBench's ``video/`` tree (see MVBench's ``data_list``); pass ``--video-root``
accordingly.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import Item, items_from_records, load_records, meta_of

SOURCE = "mvbench"
MAPPED = ("video", "question", "candidates", "answer", "start", "end")


def read(path: str | Path, **_: object) -> pl.DataFrame:
    task = Path(path).stem

    def to_items(rec: dict, index: int) -> list[Item]:
        candidates = rec["candidates"]
        if not isinstance(candidates, list):
            raise TypeError("candidates is not a list")
        return [
            {
                "id": f"{SOURCE}:{task}:{index}",
                "subset": task,
                "video": rec["video"],
                "question": rec["question"],
                "options": [str(c) for c in candidates],
                "answer_text": str(rec["answer"]),
                "start": rec.get("start"),
                "end": rec.get("end"),
                "meta": meta_of(rec, MAPPED),
            }
        ]

    return items_from_records(load_records(path), to_items, source=SOURCE, input_path=str(path))
