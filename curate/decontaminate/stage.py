"""``curate decontaminate``: drop training questions whose video or text is in an evaluation benchmark.

Three match kinds, each recorded in ``matches.parquet`` (one row per training row and benchmark item found):

- ``video`` by **id** (:mod:`.ids`): the same source video under any dataset's layout; no decoding.
- ``video`` by **content** (:mod:`.fingerprint`, :mod:`.match`): the training video's frames (stored by
  extract-frames in TRAIN/frames, else decoded from ``--train-video-root``) against the benchmark videos
  decoded from ``--against-video-root``; ``content-mirrored`` for a left–right flipped copy.
- ``question`` (:mod:`.questions`): the question and options, exact or near.

A training row with a video match is rejected ``contaminated_video``; else one with a question match
``contaminated_question``. The detail (JSON) says how (``id``, ``content``, ``content-mirrored``, ``exact``,
``near``), the benchmark (its source), the item id, its video and the similarity. ``--report-only`` keeps
every row and writes the matches. Outputs in OUT: ``mcq.parquet`` (the input's schema, video_key kept),
``rejects.parquet``, ``matches.parquet``, ``pairs.parquet`` (a few matched frame pairs as thumbnails, for the
report: :mod:`.examples`), ``stats.json``, ``manifest.json``; kept + rejected = read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
from pydantic.dataclasses import dataclass

from curate import manifest
from curate.decontaminate.config import DECONTAMINATE, DecontaminateConfig
from curate.decontaminate.examples import aligned_time, example_pairs, frame_at, stored_frames_at
from curate.decontaminate.ids import video_identity
from curate.decontaminate.match import best_per_query, frames_table, match
from curate.decontaminate.questions import question_matches
from curate.decontaminate.sources import decoded_fingerprints, read_benchmark, stored_fingerprints
from curate.errors import UserError
from curate.lock import output_lock
from curate.tables import read_input_table
from schemas.atomic import write_json_atomic, write_parquet_atomic
from schemas.mcq import write_mcq
from schemas.rejects import write_rejects

STAGE = "decontaminate"
OUTPUTS = ("mcq.parquet", "rejects.parquet", "matches.parquet", "pairs.parquet", "stats.json", manifest.NAME)
MATCHES_SCHEMA = {
    "train_row": pl.UInt32,
    "kind": pl.String,
    "how": pl.String,
    "bench_row": pl.UInt32,
    "similarity": pl.Float64,
    "frames": pl.UInt32,
    "hamming": pl.Float64,
    "offset": pl.Float64,
}


@dataclass
class DecontaminateResult:
    output: Path
    read: int
    kept: int
    rejected: int
    matched_rows: int
    stats: dict
    skipped: bool = False


def _config_dict(config: DecontaminateConfig) -> dict:
    """The options that decide the output (not ``force`` or ``workers``), for the manifest's fingerprint."""
    return {k: v for k, v in DECONTAMINATE.values(config).items() if k not in ("force", "workers")}


Progress = Callable[[int], Callable[[], None]]


def run(config: DecontaminateConfig, progress: Progress | None = None) -> DecontaminateResult:
    """Run the stage (see the module docstring). ``progress(total)`` returns a tick, called per video
    fingerprinted (benchmark videos decoded, then training videos)."""
    roots = list(config.against_video_root)
    if len(roots) not in (0, 1, len(config.against)):
        raise UserError("--against-video-root: give one folder, or one per --against")
    for root in [*roots, *([config.train_video_root] if config.train_video_root else [])]:
        if not root.is_dir():
            raise UserError(f"{root}: not a folder (video root)")
    train_path, train = read_input_table(config.train, "run curate filter first")
    benches = [read_benchmark(p) for p in config.against]
    inputs = [train_path, *(Path(f) for _, files in benches for f in files)]
    fingerprint = manifest.fingerprint(STAGE, _config_dict(config), inputs)
    with output_lock(config.output, clean={"": OUTPUTS}):
        done = manifest.completed(config.output, fingerprint)
        if done is not None and not config.force:
            s = done["stats"]
            return DecontaminateResult(config.output, s["read"], s["kept"], s["rejected"], s["matched_rows"], s, True)
        bench = pl.concat(
            [
                df.with_columns(_root=pl.lit(str(roots[min(i, len(roots) - 1)]) if roots else None, pl.String))
                for i, (df, _) in enumerate(benches)
            ]
        )
        return _run(config, train_path, train, bench, fingerprint, inputs, progress)


def _identities(df: pl.DataFrame) -> pl.Series:
    return pl.Series(
        [video_identity(s, b, v) for s, b, v in df.select("source", "subset", "video").iter_rows()], dtype=pl.String
    )


def id_matches(train: pl.DataFrame, bench: pl.DataFrame) -> pl.DataFrame:
    """``(train_row, bench_row)`` pairs whose videos have the same identity (one benchmark row per video)."""
    t = train.select(train_row="_row", ident=_identities(train)).drop_nulls("ident")
    b = bench.select(bench_row="_row", ident=_identities(bench)).drop_nulls("ident").unique("ident", keep="first")
    return t.join(b, on="ident").select(
        "train_row", kind=pl.lit("video"), how=pl.lit("id"), bench_row="bench_row", similarity=pl.lit(1.0)
    )


def _train_fingerprints(config: DecontaminateConfig, train_path: Path, train: pl.DataFrame, stats: dict, progress=None):
    """``{train row: Fingerprint}`` from stored frames, else decoded; empty when neither is possible."""
    folder = train_path.parent
    if "video_key" in train.columns and (folder / "frames").is_dir():
        by_key, counts = stored_fingerprints(folder, progress)
        stats["train_fingerprints"] = {"from": "stored frames", **counts}
        keys = train.get_column("video_key").to_list()
        return {i: by_key[k] for i, k in enumerate(keys) if k in by_key}
    if config.train_video_root is None:
        stats["train_fingerprints"] = {"from": None}
        return {}
    paths = [str(config.train_video_root / v) for v in train.get_column("video").to_list()]
    cache = config.output / "_cache" / "train_fingerprints.parquet"
    by_path, counts = decoded_fingerprints(paths, cache, 0, config.train_frames, config.workers, progress)
    stats["train_fingerprints"] = {"from": "decoded", **counts}
    return {i: by_path[p] for i, p in enumerate(paths) if p in by_path}


def content_matches(
    config: DecontaminateConfig, train_path: Path, train: pl.DataFrame, bench: pl.DataFrame, stats, progress=None
):
    """Content matches (see :mod:`.match`), one per training row: its most similar benchmark video; and the
    ``pairs.parquet`` table of up to ``example_pairs`` matched frame pairs (:mod:`.examples`)."""
    empty = pl.DataFrame(schema=MATCHES_SCHEMA), example_pairs([], None, 0)
    if bench.get_column("_root").null_count() == bench.height:
        stats["content"] = "skipped: no --against-video-root"
        return empty
    bench_paths = [str(Path(r) / v) for r, v in bench.select("_root", "video").iter_rows()]
    first_row = {}
    for row, path in enumerate(bench_paths):
        first_row.setdefault(path, row)
    cache = config.output / "_cache" / "benchmark_fingerprints.parquet"
    bench_fp, counts = decoded_fingerprints(
        list(first_row), cache, config.bench_fps, config.bench_max_frames, config.workers, progress
    )
    stats["benchmark_fingerprints"] = counts
    train_fp = _train_fingerprints(config, train_path, train, stats, progress)
    if not bench_fp or not train_fp:
        stats["content"] = "skipped: no fingerprints on one side"
        return empty
    # fingerprint each distinct training video once: rows sharing a fingerprint object share a query id
    distinct: dict[int, int] = {}
    query_ids, query_fps, rows_of = [], [], {}
    for row, fp in train_fp.items():
        qid = distinct.setdefault(id(fp), len(distinct))
        rows_of.setdefault(qid, []).append(row)
        if qid == len(query_fps):
            query_ids.append(qid)
            query_fps.append(fp)
    ref_paths = list(bench_fp)
    found = match(
        frames_table(query_ids, query_fps),
        frames_table(range(len(ref_paths)), [bench_fp[p] for p in ref_paths], mirrored=config.mirror),
        config.matching.params(),
    )
    best = best_per_query(found)
    stats["content"] = {"training_videos": len(query_fps), "benchmark_videos": len(ref_paths)}
    rows, candidates = [], []
    for r in best.sort(["similarity", "matched"], descending=True).iter_rows(named=True):
        path = ref_paths[r["rid"]]
        t = aligned_time(query_fps[r["qid"]], bench_fp[path], r["offset"])
        how = "content-mirrored" if r["mirrored"] else "content"
        candidates.append(
            {"train_row": rows_of[r["qid"]][0], "bench_row": first_row[path], "how": how, "bench_path": path}
            | {"similarity": r["similarity"], "train_time": t, "bench_time": t + r["offset"]}
        )
        for train_row in rows_of[r["qid"]]:
            rows.append(
                {
                    "train_row": train_row,
                    "kind": "video",
                    "how": how,
                    "bench_row": first_row[path],
                    "similarity": r["similarity"],
                    "frames": r["matched"],
                    "hamming": r["hamming"],
                    "offset": r["offset"],
                }
            )
    pairs = example_pairs(candidates, _train_frames(config, train_path, train), config.example_pairs)
    return (pl.DataFrame(rows, schema=MATCHES_SCHEMA) if rows else empty[0]), pairs


def _train_frames(config: DecontaminateConfig, train_path: Path, train: pl.DataFrame):
    """``frames([(train row, time)…]) -> {train row: RGB frame}`` from where the training fingerprints came:
    the stored frames of TRAIN, else the videos under ``--train-video-root``."""
    folder, videos = train_path.parent, train.get_column("video").to_list()
    keys = train.get_column("video_key").to_list() if "video_key" in train.columns else None

    def frames(wanted: list[tuple[int, float]]) -> dict[int, object]:
        if keys is not None and (folder / "frames").is_dir():
            by_key = stored_frames_at(folder, {keys[row]: t for row, t in wanted})
            return {row: by_key[keys[row]] for row, _ in wanted if keys[row] in by_key}
        found = {row: frame_at(config.train_video_root / videos[row], t) for row, t in wanted}
        return {row: f for row, f in found.items() if f is not None}

    return frames


def _run(config, train_path: Path, train_table, bench: pl.DataFrame, fingerprint: str, inputs, progress=None):
    train = pl.from_arrow(train_table).with_row_index("_row")
    bench = bench.with_row_index("_row")
    stats: dict = {}
    parts = []
    if config.ids:
        parts.append(id_matches(train, bench))
    pairs = example_pairs([], None, 0)
    if config.content:
        found, pairs = content_matches(config, train_path, train, bench, stats, progress)
        parts.append(found)
    if config.questions:
        found = question_matches(
            train.select(id="_row", question="question", options="options"),
            bench.select(id="_row", question="question", options="options"),
            config.question_threshold,
            config.num_perm,
            config.near,
        )
        parts.append(
            found.select(train_row="qid", kind=pl.lit("question"), how="how", bench_row="rid", similarity="similarity")
        )
    full = [
        p.with_columns([pl.lit(None, t).alias(c) for c, t in MATCHES_SCHEMA.items() if c not in p.columns])
        for p in parts
    ]
    matches = pl.concat([p.select(list(MATCHES_SCHEMA)).cast(MATCHES_SCHEMA) for p in full]) if full else None
    matches = matches if matches is not None else pl.DataFrame(schema=MATCHES_SCHEMA)
    described = _describe(matches, train, bench)
    return _write(config, train, described, stats, fingerprint, inputs, pairs)


def _describe(matches: pl.DataFrame, train: pl.DataFrame, bench: pl.DataFrame) -> pl.DataFrame:
    """Matches with the training row's id/video and the benchmark item's source, id and video; sorted so the
    first row per training row is the one its reject names (video before question, id before content)."""
    order = {"id": 0, "content": 1, "content-mirrored": 2, "exact": 3, "near": 4}
    return (
        matches.join(train.select(train_row="_row", train_id="id", train_video="video"), on="train_row")
        .join(bench.select(bench_row="_row", benchmark="source", bench_id="id", bench_video="video"), on="bench_row")
        .with_columns(_order=pl.col("how").replace_strict(order, return_dtype=pl.Int8))
        .sort(["train_row", "_order", "similarity"], descending=[False, False, True])
        .drop("_order")
    )


def _write(config, train: pl.DataFrame, matches: pl.DataFrame, stats: dict, fingerprint: str, inputs, pairs):
    out = config.output
    first = matches.unique("train_row", keep="first", maintain_order=True)
    detail = pl.struct(
        how="how",
        benchmark="benchmark",
        item="bench_id",
        video="bench_video",
        similarity="similarity",
        frames="frames",
        hamming="hamming",
        offset="offset",
    ).struct.json_encode()
    first = first.with_columns(
        reason=pl.when(pl.col("kind") == "video")
        .then(pl.lit("contaminated_video"))
        .otherwise(pl.lit("contaminated_question")),
        detail=detail,
    )
    dropped_rows = [] if config.report_only else first.get_column("train_row").to_list()
    is_dropped = pl.col("_row").is_in(pl.Series(dropped_rows, dtype=pl.UInt32).implode())
    kept = train.filter(~is_dropped).drop("_row")
    rejected = train.filter(is_dropped).join(
        first.select(_row="train_row", reason="reason", detail="detail"), on="_row"
    )
    rejects = rejected.select(
        "id",
        "source",
        "subset",
        "video",
        input=pl.lit(str(read_path(config))),
        index=pl.col("_row").cast(pl.Int64),
        reason="reason",
        detail="detail",
        record=pl.struct([c for c in train.columns if c != "_row"]).struct.json_encode(),
    )
    stats.update(_stats(train.height, kept.height, rejects.height, first, matches))
    (out / manifest.NAME).unlink(missing_ok=True)
    write_rejects(rejects.to_arrow(), out / "rejects.parquet")
    write_parquet_atomic(matches.to_arrow(), out / "matches.parquet")
    write_parquet_atomic(pairs, out / "pairs.parquet")
    write_json_atomic(stats, out / "stats.json")
    write_mcq(kept.to_arrow(), out / "mcq.parquet")
    files = [n for n in OUTPUTS if n != manifest.NAME]
    manifest.write(out, STAGE, fingerprint, _config_dict(config), inputs, files, DECONTAMINATE, config)
    return DecontaminateResult(out, stats["read"], stats["kept"], stats["rejected"], stats["matched_rows"], stats)


def read_path(config: DecontaminateConfig) -> Path:
    return config.train / "mcq.parquet" if config.train.is_dir() else config.train


def _stats(read: int, kept: int, rejected: int, first: pl.DataFrame, matches: pl.DataFrame) -> dict:
    """Counts for the report: rows per reason, per benchmark and match kind (each training row counted once,
    under the match its reject names), and every match per (kind, how)."""
    per_benchmark: dict = {}
    for benchmark, how, n in first.group_by("benchmark", "how").len().sort("benchmark", "how").iter_rows():
        per_benchmark.setdefault(benchmark, {})[how] = n
    reasons = {r: n for r, n in first.group_by("reason").len().sort("reason").iter_rows()}
    return {
        "read": read,
        "kept": kept,
        "rejected": rejected,
        "kept_plus_rejected_equals_read": kept + rejected == read,
        "matched_rows": first.height,
        "reasons": reasons,
        "by_benchmark": per_benchmark,
        "matches_by_how": {h: n for h, n in matches.group_by("how").len().sort("how").iter_rows()},
        "matched_benchmark_items": matches.get_column("bench_id").n_unique(),
    }


def summary(result: DecontaminateResult) -> dict:
    return {
        "output": str(result.output),
        "read": result.read,
        "kept": result.kept,
        "rejected": result.rejected,
        "matched_rows": result.matched_rows,
        "skipped": result.skipped,
        "by_benchmark": result.stats.get("by_benchmark", {}),
    }


def to_json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
