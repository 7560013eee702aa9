"""Benchmark: scoring through every trainer adapter vs calling the scorer directly, by batch size.

What is measured
    Completions per second of the TinyLLaVA-Video-R1 reward (multiple-choice accuracy with the option
    texts + format with its length term) on the synthetic ~1 KB completions of ``bench_rewards.py``, in
    one process pinned to one CPU, at batch sizes 8, 64, 512 and 4,096:

    * direct: ``rewards.score(c, gold, options=…)`` in a loop (the baseline of every ratio);
    * ``rewards.trl.tinyllava_reward`` called as GRPOTrainer calls it (keywords: completions, prompts,
      completion_ids, the dataset columns ``solution`` and ``options``, trainer_state);
    * ``rewards.verl.compute_score`` called once per response as verl's reward managers do, with
      ``extra_info`` carrying the options;
    * ``rewards.openrlhf.reward_func`` called once per sample with lists of one query (prompt + response +
      ``<|im_end|>``), its prompt and its packed label, as OpenRLHF 0.11.2 calls a reward file
      (``SingleTurnAgentExecutor._fetch_rewards_via_func``, ``batch_size = 1``); the result holds Python
      floats, which OpenRLHF makes into tensors itself;
    * ``rewards.easyr1.compute_score`` on a list of ``{response, response_length, ground_truth}`` with
      packed golds (``rewards.gold``), as EasyR1's batch reward manager calls it;
    * ``rewards.swift.TinyllavaORM`` called as ms-swift calls it (completions + column keywords).

    The completions come in GRPO groups (``--group``, default 8: each question answered by 8
    consecutive completions, as TRL's and verl's samplers repeat a prompt and as TinyLLaVA-Video-R1
    trains); ``--group 1`` gives every completion its own question (no gold or option list repeats).
    Each (adapter, batch size) is timed over consecutive batches covering all completions, repeated until
    a measurement lasts at least 0.05 s of CPU time; 20 rounds, each timing every adapter once in turn
    (interleaved, so load from other processes falls on all alike), best round; the time is this
    process's CPU time (``time.process_time``), so another process sharing the pinned core does not
    count. Every adapter's rewards are checked equal to the direct scores before timing.

    Printed after each batch size, not counted in the goals: where OpenRLHF's time goes — the cut of each
    response out of its query (``rewards.openrlhf._response``: the prompt check, the end token and the copy) timed
    alone — and ``reward_func`` given the whole batch in one call (not how OpenRLHF 0.11.2 calls it; a
    caller of its own may), whose result is three float32 tensors.

Usage
    python benchmarks/bench_reward_adapters.py [--n 8192] [--seed 0] [--group 8]

Timings on a shared machine drift by ±10 % between runs; instruction counts do not. ``--only NAME`` runs
one function (an adapter, ``openrlhf_cut``, ``openrlhf_batch`` or ``none``) three times over all
completions at batch size 64, untimed, after one warm-up pass of every function, so that under
``PYTHONHASHSEED=0 valgrind --tool=callgrind`` the instructions per completion are (count of NAME − count
of ``none``) / (3 × n)::

    for f in none direct openrlhf; do PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        python benchmarks/bench_reward_adapters.py --n 2048 --only $f 2>&1 | grep Collected; done

The last line printed is the slowest adapter's ratio to direct scoring (adapter time / direct time) at
any batch size; the lines before it say, for each goal of issue 12, met or NOT met: ≥ 100,000
completions/s through every adapter on one core, every adapter within 1.3× of direct scoring at every
batch size, and (the scorer's headroom) direct scoring ≥ 130,000 completions/s.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rewards import make_items, pin_one_cpu  # noqa: E402

from rewards import easyr1, openrlhf, score, swift, trl, verl  # noqa: E402
from rewards.gold import pack_gold  # noqa: E402

BATCH_SIZES = (8, 64, 512, 4096)
MIN_TIMED_S = 0.05
ROUNDS = 20
GOAL_RATE = 100_000
GOAL_RATIO = 1.3
DIRECT_AIM = 130_000  # headroom for the scorer itself (issue 12)
PROMPT = "<|im_start|>user\nWhat happens in the video?<|im_end|>\n<|im_start|>assistant\n"
END = "<|im_end|>"  # what OpenRLHF's decode with special tokens leaves after a Qwen response


class Batch:
    """One batch in every adapter's input form, built before timing."""

    def __init__(self, items: list) -> None:
        self.texts = [it.text for it in items]
        self.solutions = [it.solution for it in items]
        self.options = [it.options for it in items]
        self.golds = [it.solution[len("<answer>")] for it in items]
        self.packed = [pack_gold(g, o) for g, o in zip(self.golds, self.options, strict=True)]
        self.queries = [PROMPT + t + END for t in self.texts]
        self.prompts = [PROMPT] * len(items)
        self.openrlhf_calls = [([q], [PROMPT], [g]) for q, g in zip(self.queries, self.packed, strict=True)]
        self.infos = [{"options": o, "problem_type": "multiple choice"} for o in self.options]
        self.easyr1_inputs = [
            {"response": t, "response_length": len(t), "ground_truth": p}
            for t, p in zip(self.texts, self.packed, strict=True)
        ]
        self.completion_ids = [[1, 2, 3]] * len(items)
        self.swift_orm = swift.TinyllavaORM(args=None)


def direct(b: Batch) -> list[float]:
    return [score(t, g, options=o)["score"] for t, g, o in zip(b.texts, b.golds, b.options, strict=True)]


def via_trl(b: Batch) -> list[float]:
    return trl.tinyllava_reward(
        prompts=b.prompts,
        completions=b.texts,
        completion_ids=b.completion_ids,
        trainer_state=None,
        solution=b.solutions,
        options=b.options,
    )


def via_verl(b: Batch) -> list[float]:
    return [
        verl.compute_score(data_source="bench", solution_str=t, ground_truth=g, extra_info=info)["score"]
        for t, g, info in zip(b.texts, b.golds, b.infos, strict=True)
    ]


def via_openrlhf(b: Batch) -> list[float]:
    """One call per sample, as OpenRLHF 0.11.2 makes them: each returns Python floats."""
    return [openrlhf.reward_func(q, p, g)["rewards"] for q, p, g in b.openrlhf_calls]


def openrlhf_batch(b: Batch):
    """The whole batch in one call (not counted): a float32 tensor, read back by :func:`floats` for the
    check, outside the timing."""
    return openrlhf.reward_func(b.queries, b.prompts, b.packed)["rewards"]


def openrlhf_cut(b: Batch) -> list[str]:
    """The responses cut out of OpenRLHF's queries, alone (part of :func:`via_openrlhf`'s time)."""
    return [openrlhf._response(q[0], p[0]) for q, p, _ in b.openrlhf_calls]


def floats(values) -> list[float]:
    """An adapter's rewards as Python floats (a tensor read back with ``tolist()``)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def via_easyr1(b: Batch) -> list[float]:
    return [r["overall"] for r in easyr1.compute_score(b.easyr1_inputs, mode="tinyllava")]


def via_swift(b: Batch) -> list[float]:
    return b.swift_orm(b.texts, solution=b.solutions, options=b.options, trainer_state=None)


ADAPTERS: dict[str, Callable[[Batch], object]] = {
    "direct": direct,
    "trl": via_trl,
    "verl": via_verl,
    "openrlhf": via_openrlhf,
    "easyr1": via_easyr1,
    "swift": via_swift,
}
INFO = {"openrlhf_cut": openrlhf_cut, "openrlhf_batch": openrlhf_batch}  # not adapters: printed, not counted
TIMED = {**ADAPTERS, **INFO}


def time_batches(fns: dict[str, Callable[[Batch], object]], batches: list[Batch]) -> dict[str, float]:
    """Best CPU seconds of this process (``time.process_time``) for one pass over all batches, per
    function: ROUNDS rounds, each timing every function once (interleaved, so a burst of load on the
    shared machine hits all of them alike) over enough passes to last at least MIN_TIMED_S; the best
    round counts. Time the pinned core spent on other processes is not counted."""
    passes = {}
    for name, fn in fns.items():
        start = time.process_time()
        for b in batches:
            fn(b)
        passes[name] = max(1, int(MIN_TIMED_S / max(time.process_time() - start, 1e-9)) + 1)
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(ROUNDS):
        for name, fn in fns.items():
            start = time.process_time()
            for _ in range(passes[name]):
                for b in batches:
                    fn(b)
            best[name] = min(best[name], (time.process_time() - start) / passes[name])
    return best


def run_only(name: str, items: list) -> int:
    """``--only``: one warm-up pass of every function (the caches of gold parsing filled alike), then
    ``name`` three times over all batches of 64; ``none`` does only the warm-up."""
    batches = [Batch(items[i : i + 64]) for i in range(0, len(items), 64)]
    for fn in TIMED.values():
        for b in batches:
            fn(b)
    for _ in range(3 if name != "none" else 0):
        for b in batches:
            TIMED[name](b)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8192, help="completions (a multiple of 4,096 is best)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--group",
        type=int,
        default=8,
        help="consecutive completions per question, as GRPO lays out a batch (1: all distinct)",
    )
    parser.add_argument("--only", choices=["none", *TIMED], help="run one function untimed (see Usage)")
    args = parser.parse_args(argv)
    items = make_items(args.n, args.seed, args.group)
    if args.only:
        return run_only(args.only, items)
    print(pin_one_cpu())
    print(f"{len(items):,} completions, {args.group} per question; CPU time of this process (time.process_time)")
    worst = 0.0
    rates: dict[str, list[float]] = {name: [] for name in ADAPTERS}
    for size in BATCH_SIZES:
        batches = [Batch(items[i : i + size]) for i in range(0, len(items), size)]
        expected = [x for b in batches for x in direct(b)]
        for name, fn in {**ADAPTERS, "openrlhf_batch": openrlhf_batch}.items():
            got = [x for b in batches for x in floats(fn(b))]
            if any(abs(a - e) > 1e-6 for a, e in zip(got, expected, strict=True)):
                raise SystemExit(f"{name} at batch size {size}: rewards differ from direct scoring")
        if [r for b in batches for r in openrlhf_cut(b)] != [t for b in batches for t in b.texts]:
            raise SystemExit(f"openrlhf at batch size {size}: the cut responses differ from the completions")
        seconds = time_batches(TIMED, batches)
        print(f"\nbatch size {size:,} ({len(batches)} batches, {len(items):,} completions)")
        for name in ADAPTERS:
            s = seconds[name]
            rate = len(items) / s
            ratio = s / seconds["direct"]
            rates[name].append(rate)
            if name != "direct":
                worst = max(worst, ratio)
            print(f"  {name:9s} {rate:12,.0f} completions/s   {ratio:5.2f}× direct")
        cut, whole = seconds["openrlhf_cut"] / seconds["direct"], seconds["openrlhf_batch"] / seconds["direct"]
        print(f"  (openrlhf: its cut of the responses alone {cut:.2f}× direct; not counted: openrlhf given the")
        print(f"   batch in one call, three float32 tensors returned, {whole:.2f}× direct)")
    slowest = min((min(r), name) for name, r in rates.items() if name != "direct")
    direct_low = min(rates["direct"])
    print(f"\nslowest adapter rate: {slowest[0]:,.0f} completions/s ({slowest[1]})")
    print(
        f"goal >= {GOAL_RATE:,} completions/s through every adapter at every batch size: "
        f"{'met' if slowest[0] >= GOAL_RATE else 'NOT met'} (slowest {slowest[0]:,.0f}/s, {slowest[1]})"
    )
    print(
        f"goal every adapter within {GOAL_RATIO}× of direct at every batch size: "
        f"{'met' if worst <= GOAL_RATIO else 'NOT met'} (worst {worst:.2f}×)"
    )
    print(
        f"direct scoring, slowest batch size: {direct_low:,.0f} completions/s "
        f"(aim >= {DIRECT_AIM:,}/s: {'met' if direct_low >= DIRECT_AIM else 'NOT met'})"
    )
    print(f"ratio (slowest adapter / direct, any batch size): {worst:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
