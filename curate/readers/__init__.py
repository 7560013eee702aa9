"""Readers for the published Video-QA formats, and format detection.

Each module exposes ``read(path, **options) -> polars.DataFrame`` returning the raw item frame described
in :mod:`curate.readers.base`. :func:`detect` recognizes a file's format from its field names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import polars as pl

from curate.errors import UserError
from curate.formats import FORMATS
from curate.readers import (
    generic,
    inline_mc,
    llava_video,
    mvbench,
    nextqa,
    perceptiontest,
    star,
    tinyllava,
    tvqa,
    video_r1,
    videomme,
)
from curate.readers.base import is_json_object, load_json

READERS: dict[str, Callable[..., pl.DataFrame]] = {
    "llava-video-178k": llava_video.read,
    "nextqa": nextqa.read,
    "video-r1": video_r1.read,
    "tinyllava-video-r1": tinyllava.read,
    "mvbench": mvbench.read,
    "videomme": videomme.read,
    "perceptiontest": perceptiontest.read,
    "star": star.read,
    "tvqa": tvqa.read,
    "inline-mc": inline_mc.read,
    "generic": generic.read,
}


# (format, fields that must all be present), tried in order; the first match wins.
RULES: list[tuple[str, set[str]]] = [
    ("nextqa", {"video", "question", "answer", "qid", "type"}),
    ("llava-video-178k", {"conversations"}),
    ("tinyllava-video-r1", {"problem", "solution", "video_filename"}),
    ("video-r1", {"problem", "solution"}),
    ("perceptiontest", {"mc_question"}),
    ("mvbench", {"question", "candidates", "answer"}),
    ("star", {"question_id", "choices", "video_id"}),
    ("tvqa", {"vid_name", "q", "a0"}),
    ("videomme", {"question_id", "options", "answer"}),
    ("inline-mc", {"video_id", "question", "answer"}),
]
KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:')
PEEK_BYTES = 1 << 18


def peek_fields(path: Path) -> set[str]:
    """Field names seen near the start of a file (header, schema or the first JSON keys)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if suffix == ".parquet":
        try:
            return set(pl.read_parquet_schema(path))
        except Exception as exc:
            raise UserError(f"{path}: not a readable Parquet file: {exc}") from None
    with open(path, "rb") as fh:
        head = fh.read(PEEK_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff")
    if suffix == ".csv":
        return {c.strip().strip('"') for c in head.splitlines()[0].split(",")} if head.strip() else set()
    return set(KEY.findall(head))


def detect(path: str | Path) -> str:
    """The format of ``path``; a :class:`UserError` when no rule matches."""
    path = Path(path)
    fields = peek_fields(path)
    for name, needed in RULES:
        if needed <= fields:
            return name
    shown = ", ".join(sorted(fields)[:12]) or "none"
    raise UserError(f"{path}: cannot tell the format (fields seen: {shown}); pass --format")


def load_nextqa_map(path: str | Path) -> dict[str, str]:
    """NExT-QA's ``map_vid_vidorID.json``: video id → ``folder/video id``."""
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file")
    data = load_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object mapping video id to folder/id")
    return {str(k): str(v) for k, v in data.items()}


# source → expression rebuilding ``record`` for readers that leave it null (see curate.readers.base).
RECORD_BUILDERS: dict[str, Callable[[], pl.Expr]] = {llava_video.SOURCE: llava_video.record_expr}


def fill_records(df: pl.DataFrame) -> pl.DataFrame:
    """Fill a null ``record`` with the reader's rebuilt record (needs ``question_raw`` from normalize)."""
    for source, build in RECORD_BUILDERS.items():
        needs = pl.col("record").is_null() & (pl.col("source") == source)
        if df.select(needs.any()).item():
            df = df.with_columns(record=pl.when(needs).then(build()).otherwise(pl.col("record")))
    return df


def read(path: str | Path, fmt: str = "auto", **options: object) -> tuple[str, pl.DataFrame]:
    """Read ``path`` in format ``fmt`` (``auto`` detects it); return (format used, raw frame)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    forced = fmt != "auto"
    if not forced:
        fmt = detect(path)
    if fmt not in READERS:
        raise UserError(f"{path}: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    frame = READERS[fmt](path, **options)
    check_readable(path, fmt, frame, forced)
    return fmt, frame


def check_readable(path: Path, fmt: str, frame: pl.DataFrame, forced: bool) -> None:
    """Refuse a file none of whose records can be read as ``fmt`` (every one ``malformed_record``) when
    the format was forced (``--format``) or the file is one JSON object rather than an array (one object
    that is a record, such as a README sample, is read as one record). A :class:`UserError` names the
    file, the first record's problem, the fields the format needs and the format its fields match, if any.
    An empty file is not refused; one readable record is enough to read the file and reject the rest
    one by one."""
    if frame.is_empty() or not frame.get_column("reject").eq_missing("malformed_record").all():
        return
    obj = is_json_object(path)
    if not (forced or obj):
        return
    needed = next((fields for name, fields in RULES if name == fmt), None)
    needs = f"; {fmt} needs the fields {', '.join(sorted(needed))}" if needed else ""
    first = frame.get_column("detail")[0]
    if obj:
        raise UserError(
            f"{path}: one JSON object that is not a {fmt} record ({first}){needs}; "
            "expected a JSON array of records ([{…}, …])"
        )
    try:
        hint = f"; its fields look like {detect(path)}, try --format auto"
    except UserError:
        hint = ""
    records = frame.get_column("index").n_unique()
    raise UserError(
        f"{path}: not a {fmt} file: none of its {records} records can be read as {fmt} (record 0: {first}){needs}{hint}"
    )
