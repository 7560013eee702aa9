"""Video-R1-260k / Video-R1-COT-165k JSON.

A record is ``{problem_id, problem, data_type, problem_type, options: ["A. …", …], solution:
"<answer>A</answer>", path, data_source}`` (COT adds ``process``). Multiple-choice video rows are kept;
other problem types are rejected with their type as the reason (``free-form``, ``numerical``, ``OCR``,
``regression``), image rows as ``not_video``. Derived copies that give ``video`` as a one-element list
instead of ``path`` are read too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import Item, items_from_records, load_records, meta_of

SOURCE = "video_r1"
MAPPED = ("problem_id", "problem", "problem_type", "options", "solution", "path", "video", "data_source")


def _video(rec: dict) -> str | None:
    video = rec.get("path", rec.get("video"))
    if isinstance(video, list):
        if len(video) != 1:
            raise ValueError(f"expected one video, found {len(video)}")
        video = video[0]
    if video is not None and not isinstance(video, str):
        raise TypeError(f"video path is a {type(video).__name__}")
    return video


def to_items(rec: dict, index: int) -> list[Item]:
    problem_type = str(rec.get("problem_type") or "multiple choice").strip()
    item: Item = {
        "id": f"{SOURCE}:{rec.get('problem_id', index)}",
        "subset": rec.get("data_source"),
        "video": _video(rec),
        "question": rec["problem"],
        "answer_letter": rec.get("solution"),
        "problem_type": problem_type,
        "meta": meta_of(rec, MAPPED, problem_id=rec.get("problem_id")),
    }
    options = rec.get("options")
    if options is not None and not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
        raise TypeError("options is not a list of strings")
    item["options"] = options or []
    if rec.get("data_type", "video") != "video":
        item["reject"] = "not_video"
        item["detail"] = f"data_type {rec.get('data_type')!r}"
    elif problem_type.lower() != "multiple choice":
        item["reject"] = problem_type
    return [item]


def read(path: str | Path, **_: object) -> pl.DataFrame:
    return items_from_records(load_records(path), to_items, source=SOURCE, input_path=str(path))
