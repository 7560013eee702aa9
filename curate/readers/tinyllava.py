"""TinyLLaVA-Video-R1 training jsonl: ``{problem, solution, video_filename}`` per line.

``problem`` holds the question and ``A. …`` option lines, possibly followed by an instruction sentence
(dropped); ``solution`` is ``<answer>X</answer>``. Other keys go to ``meta``. The trainer opens
``data_path + video_filename[1:]``, so files carry ``./path``; the ``./`` is dropped here.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import Item, items_from_records, load_records, meta_of

SOURCE = "tinyllava_video_r1"
MAPPED = ("id", "problem", "solution", "video_filename")


def _video(filename: str) -> str:
    return filename[2:] if isinstance(filename, str) and filename.startswith("./") else filename


def to_items(rec: dict, index: int) -> list[Item]:
    if not isinstance(rec["problem"], str):
        raise TypeError("problem is not a string")
    return [
        {
            "id": f"{SOURCE}:{rec.get('id', index)}",
            "video": _video(rec["video_filename"]),
            "question": rec["problem"],
            "answer_letter": rec["solution"],
            "problem_type": rec.get("problem_type"),
            "meta": meta_of(rec, MAPPED + ("problem_type",)),
        }
    ]


def read(path: str | Path, **_: object) -> pl.DataFrame:
    return items_from_records(load_records(path), to_items, source=SOURCE, input_path=str(path))
