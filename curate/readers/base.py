"""The raw item frame every reader returns, and helpers shared by the readers.

A reader turns one published file into a polars DataFrame with the columns of :data:`RAW_SCHEMA`,
one row per question it found. Fields are as published; :mod:`curate.normalize` does the parsing that
is common to all formats (inline options, letter prefixes, answer resolution) in one vectorized pass.

Raw columns:
- ``question``: the question text; when ``options`` is null it still holds the inline option lines.
- ``options``: option texts (letter prefixes such as ``A. `` may remain), or null for inline options.
- exactly one of ``answer_index`` (0-based), ``answer_letter`` (``B``, ``B.``, ``B. dog.``, ``(B)``,
  ``<answer>B</answer>``) or ``answer_text`` (the option text) carries the gold answer.
- ``duration_lo``/``duration_hi``: a duration bucket (e.g. LLaVA-Video-178K's ``0_30_s``), used as a
  bound when the exact duration is unknown.
- ``record``: the original record as JSON; ``input``/``index``: file and 0-based record index. A reader
  may leave ``record`` null and register a builder in ``curate.readers.RECORD_BUILDERS`` that rebuilds it
  for rejected items only (LLaVA-Video-178K does: encoding a million records nobody reads costs seconds).
- ``reject``/``detail``: set by the reader for an item it already knows to drop (e.g. ``open_ended``).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import UserError

RAW_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String,
    "source": pl.String,
    "subset": pl.String,
    "video": pl.String,
    "question": pl.String,
    "options": pl.List(pl.String),
    "answer_index": pl.Int64,
    "answer_letter": pl.String,
    "answer_text": pl.String,
    "problem_type": pl.String,
    "duration": pl.Float64,
    "duration_lo": pl.Float64,
    "duration_hi": pl.Float64,
    "start": pl.Float64,
    "end": pl.Float64,
    "meta": pl.String,
    "record": pl.String,
    "input": pl.String,
    "index": pl.Int64,
    "reject": pl.String,
    "detail": pl.String,
}

Item = dict[str, Any]


def to_json(obj: Any) -> str:
    """Compact JSON that keeps non-ASCII text readable; unknown objects become strings."""
    return json.dumps(obj, ensure_ascii=False, default=str)


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Add missing raw columns as nulls and return the raw columns in order with their types."""
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in RAW_SCHEMA.items() if c not in df.columns]
    return df.with_columns(missing).select([pl.col(c).cast(t) for c, t in RAW_SCHEMA.items()])


INT64 = (-(2**63), 2**63 - 1)


# the Python type each raw column holds (polars dtypes compare slowly: looked up once)
_KIND = {
    c: str if t == pl.String else int if t == pl.Int64 else float if t == pl.Float64 else list
    for c, t in RAW_SCHEMA.items()
}
_WANT = {str: "text", int: "an integer", float: "a number", list: "a list of texts"}


def _check_value(column: str, value: Any, kind: type) -> None:
    """Raise ``TypeError``/``ValueError`` naming ``column`` when ``value`` does not fit its raw column:
    strings must be ``str``, integers must fit int64, numbers must be finite (a JSON ``1e400`` is
    infinite), option lists must be lists of ``str``."""
    if kind is int:
        ok = isinstance(value, int)
        if ok and not INT64[0] <= value <= INT64[1]:
            raise ValueError(f"{column} {_shown(value)} does not fit a 64-bit integer")
    elif kind is float:
        ok = isinstance(value, (int, float))
        if ok and not (-math.inf < value < math.inf):  # an int too large for a float compares as finite
            raise ValueError(f"{column} {_shown(value)} is not a finite number")
        if ok and isinstance(value, int) and abs(value) > sys.float_info.max:
            raise ValueError(f"{column} {_shown(value)} does not fit a 64-bit float")
    elif kind is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise TypeError(f"{column} should be {_WANT[kind]}, not {type(value).__name__} {_shown(value)}")


def _shown(value: Any, limit: int = 40) -> str:
    text = to_json(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_item(item: Item) -> Item:
    """``item`` when every value fits :data:`RAW_SCHEMA` (see :func:`_check_value`), else the error that
    makes its record a ``malformed_record``."""
    for column, value in item.items():
        if value is None:
            continue
        kind = _KIND.get(column)
        if kind is not None and not (kind is str and type(value) is str):  # the common case, at once
            _check_value(column, value, kind)
    return item


def frame_from_items(items: list[Item]) -> pl.DataFrame:
    """Build a raw frame from item dicts (keys of :data:`RAW_SCHEMA`; absent keys are null)."""
    rows = {c: [it.get(c) for it in items] for c in RAW_SCHEMA}
    return pl.DataFrame(rows, schema=RAW_SCHEMA)


def meta_of(record: dict, mapped: Iterable[str], **extra: Any) -> str:
    """JSON object of the fields of ``record`` not in ``mapped``, plus ``extra``."""
    skip = set(mapped)
    meta = {k: v for k, v in record.items() if k not in skip}
    meta.update({k: v for k, v in extra.items() if v is not None})
    return to_json(meta)


def load_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; malformed JSON is a :class:`UserError` naming the file, line and column."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """Yield (0-based record index, parsed object) per non-blank line of a JSON-lines file.

    A malformed line is a :class:`UserError` naming the file and 1-based line number.
    """
    index = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(f"{path}:{lineno}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}:{lineno}: malformed JSON line: {exc.msg}") from None
            yield index, obj
            index += 1


def load_records(path: str | os.PathLike) -> list[Any]:
    """Records of a JSON array, a JSON-lines file, or a Parquet file, as Python objects; a JSON object
    is one record."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return [obj for _, obj in iter_jsonl(path)]
    if suffix == ".parquet":
        return read_parquet(path).to_dicts()
    data = load_json(path)
    if isinstance(data, dict):  # one record as a file (a README sample); see curate.readers.read
        return [data]
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON array of records, found {type(data).__name__}")
    return data


def is_json_object(path: str | os.PathLike) -> bool:
    """Whether the ``.json`` file ``path`` holds one JSON object at its top level rather than an array
    (reads its first bytes only)."""
    if Path(path).suffix.lower() != ".json":
        return False
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    return head.startswith("{")


def read_parquet(path: str | os.PathLike) -> pl.DataFrame:
    """Read a Parquet file; an unreadable one is a :class:`UserError` naming the file."""
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for corrupt files
        raise UserError(f"{path}: not a readable Parquet file: {exc}") from None


def items_from_records(
    records: Iterable[Any],
    to_items: Callable[[dict, int], list[Item]],
    *,
    source: str,
    input_path: str,
) -> pl.DataFrame:
    """Apply ``to_items(record, index)`` to each record; a record it cannot map becomes a reject.

    ``to_items`` returns the record's items (keys of :data:`RAW_SCHEMA`); a ``KeyError``, ``TypeError``,
    ``ValueError`` or ``ArithmeticError`` it raises, or an item value that does not fit its column
    (:func:`check_item`: an integer beyond int64, an infinite number, a number where text belongs), marks
    the whole record ``malformed_record`` with the message as detail, so one bad record never stops the
    file. ``record``, ``input``, ``index`` and ``source`` are filled in
    when the reader leaves them out.
    """
    items: list[Item] = []
    for index, rec in enumerate(records):
        try:
            if not isinstance(rec, dict):
                raise TypeError(f"record is a {type(rec).__name__}, not an object")
            produced = [check_item(item) for item in to_items(rec, index)]
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            produced = [{"reject": "malformed_record", "detail": detail}]
        record_json = None
        for item in produced:
            item.setdefault("source", source)
            item.setdefault("input", input_path)
            item.setdefault("index", index)
            if "record" not in item:
                record_json = record_json or to_json(rec)
                item["record"] = record_json
            items.append(item)
    return frame_from_items(items)
