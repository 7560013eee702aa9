"""The multiple-choice table (``mcq.parquet``): one row per question.

Columns (the single source of truth is :data:`MCQ_SCHEMA`):

==============  ====================  ==========================================================
column          type                  contract
==============  ====================  ==========================================================
id              string, unique        stable across reruns of the same input
source          string                dataset family (``nextqa``, ``llava_video_178k`` …)
subset          string, nullable      e.g. ``0_30_s_nextqa`` or an MVBench task
video           string                path as published, relative to a video root
question        string                the question only: no ``<image>`` token, options or instruction
options         list<string>          2–26 option texts without letter prefixes
answer          int8                  0-based index into ``options``
problem_type    string                ``multiple choice``
duration        float32, nullable     seconds
start, end      float32, nullable     clip window in seconds, ``start <= end``
meta            string                JSON object of the original fields not mapped above
video_key       string, optional      added by ``curate extract-frames``
==============  ====================  ==========================================================
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.atomic import write_parquet_atomic
from schemas.errors import SchemaError

PROBLEM_TYPE = "multiple choice"
MIN_OPTIONS = 2
MAX_OPTIONS = 26

MCQ_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("subset", pa.string()),
        pa.field("video", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("options", pa.list_(pa.string()), nullable=False),
        pa.field("answer", pa.int8(), nullable=False),
        pa.field("problem_type", pa.string(), nullable=False),
        pa.field("duration", pa.float32()),
        pa.field("start", pa.float32()),
        pa.field("end", pa.float32()),
        pa.field("meta", pa.string(), nullable=False),
    ]
)
OPTIONAL_FIELDS = {"video_key": pa.field("video_key", pa.string(), nullable=False)}


def _first_row(mask: pa.ChunkedArray | pa.Array) -> int | None:
    """Index of the first true value of a boolean mask (nulls count as false), or None."""
    idx = pc.indices_nonzero(pc.fill_null(mask, False))
    return int(idx[0].as_py()) if len(idx) else None


def _fail(table: pa.Table, column: str, row: int, what: str) -> SchemaError:
    row_id = table.column("id")[row].as_py() if "id" in table.column_names else None
    where = f"row {row}" + (f" (id {row_id!r})" if row_id is not None else "")
    return SchemaError(f"column {column!r}, {where}: {what}")


def conform(table: pa.Table) -> pa.Table:
    """Return ``table`` with exactly the contract's columns, in order, cast to the contract's types.

    Raises :class:`SchemaError` naming a missing, unknown or uncastable column.
    """
    fields = list(MCQ_SCHEMA)
    fields += [f for name, f in OPTIONAL_FIELDS.items() if name in table.column_names]
    known = {f.name for f in fields}
    unknown = [c for c in table.column_names if c not in known]
    if unknown:
        raise SchemaError(f"column {unknown[0]!r}: not part of the mcq contract")
    columns = []
    for field in fields:
        if field.name not in table.column_names:
            raise SchemaError(f"column {field.name!r}: missing")
        col = table.column(field.name)
        try:
            columns.append(col.cast(field.type) if col.type != field.type else col)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SchemaError(f"column {field.name!r}: cannot be read as {field.type}: {exc}") from None
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def validate(table: pa.Table) -> pa.Table:
    """Check every row against the contract and return the conformed table.

    The error names the column and the first offending row.
    """
    table = conform(table)
    for field in table.schema:
        if not field.nullable:
            bad = _first_row(pc.is_null(table.column(field.name)))
            if bad is not None:
                raise _fail(table, field.name, bad, "is null")
    if table.num_rows == 0:
        return table

    ids = table.column("id")
    if pc.count_distinct(ids).as_py() != table.num_rows:
        counts = pc.value_counts(ids)
        dup = next(v["values"] for v in counts.to_pylist() if v["counts"] > 1)
        first = _first_row(pc.equal(ids, dup))
        second = _first_row(pc.and_(pc.equal(ids, dup), pc.greater(_row_numbers(table), first)))
        raise _fail(table, "id", second, f"duplicate id (first seen at row {first})")

    options = table.column("options")
    n_opts = pc.list_value_length(options)
    bad = _first_row(pc.or_(pc.less(n_opts, MIN_OPTIONS), pc.greater(n_opts, MAX_OPTIONS)))
    if bad is not None:
        raise _fail(table, "options", bad, f"needs {MIN_OPTIONS}..{MAX_OPTIONS} options")
    flat = pc.list_flatten(options)
    bad_flat = _first_row(pc.is_null(flat))
    if bad_flat is not None:
        parents = pc.list_parent_indices(options)
        raise _fail(table, "options", int(parents[bad_flat].as_py()), "has a null option")

    answer = table.column("answer")
    bad = _first_row(pc.or_(pc.less(answer, 0), pc.greater_equal(answer.cast(pa.int32()), n_opts)))
    if bad is not None:
        raise _fail(table, "answer", bad, "is not an index into options")

    bad = _first_row(pc.not_equal(table.column("problem_type"), PROBLEM_TYPE))
    if bad is not None:
        raise _fail(table, "problem_type", bad, f"must be {PROBLEM_TYPE!r}")

    for name in ("duration", "start", "end"):
        bad = _first_row(pc.less(table.column(name), 0))
        if bad is not None:
            raise _fail(table, name, bad, "is negative")
    bad = _first_row(pc.greater(table.column("start"), table.column("end")))
    if bad is not None:
        raise _fail(table, "start", bad, "is after end")

    meta = table.column("meta")
    bad = _first_row(pc.invert(pc.and_(pc.starts_with(meta, "{"), pc.ends_with(meta, "}"))))
    if bad is not None:
        raise _fail(table, "meta", bad, "is not a JSON object")
    return table


def _row_numbers(table: pa.Table) -> pa.Array:
    return pa.array(range(table.num_rows), type=pa.int64())


def write_mcq(table: pa.Table, path: str | os.PathLike) -> pa.Table:
    """Validate ``table`` and write it to ``path`` atomically; return the validated table."""
    table = validate(table)
    write_parquet_atomic(table, path)
    return table


def read_mcq(path: str | os.PathLike) -> pa.Table:
    """Read an ``mcq.parquet`` file (or a folder holding one) and validate it.

    Raises :class:`SchemaError` with the file name prefixed when the file breaks the contract.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "mcq.parquet")
    table = pq.ParquetFile(path).read()  # not pq.read_table: that imports pyarrow.dataset (~0.3 s)
    try:
        return validate(table)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from None
