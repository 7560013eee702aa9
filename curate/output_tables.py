"""The tables of a stage's output folder as ``curate publish`` and ``curate report`` read them.

Each file is opened once and its schema checked against the columns those commands use (:data:`COLUMNS`),
so a garbage file or a table of the wrong shape is a one-line :class:`~curate.errors.UserError` naming the
file (exit code 2), never a traceback from deep inside a plot or a card section.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.errors import UserError


def _string(t: pa.DataType) -> bool:
    """a string"""
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)


def _integer(t: pa.DataType) -> bool:
    """an integer"""
    return pa.types.is_integer(t) or pa.types.is_null(t)


def _number(t: pa.DataType) -> bool:
    """a number"""
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t)


def _binary(t: pa.DataType) -> bool:
    """bytes"""
    return pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _list(t: pa.DataType) -> bool:
    """a list"""
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


# table kind -> the columns publish and report read, with the type each must have
COLUMNS: dict[str, dict[str, Callable[[pa.DataType], bool]]] = {
    "mcq": {"source": _string, "options": _list, "answer": _integer, "duration": _number},
    "exemplars": {"source": _string, "options": _list, "answer": _integer},
    "passrate": {"pass_rate": _number},
    "rejects": {"source": _string, "reason": _string},
    "matches": {"how": _string, "benchmark": _string, "train_row": _integer, "bench_row": _integer},
    "pairs": {
        "train_row": _integer,
        "bench_row": _integer,
        "how": _string,
        "train_image": _binary,
        "bench_image": _binary,
    },
    "frames": {
        "video": _string,
        "frames": _list,
        "frame_indices": _list,
        "num_frames_decoded": _integer,
        "height": _integer,
        "width": _integer,
        "encoding": _string,
    },
}


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def open_table(path: Path, kind: str) -> pq.ParquetFile:
    """``path`` opened as Parquet, its schema holding :data:`COLUMNS` ``[kind]``; else a :class:`UserError`
    naming the file and the first problem."""
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: not a readable Parquet file ({_one_line(exc)})") from None
    for name, check in COLUMNS[kind].items():
        if name not in schema.names:
            raise UserError(f"{path}: not a {kind} table: column {name!r} is missing")
        if not check(schema.field(name).type):
            found = schema.field(name).type
            raise UserError(f"{path}: not a {kind} table: column {name!r} is {found}, expected {check.__doc__}")
    return parquet


def read_table(path: Path, kind: str, columns: list[str] | None = None) -> pa.Table:
    """The checked table at ``path`` (only ``columns`` of it, those present, when given)."""
    parquet = open_table(path, kind)
    if columns is not None:
        columns = [c for c in columns if c in parquet.schema_arrow.names]
    try:
        return parquet.read(columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(f"{path}: cannot read the table ({_one_line(exc)})") from None
