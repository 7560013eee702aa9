"""``curate dedup DIR…``: the same video in several training sources keeps its questions once.

Videos of the inputs are matched across inputs by id (:mod:`.ids`) and by content (stored frames of
extract-frames folders, :mod:`.match`). A group of matching videos keeps the questions of the first input
(in the order given) that has the video; the questions of that video in later inputs are rejected
``duplicate_video`` with a detail naming the kept video and how it matched. Outputs in OUT: ``mcq.parquet``
(all inputs' kept rows; ``video_key`` dropped, since it refers to each input's own frames), ``rejects.parquet``,
``stats.json``, ``manifest.json``; kept + rejected = read.
"""

from __future__ import annotations

import json

import polars as pl

from curate import manifest
from curate.decontaminate.config import DEDUP, DedupConfig
from curate.decontaminate.ids import video_identity
from curate.decontaminate.match import frames_table, match
from curate.decontaminate.sources import stored_fingerprints
from curate.errors import UserError
from curate.lock import output_lock
from curate.tables import read_input_table
from schemas.atomic import write_json_atomic
from schemas.mcq import MCQ_SCHEMA, write_mcq
from schemas.rejects import write_rejects

STAGE = "dedup"
OUTPUTS = ("mcq.parquet", "rejects.parquet", "stats.json", manifest.NAME)


def run(config: DedupConfig, progress=None) -> dict:
    """Run ``curate dedup`` (see the module docstring); returns the stats. ``progress(total)`` returns a tick,
    called per stored video fingerprinted (as :func:`curate.decontaminate.stage.run`)."""
    tables, paths = [], []
    for position, location in enumerate(config.inputs):
        path, table = read_input_table(location, "run curate filter first")
        df = pl.from_arrow(table).with_columns(_input=pl.lit(position, pl.UInt32))
        tables.append(df)
        paths.append(path)
    described = {k: v for k, v in DEDUP.values(config).items() if k != "force"}
    described["inputs"] = [str(p) for p in paths]
    fp = manifest.fingerprint(STAGE, described, paths)
    with output_lock(config.output, clean={"": OUTPUTS}):
        done = manifest.completed(config.output, fp)
        if done is not None and not config.force:
            return {**done["stats"], "skipped": True}
        all_rows = pl.concat([t.select([*MCQ_SCHEMA.names, "_input"]) for t in tables]).with_row_index("_row")
        if all_rows.get_column("id").is_duplicated().any():
            dup = all_rows.filter(pl.col("id").is_duplicated()).get_column("id")[0]
            raise UserError(f"id {dup!r} is in more than one input: ids must be unique across the inputs")
        edges = _id_edges(all_rows) + (
            _content_edges(config, tables, paths, all_rows, progress) if config.content else []
        )
        return _write(config, all_rows, edges, paths, fp, described)


def _id_edges(rows: pl.DataFrame) -> list[tuple[int, int, str]]:
    if not rows.height:
        return []
    idents = [video_identity(s, b, v) for s, b, v in rows.select("source", "subset", "video").iter_rows()]
    df = rows.select("_row", "_input").with_columns(ident=pl.Series(idents, dtype=pl.String)).drop_nulls("ident")
    first = df.group_by("ident").agg(pl.col("_row").first().alias("root"))
    joined = df.join(first, on="ident").filter(pl.col("_row") != pl.col("root"))
    return [(a, b, "id") for a, b in joined.select("root", "_row").iter_rows()]


def _content_edges(config, tables, paths, rows: pl.DataFrame, progress=None) -> list[tuple[int, int, str]]:
    """Row pairs whose stored-frame fingerprints match across two inputs."""
    fps, owners = [], []  # one fingerprint per (input, video_key), with the rows showing it
    offset = 0
    for table, path in zip(tables, paths, strict=True):
        if "video_key" in table.columns and (path.parent / "frames").is_dir():
            by_key, _ = stored_fingerprints(path.parent, progress)
            groups = table.with_row_index("_r").group_by("video_key", maintain_order=True).agg("_r")
            for key, members in groups.iter_rows():
                if key in by_key:
                    fps.append(by_key[key])
                    owners.append([offset + m for m in members])
        offset += table.height
    if len(fps) < 2:
        return []
    frames = frames_table(range(len(fps)), fps, mirrored=config.mirror)
    found = match(frames.filter(~pl.col("mirrored")), frames, config.matching.params())
    inputs = rows.get_column("_input").to_list()
    edges = []
    for qid, rid in found.select("qid", "rid").iter_rows():
        a, b = owners[qid], owners[rid]
        if inputs[a[0]] != inputs[b[0]]:
            edges.extend((a[0], m, "content") for m in b)
            edges.extend((a[0], m, "content") for m in a[1:])
    return edges


def _groups(n: int, edges: list[tuple[int, int, str]]) -> tuple[list[int], dict[int, str]]:
    """Union-find over rows: each row's group root and, for linked rows, how they were linked."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    how: dict[int, str] = {}
    for a, b, kind in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
        how.setdefault(b, kind)
    return [find(i) for i in range(n)], how


def _write(config, rows: pl.DataFrame, edges, paths, fp: str, described: dict) -> dict:
    roots, how = _groups(rows.height, edges)
    rows = rows.with_columns(_group=pl.Series(roots, dtype=pl.UInt32))
    keeper = rows.group_by("_group").agg(_keep_input=pl.col("_input").min(), _kept_video=pl.col("video").first())
    rows = rows.join(keeper, on="_group", maintain_order="left")
    drop = pl.col("_input") != pl.col("_keep_input")
    kept = rows.filter(~drop)
    dropped = rows.filter(drop)
    details = [
        json.dumps({"how": how.get(r, "id"), "kept_input": str(paths[k]), "kept_video": v}, ensure_ascii=False)
        for r, k, v in dropped.select("_row", "_keep_input", "_kept_video").iter_rows()
    ]
    rejects = dropped.select(
        "id",
        "source",
        "subset",
        "video",
        input=pl.col("_input").map_elements(lambda i: str(paths[i]), return_dtype=pl.String),
        index=pl.col("_row").cast(pl.Int64),
        reason=pl.lit("duplicate_video"),
        detail=pl.Series(details, dtype=pl.String),
        record=pl.struct(MCQ_SCHEMA.names).struct.json_encode(),
    )
    stats = {
        "read": rows.height,
        "kept": kept.height,
        "rejected": rejects.height,
        "kept_plus_rejected_equals_read": kept.height + rejects.height == rows.height,
        "links_by_how": {k: sum(1 for *_, h in edges if h == k) for k in ("id", "content")},
        "rejected_by_input": {str(paths[i]): n for i, n in dropped.group_by("_input").len().sort("_input").iter_rows()},
    }
    out = config.output
    (out / manifest.NAME).unlink(missing_ok=True)
    write_rejects(rejects.to_arrow(), out / "rejects.parquet")
    write_json_atomic(stats, out / "stats.json")
    write_mcq(kept.select(MCQ_SCHEMA.names).to_arrow(), out / "mcq.parquet")
    manifest.write(out, STAGE, fp, described, paths, [n for n in OUTPUTS if n != manifest.NAME], DEDUP, config)
    return stats
