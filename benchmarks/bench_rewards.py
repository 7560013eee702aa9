"""Benchmark: this library's format + multiple-choice accuracy rewards vs TinyLLaVA-Video-R1's published ones.

What is measured
    Completions per second of scoring format + accuracy on the same synthetic multiple-choice completions
    (about 1 KB each), in one process, sequentially, on one core (the process pins itself to one CPU with
    ``os.sched_setaffinity`` where the platform has it, and says so):

    * ours: ``rewards.format.r1_format`` + ``rewards.mcq.mcq_accuracy`` (the primary line, used for the
      ratio), ``rewards.format.tinyllava_format`` + ``mcq_accuracy`` (TinyLLaVA's format with its length
      term), and ``r1_format`` + ``mcq_accuracy`` WITH the option texts. Without options ours sees exactly
      what the reference sees: the completion and the solution ``<answer>B</answer>``.
    * the reference: a re-implementation (below, same logic, own code) of ``accuracy_reward`` and
      ``format_reward`` from TinyLLaVA-Video-R1's ``tinyllava/train/train.py``, called as TRL calls them:
      batch functions over ``[[{"role": "assistant", "content": text}], ...]`` and ``solution``.

    Ours is timed over all completions, repeated until a measurement lasts at least 1 s, best of 3. The
    reference (it runs math_verify's ``parse`` twice and ``verify`` once per completion) is timed over one
    full pass after a short warm-up; when a probe says a full pass would take over 3 minutes, or with
    ``--reference-limit``, over a seeded random subset of at least 2,000 completions, and the per-completion
    rate is extrapolated (the output says so).

The reference
    accuracy: ``math_verify.verify(parse(content), parse(solution))`` (prediction first, default timeouts);
    if that fails, the first ``<answer>(.*?)</answer>`` of the solution and of the completion (no DOTALL;
    the whole stripped text when there is none) are compared: equal, or the gold equals the FIRST
    CHARACTER of the completion's answer. format: 0 unless ``re.fullmatch(r"<think>.*?</think>\\s*
    <answer>.*?</answer>", content, re.DOTALL)`` and exactly one of each tag; then
    0.5 + 0.5 · min(len(first think block, stripped) / 1200, 1). The published ``accuracy_reward`` has no
    try/except around math_verify; the wrappers are kept here (a reference that crashes cannot be
    benchmarked). With math_verify's defaults (``raise_on_error=False``) they never fire, and they cost
    nothing measurable.

The data
    A seeded generator makes ``--n`` completions (default 20,000) for 4- or 5-option questions, each
    ``<think>`` + ~900 characters of video-QA reasoning + ``</think>`` + an answer block, in categories:
    ~50 % well-formed with an answer both accept (``B``, `` B ``), ~10 % well-formed with a wrong letter,
    ~10 % answer variants only one side accepts (``(B)``, ``B. dog``, ``Answer: B``, ``B)``,
    ``\\boxed{B}``, ``b``, ``**B**``, ``B because …``, a sentence that starts with the gold letter),
    ~15 % malformed (no tags, no think, two answer blocks, nested think, text outside the blocks, an
    unclosed think, an empty answer, whitespace around the whole completion, the letter on its own line
    inside the answer block) and ~15 % hedged (``A or B``, ``A, B``, ``AB``, ``A and B``, ``A/B``,
    ``Both A and B``). The option texts live in the prompt only.

    Well-formed means: ``<think>…</think>``, optional whitespace, ``<answer>…</answer>`` as the WHOLE text
    (nothing around it, not even whitespace), one of each tag, and the answer block one upper-case letter
    with optional spaces or tabs beside it on the same line. On those both sides must agree exactly
    (accuracy; ``r1_format`` vs reference format > 0; ``tinyllava_format`` vs the reference's value); the
    disagreements elsewhere are printed per category with one example each.

Usage
    python benchmarks/bench_rewards.py [--n N] [--seed S] [--reference-limit K]

The last line printed is ``ratio (ours / reference, format + accuracy): N×``; the line before it gives
our completions per second on one core. Goals from the issue: at least 100× the reference and at least
100,000 completions/s on one core for format + accuracy.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import string
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from rewards.format import r1_format, tinyllava_format
from rewards.mcq import mcq_accuracy

LETTERS = string.ascii_uppercase
DEFAULT_N = 20_000
MIN_TIMED_S = 1.0
REFERENCE_MAX_S = 180.0
REFERENCE_SUBSET = 2_000

# --------------------------------------------------------------------------------------------------
# Reference: TinyLLaVA-Video-R1's accuracy_reward and format_reward (tinyllava/train/train.py)
# --------------------------------------------------------------------------------------------------

_REF_ANSWER = re.compile(r"<answer>(.*?)</answer>")
_REF_FORMAT = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
_REF_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


def reference_accuracy_reward(completions, solution, **kwargs):
    """1.0 when math_verify verifies the completion against the solution, or when the (first) answer
    block equals the solution's, or when its first character equals the solution's answer; else 0.0."""
    from math_verify import parse, verify

    rewards = []
    for completion, sol in zip(completions, solution, strict=False):  # upstream zips without strict
        content = completion[0]["content"]
        reward = 0.0
        try:
            answer = parse(content)
            if float(verify(answer, parse(sol))) > 0:
                reward = 1.0
        except Exception:
            pass
        if reward == 0.0:
            try:
                sol_match = _REF_ANSWER.search(sol)
                ground_truth = sol_match.group(1).strip() if sol_match else sol.strip()
                content_match = _REF_ANSWER.search(content)
                student_answer = content_match.group(1).strip() if content_match else content.strip()
                if len(student_answer) > 0 and (student_answer == ground_truth or ground_truth == student_answer[0]):
                    reward = 1.0
            except Exception:
                pass
        rewards.append(reward)
    return rewards


def _reference_recheck(content: str) -> bool:
    return all(content.count(tag) == 1 for tag in ("<think>", "</think>", "<answer>", "</answer>"))


def reference_format_reward(completions, **kwargs):
    """0.5 + 0.5 · min(len(think) / 1200, 1) for a strict think/answer completion, else 0.0."""
    rewards = []
    for completion in completions:
        content = completion[0]["content"]
        value = 0.0
        if _REF_FORMAT.fullmatch(content) and _reference_recheck(content):
            value += 0.5
            think_match = _REF_THINK.search(content)
            think = think_match.group(1).strip() if think_match else None
            value += min(len(think) / 1200, 1) * 0.5
        rewards.append(value)
    return rewards


# --------------------------------------------------------------------------------------------------
# Synthetic completions
# --------------------------------------------------------------------------------------------------

SUBJECTS = [
    "the man",
    "the woman",
    "a child",
    "the dog",
    "the chef",
    "the player",
    "the driver",
    "two people",
    "the person in red",
    "the girl",
    "the old man",
    "the cyclist",
    "the teacher",
    "a small group",
]
ACTIONS = [
    "picks up a cup",
    "opens the door",
    "walks toward the camera",
    "sits on the couch",
    "waves at someone",
    "puts the box on the table",
    "turns on the stove",
    "throws the ball",
    "looks out of the window",
    "starts running",
    "closes the laptop",
    "pours water into a glass",
    "ties the shoelaces",
    "hands over a bag",
    "cuts the vegetables",
    "climbs the stairs",
]
OPENERS = [
    "First, I look at what happens at the start of the video.",
    "Let me go through the video in order.",
    "The question asks about the sequence of events.",
    "To answer this, I need to track the main person.",
    "I will check each option against what is shown.",
    "Let me think about the key moments in the clip.",
]
TEMPLATES = [
    "At about {t} seconds, {s} {a}.",
    "After that, {s} {a}, which happens before the scene changes.",
    "In the next shot {s} {a}, so the order of events matters here.",
    "Option {o} mentions that {s} {a}, and the video does show this around {t} seconds.",
    "There is no moment where {s} {a}, so option {o} can be ruled out.",
    "The camera then follows {s}, who {a}.",
    "Near the end of the clip, {s} {a} while {s2} watches.",
    "This fits option {o} better than the others, because {s} clearly {a}.",
    "I should double-check: {s} {a} only once, not {n} times.",
]
CLOSERS = [
    "Putting this together, one option matches what is shown.",
    "So the best answer is clear.",
    "Therefore only one option is consistent with the video.",
    "That settles it.",
]
OPTION_TEXTS = [
    "a dog",
    "a cat",
    "a red car",
    "the kitchen",
    "a park",
    "two people",
    "a birthday party",
    "cooking pasta",
    "playing tennis",
    "reading a book",
    "a bicycle",
    "the beach",
    "a classroom",
    "washing dishes",
    "a crowded street",
    "a guitar",
    "painting a wall",
    "a football match",
]
SENTENCE_STARTS = {
    "A": "After watching, I think it is the kitchen.",
    "B": "Because of the ending, the dog.",
    "C": "Clearly the person leaves the room.",
    "D": "Definitely the second event.",
    "E": "Everything points to the park.",
}
NOT_GOLD_STARTS = [
    "It is the one with the dog.",
    "The person opens the door.",
    "Probably the kitchen.",
    "My answer is the park.",
    "Looking at the clip, the red car.",
]
MALFORMED = [
    "no_tags_letter_first",
    "no_tags_reasoning",
    "no_think",
    "two_answers",
    "nested_think",
    "text_outside",
    "unclosed_think",
    "empty_answer",
    "surrounding_whitespace",
    "answer_on_own_line",
]
VARIANTS = [
    "paren",
    "letter_dot_text",
    "answer_colon",
    "letter_paren",
    "boxed",
    "lowercase",
    "bold",
    "letter_because",
    "letter_dot_other_option",
    "sentence_answer",
]
HEDGES = ["hedge_or", "hedge_comma", "hedge_concat", "hedge_and", "hedge_slash", "hedge_both"]
WELL_FORMED = ["letter", "letter_spaced", "wrong_letter"]
GROUPS = [
    ("letter", 0.40),
    ("letter_spaced", 0.10),
    ("wrong_letter", 0.10),
    ("variant", 0.10),
    ("malformed", 0.15),
    ("hedged", 0.15),
]
_WELL_FORMED_RE = re.compile(
    r"<think>((?:(?!</?think>|</?answer>).)*)</think>\s*<answer>[ \t]*[A-Z][ \t]*</answer>", re.DOTALL
)


@dataclass
class Item:
    category: str
    prompt: str
    options: list[str]
    solution: str  # "<answer>B</answer>"
    text: str  # the completion's content


def _reasoning(rng: random.Random, n_options: int, target: int) -> str:
    parts = [rng.choice(OPENERS)]
    size = len(parts[0])
    while size < target:
        sentence = rng.choice(TEMPLATES).format(
            t=rng.randint(1, 59),
            s=rng.choice(SUBJECTS),
            s2=rng.choice(SUBJECTS),
            a=rng.choice(ACTIONS),
            o=LETTERS[rng.randrange(n_options)],
            n=rng.choice(["two", "three"]),
        )
        parts.append(sentence[0].upper() + sentence[1:])
        size += len(sentence) + 1
    parts.append(rng.choice(CLOSERS))
    body = " ".join(parts)
    return rng.choice(["", "\n", " "]) + body + rng.choice(["", "\n", " "])


def _think_length(rng: random.Random) -> int:
    return rng.randint(1200, 1500) if rng.random() < 0.1 else rng.randint(650, 1100)


def _hedge(rng: random.Random, kind: str, gold: str, other: str) -> str:
    a, b = (gold, other) if rng.random() < 0.5 else (other, gold)
    return {
        "hedge_or": f"{a} or {b}",
        "hedge_comma": f"{a}, {b}",
        "hedge_concat": f"{a}{b}",
        "hedge_and": f"{a} and {b}",
        "hedge_slash": f"{a}/{b}",
        "hedge_both": f"Both {a} and {b}",
    }[kind]


def _variant(rng: random.Random, kind: str, gold: str, options: list[str], other: str) -> str:
    g = LETTERS.index(gold)
    if kind == "sentence_answer":
        return SENTENCE_STARTS[gold] if rng.random() < 0.5 else rng.choice(NOT_GOLD_STARTS)
    return {
        "paren": f"({gold})",
        "letter_dot_text": f"{gold}. {options[g]}",
        "answer_colon": f"Answer: {gold}",
        "letter_paren": f"{gold})",
        "boxed": f"\\boxed{{{gold}}}",
        "lowercase": gold.lower(),
        "bold": f"**{gold}**",
        "letter_because": f"{gold} because {rng.choice(SUBJECTS)} {rng.choice(ACTIONS)}",
        "letter_dot_other_option": f"{gold}. {options[LETTERS.index(other)]}",
    }[kind]


def _malformed(rng: random.Random, kind: str, think: str, gold: str, other: str, options: list[str]) -> str:
    g = LETTERS.index(gold)
    sep = rng.choice(["\n", "", " ", "\n\n"])
    if kind == "no_tags_letter_first":
        return f"{gold}. {options[g]}. {think.strip()}"
    if kind == "no_tags_reasoning":
        return f"{think.strip()} The answer is {gold}."
    if kind == "no_think":
        return f"{think.strip()}{sep}<answer>{gold}</answer>" if rng.random() < 0.5 else f"<answer>{gold}</answer>"
    if kind == "two_answers":
        first, second = (gold, other) if rng.random() < 0.5 else (other, gold)
        return f"<think>{think}</think>{sep}<answer>{first}</answer>\n<answer>{second}</answer>"
    if kind == "nested_think":
        half = len(think) // 2
        return f"<think>{think[:half]}<think>{think[half:]}</think></think>{sep}<answer>{gold}</answer>"
    if kind == "text_outside":
        if rng.random() < 0.5:
            return f"<think>{think}</think>{sep}<answer>{gold}</answer>\nI hope this helps."
        return f"Sure, let me think.\n<think>{think}</think>{sep}<answer>{gold}</answer>"
    if kind == "unclosed_think":
        return f"<think>{think}{sep}<answer>{gold}</answer>"
    if kind == "empty_answer":
        return f"<think>{think}</think>{sep}<answer>{rng.choice(['', ' '])}</answer>"
    if kind == "surrounding_whitespace":
        return rng.choice(["\n", " ", "\n\n"]) + f"<think>{think}</think>{sep}<answer>{gold}</answer>" + "\n"
    if kind == "answer_on_own_line":
        return f"<think>{think}</think>{sep}<answer>\n{gold}\n</answer>"
    raise ValueError(kind)


def make_item(rng: random.Random, question: tuple[list[str], str] | None = None) -> Item:
    """One completion; ``question`` = ``(options, gold letter)`` to answer a given question."""
    if question is None:
        n_options = rng.choice([4, 5])
        options = rng.sample(OPTION_TEXTS, n_options)
        gold = LETTERS[rng.randrange(n_options)]
    else:
        options, gold = question
        n_options = len(options)
    other = rng.choice([x for x in LETTERS[:n_options] if x != gold])
    prompt = "What happens in the video?\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
    think = _reasoning(rng, n_options, _think_length(rng))
    group = rng.choices([g for g, _ in GROUPS], [w for _, w in GROUPS])[0]
    category, answer = group, gold
    if group == "letter_spaced":
        answer = rng.choice([" ", "  ", "\t"]) + gold + rng.choice([" ", "", "\t"])
    elif group == "wrong_letter":
        answer = rng.choice(["", " "]) + other + rng.choice(["", " "])
    elif group == "variant":
        category = rng.choice(VARIANTS)
        answer = _variant(rng, category, gold, options, other)
    elif group == "hedged":
        category = rng.choice(HEDGES)
        answer = _hedge(rng, category, gold, other)
    if group == "malformed":
        category = rng.choice(MALFORMED)
        text = _malformed(rng, category, think, gold, other, options)
    else:
        sep = rng.choice(["\n", "", " ", "\n\n"])
        text = f"<think>{think}</think>{sep}<answer>{answer}</answer>"
    return Item(category, prompt, options, f"<answer>{gold}</answer>", text)


def make_items(n: int, seed: int, group: int = 1) -> list[Item]:
    """``n`` completions; with ``group`` > 1, laid out as GRPO trainers lay out a batch: each question
    answered by ``group`` consecutive completions (TRL's and verl's repeated prompts)."""
    rng = random.Random(seed)
    items: list[Item] = []
    while len(items) < n:
        first = make_item(rng)
        items.append(first)
        items.extend(make_item(rng, (first.options, first.solution[len("<answer>")])) for _ in range(group - 1))
    return items[:n]


def is_well_formed(text: str) -> bool:
    """The benchmark's own definition (see the module docstring), independent of both scorers."""
    return _WELL_FORMED_RE.fullmatch(text) is not None


# --------------------------------------------------------------------------------------------------
# Scoring and timing
# --------------------------------------------------------------------------------------------------

Scorer = Callable[[list, list, list], tuple[list[float], list[float]]]


def ours_r1(completions: list, solutions: list, options: list) -> tuple[list[float], list[float]]:
    accuracy = [mcq_accuracy(c, s) for c, s in zip(completions, solutions, strict=True)]
    return accuracy, [r1_format(c) for c in completions]


def ours_tinyllava(completions: list, solutions: list, options: list) -> tuple[list[float], list[float]]:
    accuracy = [mcq_accuracy(c, s) for c, s in zip(completions, solutions, strict=True)]
    return accuracy, [tinyllava_format(c) for c in completions]


def ours_r1_options(completions: list, solutions: list, options: list) -> tuple[list[float], list[float]]:
    accuracy = [mcq_accuracy(c, s, o) for c, s, o in zip(completions, solutions, options, strict=True)]
    return accuracy, [r1_format(c) for c in completions]


def reference(completions: list, solutions: list, prompts: list) -> tuple[list[float], list[float]]:
    return reference_accuracy_reward(completions, solutions, prompts=prompts), reference_format_reward(completions)


def time_ours(scorer: Scorer, completions: list, solutions: list, options: list) -> tuple[float, int]:
    """Best seconds per pass over all completions (best of 3 measurements of >= 1 s) and passes per
    measurement."""
    start = time.perf_counter()
    scorer(completions, solutions, options)
    passes = max(1, int(MIN_TIMED_S / max(time.perf_counter() - start, 1e-9)) + 1)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(passes):
            scorer(completions, solutions, options)
        best = min(best, (time.perf_counter() - start) / passes)
    return best, passes


def time_reference(
    completions: list, solutions: list, prompts: list, limit: int | None, seed: int
) -> tuple[float, list[int], str]:
    """Seconds per completion, the indices it scored, and a note on what was timed."""
    n = len(completions)
    rng = random.Random(seed + 1)
    probe = sorted(rng.sample(range(n), min(n, 300)))
    reference([completions[i] for i in probe[:50]], [solutions[i] for i in probe[:50]], prompts)  # warm-up
    start = time.perf_counter()
    reference([completions[i] for i in probe], [solutions[i] for i in probe], prompts)
    estimate = (time.perf_counter() - start) / len(probe) * n
    if limit is None and estimate > REFERENCE_MAX_S:
        limit = REFERENCE_SUBSET
    if limit is None or limit >= n:
        subset, note = list(range(n)), f"one full pass over all {n:,}"
    else:
        subset = sorted(random.Random(seed + 2).sample(range(n), limit))
        note = f"seeded random subset of {limit:,} of {n:,} (full pass estimated at {estimate:.0f} s), extrapolated"
    subset_completions = [completions[i] for i in subset]
    subset_solutions = [solutions[i] for i in subset]
    start = time.perf_counter()
    reference(subset_completions, subset_solutions, prompts)
    return (time.perf_counter() - start) / len(subset), subset, note


def pin_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no os.sched_setaffinity); one process, one thread"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu} with os.sched_setaffinity; one process, one thread"


# --------------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------------


@dataclass
class Scores:
    acc: list[float]
    r1: list[float]
    tiny: list[float]
    acc_options: list[float]


def _short(text: str, keep: int = 60) -> str:
    """The completion with the middle of a long think block elided."""

    def elide(m: re.Match) -> str:
        body = m.group(1)
        if len(body) <= 2 * keep:
            return m.group(0)
        return f"<think>{body[:keep]}…[{len(body) - keep - 20} chars]…{body[-20:]}</think>"

    shown = re.sub(r"<think>(.*?)</think>", elide, text, count=1, flags=re.DOTALL)
    if len(shown) > 260:
        shown = shown[:120] + f"…[{len(shown) - 240} chars]…" + shown[-120:]
    return repr(shown)


def report_agreement(
    items: list[Item], indices: list[int], ours: Scores, ref_acc: dict[int, float], ref_fmt: dict[int, float]
) -> bool:
    """Print agreement on well-formed completions and the disagreements per category; True when the
    well-formed ones agree exactly."""
    well = [i for i in indices if is_well_formed(items[i].text)]
    acc_ok = sum(ours.acc[i] == ref_acc[i] for i in well)
    r1_ok = sum((ours.r1[i] > 0) == (ref_fmt[i] > 0) for i in well)
    tiny_ok = sum(ours.tiny[i] == ref_fmt[i] for i in well)
    total = len(well) or 1
    print(
        f"\nagreement on well-formed completions ({len(well):,} of {len(indices):,} scored by both): "
        f"accuracy {100 * acc_ok / total:.2f} %, format r1>0 vs reference>0 {100 * r1_ok / total:.2f} %, "
        f"tinyllava_format == reference value {100 * tiny_ok / total:.2f} %"
    )
    other = [i for i in indices if not is_well_formed(items[i].text)]
    print(
        f"agreement on the other {len(other):,}: accuracy "
        f"{100 * sum(ours.acc[i] == ref_acc[i] for i in other) / (len(other) or 1):.2f} %, format "
        f"{100 * sum((ours.r1[i] > 0) == (ref_fmt[i] > 0) for i in other) / (len(other) or 1):.2f} %"
    )

    kinds = {
        "accuracy: ours 1, ref 0": lambda i: ours.acc[i] == 1 and ref_acc[i] == 0,
        "accuracy: ours 0, ref 1": lambda i: ours.acc[i] == 0 and ref_acc[i] == 1,
        "format: ours r1 1, ref 0": lambda i: ours.r1[i] > 0 and ref_fmt[i] == 0,
        "format: ours r1 0, ref > 0": lambda i: ours.r1[i] == 0 and ref_fmt[i] > 0,
        "format: tinyllava value != ref": lambda i: (
            (ours.tiny[i] > 0) == (ref_fmt[i] > 0) and ours.tiny[i] != ref_fmt[i]
        ),
    }
    per_cat: dict[str, Counter] = defaultdict(Counter)
    examples: dict[tuple[str, str], int] = {}
    for i in indices:
        cat = items[i].category
        per_cat[cat]["n"] += 1
        per_cat[cat]["wf"] += is_well_formed(items[i].text)
        for kind, test in kinds.items():
            if test(i):
                per_cat[cat][kind] += 1
                examples.setdefault((cat, kind), i)
    cats = sorted(per_cat, key=lambda c: (-per_cat[c]["n"], c))
    print(
        f"\n{'category':<26}{'n':>7}{'well-formed':>12}{'acc ours>ref':>13}{'acc ref>ours':>13}"
        f"{'fmt ours>ref':>13}{'fmt ref>ours':>13}"
    )
    for cat in cats:
        c = per_cat[cat]
        counts = [c[k] for k in list(kinds)[:4]]
        print(f"{cat:<26}{c['n']:>7,}{c['wf']:>12,}" + "".join(f"{x:>13,}" for x in counts))
    print("\ndisagreements, one example each (gold in brackets):")
    for (cat, kind), i in sorted(examples.items(), key=lambda kv: (cats.index(kv[0][0]), kv[0][1])):
        it = items[i]
        print(
            f"  {cat} — {kind}: {per_cat[cat][kind]:,}×  [gold {it.solution[8]}]  ours acc {ours.acc[i]:.0f} "
            f"r1 {ours.r1[i]:.0f} tiny {ours.tiny[i]:.3f} | ref acc {ref_acc[i]:.0f} fmt {ref_fmt[i]:.3f}"
        )
        print(f"      {_short(it.text)}")
    changed = [i for i in range(len(items)) if ours.acc[i] != ours.acc_options[i]]
    by_cat = Counter(items[i].category for i in changed)
    print(f"\nours with options vs without: {len(changed):,} accuracy differences {dict(by_cat)}")
    return acc_ok == r1_ok == tiny_ok == len(well)


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="synthetic completions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reference-limit",
        type=int,
        default=None,
        help="time the reference on a seeded random subset of this size (default: all, unless a "
        f"full pass would exceed {REFERENCE_MAX_S:.0f} s; then {REFERENCE_SUBSET:,})",
    )
    args = parser.parse_args(argv)
    pinned = pin_one_cpu()

    items = make_items(args.n, args.seed)
    completions = [[{"role": "assistant", "content": it.text}] for it in items]
    solutions = [it.solution for it in items]
    options = [it.options for it in items]
    prompts = [it.prompt for it in items]
    mean_bytes = sum(len(it.text.encode()) for it in items) / len(items)
    groups = Counter("well-formed" if is_well_formed(it.text) else it.category for it in items)
    print(
        f"{len(items):,} completions, mean {mean_bytes:.0f} bytes, seed {args.seed}; {pinned}; "
        f"python {sys.version.split()[0]}"
    )
    print(f"well-formed: {groups.pop('well-formed', 0):,}; others by category: {dict(sorted(groups.items()))}")

    ours_lines = {
        "ours r1_format + mcq_accuracy": ours_r1,
        "ours tinyllava_format + mcq_accuracy": ours_tinyllava,
        "ours r1_format + mcq_accuracy, with options": ours_r1_options,
    }
    timings = {name: time_ours(fn, completions, solutions, options) for name, fn in ours_lines.items()}
    ref_per, subset, note = time_reference(completions, solutions, prompts, args.reference_limit, args.seed)

    acc, r1 = ours_r1(completions, solutions, options)
    acc_options, _ = ours_r1_options(completions, solutions, options)
    _, tiny = ours_tinyllava(completions, solutions, options)
    sub_acc, sub_fmt = reference([completions[i] for i in subset], [solutions[i] for i in subset], prompts)
    agree = report_agreement(
        items,
        subset,
        Scores(acc, r1, tiny, acc_options),
        dict(zip(subset, sub_acc, strict=True)),
        dict(zip(subset, sub_fmt, strict=True)),
    )

    print(f"\n{'scorer (format + accuracy)':<46}{'s / pass':>10}{'completions/s':>15}{'vs reference':>14}  timed")
    for name, (per_pass, passes) in timings.items():
        rate = len(items) / per_pass
        print(f"{name:<46}{per_pass:>10.4f}{rate:>15,.0f}{rate * ref_per:>13,.0f}×  best of 3 × {passes} passes")
    print(
        f"{'reference (TinyLLaVA-Video-R1, re-implemented)':<46}{ref_per * len(items):>10.2f}"
        f"{1 / ref_per:>15,.0f}{1:>13}×  {note}"
    )
    primary = len(items) / timings["ours r1_format + mcq_accuracy"][0]
    ratio = primary * ref_per
    print(
        f"ours (r1_format + mcq_accuracy, no options): {primary:,.0f} completions/s on one core "
        f"(goal >= 100,000/s: {'met' if primary >= 100_000 else 'NOT met'}; "
        f"goal >= 100× the reference: {'met' if ratio >= 100 else 'NOT met'})"
    )
    print(f"ratio (ours / reference, format + accuracy): {ratio:,.0f}×")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
