"""Any JSON / JSON-lines / CSV / Parquet table, with a column mapping given on the command line.

``--map FIELD=COLUMN`` (repeatable). Fields: ``question`` and ``answer`` (required), ``video``,
``options`` (one list column, or several columns joined by commas: ``options=a0,a1,a2``; without it the
options are read inline from the question), ``id``, ``subset``, ``duration``, ``start``, ``end``,
``problem_type``. ``answer`` is read as an index when it is an integer (or a string of digits), as a
letter when it looks like one (``B``, ``B.``, ``(B)``, ``<answer>B</answer>``), else as option text;
``answer_index``/``answer_letter``/``answer_text`` force one reading. ``--source`` names the family.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from curate.errors import UserError
from curate.readers.base import Item, items_from_records, load_records, meta_of
from curate.readers.nextqa import read_csv

FIELDS = {
    "id",
    "video",
    "question",
    "options",
    "answer",
    "answer_index",
    "answer_letter",
    "answer_text",
    "subset",
    "duration",
    "start",
    "end",
    "problem_type",
}
LETTERISH = re.compile(r"^\s*(?:<answer>)?\s*\(?[A-Z][.):]?\)?\s*(?:</answer>)?\s*$")


def parse_mapping(pairs: list[str]) -> dict[str, list[str]]:
    """``["question=q", "options=a0,a1"]`` → ``{"question": ["q"], "options": ["a0", "a1"]}``."""
    mapping: dict[str, list[str]] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field = field.strip()
        if not sep or not column.strip():
            raise UserError(f"--map {pair!r}: expected FIELD=COLUMN")
        if field not in FIELDS:
            raise UserError(f"--map {pair!r}: unknown field {field!r} (one of {', '.join(sorted(FIELDS))})")
        mapping[field] = [c.strip() for c in column.split(",")]
    answers = [f for f in ("answer", "answer_index", "answer_letter", "answer_text") if f in mapping]
    if "question" not in mapping or not answers:
        raise UserError("--map needs at least question=COLUMN and answer=COLUMN")
    return mapping


def _answer(value: object, how: str) -> Item:
    if how == "answer_index" or isinstance(value, int) and not isinstance(value, bool):
        return {"answer_index": int(value)}
    text = str(value)
    if how == "answer" and text.strip().isdigit():
        return {"answer_index": int(text)}
    if how == "answer_letter" or (how == "answer" and LETTERISH.match(text)):
        return {"answer_letter": text}
    return {"answer_text": text}


def read(
    path: str | Path, *, mapping: dict[str, list[str]] | None = None, source: str | None = None, **_: object
) -> pl.DataFrame:
    path = Path(path)
    if not mapping:
        raise UserError(f"{path}: --format generic needs a column mapping (--map FIELD=COLUMN)")
    source = source or "generic"
    records = read_csv(path).to_dicts() if path.suffix.lower() == ".csv" else load_records(path)
    columns = {c for rec in records if isinstance(rec, dict) for c in rec}
    for field, cols in mapping.items():
        for col in cols:
            if records and col not in columns:
                raise UserError(f"{path}: --map {field}={col}: no column {col!r} in the file")
    used = {c for cols in mapping.values() for c in cols}
    how = next(f for f in ("answer", "answer_index", "answer_letter", "answer_text") if f in mapping)

    def get(rec: dict, field: str) -> object:
        return rec.get(mapping[field][0]) if field in mapping else None

    def to_items(rec: dict, index: int) -> list[Item]:
        item: Item = {
            "id": f"{source}:{get(rec, 'id') if 'id' in mapping else index}",
            "video": None if get(rec, "video") is None else str(get(rec, "video")),
            "question": rec[mapping["question"][0]],
            "subset": None if get(rec, "subset") is None else str(get(rec, "subset")),
            "problem_type": get(rec, "problem_type"),
            "meta": meta_of(rec, used),
        }
        for field in ("duration", "start", "end"):
            value = get(rec, field)
            item[field] = None if value in (None, "") else float(value)
        if "options" in mapping:
            cols = mapping["options"]
            options = rec[cols[0]] if len(cols) == 1 else [rec[c] for c in cols]
            if not isinstance(options, list):
                raise TypeError(f"options column {cols[0]!r} is not a list")
            options = ["" if o is None else str(o) for o in options]
            while options and options[-1] == "":  # fewer options than columns: trailing blanks only
                options.pop()
            item["options"] = options  # a blank in the middle stays, so the answer index keeps its option
        answer = rec[mapping[how][0]]
        if answer is None:
            return [{**item, "reject": "no_answer"}]
        item.update(_answer(answer, how))
        return [item]

    return items_from_records(records, to_items, source=source, input_path=str(path))
