"""STAR JSON (``STAR_train.json``/``STAR_val.json``): ``[{question_id, question, video_id, start, end,
answer, choices: [{choice_id, choice, …}], question_program, situations}]``.

``answer`` is the right choice's text. Videos are Charades ``<video_id>.mp4``; the question type
(``Interaction``, ``Sequence``, ``Prediction``, ``Feasibility``: the ``question_id`` prefix) is the
subset. ``situations`` (per-frame scene graphs, large) is left out of ``meta``; rejects keep it.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import Item, items_from_records, load_records, meta_of

SOURCE = "star"
MAPPED = ("question_id", "question", "video_id", "start", "end", "answer", "situations")


def to_items(rec: dict, index: int) -> list[Item]:
    qid = str(rec["question_id"])
    choices = sorted(rec["choices"], key=lambda c: c.get("choice_id", 0))
    return [
        {
            "id": f"{SOURCE}:{qid}",
            "subset": qid.split("_", 1)[0],
            "video": f"{rec['video_id']}.mp4",
            "question": rec["question"],
            "options": [str(c["choice"]) for c in choices],
            "answer_text": rec.get("answer"),
            "start": rec.get("start"),
            "end": rec.get("end"),
            "meta": meta_of(rec, MAPPED),
            "reject": "no_answer" if rec.get("answer") is None else None,
        }
    ]


def read(path: str | Path, **_: object) -> pl.DataFrame:
    return items_from_records(load_records(path), to_items, source=SOURCE, input_path=str(path))
