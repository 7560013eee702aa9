"""The rejects table (``rejects.parquet``): one row per dropped item, written next to every output.

``kept + rejected = read`` holds for every stage. ``record`` is the original item as JSON, so nothing
read is lost; ``input`` and ``index`` locate it in the input (file path, 0-based record index).
"""

from __future__ import annotations

import os

import pyarrow as pa

from schemas.atomic import write_parquet_atomic

REJECTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("subset", pa.string()),
        pa.field("video", pa.string()),
        pa.field("input", pa.string()),
        pa.field("index", pa.int64()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("record", pa.string(), nullable=False),
    ]
)


def write_rejects(table: pa.Table, path: str | os.PathLike) -> pa.Table:
    """Cast ``table`` to :data:`REJECTS_SCHEMA` (columns in order) and write it atomically."""
    missing = [f.name for f in REJECTS_SCHEMA if f.name not in table.column_names]
    if missing:
        raise ValueError(f"rejects table lacks column {missing[0]!r}")
    table = table.select(REJECTS_SCHEMA.names).cast(REJECTS_SCHEMA)
    write_parquet_atomic(table, path)
    return table
