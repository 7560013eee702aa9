"""Coldstart on Ray: throughput with 1 and 2 actors, and the Ray path's overhead against the local executor.

The work: N synthetic blind questions (a generic CSV through ``curate filter``), K samples of up to T new
tokens each from the tiny random Qwen2-VL (curate/coldstart/tiny_model.py) on CPU, batch size B. Every
run samples the same questions into a fresh folder; the wall time is the whole ``coldstart.run`` (model
load included), the Ray instance (2 CPUs) started before the Ray runs and not counted.

- local: the local executor in this process, torch limited to 1 thread (a Ray actor of 1 CPU gets
  OMP_NUM_THREADS=1, so both do the same work per core);
- ray x1, ray x2: ``--executor ray --workers 1 / 2``.

Printed: seconds, questions/s and generated tokens/s per run; then the ratios: 2 actors over 1 actor
(scaling; at most 2 on 2 cores), and, LAST, ray x1 seconds / local seconds (the Ray path's scheduling,
serialization and actor start-up overhead on the same work: 1.0 = none).

    .venv/bin/python benchmarks/bench_coldstart_ray.py [--questions 48] [--samples 4] [--tokens 32]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from curate.coldstart.backends import SamplingParams
from curate.coldstart.backends.base import BackendOptions
from curate.coldstart.stage import ColdstartConfig, run
from curate.coldstart.tiny_model import build_tiny_qwen2vl
from curate.filter import FilterConfig
from curate.filter import run as run_filter

MAP = ["id=id", "video=video", "question=question", "options=o1,o2,o3,o4", "answer=answer"]


def questions(folder: Path, n: int) -> Path:
    path = folder / "qa.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "video", "question", "o1", "o2", "o3", "o4", "answer"])
        for i in range(n):
            writer.writerow(
                [f"q{i}", f"v{i}.mp4", f"What happens after event {i}?", "red", "green", "blue", "white", "A"]
            )
    run_filter(FilterConfig(inputs=[path], output=folder / "filter", format="generic", mapping=MAP))
    return folder / "filter"


def timed(config: ColdstartConfig) -> tuple[float, dict]:
    started = time.perf_counter()
    result = run(config)
    return time.perf_counter() - started, result.run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=48)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()

    import ray
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_qwen2vl(folder / "model")
        table = questions(folder, args.questions)
        common = {
            "input": table,
            "model": model,
            "blind": True,
            "batch_size": args.batch_size,
            "sampling": SamplingParams(num_samples=args.samples, max_new_tokens=args.tokens, seed=0),
            "backend_options": BackendOptions(device="cpu"),
        }
        rows = []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        seconds, info = timed(ColdstartConfig(output=folder / "local", **common))
        torch.set_num_threads(threads)
        rows.append(("local", seconds, info))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        for workers in (1, 2):
            config = ColdstartConfig(output=folder / f"ray{workers}", executor="ray", workers=workers, **common)
            seconds, info = timed(config)
            rows.append((f"ray x{workers}", seconds, info))
        ray.shutdown()

    tokens = {name: info["counts"]["samples"] for name, _, info in rows}
    print(f"{args.questions} questions x {args.samples} samples, <= {args.tokens} new tokens, batch {args.batch_size}")
    print(f"{'run':10s} {'seconds':>8s} {'questions/s':>12s} {'tokens/s':>10s}")
    for name, seconds, info in rows:
        generated = info["throughput"]["generated_tokens_per_s"] * info["throughput"]["seconds"]
        print(f"{name:10s} {seconds:8.2f} {args.questions / seconds:12.2f} {generated / seconds:10.1f}")
    assert len(set(tokens.values())) == 1, tokens  # the same work in every run
    by = {name: seconds for name, seconds, _ in rows}
    print(f"scaling, 2 actors over 1 (time x1 / time x2): {by['ray x1'] / by['ray x2']:.2f}")
    print(f"Ray overhead, ray x1 seconds / local seconds: {by['ray x1'] / by['local']:.2f}")


if __name__ == "__main__":
    main()
