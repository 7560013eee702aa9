"""``curate extract-frames``: the multiple-choice table + videos → Parquet frame shards.

Each distinct (video, clip window) is decoded once, by an executor (:mod:`curate.frames.executors`),
into one row of ``frames/part-XXXXX.parquet`` (:data:`schemas.frames.FRAMES_SCHEMA`). Outputs in DIR:

- ``frames/part-*.parquet``: shards, each written under a temporary name and renamed when complete;
- ``mcq.parquet``: the input table plus ``video_key``, without the questions of rejected videos;
- ``rejects.parquet``: one row per question whose video failed, with the video's reason
  (``outside_video_root``, ``missing``, ``not_a_file``, ``symlink_loop`` — by
  :func:`curate.video_paths.locate`, before any decoder opens the path — ``unreadable``,
  ``no_video_stream``, ``zero_frames``, ``timeout``, ``crashed`` …);
- ``manifest.json``: config, tool version, input fingerprint and, per file, rows, bytes and sha256.

Resumable and exactly-once: the keys already in finished shards (and videos already rejected, kept in
``_work/``) are skipped on a rerun, so an interrupted run (kill -9 included) ends with exactly one row
per video. ``_work/config.json`` pins the output to one config: another config is refused rather than
mixed in.

One writer: the run holds the folder's lock (:mod:`curate.lock`) throughout, so a second run on the same
folder is refused at once instead of decoding the same videos into shards of its own; once it holds
the lock, the temporaries a killed run left are removed. A rerun whose manifest matches (same config,
same input table, every listed file still its size) is a no-op that reads and writes nothing else; any
other run removes ``manifest.json`` before it changes the folder, so the manifest marks a finished run.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate import manifest
from curate.errors import UserError
from curate.frames.executors import EXECUTORS, RUNNERS, local_pool
from curate.frames.keys import frames_config, video_key
from curate.frames.work import FrameSpec, Task
from curate.lock import output_lock
from curate.options import Surface, config, option
from curate.tables import read_input_table
from curate.video_paths import locate
from schemas.atomic import write_parquet_atomic
from schemas.frames import FRAMES_SCHEMA, validate_frames, with_hub_features
from schemas.mcq import write_mcq
from schemas.rejects import REJECTS_SCHEMA, write_rejects

STAGE = "extract-frames"
SHARD_ROWS = 512
SHARD_BYTES = 256 * 1024 * 1024
ROW_GROUP_BYTES = 100 * 1024 * 1024
OUTPUTS = ("mcq.parquet", "rejects.parquet", manifest.NAME)
# what a run leaves in its folder (removed before a replacing run with other shaping: manifest.pin)
STAGE_FILES = ("frames", "_work", *OUTPUTS)
# the temporaries a killed run can leave, per subfolder (removed by the next run once it holds the lock)
TEMPORARIES = {"": OUTPUTS, "frames": ("part-*.parquet",), "_work": ("*",)}
WORK_REJECTS = pa.schema([("video_key", pa.string()), ("reason", pa.string()), ("detail", pa.string())])


@config
class ExtractConfig:
    """Where to read and write, how to run, and (``shaping``) how to make the frames."""

    mcq_dir: Path = option(help="Output folder of curate filter (or its mcq.parquet).")
    video_root: Path = option(help="Folder the video paths are relative to.")
    output: Path = option(help="Output folder.", short="-o")
    shaping: FrameSpec = option(factory=FrameSpec)
    workers: int | None = option(None, "Worker processes (default: CPU count).", ge=1, le=4096)
    timeout: float = option(120.0, "Seconds allowed per video.", gt=0)
    executor: str = option("local", "Where videos are decoded.", choices=EXECUTORS)
    shard_rows: int = option(SHARD_ROWS, "Videos per shard (shards also close at 256 MB).", ge=1)


# the flags of `curate extract-frames` and of a recipe's extract-frames step
SURFACE = Surface(
    ExtractConfig,
    {
        "input": "mcq_dir",
        "video_root": "video_root",
        "output": "output",
        "num_frames": "shaping.sampling.num_frames",
        "sampling": "shaping.sampling.mode",
        "fps": "shaping.sampling.fps",
        "min_frames": "shaping.sampling.min_frames",
        "max_frames": "shaping.sampling.max_frames",
        "size": "shaping.size",
        "resize": "shaping.resize",
        "max_pixels": "shaping.max_pixels",
        "encoding": "shaping.encoding",
        "jpeg_quality": "shaping.jpeg_quality",
        "decoder": "shaping.decoder",
        "device": "shaping.device",
    },
    argument="input",
)


@dataclass
class ExtractResult:
    output: Path
    videos: int
    decoded: int
    rejected_videos: int
    questions: int
    kept: int
    rejected: int
    skipped: int  # videos already done by an earlier, interrupted run
    shards: int
    up_to_date: bool = False  # the folder already held this finished run: nothing was decoded or written
    frames_decoded: int = 0  # frames the decoders decoded in this run (sparse decoding: far fewer than n)
    decoders: dict[str, int] = field(default_factory=dict)  # videos decoded in this run, by DecodedVideo.decoded_by


def _check(config: ExtractConfig) -> None:
    """What the config's own validation cannot know: the folder, the decoder and (when this machine's
    workers decode: the local executor) the CUDA device on this machine."""
    from curate.frames.decoders import check_cuda, check_decoder

    if not config.video_root.is_dir():
        raise UserError(f"{config.video_root}: --video-root is not a directory")
    try:
        check_decoder(config.shaping.decoder, config.shaping.device)
    except ValueError as exc:
        raise UserError(f"--decoder: {exc}") from None
    if config.shaping.device != "cpu" and config.executor == "local":
        try:
            check_cuda(config.shaping.device)
        except ValueError as exc:
            raise UserError(f"--device: {exc}") from None


def _read_table(config: ExtractConfig) -> pa.Table:
    _, table = read_input_table(config.mcq_dir, "run curate filter first")
    return table.drop_columns(["video_key"]) if "video_key" in table.column_names else table


def _keys(table: pa.Table, shaping: dict) -> list[str]:
    videos = table.column("video").to_pylist()
    starts = table.column("start").to_pylist()
    ends = table.column("end").to_pylist()
    return [video_key(v, s, e, shaping) for v, s, e in zip(videos, starts, ends, strict=True)]


class ShardWriter:
    """Buffers frame rows and writes them as atomic shards ``frames/part-XXXXX.parquet``; rejected
    videos go to ``_work/rejects-XXXXX.parquet`` at the same moments, so both survive an interruption."""

    def __init__(self, out: Path, shard_rows: int = SHARD_ROWS) -> None:
        self.shard_rows = shard_rows
        self.frames_dir = out / "frames"
        self.work_dir = out / "_work"
        self.rows: list[dict] = []
        self.rejects: list[dict] = []
        self.bytes = 0
        self.next_index = 1 + max((_index(p) for p in self.frames_dir.glob("part-*.parquet")), default=-1)
        self.next_reject = 1 + max((_index(p) for p in self.work_dir.glob("rejects-*.parquet")), default=-1)

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.bytes += sum(len(f["bytes"]) for f in row["frames"])
        if len(self.rows) >= self.shard_rows or self.bytes >= SHARD_BYTES:
            self.flush()

    def reject(self, key: str, reason: str, detail: str | None) -> None:
        self.rejects.append({"video_key": key, "reason": reason, "detail": detail})

    def flush(self) -> None:
        if self.rows:
            table = with_hub_features(validate_frames(pa.Table.from_pylist(self.rows, schema=FRAMES_SCHEMA)))
            per_row = max(1, self.bytes // len(self.rows))
            # dictionaries and min/max statistics only for the flat columns (video_key, fps, ...): the
            # frames are PLAIN pages (up to 64 MiB, a whole row's frames) that a memory-mapped read copies
            # out without decoding — 16 raw frames of 384² in ~0.7 ms instead of ~5 ms
            flat = [f.name for f in table.schema if not pa.types.is_nested(f.type)]
            write_parquet_atomic(
                table,
                self.frames_dir / f"part-{self.next_index:05d}.parquet",
                row_group_size=max(1, ROW_GROUP_BYTES // per_row),
                # stored frames are never compressed again: JPEG/PNG are already, and raw is the
                # encoding chosen for reading speed (zstd costs 10 ms per 16 frames of 384², lz4 9, none 7)
                compression="none",
                use_dictionary=flat,
                write_statistics=flat,
                data_page_size=64 << 20,
            )
            self.next_index += 1
            self.rows, self.bytes = [], 0
        if self.rejects:
            table = pa.Table.from_pylist(self.rejects, schema=WORK_REJECTS)
            write_parquet_atomic(table, self.work_dir / f"rejects-{self.next_reject:05d}.parquet")
            self.next_reject += 1
            self.rejects = []


def _index(path: Path) -> int:
    try:
        return int(path.stem.split("-")[-1])
    except ValueError:
        return -1


def _done_keys(out: Path) -> set[str]:
    keys: set[str] = set()
    for shard in sorted((out / "frames").glob("part-*.parquet")):
        keys.update(pq.ParquetFile(shard).read(columns=["video_key"]).column("video_key").to_pylist())
    return keys


def _work_rejects(out: Path) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    for part in sorted((out / "_work").glob("rejects-*.parquet")):
        for row in pq.ParquetFile(part).read().to_pylist():
            found[row["video_key"]] = (row["reason"], row["detail"])
    return found


def _mcq_path(config: ExtractConfig) -> Path:
    return config.mcq_dir / "mcq.parquet" if config.mcq_dir.is_dir() else config.mcq_dir


def described_config(config: ExtractConfig) -> dict:
    """The config a manifest records (and its fingerprint hashes): what decides the outputs — not where
    the videos were decoded (``executor``), so a rerun on Ray of a local run is a no-op."""
    return {
        **frames_config(config.shaping),
        "decoder": config.shaping.decoder,
        "mcq": str(_mcq_path(config)),
        "video_root": str(config.video_root),
    }


def fingerprint(config: ExtractConfig) -> str:
    """The manifest fingerprint a finished run of ``config`` on its current input table has."""
    return manifest.fingerprint(STAGE, {"config": described_config(config)}, [_mcq_path(config)])


def finished(config: ExtractConfig) -> bool:
    """Whether ``config.output`` holds a finished run of exactly this config and input: the manifest's
    fingerprint, and each listed output's size (not its sha256: shards are large; ``curate verify``
    hashes them). Reads only."""
    if not _mcq_path(config).is_file():
        return False
    return manifest.completed(config.output, fingerprint(config), check="size") is not None


def run(
    config: ExtractConfig, progress: Callable[[int], Callable[[], None]] | None = None, replace: bool = False
) -> ExtractResult:
    """Run the stage (see the module docstring). ``progress(total)`` returns a per-video tick. A folder
    holding frames of other shaping options is refused, or with ``replace`` emptied first (a recipe's own
    folder)."""
    _check(config)
    with contextlib.ExitStack() as stack:
        pool = None
        if config.executor == "local" and not finished(config):  # (read-only; decided again under the lock)
            # started first: its workers import the decoders while this process reads the table
            pool = stack.enter_context(local_pool(config.workers))
        table = _read_table(config)
        shaping = frames_config(config.shaping)
        keys = _keys(table, shaping)
        table = table.append_column("video_key", pa.array(keys, pa.string()))
        with output_lock(config.output, clean=TEMPORARIES):
            if finished(config):
                return _result(config, table, _done_keys(config.output), len(set(keys)), up_to_date=True)
            return _run(config, table, keys, shaping, progress, replace, pool)


def _run(
    config: ExtractConfig, table: pa.Table, keys: list[str], shaping: dict, progress, replace, pool=None
) -> ExtractResult:
    out = config.output
    manifest.pin(out, shaping, "frames made with other shaping options", STAGE_FILES, replace)
    (out / "frames").mkdir(parents=True, exist_ok=True)
    (out / manifest.NAME).unlink(missing_ok=True)  # changing the folder: not a finished run until the end
    done = _done_keys(out)
    rejected = _work_rejects(out)

    skipped = len(set(keys) & (done | set(rejected)))
    writer = ShardWriter(out, config.shard_rows)
    tasks: dict[str, Task] = {}
    for key, video, start, end in zip(
        keys,
        table.column("video").to_pylist(),
        table.column("start").to_pylist(),
        table.column("end").to_pylist(),
        strict=True,
    ):
        if key not in tasks and key not in done and key not in rejected:
            where = locate(video, config.video_root)  # outside the root, missing, a FIFO …: never decoded
            if where.reason:
                writer.reject(key, where.reason, where.detail)
                rejected[key] = (where.reason, where.detail)
            else:
                tasks[key] = Task(key, video, where.path, start, end)

    tick = progress(len(tasks)) if progress and tasks else None

    decoded, by = [0], Counter()

    def on_result(task: Task, result: dict) -> None:
        decoded[0] += result.get("frames_decoded", 0)
        if "row" in result:
            by[result["decoded_by"]] += 1
            writer.add(result["row"])
            done.add(task.video_key)
        else:
            writer.reject(task.video_key, result["reason"], result.get("detail"))
            rejected[task.video_key] = (result["reason"], result.get("detail"))
        if tick:
            tick()

    try:
        RUNNERS[config.executor](tasks.values(), config.shaping, on_result, config.workers, config.timeout, pool)
    finally:
        writer.flush()  # keep what was finished, even when interrupted

    outcome = _finish(config, table, done, rejected, skipped)
    outcome.frames_decoded, outcome.decoders = decoded[0], dict(sorted(by.items()))
    return outcome


def _finish(config: ExtractConfig, table: pa.Table, done: set[str], rejected: dict, skipped: int) -> ExtractResult:
    out = config.output
    keys = table.column("video_key")
    ok = pc.is_in(keys, pa.array(sorted(done), pa.string()))
    kept = table.filter(ok)
    dropped = table.filter(pc.invert(ok))
    mcq_path = _mcq_path(config)
    reasons = [rejected.get(k, ("unreadable", "no frames")) for k in dropped.column("video_key").to_pylist()]
    indices = pc.indices_nonzero(pc.invert(ok)).to_pylist()
    rows = dropped.drop_columns(["video_key"]).to_pylist()
    rejects = pa.Table.from_pylist(
        [
            {
                "id": r["id"],
                "source": r["source"],
                "subset": r["subset"],
                "video": r["video"],
                "input": str(mcq_path),
                "index": i,
                "reason": reason,
                "detail": detail,
                "record": json.dumps(r, ensure_ascii=False),
            }
            for r, i, (reason, detail) in zip(rows, indices, reasons, strict=True)
        ],
        schema=REJECTS_SCHEMA,
    )
    write_rejects(rejects, out / "rejects.parquet")
    write_mcq(kept, out / "mcq.parquet")
    shards = sorted((out / "frames").glob("part-*.parquet"))
    files = [f"frames/{p.name}" for p in shards] + ["mcq.parquet", "rejects.parquet"]
    manifest.write(out, STAGE, fingerprint(config), described_config(config), [mcq_path], files, SURFACE, config)
    return _result(config, table, done, skipped)


def _result(config: ExtractConfig, table: pa.Table, done: set[str], skipped: int, up_to_date: bool = False):
    keys = table.column("video_key")
    ok = pc.is_in(keys, pa.array(sorted(done), pa.string()))
    kept = pc.sum(ok.cast(pa.int64())).as_py() or 0
    distinct = set(keys.to_pylist())
    return ExtractResult(
        config.output,
        len(distinct),
        len(done),
        len(distinct) - len(distinct & done),
        table.num_rows,
        kept,
        table.num_rows - kept,
        skipped,
        len(list((config.output / "frames").glob("part-*.parquet"))),
        up_to_date,
    )
