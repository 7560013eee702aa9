"""NExT-QA CSV: ``video,frame_count,width,height,question,answer,qid,type,a0..a4``.

``answer`` is the 0-based index of the right ``aN``. The video path comes from
``map_vid_vidorID.json`` when given (``--nextqa-map``: ``{video: "1106/4010069381"}`` → ``…/…​.mp4``;
a video the map lacks is rejected ``video_not_in_map``), else ``<video>.mp4``. ``type`` (CW, CH, TN, …)
is the subset. NExT-OE CSVs (no ``a0..a4``, free-text answer) come out as ``open_ended`` rejects.
The split is the file's stem and is part of the id: ``nextqa:<stem>:<video>:<qid>``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.errors import UserError
from curate.readers.base import conform

SOURCE = "nextqa"
REQUIRED = ("video", "question", "answer", "qid", "type")
OPTION_COLUMNS = [f"a{i}" for i in range(5)]


def read_csv(path: Path) -> pl.DataFrame:
    """A CSV with every column as text; unreadable CSV is a UserError naming the file."""
    try:
        return pl.read_csv(path, infer_schema=False, raise_if_empty=False)
    except Exception as exc:
        raise UserError(f"{path}: malformed CSV: {str(exc).splitlines()[0]}") from None


def read(path: str | Path, *, nextqa_map: dict[str, str] | None = None, **_: object) -> pl.DataFrame:
    path = Path(path)
    df = read_csv(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise UserError(f"{path}: not a NExT-QA CSV: no column {missing[0]!r}")
    multiple_choice = all(c in df.columns for c in OPTION_COLUMNS)
    df = df.with_row_index("index")
    if nextqa_map is not None:
        mapped = pl.col("video").replace_strict(nextqa_map, default=None, return_dtype=pl.String)
        video = mapped + pl.lit(".mp4")
        reject = pl.when(mapped.is_null()).then(pl.lit("video_not_in_map"))
    else:
        video = pl.col("video") + pl.lit(".mp4")
        reject = pl.lit(None, dtype=pl.String)
    if not multiple_choice:
        reject = pl.lit("open_ended")
    answer_index = pl.col("answer").str.strip_chars().cast(pl.Int64, strict=False)
    original = [c for c in df.columns if c != "index"]
    meta_cols = [c for c in original if c not in ("video", "question", "answer", *OPTION_COLUMNS)]
    items = df.select(
        id=pl.lit(f"{SOURCE}:{path.stem}:") + pl.col("video") + pl.lit(":") + pl.col("qid"),
        source=pl.lit(SOURCE),
        subset=pl.col("type"),
        video=video,
        question=pl.col("question"),
        options=pl.concat_list(OPTION_COLUMNS) if multiple_choice else pl.lit(None, dtype=pl.List(pl.String)),
        answer_index=answer_index if multiple_choice else pl.lit(None, dtype=pl.Int64),
        meta=pl.struct(*meta_cols, pl.lit(path.stem).alias("split")).struct.json_encode(),
        record=pl.struct(*original).struct.json_encode(),
        input=pl.lit(str(path)),
        index=pl.col("index").cast(pl.Int64),
        reject=pl.coalesce(
            reject,
            pl.when(answer_index.is_null()).then(pl.lit("malformed_record")),
        ),
        detail=pl.when(multiple_choice & answer_index.is_null()).then(pl.lit("answer is not an integer")),
    )
    return conform(items)
