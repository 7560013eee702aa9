"""LLaVA-Video-178K ``*_qa_processed.json`` (and its Parquet variant).

A record is ``{id, conversations: [{from, value}, …], data_source, video}``. Every human/gpt pair is
one question, not only the first. The human turn holds ``<image>\\n``, the question, ``A. …`` option
lines (with or without an ``Options:`` header) and a trailing instruction sentence; the gpt turn holds
the answer (``A.`` or ``A. Black.``). Open-ended files have no option lines and come out as
``open_ended`` rejects. ``data_source`` (e.g. ``0_30_s_nextqa``) is the subset; its duration bucket
``<lo>_<hi>_<s|m>`` bounds the duration when the video is not probed.

The JSON is parsed by polars and the turns are exploded and parsed as columns, which is what makes a
million questions a matter of seconds. A file polars cannot type (a record of the wrong shape) is
re-read record by record so the bad record becomes a ``malformed_record`` reject. ``record`` is left
null for questions and rebuilt by :func:`record_expr` only for those that end up rejected.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.readers.base import conform, load_records, read_parquet, to_json

SOURCE = "llava_video_178k"
TURN = pl.Struct({"from": pl.String, "value": pl.String})
RECORD_SCHEMA = {"id": pl.String, "conversations": pl.List(TURN), "data_source": pl.String, "video": pl.String}
BUCKET = r"^(\d+)_(\d+)_([sm])"
ALTERNATION_ERROR = "conversation turns do not alternate human/gpt"


def _load(path: Path) -> pl.DataFrame:
    """Records with the four published fields plus ``_bad`` (why a record cannot be used, or null) and
    ``_raw`` (the record as JSON, only for records read one by one)."""
    if path.suffix.lower() == ".parquet":
        df = read_parquet(path)
        missing = [c for c in RECORD_SCHEMA if c not in df.columns]
        df = df.with_columns([pl.lit(None, dtype=RECORD_SCHEMA[c]).alias(c) for c in missing])
        df = df.select([pl.col(c).cast(t) for c, t in RECORD_SCHEMA.items()])
    else:
        try:
            df = pl.read_json(path, schema=RECORD_SCHEMA)
        except Exception:  # a record of another shape: go record by record so it becomes a reject
            return _load_slow(path)
    return df.with_columns(_bad=pl.lit(None, dtype=pl.String), _raw=pl.lit(None, dtype=pl.String))


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
                row[key] = None if value is None or isinstance(value, (dict, list)) else str(value)
            if isinstance(rec.get("video"), (dict, list)):
                row["_bad"] = row["_bad"] or "video is not a path"
        rows.append(row)
    return pl.DataFrame(rows, schema={**RECORD_SCHEMA, "_bad": pl.String, "_raw": pl.String})


def record_expr() -> pl.Expr:
    """The original question as JSON, rebuilt for a rejected item: its record's ``id``, ``video`` and
    ``data_source``, the turn number and the human/gpt pair as published. Built only for rejects (the
    reader leaves ``record`` null), which keeps a million-question read fast."""
    meta = pl.col("meta")
    turn = pl.struct(pl.lit("human").alias("from"), pl.col("question_raw").alias("value"))
    answer = pl.struct(pl.lit("gpt").alias("from"), pl.col("answer_letter").alias("value"))
    return pl.struct(
        meta.str.json_path_match("$.record_id").alias("id"),
        pl.col("video"),
        pl.col("subset").alias("data_source"),
        meta.str.json_path_match("$.turn").cast(pl.Int64).alias("turn"),
        pl.concat_list(turn, answer).alias("conversations"),
    ).struct.json_encode()


def read(path: str | Path, **_: object) -> pl.DataFrame:
    path = Path(path)
    df = _load(path).with_row_index("index")
    n_turns = pl.col("conversations").list.len()
    bad_shape = pl.col("conversations").is_null() | (n_turns == 0) | (n_turns % 2 == 1)
    df = df.with_columns(
        _bad=pl.coalesce("_bad", pl.when(bad_shape).then(pl.lit(ALTERNATION_ERROR))), _pos=pl.int_ranges(n_turns)
    )
    turns = (
        df.filter(pl.col("_bad").is_null())
        .explode("conversations", "_pos")
        .with_columns(pl.col("conversations").struct.unnest())
    )
    human = (pl.col("_pos") % 2) == 0
    misordered = turns.filter(pl.col("from") != pl.when(human).then(pl.lit("human")).otherwise(pl.lit("gpt")))
    bad_ids = misordered.get_column("index").unique()
    df = df.with_columns(
        _bad=pl.when(pl.col("index").is_in(bad_ids.implode())).then(pl.lit(ALTERNATION_ERROR)).otherwise("_bad")
    )
    turns = turns.filter(~pl.col("index").is_in(bad_ids.implode()))
    questions = turns.filter(human)
    answers = turns.filter(~human).get_column("value")
    bucket = pl.col("data_source").str.extract_groups(BUCKET)
    scale = pl.when(bucket.struct.field("3") == "m").then(60.0).otherwise(1.0)
    turn = (pl.col("_pos") // 2).cast(pl.Int64)
    items = questions.with_columns(_answer=answers).select(
        id=pl.concat_str(
            pl.lit(SOURCE), pl.col("id").fill_null(pl.col("index").cast(pl.String)), turn.cast(pl.String), separator=":"
        ),
        source=pl.lit(SOURCE),
        subset=pl.col("data_source"),
        video=pl.col("video"),
        question=pl.col("value"),
        answer_letter=pl.col("_answer"),
        duration_lo=bucket.struct.field("1").cast(pl.Float64) * scale,
        duration_hi=bucket.struct.field("2").cast(pl.Float64) * scale,
        meta=pl.struct(pl.col("data_source"), pl.col("id").alias("record_id"), turn.alias("turn")).struct.json_encode(),
        input=pl.lit(str(path)),
        index=pl.col("index").cast(pl.Int64),
    )
    rejects = df.filter(pl.col("_bad").is_not_null()).select(
        source=pl.lit(SOURCE),
        subset=pl.col("data_source"),
        video=pl.col("video"),
        record=pl.coalesce("_raw", pl.struct("id", "conversations", "data_source", "video").struct.json_encode()),
        input=pl.lit(str(path)),
        index=pl.col("index").cast(pl.Int64),
        reject=pl.lit("malformed_record"),
        detail=pl.col("_bad"),
    )
    return pl.concat([conform(items), conform(rejects)])
