"""LLaVA-Video-178K ``*_qa_processed.json`` (and its Parquet variant).

A record is ``{id, conversations: [{from, value}, …], data_source, video}``. Every human/gpt pair is
one question, not only the first. The human turn holds ``<image>\\n``, the question, ``A. …`` option
lines (with or without an ``Options:`` header) and a trailing instruction sentence; the gpt turn holds
the answer (``A.`` or ``A. Black.``). Open-ended files have no option lines and come out as
``open_ended`` rejects. ``data_source`` (e.g. ``0_30_s_nextqa``) is the subset; its duration bucket
``<lo>_<hi>_<s|m>`` bounds the duration when the video is not probed.

The JSON is parsed by polars and the turns are exploded and parsed as columns, which is what makes a
million questions a matter of seconds. A file polars cannot type (a record of the wrong shape) is
re-read record by record so the bad record becomes a ``malformed_record`` reject.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import conform, load_records, read_parquet, to_json

SOURCE = "llava_video_178k"
TURN = pl.Struct({"from": pl.String, "value": pl.String})
RECORD_SCHEMA = {"id": pl.String, "conversations": pl.List(TURN), "data_source": pl.String, "video": pl.String}
BUCKET = r"^(\d+)_(\d+)_([sm])"


def _load(path: Path) -> pl.DataFrame:
    """Records with the four published fields plus ``_bad`` (why a record cannot be used, or null)."""
    if path.suffix.lower() == ".parquet":
        df = read_parquet(path)
    else:
        try:
            df = pl.read_json(path)
        except Exception:  # polars could not type the file: go record by record below
            df = None
        if df is not None and not _has_shape(df):
            df = None
        if df is None:
            return _load_slow(path)
    missing = [c for c in RECORD_SCHEMA if c not in df.columns]
    df = df.with_columns([pl.lit(None, dtype=RECORD_SCHEMA[c]).alias(c) for c in missing])
    return df.select([pl.col(c).cast(t) for c, t in RECORD_SCHEMA.items()]).with_columns(
        _bad=pl.lit(None, dtype=pl.String), _raw=pl.lit(None, dtype=pl.String)
    )


def _has_shape(df: pl.DataFrame) -> bool:
    conv = df.schema.get("conversations")
    return isinstance(conv, pl.List) and isinstance(conv.inner, pl.Struct)


def _load_slow(path: Path) -> pl.DataFrame:
    rows = []
    for rec in load_records(path):
        row = {"id": None, "conversations": None, "data_source": None, "video": None, "_bad": None}
        row["_raw"] = to_json(rec)
        if not isinstance(rec, dict):
            row["_bad"] = f"record is a {type(rec).__name__}, not an object"
        else:
            conv = rec.get("conversations")
            ok = isinstance(conv, list) and all(isinstance(t, dict) and isinstance(t.get("value"), str) for t in conv)
            if not ok:
                row["_bad"] = "conversations is not a list of {from, value} turns"
            else:
                row["conversations"] = [{"from": str(t.get("from")), "value": t["value"]} for t in conv]
            for key in ("id", "data_source", "video"):
                value = rec.get(key)
                row[key] = None if value is None else str(value)
        rows.append(row)
    return pl.DataFrame(rows, schema={**RECORD_SCHEMA, "_bad": pl.String, "_raw": pl.String})


def read(path: str | Path, **_: object) -> pl.DataFrame:
    path = Path(path)
    df = _load(path).with_row_index("index")
    conv = pl.col("conversations")
    n_turns = conv.list.len()
    humans = conv.list.gather_every(2)
    gpts = conv.list.gather_every(2, offset=1)
    alternate = (
        (n_turns > 0)
        & (n_turns % 2 == 0)
        & humans.list.eval(pl.element().struct.field("from") == "human").list.all()
        & gpts.list.eval(pl.element().struct.field("from") == "gpt").list.all()
    )
    df = df.with_columns(
        _bad=pl.coalesce(
            "_bad",
            pl.when(conv.is_null() | ~alternate).then(pl.lit("conversation turns do not alternate human/gpt")),
        )
    )
    good = df.filter(pl.col("_bad").is_null())
    bad = df.filter(pl.col("_bad").is_not_null())

    good = good.with_columns(_h=humans, _g=gpts, _turn=pl.int_ranges(n_turns // 2)).explode("_h", "_g", "_turn")
    human = pl.col("_h").struct.field("value")
    gpt = pl.col("_g").struct.field("value")
    bucket = pl.col("data_source").str.extract_groups(BUCKET)
    scale = pl.when(bucket.struct.field("3") == "m").then(60.0).otherwise(1.0)
    record = pl.struct(
        pl.col("id"),
        pl.col("video"),
        pl.col("data_source"),
        pl.col("_turn").alias("turn"),
        pl.concat_list(pl.col("_h"), pl.col("_g")).alias("conversations"),
    ).struct.json_encode()
    items = good.select(
        id=pl.lit(SOURCE + ":")
        + pl.col("id").fill_null(pl.col("index").cast(pl.String))
        + pl.lit(":")
        + pl.col("_turn").cast(pl.String),
        source=pl.lit(SOURCE),
        subset=pl.col("data_source"),
        video=pl.col("video"),
        question=human,
        answer_letter=gpt,
        duration_lo=bucket.struct.field("1").cast(pl.Float64) * scale,
        duration_hi=bucket.struct.field("2").cast(pl.Float64) * scale,
        meta=pl.struct(
            pl.col("data_source"), pl.col("id").alias("record_id"), pl.col("_turn").alias("turn")
        ).struct.json_encode(),
        record=record,
        input=pl.lit(str(path)),
        index=pl.col("index").cast(pl.Int64),
    )
    rejects = bad.select(
        source=pl.lit(SOURCE),
        subset=pl.col("data_source"),
        video=pl.col("video"),
        record=pl.coalesce(
            "_raw",
            pl.struct("id", "conversations", "data_source", "video").struct.json_encode(),
        ),
        input=pl.lit(str(path)),
        index=pl.col("index").cast(pl.Int64),
        reject=pl.lit("malformed_record"),
        detail=pl.col("_bad"),
    )
    return pl.concat([conform(items), conform(rejects)])
