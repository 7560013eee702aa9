"""Reading a stage's input table, with the user's mistakes as one-line errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from curate.errors import UserError
from schemas.errors import SchemaError
from schemas.mcq import read_mcq


def read_input_table(location: Path, hint: str) -> tuple[Path, pa.Table]:
    """``(path, table)`` for ``location`` (an output folder holding ``mcq.parquet``, or the file itself),
    validated against the mcq contract. A missing or broken file is a :class:`UserError`; ``hint`` says
    which command makes it (``run curate filter first``)."""
    path = location / "mcq.parquet" if location.is_dir() else location
    if not path.is_file():
        raise UserError(f"{path}: no such file ({hint})")
    try:
        return path, read_mcq(path)
    except SchemaError as exc:
        raise UserError(str(exc)) from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path}: not a readable Parquet file: {exc}") from None
