"""``curate filter``: published Video-QA annotations → one clean multiple-choice table.

Order of the checks (the first reason that applies is the one recorded; each item gets one):

1. reader: ``malformed_record``, ``open_ended``, ``no_answer``, ``not_video``, Video-R1's other problem
   types, ``video_not_in_map``, ``unparseable_options``, ``unparseable_answer``, ``answer_text_mismatch``;
2. structure: ``not_multiple_choice``, ``no_video``, ``empty_question``, ``too_few_options`` (< 2),
   ``too_many_options`` (> 26), ``empty_option``, ``answer_not_in_options``, ``duplicate_options``
   (case- and whitespace-insensitive), ``negative_duration``, ``bad_clip_window`` (``start`` or ``end``
   negative, or ``start`` after ``end``);
3. selection by subset: ``subset_excluded`` (``--include-subset``/``--exclude-subset`` globs);
4. duplicates, keyed on (video, normalized question, option set, answer text): later copies are
   ``duplicate``; when copies with the same (video, question, option set) disagree on the answer, all
   are ``conflicting_duplicate``. The same question with another option set is kept and counted;
5. videos: with ``--video-root``, ``outside_video_root`` (a path leaving the root, see
   :mod:`curate.video_paths`); with ``--check-videos`` (``--probe`` for unknown durations):
   ``video_missing``, ``video_not_a_file``, ``video_symlink_loop``, ``video_unreadable``;
6. duration (``--min-duration``/``--max-duration``): the record's duration, else its duration bucket,
   else the probed duration, else kept and counted ``duration_unknown``: ``too_short``, ``too_long``;
   then ``--passrate FILE --min-pass-rate X --max-pass-rate Y`` (coldstart pass rates): ``pass_rate``;
7. ``--limit N`` (first N in input order) or ``--sample N --seed S``: the rest are ``limit``/``sample``.

Then ``--shuffle-options SEED`` permutes each item's options with a generator seeded by (SEED, id) and
remaps the answer. Outputs: ``mcq.parquet``, ``rejects.parquet``, ``stats.json``, ``manifest.json``.
kept + rejected = read, always.
"""

from __future__ import annotations

import fnmatch
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import polars as pl

from curate import manifest
from curate.errors import UserError
from curate.lock import output_lock
from curate.normalize import LETTERS, norm_answer_text, norm_text, normalize
from curate.options import Surface, config, option
from curate.probe import probe_many
from curate.readers import fill_records, load_nextqa_map, read
from curate.readers.generic import parse_mapping
from curate.stats import filter_stats
from curate.video_paths import resolve
from schemas.atomic import write_json_atomic
from schemas.mcq import MAX_OPTIONS, MIN_OPTIONS, PROBLEM_TYPE, write_mcq
from schemas.rejects import write_rejects

STAGE = "filter"
OUTPUTS = ("mcq.parquet", "rejects.parquet", "stats.json", manifest.NAME)
AnyFrame = TypeVar("AnyFrame", pl.DataFrame, pl.LazyFrame)  # eager or lazy polars table


def _formats() -> tuple[str, ...]:
    from curate.formats import FORMATS

    return FORMATS


@config
class FilterConfig:
    """The options of ``curate filter`` (and of a recipe's filter step)."""

    inputs: list[Path] = option(help="Annotation files in their published formats.", min_length=1)
    output: Path = option(help="Output folder.", short="-o")
    format: str = option("auto", "Annotation format (auto: from the fields).", choices=_formats)
    video_root: Path | None = option(None, "Folder the video paths are relative to.")
    nextqa_map: Path | None = option(None, "NExT-QA map_vid_vidorID.json.")
    mapping: list[str] = option(factory=list, help="FIELD=COLUMN for --format generic (repeatable).")
    source: str | None = option(None, "Source name for --format generic.")
    min_duration: float | None = option(None, "Drop videos shorter than this (s).", ge=0)
    max_duration: float | None = option(None, "Drop videos longer than this (s).", gt=0)
    probe: bool = option(False, "Probe videos whose duration is unknown.")
    check_videos: bool = option(False, "Check every video exists and decodes.")
    workers: int | None = option(None, "Parallel video probes (default: CPU count).", ge=1, le=4096)
    executor: str = option(
        "local", "Where videos are probed (ray: Ray workers; RAY_ADDRESS joins a cluster).", choices=("local", "ray")
    )
    include_subset: list[str] = option(factory=list, help="Keep subsets matching this glob.")
    exclude_subset: list[str] = option(factory=list, help="Drop subsets matching this glob.")
    limit: int | None = option(None, "Keep the first N items.", ge=0)
    sample: int | None = option(None, "Keep N items drawn at random (see --seed).", ge=0)
    seed: int = option(0, "Seed for --sample.")
    shuffle_options: int | None = option(None, "Permute options per item with this seed (debiases answer letters).")
    passrate: Path | None = option(None, "passrate.parquet from curate coldstart.")
    min_pass_rate: float | None = option(None, "Keep questions with pass rate >= this.", ge=0, le=1)
    max_pass_rate: float | None = option(None, "Keep questions with pass rate <= this.", ge=0, le=1)
    force: bool = option(False, "Rerun even if the output is complete.")

    def __post_init__(self) -> None:
        for low, high in (("min_duration", "max_duration"), ("min_pass_rate", "max_pass_rate")):
            lo, hi = getattr(self, low), getattr(self, high)
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"--{low.replace('_', '-')} {lo} is above --{high.replace('_', '-')} {hi}")


SURFACE = Surface(FilterConfig, {"map": "mapping"}, argument="inputs")


@dataclass
class FilterResult:
    output: Path
    read: int
    kept: int
    rejected: int
    formats: dict[str, str]
    stats: dict
    skipped: bool = False


def _set_reason(df: AnyFrame, condition: pl.Expr, reason: str | pl.Expr, detail: pl.Expr | None = None):
    """Record ``reason`` on rows that have none yet and meet ``condition`` (eager or lazy frame)."""
    hit = pl.col("reject").is_null() & condition.fill_null(False)
    reason = pl.lit(reason) if isinstance(reason, str) else reason
    updates = [pl.when(hit).then(reason).otherwise(pl.col("reject")).alias("reject")]
    if detail is not None:
        updates.append(pl.when(hit).then(detail).otherwise(pl.col("detail")).alias("detail"))
    return df.with_columns(updates)


def option_keys(df: pl.LazyFrame) -> pl.LazyFrame:
    """Per row, from the options normalized with :func:`norm_text` (computed once, on the flat list):
    ``_empty_option``, ``_duplicate_options`` and ``_option_set`` (an order-insensitive key of the
    option set: the sum of the normalized options' 64-bit hashes)."""
    df = df.with_columns(_i=pl.int_range(pl.len()))
    flat = df.select("_i", "options").explode("options")
    flat = flat.with_columns(_n=norm_text(pl.col("options")))
    per_row = flat.group_by("_i", maintain_order=True).agg(
        _empty_option=(pl.col("_n") == "").any(),
        _duplicate_options=pl.col("_n").drop_nulls().n_unique() < pl.col("_n").drop_nulls().len(),
        _option_set=pl.col("_n").hash().sum(),
    )
    return df.join(per_row, on="_i", how="left", maintain_order="left").drop("_i")


def check_structure(df: pl.LazyFrame) -> pl.LazyFrame:
    """Step 2 of the module docstring; adds the :func:`option_keys` columns."""
    df = option_keys(df)
    n = pl.col("options").list.len()
    checks: list[tuple[pl.Expr, str]] = [
        (pl.col("problem_type").str.to_lowercase() != PROBLEM_TYPE, "not_multiple_choice"),
        (pl.col("video").is_null() | (pl.col("video").str.strip_chars() == ""), "no_video"),
        (pl.col("question").is_null() | (pl.col("question").str.strip_chars() == ""), "empty_question"),
        (pl.col("options").is_null() | (n < MIN_OPTIONS), "too_few_options"),
        (n > MAX_OPTIONS, "too_many_options"),
        (pl.col("_empty_option"), "empty_option"),
        (pl.col("answer").is_null() | (pl.col("answer") < 0) | (pl.col("answer") >= n), "answer_not_in_options"),
        (pl.col("_duplicate_options"), "duplicate_options"),
        (pl.col("duration") < 0, "negative_duration"),
        ((pl.col("start") < 0) | (pl.col("end") < 0) | (pl.col("start") > pl.col("end")), "bad_clip_window"),
    ]
    reason = pl.col("reject")
    for condition, name in reversed(checks):  # one pass: the first check that fails names the reason
        reason = pl.when(condition.fill_null(False)).then(pl.lit(name)).otherwise(reason)
    return df.with_columns(reject=pl.coalesce(pl.col("reject"), reason))


def select_subsets(df: pl.LazyFrame, subsets: list[str], include: list[str], exclude: list[str]) -> pl.LazyFrame:
    """Step 3: glob patterns matched against ``subset`` (a null subset matches no pattern); ``subsets``
    lists the distinct subsets present."""
    if not include and not exclude:
        return df
    allowed = {
        s
        for s in subsets
        if (not include or any(fnmatch.fnmatchcase(s, p) for p in include))
        and not any(fnmatch.fnmatchcase(s, p) for p in exclude)
    }
    if not include:
        keep = pl.col("subset").is_null() | pl.col("subset").is_in(list(allowed))
    else:
        keep = pl.col("subset").is_in(list(allowed)).fill_null(False)
    return _set_reason(df, ~keep, "subset_excluded")


def deduplicate(df: pl.LazyFrame) -> pl.LazyFrame:
    """Step 4. Adds ``_kq`` (the key of video + normalized question) for :func:`option_variants`.

    Keys are 64-bit hashes of (video, normalized question, option set[, normalized answer text]); only
    open rows get a key, so rejected rows never take part.
    """
    open_ = pl.col("reject").is_null()
    answer_text = norm_answer_text(pl.col("options").list.get(pl.col("answer"), null_on_oob=True))
    question = pl.struct(pl.col("video"), norm_text(pl.col("question")))
    df = df.with_columns(
        _kq=pl.when(open_).then(question.hash()),
        _kqo=pl.when(open_).then(pl.struct(question, pl.col("_option_set")).hash()),
        _ans=answer_text,
    ).with_columns(_kqoa=pl.when(open_).then(pl.struct("_kqo", "_ans").hash()))
    first_at = pl.format("record {} of {}", pl.col("index"), pl.col("input"))
    df = df.with_columns(
        _n_ans=pl.col("_ans").n_unique().over("_kqo"),
        _first=pl.col("_kqoa").is_first_distinct(),
        _first_is=pl.format("same as {} ({})", pl.col("id"), first_at).first().over("_kqoa"),
    )
    df = _set_reason(
        df,
        open_ & (pl.col("_n_ans") > 1),
        "conflicting_duplicate",
        pl.lit("same video, question and options with different answers"),
    )
    df = _set_reason(df, open_ & ~pl.col("_first"), "duplicate", pl.col("_first_is"))
    return df.drop("_kqo", "_kqoa", "_ans", "_n_ans", "_first", "_first_is")


def option_variants(df: pl.DataFrame) -> int:
    """How many (video, question) pairs are kept with more than one option set."""
    kept = df.filter(pl.col("reject").is_null())
    return kept.group_by("_kq").agg(pl.col("_option_set").n_unique()).filter(pl.col("_option_set") > 1).height


def outside_root(df: pl.DataFrame, video_root: Path | None) -> pl.DataFrame:
    """Step 5a, with ``--video-root`` only: open rows whose video leaves the root (lexically, see
    :mod:`curate.video_paths`) are ``outside_video_root``, whether or not videos are checked."""
    if video_root is None:
        return df
    videos = df.filter(pl.col("reject").is_null()).get_column("video").unique().to_list()
    outside = {v: w.detail for v in videos if (w := resolve(v, video_root)).reason}
    if not outside:
        return df
    table = pl.DataFrame(
        {"video": list(outside), "_out": list(outside.values())}, schema=[("video", pl.String), ("_out", pl.String)]
    )
    df = df.join(table, on="video", how="left", maintain_order="left")
    return _set_reason(df, pl.col("_out").is_not_null(), "outside_video_root", pl.col("_out")).drop("_out")


def check_videos(
    df: pl.DataFrame, config: FilterConfig, progress: Callable[[int], Callable[[], None]] | None = None
) -> tuple[pl.DataFrame, int]:
    """Step 5: :func:`outside_root`; then probe each distinct video once (its path by
    :func:`curate.video_paths.resolve`); fill unknown durations; returns (frame, videos probed)."""
    df = outside_root(df, config.video_root)
    open_ = pl.col("reject").is_null()
    wanted = pl.lit(config.check_videos)
    if config.probe:
        bucket_decides = pl.lit(False)
        if config.min_duration is not None or config.max_duration is not None:
            bucket_decides = _bucket_decision(config).is_not_null()
        wanted = wanted | (pl.col("duration").is_null() & ~bucket_decides)
    videos = df.filter(open_ & wanted).get_column("video").unique(maintain_order=True).to_list()
    if not videos:
        return df, 0
    paths = {v: resolve(v, config.video_root).path for v in videos}
    on_done = progress(len(videos)) if progress else None
    prober = probe_many
    if config.executor == "ray":
        from curate.probe_ray import probe_on_ray as prober  # the same probes, on Ray workers
    probes = prober(paths.values(), workers=config.workers, on_done=on_done)
    table = pl.DataFrame(
        {
            "video": videos,
            "_p_dur": [probes[paths[v]].duration for v in videos],
            "_p_err": [probes[paths[v]].error for v in videos],
            "_p_detail": [probes[paths[v]].detail for v in videos],
        },
        schema={"video": pl.String, "_p_dur": pl.Float64, "_p_err": pl.String, "_p_detail": pl.String},
    )
    df = df.join(table, on="video", how="left", maintain_order="left")
    df = _set_reason(df, pl.col("_p_err").is_not_null(), pl.col("_p_err"), pl.col("_p_detail"))
    df = df.with_columns(duration=pl.coalesce("duration", "_p_dur"))
    return df.drop("_p_dur", "_p_err", "_p_detail"), len(videos)


def _bucket_decision(config: FilterConfig) -> pl.Expr:
    """From the bucket alone: ``too_short``/``too_long``/``ok``, or null when the bucket cannot tell."""
    lo, hi = pl.col("duration_lo"), pl.col("duration_hi")
    lo_ok = pl.lit(True) if config.min_duration is None else lo >= config.min_duration
    hi_ok = pl.lit(True) if config.max_duration is None else hi <= config.max_duration
    short = pl.lit(False) if config.min_duration is None else hi < config.min_duration
    long = pl.lit(False) if config.max_duration is None else lo > config.max_duration
    return (
        pl.when(lo.is_null() | hi.is_null())
        .then(None)
        .when(short)
        .then(pl.lit("too_short"))
        .when(long)
        .then(pl.lit("too_long"))
        .when(lo_ok & hi_ok)
        .then(pl.lit("ok"))
    )


def filter_duration(df: pl.DataFrame, config: FilterConfig) -> tuple[pl.DataFrame, int]:
    """Step 6; returns (frame, number of kept items whose duration could not be decided)."""
    if config.min_duration is None and config.max_duration is None:
        return df, 0
    d = pl.col("duration")
    known = pl.lit(None, dtype=pl.String)
    if config.min_duration is not None:
        known = pl.when(d < config.min_duration).then(pl.lit("too_short")).otherwise(known)
    if config.max_duration is not None:
        known = pl.when(d > config.max_duration).then(pl.lit("too_long")).otherwise(known)
    known = pl.when(d.is_not_null()).then(pl.coalesce(known, pl.lit("ok")))
    verdict = pl.coalesce(known, _bucket_decision(config))
    df = df.with_columns(_verdict=verdict)
    for reason in ("too_short", "too_long"):
        df = _set_reason(df, pl.col("_verdict") == reason, reason)
    unknown = df.filter(pl.col("reject").is_null() & pl.col("_verdict").is_null()).height
    return df.drop("_verdict"), unknown


def filter_pass_rate(df: pl.DataFrame, config: FilterConfig) -> tuple[pl.DataFrame, int]:
    """Step 6b: keep questions whose coldstart pass rate (``--passrate passrate.parquet``) lies in
    [min, max] (a group where every sample is right, or every one wrong, gives GRPO no gradient);
    questions the file does not list are kept and counted. Returns (frame, unknown count)."""
    if config.passrate is None:
        return df, 0
    if not config.passrate.is_file():
        raise UserError(f"{config.passrate}: no such file")
    try:
        rates = pl.read_parquet(config.passrate, columns=["id", "pass_rate"])
    except Exception as exc:
        raise UserError(f"{config.passrate}: not a passrate.parquet ({str(exc).splitlines()[0]})") from None
    df = df.join(rates.rename({"pass_rate": "_rate"}), on="id", how="left", maintain_order="left")
    lo = -1.0 if config.min_pass_rate is None else config.min_pass_rate
    hi = 2.0 if config.max_pass_rate is None else config.max_pass_rate
    outside = (pl.col("_rate") < lo) | (pl.col("_rate") > hi)
    df = _set_reason(
        df, outside, "pass_rate", pl.format("pass rate {} outside [{}, {}]", "_rate", pl.lit(lo), pl.lit(hi))
    )
    unknown = df.filter(pl.col("reject").is_null() & pl.col("_rate").is_null()).height
    return df.drop("_rate"), unknown


def _rank_key(seed: int, item_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{item_id}".encode()).digest()


def select_rows(df: pl.DataFrame, config: FilterConfig) -> pl.DataFrame:
    """Step 7: ``--limit`` keeps the first N open rows, ``--sample`` N rows chosen by (seed, id) hash."""
    open_rows = df.filter(pl.col("reject").is_null())
    if config.sample is not None:
        ids = open_rows.get_column("id").to_list()
        rows = open_rows.get_column("_row").to_list()
        ranked = sorted(zip((_rank_key(config.seed, i) for i in ids), rows, strict=True))
        chosen = {r for _, r in ranked[: config.sample]}
        df = _set_reason(df, ~pl.col("_row").is_in(list(chosen)), "sample")
    if config.limit is not None:
        open_rows = df.filter(pl.col("reject").is_null())
        first = open_rows.get_column("_row").head(config.limit).to_list()
        df = _set_reason(df, ~pl.col("_row").is_in(first), "limit")
    return df


def shuffle_options(kept: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Permute each row's options with ``random.Random(f"{seed}:{id}")`` and remap the answer."""
    new_options, new_answers = [], []
    for item_id, options, answer in kept.select("id", "options", "answer").iter_rows():
        order = list(range(len(options)))
        random.Random(f"{seed}:{item_id}").shuffle(order)
        new_options.append([options[i] for i in order])
        new_answers.append(order.index(answer))
    return kept.with_columns(
        options=pl.Series(new_options, dtype=pl.List(pl.String)),
        answer=pl.Series(new_answers, dtype=pl.Int64),
    )


def unique_ids(kept: pl.DataFrame) -> pl.DataFrame:
    """Make ``id`` unique among kept rows: a repeated id gets ``#`` + a short hash of the item's content."""
    repeated = pl.col("id").is_duplicated()
    if not kept.select(repeated.any()).item():
        return kept
    content = pl.concat_str(
        pl.col("video"),
        pl.col("question"),
        pl.col("options").list.join("\x1f"),
        pl.col("answer").cast(pl.String),
        separator="\x1e",
    )
    suffix = content.map_elements(lambda s: hashlib.sha256(s.encode()).hexdigest()[:10], return_dtype=pl.String)
    return kept.with_columns(id=pl.when(repeated).then(pl.col("id") + pl.lit("#") + suffix).otherwise("id"))


def letter_histogram(df: pl.DataFrame) -> dict[str, int]:
    counts = df.group_by("answer").len().sort("answer").iter_rows()
    return {LETTERS[a]: n for a, n in counts}


def load_inputs(config: FilterConfig) -> tuple[pl.DataFrame, dict[str, str]]:
    """Read every input with its reader; returns (raw frame, {file: format used})."""
    options: dict[str, object] = {}
    if config.nextqa_map is not None:
        options["nextqa_map"] = load_nextqa_map(config.nextqa_map)
    if config.mapping:
        options["mapping"] = parse_mapping(config.mapping)
        options["source"] = config.source
    elif config.format == "generic":
        raise UserError("--format generic needs a column mapping (--map FIELD=COLUMN)")
    frames, formats = [], {}
    for path in config.inputs:
        fmt, frame = read(path, config.format, **options)
        formats[str(path)] = fmt
        frames.append(frame)
    if not frames:
        raise UserError("no input files given")
    return pl.concat(frames), formats


def run(config: FilterConfig, progress: Callable[[int], Callable[[], None]] | None = None) -> FilterResult:
    """Run the stage; see the module docstring. ``progress(total)`` returns a per-video tick callback."""
    if config.video_root is not None and not config.video_root.is_dir():
        raise UserError(f"{config.video_root}: --video-root is not a directory")
    with output_lock(config.output, clean={"": OUTPUTS}):  # one writer; a killed run's temporaries go
        return _run(config, progress)


def _run(config: FilterConfig, progress: Callable[[int], Callable[[], None]] | None) -> FilterResult:
    fingerprint = manifest.fingerprint(
        STAGE, _config_dict(config), [*config.inputs, *([config.passrate] if config.passrate else [])]
    )
    done = manifest.completed(config.output, fingerprint)
    if done is not None and not config.force:
        stats = done["stats"]
        return FilterResult(
            config.output, stats["read"], stats["kept"], stats["rejected"], stats["formats"], stats, skipped=True
        )

    raw, formats = load_inputs(config)
    df = normalize(raw)
    subsets = df.get_column("subset").drop_nulls().unique().to_list()
    lf = check_structure(df.lazy().with_row_index("_row"))
    lf = select_subsets(lf, subsets, config.include_subset, config.exclude_subset)
    df = deduplicate(lf).collect()
    variants = option_variants(df)
    df, probed = check_videos(df, config, progress)
    df, duration_unknown = filter_duration(df, config)
    df, pass_rate_unknown = filter_pass_rate(df, config)
    df = select_rows(df, config)

    kept = df.filter(pl.col("reject").is_null())
    before = letter_histogram(kept)
    if config.shuffle_options is not None and kept.height:
        kept = shuffle_options(kept, config.shuffle_options)
    kept = unique_ids(kept)
    rejected = fill_records(df.filter(pl.col("reject").is_not_null()))

    stats = filter_stats(
        df,
        kept,
        formats=formats,
        letters_before=before,
        letters_after=letter_histogram(kept) if config.shuffle_options is not None else None,
        option_variants=variants,
        duration_unknown=duration_unknown,
        videos_probed=probed,
    )
    if config.passrate is not None:
        stats["pass_rate_unknown"] = pass_rate_unknown
    out = config.output
    _write_outputs(out, kept, rejected, stats, fingerprint, config)
    return FilterResult(out, stats["read"], stats["kept"], stats["rejected"], formats, stats)


MCQ_COLUMNS = [
    "id",
    "source",
    "subset",
    "video",
    "question",
    "options",
    "answer",
    "problem_type",
    "duration",
    "start",
    "end",
    "meta",
]
REJECT_COLUMNS = ["id", "source", "subset", "video", "input", "index", "reason", "detail", "record"]


def _write_outputs(
    out: Path, kept: pl.DataFrame, rejected: pl.DataFrame, stats: dict, fingerprint: str, config: FilterConfig
) -> None:
    """Write rejects, stats, the table and, last, the manifest. Each file is atomic; if the run stops
    before the manifest is written, the table written by this run is removed again, so an interrupted
    run never leaves an ``mcq.parquet`` without its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    (out / manifest.NAME).unlink(missing_ok=True)
    mcq_path = out / "mcq.parquet"
    try:
        write_rejects(rejected.rename({"reject": "reason"}).select(REJECT_COLUMNS).to_arrow(), out / "rejects.parquet")
        write_json_atomic(stats, out / "stats.json")
        write_mcq(kept.select(MCQ_COLUMNS).to_arrow(), mcq_path)
        files = [name for name in OUTPUTS if name != manifest.NAME]
        manifest.write(out, STAGE, fingerprint, _config_dict(config), config.inputs, files, SURFACE, config)
    except BaseException:
        mcq_path.unlink(missing_ok=True)
        raise


def _config_dict(config: FilterConfig) -> dict:
    out = {}
    for key, value in vars(config).items():
        if key in ("force", "workers", "executor"):
            continue
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, list):
            value = [str(v) for v in value]
        out[key] = value
    return out
