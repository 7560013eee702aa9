"""``curate coldstart --executor ray``: the batches of the local executor, sampled by a pool of Ray actors.

The driver plans the batches exactly as the local executor forms them (questions in frame-shard order,
``batch_size(config)`` per batch) but ships only the questions and where their frames are (shard file,
row group): each actor reads and decodes the frames itself from the shared filesystem (or, with
``--video-root``, decodes the videos, or with ``--blind`` needs none). The batches are the rows of a Ray
Data dataset mapped by an actor pool (``map_batches(concurrency=…, num_gpus=…)``): each actor builds one
backend (``hf``/``vllm``: one model per ``--gpus-per-worker`` GPUs; ``openai``: a client), samples a
batch with the same code as the local executor (:func:`curate.coldstart.stage.sample_batch`, out-of-memory
halving included) and writes its samples itself, atomically, to ``_work/samples-r<digest>.parquet``.

Exactly once. A part's name is a digest of its batch's question ids, so a batch sampled twice (Ray
restarts a dead actor and retries its task; the retry rewrites the same file) is one file; a killed
driver takes its actors with it and loses the batches in flight only; a rerun plans batches of the
questions without samples. :func:`curate.coldstart.stage.read_samples` counts each question from one
part, so even a write that lands after a rerun planned its batches (an actor outliving its killed
driver for a moment) cannot give a question more than K samples.

Same samples as the local executor: the same batches reach the same backend code with the same seed
(the ``hf`` backend seeds each ``generate`` call), so for a fixed seed the samples match the local run's
wherever the model computes the same logits in the actor (same device and library versions). A batch
with a video that fails to decode (``--video-root``) is sampled without that question, where the local
executor would fill the batch from the next questions: the batches, and so the samples, differ after it.

vLLM: each actor holds one ``vllm.LLM`` (the ``vllm`` backend, ``n=K`` per prompt). Ray's own
``ray.data.llm`` vLLM processor is not used: in the installed Ray (2.60) its engine stage keeps only the
first of a prompt's ``n`` outputs (``vLLMOutputData.from_vllm_engine_output`` reads ``outputs[0]``), so K
samples would need K rows per question with K seeds, another sampling than the local ``vllm`` run.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.coldstart import inputs
from curate.frames.encode import decode_frames
from curate.ray_cluster import error_cause, session
from schemas.atomic import write_parquet_atomic

QUESTION_FIELDS = ("id", "question", "options", "answer", "video", "video_key", "start", "end")


def part_name(ids: list[str]) -> str:
    """``samples-r<digest>.parquet``: the same batch of questions always writes the same file."""
    return f"samples-r{hashlib.sha256(chr(10).join(ids).encode()).hexdigest()[:24]}.parquet"


def plan(config, todo: list[dict], counts: dict) -> list[list[dict]]:
    """The batches, in the local executor's order: each question a JSON-able dict of
    :data:`QUESTION_FIELDS` plus ``shard``/``group`` (where its frames are) for an extract-frames input.
    Questions whose video has no frames are left out and counted ``missing_frames``."""
    from curate.coldstart.stage import batch_size

    def brief(q: dict) -> dict:
        return {k: q.get(k) for k in QUESTION_FIELDS}

    if config.blind or config.video_root is not None:
        ordered = [brief(q) for q in todo]
    else:
        by_key: dict[str, list[dict]] = defaultdict(list)
        for q in todo:
            by_key[q.get("video_key")].append(q)
        ordered = []
        for shard in sorted((config.input / "frames").glob("part-*.parquet")):
            file = pq.ParquetFile(shard)
            for group in range(file.num_row_groups):
                for key in file.read_row_group(group, columns=["video_key"]).column("video_key").to_pylist():
                    for q in by_key.pop(key, []):
                        ordered.append({**brief(q), "shard": str(shard), "group": group})
        counts["missing_frames"] = sum(len(v) for v in by_key.values())
    size = batch_size(config)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _with_frames(config, batch: list[dict], counts: dict) -> list[tuple[dict, np.ndarray | None]]:
    """The batch's questions with their frames (decoded here, on the worker)."""
    if config.blind:
        return list(inputs.blind(batch))
    if config.video_root is not None:
        return list(inputs.from_videos(config.video_root, batch, config.shaping, counts))
    rows: dict[str, dict] = {}
    for shard, group in dict.fromkeys((q["shard"], q["group"]) for q in batch):
        table = pq.ParquetFile(shard).read_row_group(
            group, columns=["video_key", "frames", "height", "width", "encoding"]
        )
        wanted = {q["video_key"] for q in batch}
        rows.update({r["video_key"]: r for r in table.to_pylist() if r["video_key"] in wanted})
    decoded = {key: decode_frames(r["frames"], r["encoding"], r["height"], r["width"]) for key, r in rows.items()}
    return [(q, decoded[q["video_key"]]) for q in batch]


class Sampler:
    """The actor: one backend for its lifetime; each call samples one planned batch and writes its part."""

    def __init__(self, config, backend=None) -> None:
        self.config = config
        self.backend = backend
        if backend is None:
            from curate.coldstart.backends import make_backend

            options = config.backend_options.for_backend(config.backend)
            self.backend = make_backend(config.backend, config.model, **options)

    def __call__(self, rows: dict) -> dict:
        from curate.coldstart.stage import sample_batch

        out: dict[str, list] = {"part": [], "questions": [], "tokens": [], "video_errors": [], "info": []}
        for text in rows["batch"]:
            batch = json.loads(str(text))
            counts: dict = {}
            items = _with_frames(self.config, batch, counts)
            name, tokens = part_name([q["id"] for q in batch]), 0
            if items:
                frame, tokens = sample_batch(self.backend, self.config, items)
                write_parquet_atomic(frame.to_arrow(), Path(self.config.output) / "_work" / name)
            out["part"].append(name if items else "")
            out["questions"].append(len(items))
            out["tokens"].append(tokens)
            out["video_errors"].append(counts.get("video_errors", 0))
            out["info"].append(json.dumps(self.backend.info(), default=str))
        return out


def pool_size(config) -> tuple[float, int | tuple[int, int]]:
    """(GPUs per actor, the pool's ``concurrency``): ``--gpus-per-worker`` (default 1 when the cluster has
    GPUs and the backend runs a model, else 0); ``--workers`` (default: the cluster's GPUs / GPUs per
    actor, else 1), or ``(--workers, --max-workers)`` for an autoscaling pool."""
    import ray

    cluster_gpus = float(ray.cluster_resources().get("GPU", 0))
    gpus = config.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if cluster_gpus > 0 and config.backend != "openai" else 0.0
    workers = config.workers or (max(1, int(cluster_gpus // gpus)) if gpus > 0 else 1)
    if config.max_workers is not None:
        return gpus, (workers, max(workers, config.max_workers))
    return gpus, workers


def _pool(concurrency: int | tuple[int, int]):
    """Ray Data's actor pool: ``n`` actors, or autoscaling between ``(m, n)``."""
    from ray.data import ActorPoolStrategy

    if isinstance(concurrency, tuple):
        return ActorPoolStrategy(min_size=concurrency[0], max_size=concurrency[1])
    return ActorPoolStrategy(size=concurrency)


def sample_on_ray(
    config, todo: list[dict], backend, tick: Callable[[], None] | None, counts: dict
) -> tuple[int, int, dict]:
    """Sample ``todo`` on the Ray cluster (see the module docstring); returns (questions sampled, tokens
    generated, a backend's info). ``backend`` (a test's scripted one) is serialized to every actor."""
    batches = plan(config, todo, counts)
    info = {"backend": config.backend, "model": config.model}
    if not batches:
        if backend is not None:
            backend.close()
        return 0, 0, info
    with session(config.address):  # a connection this call makes is closed when it is done
        return _sample(config, batches, backend, tick, counts, info)


def _sample(config, batches: list, backend, tick, counts: dict, info: dict) -> tuple[int, int, dict]:
    import ray

    ray.data.DataContext.get_current().enable_progress_bars = False
    gpus, concurrency = pool_size(config)
    (Path(config.output) / "_work").mkdir(parents=True, exist_ok=True)
    dataset = ray.data.from_items([{"batch": json.dumps(b, default=str)} for b in batches]).map_batches(
        Sampler,
        fn_constructor_kwargs={"config": config, "backend": backend},
        batch_size=1,
        batch_format="numpy",
        compute=_pool(concurrency),
        num_gpus=gpus,
        num_cpus=1,
    )
    sampled = tokens = 0
    try:
        for row in dataset.iter_rows():
            sampled += int(row["questions"])
            tokens += int(row["tokens"])
            if row["video_errors"]:
                counts["video_errors"] = counts.get("video_errors", 0) + int(row["video_errors"])
            info = json.loads(str(row["info"]))
            if tick:
                for _ in range(int(row["questions"])):
                    tick()
    except Exception as exc:
        cause = error_cause(exc)
        if cause is not exc:
            raise cause from None
        raise
    finally:
        if backend is not None:
            backend.close()
    info["executor"] = {"name": "ray", "gpus_per_worker": gpus, "workers": concurrency}
    return sampled, tokens, info
