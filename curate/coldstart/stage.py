"""``curate coldstart``: sample K completions per question, score them with :mod:`rewards`, keep the
verified ones.

Outputs in DIR: ``samples.parquet`` (every completion with its rewards), ``exemplars.parquet`` (the kept
samples with their question), ``passrate.parquet`` (per question), ``run.json`` (model, backend,
sampling, template, counts, throughput). Resumable: each batch's samples are written atomically to
``_work/samples-XXXXX.parquet``; a rerun skips questions already sampled, and ``_work/config.json``
refuses a different model/template/sampling in the same folder. An out-of-memory batch is halved and
retried; a batch in which every completion failed stops the run (it resumes from there).

One writer: the run holds the folder's lock (:mod:`curate.lock`), so a second run on it is refused at
once; once held, the temporaries a killed run left are removed. ``manifest.json`` (written last, removed
first by a run that changes the folder) marks a finished run: a rerun with the same config on the same
input table finds it (:mod:`curate.manifest`) and returns without loading the model or writing anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from curate import __version__, manifest
from curate.coldstart import inputs
from curate.coldstart.backends import BACKENDS, Backend, BackendError, OutOfMemory, Request, SamplingParams
from curate.coldstart.backends.base import BackendOptions
from curate.coldstart.scoring import KEEP, pass_rates, score_completion, select_exemplars
from curate.coldstart.templates import render
from curate.errors import UserError
from curate.frames.work import FrameSpec
from curate.lock import output_lock
from curate.options import Surface, config, fields_of, option
from curate.tables import read_input_table
from schemas.atomic import write_json_atomic, write_parquet_atomic

STAGE = "coldstart"
EXECUTORS = ("local", "ray")
OUTPUTS = ("samples.parquet", "passrate.parquet", "exemplars.parquet", "run.json")
# the temporaries a killed run can leave, per subfolder (removed by the next run once it holds the lock)
TEMPORARIES = {"": (*OUTPUTS, manifest.NAME), "_work": ("*",)}
# what a run leaves in its folder (removed before a replacing run with another model/template/sampling)
STAGE_FILES = ("_work", *OUTPUTS, manifest.NAME)

SAMPLE_COLUMNS = {
    "id": pl.String,
    "sample_index": pl.Int32,
    "prompt": pl.String,
    "completion": pl.String,
    "think": pl.String,
    "predicted": pl.String,
    "format": pl.Float32,
    "format_length": pl.Float32,
    "accuracy": pl.Float32,
    "length": pl.Int32,
    "total": pl.Float32,
    "finish_reason": pl.String,
    "prompt_tokens": pl.Int32,
    "completion_tokens": pl.Int32,
}


@config
class ColdstartConfig:
    """The options of ``curate coldstart`` (and of a recipe's coldstart step)."""

    input: Path = option(help="extract-frames output (or a filter output with --video-root).")
    output: Path = option(help="Output folder.", short="-o")
    model: str = option(help="Model path, Hub id, or the endpoint's model name.", min_length=1)
    backend: str = option("hf", "Generation backend.", choices=BACKENDS)
    backend_options: BackendOptions = option(factory=BackendOptions)
    template: str = option("tinyllava-r1", "tinyllava-r1, video-r1, or a Jinja file.", min_length=1)
    blind: bool = option(False, "Prompt without frames (finds questions answerable blind).")
    sampling: SamplingParams = option(factory=SamplingParams)
    batch_size: int = option(4, "Questions per generate call (openai: at least --concurrency).", ge=1, le=65536)
    keep: str = option("best", "Which verified completions become exemplars.", choices=KEEP)
    per_question: int | None = option(None, "Exemplars per question (best: 1).", ge=1)
    target_think_chars: int = option(600, "Tie-break: think length closest to this.", ge=0)
    video_root: Path | None = option(None, "Decode videos on the fly from here.")
    shaping: FrameSpec = option(factory=FrameSpec)
    executor: str = option("local", "Where the model runs: this process, or an actor pool on Ray.", choices=EXECUTORS)
    workers: int | None = option(
        None, "ray: actors, one backend each (default: GPUs / --gpus-per-worker, else 1).", ge=1, le=4096
    )
    max_workers: int | None = option(None, "ray: autoscale the pool from --workers up to this many actors.", ge=1)
    gpus_per_worker: float | None = option(
        None, "ray: GPUs per actor (default: 1 when the cluster has GPUs and the backend is not openai).", ge=0
    )
    address: str | None = option(None, "ray: cluster to join (auto, HOST:PORT, ray://HOST:10001; else RAY_ADDRESS).")

    def __post_init__(self) -> None:
        if self.max_workers is not None and self.workers is not None and self.max_workers < self.workers:
            raise ValueError(f"--max-workers {self.max_workers} is below --workers {self.workers}")


# the flags of `curate coldstart` and of a recipe's coldstart step
SURFACE = Surface(
    ColdstartConfig,
    {
        "input": "input",
        "model": "model",
        "output": "output",
        "backend": "backend",
        "template": "template",
        "blind": "blind",
        **{name: f"sampling.{name}" for name in ("num_samples", "temperature", "top_p", "max_new_tokens", "seed")},
        "num_frames": "shaping.sampling.num_frames",
        "size": "shaping.size",
        **{name: f"backend_options.{name}" for name in fields_of(BackendOptions)},
        **{name: name for name in ("executor", "workers", "max_workers", "gpus_per_worker", "address")},
    },
    argument="input",
)


@dataclass
class ColdstartResult:
    output: Path
    questions: int
    sampled: int
    skipped: int
    exemplars: int
    run: dict
    up_to_date: bool = False  # the folder already held this finished run: nothing was sampled or written


def _questions(config: ColdstartConfig) -> tuple[Path, list[dict]]:
    path, table = read_input_table(config.input, "run curate filter / extract-frames first")
    if not config.blind and config.video_root is None and "video_key" not in table.column_names:
        raise UserError(f"{path}: no video_key column: run curate extract-frames first, or pass --video-root")
    return path, table.to_pylist()


def described_config(config: ColdstartConfig, table: Path) -> dict:
    """What a finished run's manifest records as its config: everything that decides the outputs."""
    return {
        **json.loads(json.dumps(pinned_config(config))),
        "keep": config.keep,
        "per_question": config.per_question,
        "target_think_chars": config.target_think_chars,
        "input": str(table),
        "video_root": str(config.video_root) if config.video_root else None,
    }


def fingerprint(config: ColdstartConfig, table: Path) -> str:
    """The manifest fingerprint of a finished run of ``config`` on the input table ``table``."""
    return manifest.fingerprint(STAGE, described_config(config, table), [table])


def pinned_config(config: ColdstartConfig) -> dict:
    """What a coldstart output folder is pinned to: another model/template/sampling needs a new folder."""
    return {
        "model": config.model,
        "backend": config.backend,
        "template": config.template,
        "blind": config.blind,
        "sampling": asdict(config.sampling),
        "shaping": asdict(config.shaping) if config.video_root else None,
    }


def _parts(out: Path) -> list[Path]:
    return sorted((out / "_work").glob("samples-*.parquet"))


def sampled_ids(out: Path) -> set[str]:
    """The questions that have samples in ``out/_work``."""
    return {i for p in _parts(out) for i in pq.ParquetFile(p).read(columns=["id"]).column("id").to_pylist()}


def read_samples(out: Path) -> pl.DataFrame:
    """Every sample in ``out/_work``, each question's from ONE part (the first by name): a batch written
    twice (a Ray task retried after its actor died between writing and answering, or an actor of a killed
    driver finishing its write after the rerun planned its batches) counts once, so a question has
    exactly K samples."""
    frames, seen = [], set()
    for part in _parts(out):
        frame = pl.read_parquet(part)
        ids = set(frame.get_column("id").unique().to_list())
        if ids & seen:
            frame = frame.filter(~pl.col("id").is_in(list(seen)))
        seen |= ids
        frames.append(frame)
    return pl.concat(frames) if frames else pl.DataFrame(schema=SAMPLE_COLUMNS)


def sample_batch(backend: Backend, config: ColdstartConfig, batch: list) -> tuple[pl.DataFrame, int]:
    """Render, generate and score one batch of ``(question, frames)``: the samples (``SAMPLE_COLUMNS``)
    and the tokens generated. A batch in which every completion failed raises :class:`BackendError`."""
    prompts = [render(config.template, q["question"], q["options"]) for q, _ in batch]
    requests = [Request(q["id"], p, f) for (q, f), p in zip(batch, prompts, strict=True)]
    outputs = _generate(backend, requests, config.sampling)
    if all(c.finish_reason == "error" for cs in outputs for c in cs):
        # nothing came back (an endpoint that went away): stop; a rerun resumes from here
        raise BackendError(f"{backend.name}: every completion of a batch failed; stopping (rerun to resume)")
    rows, tokens = [], 0
    for (q, _), prompt, completions in zip(batch, prompts, outputs, strict=True):
        for k, c in enumerate(completions):
            rows.append(
                {
                    "id": q["id"],
                    "sample_index": k,
                    "prompt": prompt,
                    "completion": c.text,
                    **score_completion(c.text, q["answer"], q["options"]),
                    "finish_reason": c.finish_reason,
                    "prompt_tokens": c.prompt_tokens,
                    "completion_tokens": c.completion_tokens,
                }
            )
            tokens += c.completion_tokens
    return pl.DataFrame(rows, schema=SAMPLE_COLUMNS), tokens


def _generate(backend: Backend, requests: list[Request], params: SamplingParams) -> list:
    """Generate, halving the batch on out-of-memory until one request per batch."""
    try:
        return backend.generate(requests, params)
    except OutOfMemory:
        if len(requests) == 1:
            raise BackendError("out of memory with a batch of one question; lower --max-new-tokens or frames") from None
        half = len(requests) // 2
        return _generate(backend, requests[:half], params) + _generate(backend, requests[half:], params)


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(
    config: ColdstartConfig,
    backend: Backend | None = None,
    progress: Callable[[int], Callable[[], None]] | None = None,
    replace: bool = False,
) -> ColdstartResult:
    """Run the stage; ``backend`` overrides ``config.backend`` (tests pass a scripted one). A folder
    holding samples of another model/template/sampling is refused, or with ``replace`` emptied first
    (a recipe's own folder)."""
    table, questions = _questions(config)
    with output_lock(config.output, clean=TEMPORARIES):
        fp = fingerprint(config, table)
        if manifest.completed(config.output, fp) is not None:
            if backend is not None:
                backend.close()
            return _up_to_date(config, questions)
        return _run(config, backend, progress, table, questions, fp, replace)


def batch_size(config: ColdstartConfig) -> int:
    """Questions per generate call: ``--batch-size``, and for the openai backend at least ``--concurrency``
    (one batch per call, so the batch must fill the requests in flight)."""
    if config.backend == "openai":
        return max(config.batch_size, config.backend_options.concurrency)
    return config.batch_size


def _up_to_date(config: ColdstartConfig, questions: list[dict]) -> ColdstartResult:
    """The result of a rerun that found the same run finished: read from its ``run.json``."""
    out = config.output
    run_info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    counts = run_info.get("counts", {})
    wanted = {q["id"] for q in questions}
    skipped = len(wanted & sampled_ids(out))
    run_info = {
        **run_info,
        "counts": {**counts, "sampled_this_run": 0, "skipped_done": skipped},
        "throughput": {"seconds": 0.0, "questions_per_s": 0.0, "generated_tokens_per_s": 0.0},
    }
    exemplars = counts["exemplars"] if "exemplars" in counts else pq.read_metadata(out / "exemplars.parquet").num_rows
    return ColdstartResult(out, len(questions), 0, skipped, exemplars, run_info, up_to_date=True)


def _run(config, backend, progress, table: Path, questions: list[dict], fp: str, replace: bool) -> ColdstartResult:
    out = config.output
    pinned = pinned_config(config)
    manifest.pin(out, pinned, "samples from another model/template/sampling", STAGE_FILES, replace)
    (out / manifest.NAME).unlink(missing_ok=True)  # changing the folder: not a finished run until the end
    done = sampled_ids(out)
    todo = [q for q in questions if q["id"] not in done]
    counts: dict = {}
    tick = progress(len(todo)) if progress and todo else None
    started = time.monotonic()
    if config.executor == "ray":
        from curate.coldstart.on_ray import sample_on_ray

        sampled, generated_tokens, info = sample_on_ray(config, todo, backend, tick, counts)
    else:
        sampled, generated_tokens, info = _sample_here(config, todo, backend, tick, counts)
    elapsed = max(time.monotonic() - started, 1e-9)
    result = _finish(config, questions, pinned, info, counts, sampled, len(done), elapsed, generated_tokens)
    # last: the manifest marks the run finished
    manifest.write(out, STAGE, fp, described_config(config, table), [table], list(OUTPUTS), SURFACE, config)
    return result


def _sample_here(config: ColdstartConfig, todo: list[dict], backend, tick, counts: dict) -> tuple[int, int, dict]:
    """The local executor: batches in this process, each written as ``_work/samples-NNNNN.parquet``;
    returns (questions sampled, tokens generated, the backend's info)."""
    out = config.output
    if config.blind:
        items = inputs.blind(todo)
    elif config.video_root is not None:
        items = inputs.from_videos(config.video_root, todo, config.shaping, counts)
    else:
        items = inputs.from_shards(config.input, todo, counts)
    if backend is None:
        from curate.coldstart.backends import make_backend

        backend = make_backend(config.backend, config.model, **config.backend_options.for_backend(config.backend))
    generated_tokens, sampled = 0, 0
    next_part = len(_parts(out))
    try:
        for batch in _batches(items, batch_size(config)):
            frame, tokens = sample_batch(backend, config, batch)
            write_parquet_atomic(frame.to_arrow(), out / "_work" / f"samples-{next_part:05d}.parquet")
            next_part += 1
            sampled += len(batch)
            generated_tokens += tokens
            if tick:
                for _ in batch:
                    tick()
    finally:
        backend.close()
    return sampled, generated_tokens, backend.info()


def _finish(config, questions, pinned, info, counts, sampled, skipped, elapsed, tokens) -> ColdstartResult:
    out = config.output
    samples = read_samples(out)
    order = pl.DataFrame({"id": [q["id"] for q in questions]}).with_row_index("_q")
    samples = samples.join(order, on="id").sort(["_q", "sample_index"]).drop("_q")
    write_parquet_atomic(samples.to_arrow(), out / "samples.parquet")
    write_parquet_atomic(pass_rates(samples).to_arrow(), out / "passrate.parquet")
    keep_n = config.per_question if config.per_question is not None else (1 if config.keep == "best" else None)
    chosen = select_exemplars(samples, config.keep, keep_n, config.target_think_chars)
    fields = (
        [
            c
            for c in ("video", "video_key", "question", "options", "answer", "source", "subset", "start", "end")
            if c in questions[0]
        ]
        if questions
        else []
    )
    table = pl.DataFrame([{"id": q["id"], **{c: q[c] for c in fields}} for q in questions]) if questions else None
    exemplars = chosen.join(table, on="id", how="left") if table is not None else chosen
    write_parquet_atomic(exemplars.to_arrow(), out / "exemplars.parquet")
    run_info = {
        "tool": "videoqa-rl",
        "version": __version__,
        "stage": "coldstart",
        **pinned,
        "backend_info": info,
        "counts": {
            "questions": len(questions),
            "sampled_this_run": sampled,
            "skipped_done": skipped,
            "samples": samples.height,
            "exemplars": exemplars.height,
            **counts,
        },
        "throughput": {
            "seconds": round(elapsed, 3),
            "questions_per_s": round(sampled / elapsed, 4),
            "generated_tokens_per_s": round(tokens / elapsed, 2),
        },
    }
    write_json_atomic(run_info, out / "run.json")
    return ColdstartResult(out, len(questions), sampled, skipped, exemplars.height, run_info)
