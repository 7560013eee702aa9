"""Frame shards (``frames/part-XXXXX.parquet``): one row per decoded video, keyed by ``video_key``.

============================  ================================  ================================================
column                        type                              contract
============================  ================================  ================================================
video_key                     string, unique                    hash of the video path and the sampling/resize/
                                                                encoding config (``curate.frames.keys``)
video                         string                            path as in ``mcq.parquet`` (relative to a root)
frames                        list<struct<bytes, path>>         one encoded frame per sampled index; ``path`` is
                                                                ``<video_key>/<index>.<ext>``; jpeg/png shards
                                                                declare it a list of Images for 🤗 datasets
                                                                (:func:`with_hub_features`)
frame_indices                 list<int32>                       indices into the decoded frames, non-decreasing
timestamps                    list<float32>                     seconds, one per frame
num_frames_decoded            int32                             frames counted while decoding (not the header)
fps                           float32                           average frame rate
duration                      float32                           seconds (decoded frames / fps when unknown)
orig_height, orig_width       int32                             decoded size (after rotation)
height, width                 int32                             stored size
encoding                      string                            ``jpeg``, ``png`` or ``raw`` (uint8 HWC bytes)
============================  ================================  ================================================
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from schemas.errors import SchemaError

ENCODINGS = ("jpeg", "png", "raw")
FRAME = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
FRAMES_SCHEMA = pa.schema(
    [
        pa.field("video_key", pa.string(), nullable=False),
        pa.field("video", pa.string(), nullable=False),
        pa.field("frames", pa.list_(FRAME), nullable=False),
        pa.field("frame_indices", pa.list_(pa.int32()), nullable=False),
        pa.field("timestamps", pa.list_(pa.float32()), nullable=False),
        pa.field("num_frames_decoded", pa.int32(), nullable=False),
        pa.field("fps", pa.float32()),
        pa.field("duration", pa.float32()),
        pa.field("orig_height", pa.int32(), nullable=False),
        pa.field("orig_width", pa.int32(), nullable=False),
        pa.field("height", pa.int32(), nullable=False),
        pa.field("width", pa.int32(), nullable=False),
        pa.field("encoding", pa.string(), nullable=False),
    ]
)


IMAGE_ENCODINGS = ("jpeg", "png")
# 🤗 datasets reads a column's feature from the JSON under this schema-metadata key; a JSON list of one
# feature is a list feature in every datasets release (``Sequence`` in 2.x/3.x, ``List`` in 4.x and later).
HUB_METADATA_KEY = b"huggingface"
HUB_IMAGE_LIST = [{"_type": "Image"}]


def with_hub_features(table: pa.Table) -> pa.Table:
    """``table`` with the schema metadata that makes 🤗 datasets load ``frames`` as a list of Images, when
    every row is jpeg or png; raw frames (uint8 bytes) stay ``{bytes, path}`` structs.

    The Image feature's Arrow type is exactly :data:`FRAME` (``struct<bytes: binary, path: string>``), so
    ``datasets.load_dataset("parquet", data_files=".../frames/*.parquet")`` types the column from this
    metadata without casting; the other columns keep the types datasets infers from Arrow. datasets uses
    the metadata only when the stored field equals its own, nullability included, so ``frames`` is
    stored nullable (:func:`validate_frames` still rejects a null).
    """
    encodings = set(table.column("encoding").unique().to_pylist()) if table.num_rows else set()
    if not encodings or not encodings <= set(IMAGE_ENCODINGS):
        return table
    index = table.schema.get_field_index("frames")
    schema = table.schema.set(index, table.schema.field(index).with_nullable(True))
    info = {"info": {"features": {"frames": HUB_IMAGE_LIST}}}
    metadata = dict(table.schema.metadata or {})
    metadata[HUB_METADATA_KEY] = json.dumps(info).encode()
    return table.cast(schema).replace_schema_metadata(metadata)


def validate_frames(table: pa.Table) -> pa.Table:
    """Cast ``table`` to :data:`FRAMES_SCHEMA` and check it; errors name the column and first bad row."""
    missing = [f.name for f in FRAMES_SCHEMA if f.name not in table.column_names]
    if missing:
        raise SchemaError(f"column {missing[0]!r}: missing")
    try:
        table = table.select(FRAMES_SCHEMA.names).cast(FRAMES_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(f"frames table does not match the contract: {exc}") from None
    for field in FRAMES_SCHEMA:
        if not field.nullable and table.column(field.name).null_count:
            row = pc.indices_nonzero(pc.is_null(table.column(field.name)))[0].as_py()
            raise SchemaError(f"column {field.name!r}, row {row}: is null")
    n = pc.list_value_length(table.column("frames"))
    for name in ("frame_indices", "timestamps"):
        bad = pc.indices_nonzero(pc.fill_null(pc.not_equal(pc.list_value_length(table.column(name)), n), True))
        if len(bad):
            raise SchemaError(f"column {name!r}, row {bad[0].as_py()}: length differs from frames")
    bad = pc.indices_nonzero(pc.invert(pc.is_in(table.column("encoding"), pa.array(ENCODINGS))))
    if len(bad):
        raise SchemaError(f"column 'encoding', row {bad[0].as_py()}: not one of {ENCODINGS}")
    if pc.count_distinct(table.column("video_key")).as_py() != table.num_rows:
        raise SchemaError("column 'video_key': duplicate key")
    return table
