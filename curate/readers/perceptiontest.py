"""Perception Test multiple-choice JSON: ``{video_id: {metadata: {…}, mc_question: [{id, question,
options, answer_id, area, reasoning, tag}]}}``.

Videos are ``<video_id>.mp4``; the duration is ``num_frames / frame_rate`` from the metadata; ``area``
is the subset. Questions without ``answer_id`` (the held-out test split) are rejected ``no_answer``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.errors import UserError
from curate.readers.base import Item, items_from_records, load_json, to_json

SOURCE = "perceptiontest"


def to_items(rec: dict, index: int) -> list[Item]:
    video_id = rec["_video_id"]
    metadata = rec.get("metadata") or {}
    frames, rate = metadata.get("num_frames"), metadata.get("frame_rate")
    duration = frames / rate if frames and rate else None
    items = []
    for q in rec["mc_question"]:
        answer = q.get("answer_id")
        meta = {k: v for k, v in q.items() if k not in ("question", "options", "answer_id")}
        items.append(
            {
                "id": f"{SOURCE}:{video_id}:{q.get('id')}",
                "subset": q.get("area"),
                "video": f"{video_id}.mp4",
                "question": q["question"],
                "options": [str(o) for o in q["options"]],
                "answer_index": answer,
                "duration": duration,
                "meta": to_json({"video_id": video_id, **meta, "metadata": metadata}),
                "record": to_json({"video_id": video_id, "metadata": metadata, "mc_question": q}),
                "reject": "no_answer" if answer is None else None,
            }
        )
    return items


def read(path: str | Path, **_: object) -> pl.DataFrame:
    data = load_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object keyed by video id")
    records = [{"_video_id": vid, **(v if isinstance(v, dict) else {"_bad": v})} for vid, v in data.items()]
    return items_from_records(records, to_items, source=SOURCE, input_path=str(path))
