"""Reward functions with TRL's call convention, for ``GRPOTrainer(reward_funcs=[…])``.

TRL calls ``f(prompts=…, completions=…, completion_ids=…, trainer_state=…, **dataset_columns)`` and
expects one float (or ``None``: "no opinion", turned into NaN and ignored) per completion. Completions
are strings or conversational (``[{"role": "assistant", "content": …}]``). The gold comes from the
``solution`` column (``<answer>B</answer>``) or the ``answer`` column (index or letter); option texts
from ``options`` when the dataset has them — the columns ``curate export --to trl`` writes.

    from trl import GRPOConfig, GRPOTrainer
    from rewards.trl import tinyllava_reward          # or: mcq_accuracy_reward, format_reward

    trainer = GRPOTrainer(model=model, reward_funcs=[tinyllava_reward],
                          args=GRPOConfig(output_dir="out"), train_dataset=dataset)

Each function never raises on any completion; the ``get_*`` factories return picklable callables and
raise ``ValueError`` only for invalid settings, as TRL's do.
"""

from __future__ import annotations

from typing import Any

from rewards import shaping
from rewards.combine import tinyllava_combine
from rewards.format import TINYLLAVA_LENGTH, r1_format, tinyllava_format
from rewards.math_answer import math_accuracy
from rewards.mcq import _options, gold_index, mcq_accuracy

__all__ = [
    "format_reward",
    "tinyllava_format_reward",
    "mcq_accuracy_reward",
    "tinyllava_reward",
    "think_format_reward",
    "accuracy_reward",
    "reasoning_accuracy_reward",
    "get_cosine_scaled_reward",
    "get_repetition_penalty_reward",
    "get_soft_overlong_punishment",
    "repeated_sentence_penalty_reward",
]


def _list(value: Any) -> list:
    if value is None or isinstance(value, (str, bytes, dict)):
        return []
    try:
        return list(value)
    except TypeError:
        return []


def _at(column: Any, i: int) -> Any:
    values = _list(column)
    return values[i] if i < len(values) else None


def _gold(kwargs: dict, i: int) -> Any:
    solution = _at(kwargs.get("solution"), i)
    return solution if solution is not None else _at(kwargs.get("answer"), i)


def _mcq(completion: Any, kwargs: dict, i: int) -> float | None:
    options = _options(_at(kwargs.get("options"), i))
    gold = _gold(kwargs, i)
    if gold_index(gold, options) is None:
        return None
    return mcq_accuracy(completion, gold, options)


def format_reward(completions: Any, **kwargs: Any) -> list[float]:
    """Strict R1 format (:func:`rewards.format.r1_format`): 1.0 or 0.0."""
    return [r1_format(c) for c in _list(completions)]


def tinyllava_format_reward(completions: Any, **kwargs: Any) -> list[float]:
    """TinyLLaVA-Video-R1's format reward with its length term, L = 1200 characters
    (:func:`rewards.format.tinyllava_format`). Settings are not keyword arguments here because TRL passes
    every dataset column as one: a column named ``length`` must not change the reward."""
    return [tinyllava_format(c, TINYLLAVA_LENGTH) for c in _list(completions)]


def mcq_accuracy_reward(completions: Any, **kwargs: Any) -> list[float | None]:
    """Multiple-choice accuracy of the ``<answer>`` block (:func:`rewards.mcq.mcq_accuracy`); ``None``
    where the gold is unreadable."""
    return [_mcq(c, kwargs, i) for i, c in enumerate(_list(completions))]


def tinyllava_reward(completions: Any, **kwargs: Any) -> list[float | None]:
    """TinyLLaVA-Video-R1's whole reward, ``a + (2a − 1)·f`` and −2 for 0
    (:func:`rewards.combine.tinyllava_reward`); ``None`` where the gold is unreadable."""
    out: list[float | None] = []
    for i, c in enumerate(_list(completions)):
        a = _mcq(c, kwargs, i)
        out.append(None if a is None else tinyllava_combine(a, tinyllava_format(c, TINYLLAVA_LENGTH)))
    return out


def think_format_reward(completions: Any, **kwargs: Any) -> list[float]:
    """TRL's ``think_format_reward`` (:func:`rewards.shaping.think_format`)."""
    return [shaping.think_format(c) for c in _list(completions)]


def accuracy_reward(completions: Any, solution: Any = None, **kwargs: Any) -> list[float | None]:
    """TRL's math ``accuracy_reward`` through math-verify (the ``math`` extra), with timeouts that work
    off the main thread; ``None`` where the gold cannot be parsed."""
    solutions = _list(solution)
    return [math_accuracy(c, solutions[i] if i < len(solutions) else None) for i, c in enumerate(_list(completions))]


def reasoning_accuracy_reward(
    completions: Any, solution: Any = None, reasoning_delimiters: list[str] | None = None, **kwargs: Any
) -> list[float | None]:
    """TRL's ``reasoning_accuracy_reward``: the text after the first reasoning delimiter found
    (default ``</think>``) is scored with :func:`accuracy_reward`; no delimiter → 0.0 (reasoning not
    finished); ``None`` where the gold cannot be parsed."""
    from rewards._text import as_text

    delimiters = reasoning_delimiters or ["</think>"]
    solutions = _list(solution)
    out: list[float | None] = []
    for i, c in enumerate(_list(completions)):
        text = as_text(c) or ""
        delimiter = next((d for d in delimiters if isinstance(d, str) and d and d in text), None)
        gold = solutions[i] if i < len(solutions) else None
        if delimiter is None:
            out.append(None if math_accuracy("", gold) is None else 0.0)
            continue
        out.append(math_accuracy(text.split(delimiter)[-1], gold))
    return out


def _length(completion: Any, ids: Any) -> int:
    tokens = _list(ids)
    if tokens:
        return len(tokens)
    from rewards._text import as_text

    return len(as_text(completion) or "")  # no token ids given: characters stand in


class CosineScaledReward:
    """Picklable form of TRL's ``get_cosine_scaled_reward`` (see :func:`rewards.shaping.cosine_scaled`).
    Correctness is the multiple-choice accuracy when the gold is a choice, else math-verify's."""

    __name__ = "cosine_scaled_reward"

    def __init__(
        self, max_len: int, min_value_wrong=-1.0, max_value_wrong=-0.5, min_value_correct=0.5, max_value_correct=1.0
    ) -> None:
        if max_len <= 0:
            raise ValueError("max_len must be positive")
        self.max_len = max_len
        self.values = (min_value_wrong, max_value_wrong, min_value_correct, max_value_correct)

    def __call__(self, completions: Any, solution: Any = None, completion_ids: Any = None, **kwargs: Any):
        kwargs["solution"] = solution
        out: list[float | None] = []
        for i, c in enumerate(_list(completions)):
            correct = _mcq(c, kwargs, i)
            if correct is None:
                correct = math_accuracy(c, _gold(kwargs, i))
            if correct is None:
                out.append(None)
                continue
            length = _length(c, _at(completion_ids, i))
            out.append(shaping.cosine_scaled(correct > 0, length, self.max_len, *self.values))
        return out


def get_cosine_scaled_reward(
    max_len: int,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
) -> CosineScaledReward:
    """TRL's factory: ``reward_funcs=[get_cosine_scaled_reward(max_len=512)]``."""
    return CosineScaledReward(max_len, min_value_wrong, max_value_wrong, min_value_correct, max_value_correct)


class RepetitionPenaltyReward:
    """Picklable form of TRL's ``get_repetition_penalty_reward`` on token ids (whitespace words when no
    ids are given); see :func:`rewards.shaping.repetition_penalty`."""

    __name__ = "repetition_penalty_reward"

    def __init__(self, ngram_size: int = 3, max_penalty: float = -1.0) -> None:
        if ngram_size <= 0:
            raise ValueError(f"ngram_size {ngram_size} must be positive")
        if max_penalty > 0:
            raise ValueError(f"max_penalty {max_penalty} should not be positive")
        self.ngram_size, self.max_penalty = ngram_size, max_penalty

    def __call__(self, completions: Any = None, completion_ids: Any = None, **kwargs: Any) -> list[float]:
        from rewards._text import as_text

        ids = _list(completion_ids)
        texts = _list(completions)
        out = []
        for i in range(max(len(ids), len(texts))):
            tokens = _list(ids[i]) if i < len(ids) else (as_text(texts[i]) or "").split()
            out.append(shaping.repetition_penalty(tokens, self.ngram_size, self.max_penalty))
        return out


def get_repetition_penalty_reward(ngram_size: int = 3, max_penalty: float = -1.0) -> RepetitionPenaltyReward:
    """TRL's factory: ``reward_funcs=[get_repetition_penalty_reward(ngram_size=3, max_penalty=-1.0)]``."""
    return RepetitionPenaltyReward(ngram_size, max_penalty)


class SoftOverlongPunishment:
    """Picklable form of TRL's ``get_soft_overlong_punishment`` (:func:`rewards.shaping.soft_overlong`)."""

    __name__ = "soft_overlong_punishment_reward"

    def __init__(self, max_completion_len: int, soft_punish_cache: int) -> None:
        if soft_punish_cache <= 0 or max_completion_len <= soft_punish_cache:
            raise ValueError("need 0 < soft_punish_cache < max_completion_len")
        self.max_completion_len, self.soft_punish_cache = max_completion_len, soft_punish_cache

    def __call__(self, completions: Any = None, completion_ids: Any = None, **kwargs: Any) -> list[float]:
        ids = _list(completion_ids)
        texts = _list(completions)
        return [
            shaping.soft_overlong(
                _length(texts[i] if i < len(texts) else None, ids[i] if i < len(ids) else None),
                self.max_completion_len,
                self.soft_punish_cache,
            )
            for i in range(max(len(ids), len(texts)))
        ]


def get_soft_overlong_punishment(max_completion_len: int, soft_punish_cache: int) -> SoftOverlongPunishment:
    """TRL's factory: ``reward_funcs=[get_soft_overlong_punishment(1024, 256)]``."""
    return SoftOverlongPunishment(max_completion_len, soft_punish_cache)


def repeated_sentence_penalty_reward(completions: Any, **kwargs: Any) -> list[float]:
    """−1.0 for completions that repeat a sentence (:func:`rewards.shaping.has_repeated_sentence`),
    else 0.0."""
    return [shaping.repeated_sentence_penalty(c, -1.0) for c in _list(completions)]
