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

Each function never raises on any completion; the ``get_*`` factories return picklable callables. The
functions TRL also ships (``think_format_reward``, ``accuracy_reward``, ``reasoning_accuracy_reward``,
``get_cosine_scaled_reward``, ``get_repetition_penalty_reward``, ``get_soft_overlong_punishment``) take the
same positional and keyword arguments as TRL's (checked against TRL 1.16.0) and give TRL's values;
they also accept plain-string completions. Trailing end-of-sequence tokens are removed before scoring
(:func:`rewards._text.completion_text`). Every column is turned into a list once per call, so a batch
of N completions costs O(N).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rewards import shaping
from rewards._text import completion_text, strict_r1_parts
from rewards.combine import accuracy, score_question
from rewards.format import TINYLLAVA_LENGTH, r1_format, tinyllava_format
from rewards.math_answer import math_accuracy
from rewards.mcq import Question, question_accuracy, read_question

__all__ = [
    "format_reward",
    "tinyllava_format_reward",
    "mcq_accuracy_reward",
    "tinyllava_reward",
    "problem_type_accuracy_reward",
    "think_format_reward",
    "accuracy_reward",
    "reasoning_accuracy_reward",
    "get_cosine_scaled_reward",
    "get_repetition_penalty_reward",
    "get_soft_overlong_punishment",
    "repeated_sentence_penalty_reward",
]


def _list(value: Any) -> list:
    """A column (list, tuple, numpy array, pyarrow list…) as a list; ``[]`` for a missing or scalar one."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return []
    if isinstance(value, list):
        return value
    try:
        return list(value)
    except TypeError:
        return []


def _texts(completions: Any) -> list[str | None]:
    return list(map(completion_text, _list(completions)))


def _at(values: list, i: int) -> Any:
    return values[i] if i < len(values) else None


def _column(value: Any, n: int) -> list:
    """A column as a list of exactly ``n`` values: cut, or padded with ``None`` (one C-level copy)."""
    values = _list(value)
    if len(values) == n:
        return values
    return values[:n] + [None] * (n - len(values))


def _split(text: str | None) -> tuple[str, str] | None:
    return strict_r1_parts(text) if text is not None else None


class _Gold:
    """The gold and option columns of one call, each converted to a list once: the gold is the
    ``solution`` column's value, else the ``answer`` column's; options come from ``options``."""

    def __init__(self, kwargs: dict) -> None:
        self.solutions = _list(kwargs.get("solution"))
        self.answers = _list(kwargs.get("answer"))
        self.options = _list(kwargs.get("options"))

    def gold(self, i: int) -> Any:
        solution = _at(self.solutions, i)
        return solution if solution is not None else _at(self.answers, i)

    def rows(self, n: int) -> Iterator[tuple[Any, Any]]:
        """``(gold, options)`` of rows ``0..n-1``, the columns walked once."""
        return zip(*self.columns(n), strict=True)

    def columns(self, n: int) -> tuple[list, list]:
        """The golds and the options of rows ``0..n-1``, each a list of ``n`` values."""
        solutions = _column(self.solutions, n)
        if not self.answers:  # no answer column: the golds are the solution column as it is
            return solutions, _column(self.options, n)
        answers = _column(self.answers, n)
        golds = [a if s is None else s for s, a in zip(solutions, answers, strict=True)]
        return golds, _column(self.options, n)

    @staticmethod
    def mcq_of(text: str | None, gold: Any, options: Any, parts: Any = None) -> float | None:
        """Multiple-choice accuracy of one row; ``None`` when its gold is unreadable. ``parts``:
        ``strict_r1_parts(text)`` when the caller has it (else pass ``_split(text)``)."""
        question = _readable_question(gold, options)
        return None if question is None else question_accuracy(text, parts, question)

    def mcq(self, text: str | None, i: int) -> float | None:
        """Multiple-choice accuracy of row ``i``; ``None`` when its gold is unreadable."""
        return self.mcq_of(text, self.gold(i), _at(self.options, i), _split(text))


def format_reward(completions: Any, **kwargs: Any) -> list[float]:
    """Strict R1 format (:func:`rewards.format.r1_format`): 1.0 or 0.0."""
    return [r1_format(t) for t in _texts(completions)]


def tinyllava_format_reward(completions: Any, **kwargs: Any) -> list[float]:
    """TinyLLaVA-Video-R1's format reward with its length term, L = 1200 characters
    (:func:`rewards.format.tinyllava_format`). Settings are not keyword arguments here because TRL passes
    every dataset column as one: a column named ``length`` must not change the reward."""
    return [tinyllava_format(t, TINYLLAVA_LENGTH) for t in _texts(completions)]


def mcq_accuracy_reward(completions: Any, **kwargs: Any) -> list[float | None]:
    """Multiple-choice accuracy of the ``<answer>`` block (:func:`rewards.mcq.mcq_accuracy`); ``None``
    where the gold is unreadable."""
    texts = _texts(completions)
    return [_Gold.mcq_of(t, g, o, _split(t)) for t, (g, o) in zip(texts, _Gold(kwargs).rows(len(texts)), strict=True)]


def tinyllava_reward(completions: Any, **kwargs: Any) -> list[float | None]:
    """TinyLLaVA-Video-R1's whole reward, ``a + (2a − 1)·f`` and −2 for 0
    (:func:`rewards.combine.tinyllava_reward`); ``None`` where the gold is unreadable."""
    texts = _texts(completions)
    golds, options = _Gold(kwargs).columns(len(texts))
    out: list[float | None] = []
    last_gold = last_options = question = _UNSET
    for t, g, o in zip(texts, golds, options, strict=True):
        # A GRPO group's rows share their gold and options: read the question once per run of them.
        same = o is last_options and (g is last_gold or type(g) is str and type(last_gold) is str and g == last_gold)
        if not same:
            question, last_gold, last_options = _readable_question(g, o), g, o
        out.append(None if question is None else score_question(t, question)[0])
    return out


_UNSET = object()


def _readable_question(gold: Any, options: Any) -> Question | None:
    """The question a row is scored against (:func:`rewards.mcq.read_question`, as :func:`rewards.combine.score`
    reads it; cached per distinct gold and options), ``None`` when its gold is unreadable."""
    read = read_question(gold, options)
    return None if read[1] is None else read


def problem_type_accuracy_reward(completions: Any, **kwargs: Any) -> list[float | None]:
    """Accuracy by each row's ``problem_type`` column, as Video-R1's accuracy reward dispatches it
    (:func:`rewards.combine.accuracy`): ``multiple choice`` (options from ``options``, letters in front
    of the option texts allowed), ``numerical`` (equal to 2 decimals), ``regression``
    (1 − relative error, clipped), ``OCR`` (1 − WER), ``free-form`` (mean ROUGE F1), ``math``
    (math-verify). The gold is ``solution`` (``<answer>…</answer>`` or bare), else ``answer``; a row
    without ``problem_type`` is multiple choice. ``None`` where the gold is unreadable (multiple
    choice) or unparseable (math), so one reward function trains a mixed Video-R1 set."""
    gold = _Gold(kwargs)
    kinds = _list(kwargs.get("problem_type"))
    out: list[float | None] = []
    for i, t in enumerate(_texts(completions)):
        kind = str(_at(kinds, i) or "multiple choice")
        if kind.strip().lower() in ("multiple choice", "multiple_choice", "mcq"):
            out.append(gold.mcq(t, i))
        else:
            out.append(accuracy(t, gold.gold(i), kind, _at(gold.options, i)))
    return out


def think_format_reward(completions: Any, **kwargs: Any) -> list[float]:
    """TRL's ``think_format_reward`` (:func:`rewards.shaping.think_format`)."""
    return [shaping.think_format(t) for t in _texts(completions)]


def accuracy_reward(completions: Any, solution: Any = None, **kwargs: Any) -> list[float | None]:
    """TRL's math ``accuracy_reward`` through math-verify (the ``math`` extra), with timeouts that work
    off the main thread; ``None`` where the gold cannot be parsed."""
    solutions = _list(solution)
    return [math_accuracy(t, _at(solutions, i)) for i, t in enumerate(_texts(completions))]


def reasoning_accuracy_reward(
    completions: Any, solution: Any = None, reasoning_delimiters: list[str] | None = None, **kwargs: Any
) -> list[float | None]:
    """TRL's ``reasoning_accuracy_reward``: the text after the first reasoning delimiter found (default
    ``</think>``; the text after its last occurrence) is scored with :func:`accuracy_reward`. No delimiter
    → 0.0 whatever the gold (unfinished reasoning is penalised, as TRL does); ``None`` where the gold
    cannot be parsed."""
    delimiters = ["</think>"] if reasoning_delimiters is None else reasoning_delimiters
    solutions = _list(solution)
    out: list[float | None] = []
    for i, text in enumerate(_texts(completions)):
        text = text or ""
        delimiter = next((d for d in delimiters if isinstance(d, str) and d and d in text), None)
        out.append(0.0 if delimiter is None else math_accuracy(text.split(delimiter)[-1], _at(solutions, i)))
    return out


def _lengths(texts: list[str | None], completion_ids: Any) -> list[int]:
    """Token counts from ``completion_ids`` (an empty id list is 0 tokens, as in TRL); characters stand
    in only when no ids are given at all."""
    if completion_ids is None:
        return [len(t or "") for t in texts]
    return [len(_list(ids)) for ids in _list(completion_ids)]


class CosineScaledReward:
    """Picklable form of TRL's ``get_cosine_scaled_reward`` (see :func:`rewards.shaping.cosine_scaled`):
    called as TRL's, ``(completions, solution, completion_ids, **kwargs)``. Correctness is the
    multiple-choice accuracy when the gold is a choice, else math-verify's (TRL: math-verify only)."""

    __name__ = "cosine_scaled_reward"

    def __init__(
        self, max_len: int, min_value_wrong=-1.0, max_value_wrong=-0.5, min_value_correct=0.5, max_value_correct=1.0
    ) -> None:
        if max_len <= 0:
            raise ValueError("max_len must be positive")  # TRL would divide by zero on the first call
        self.max_len = max_len
        self.values = (min_value_wrong, max_value_wrong, min_value_correct, max_value_correct)

    def __call__(self, completions: Any, solution: Any = None, completion_ids: Any = None, **kwargs: Any):
        gold = _Gold({**kwargs, "solution": solution})
        texts = _texts(completions)
        lengths = _lengths(texts, completion_ids)
        out: list[float | None] = []
        for i, t in enumerate(texts):
            correct = gold.mcq(t, i)
            if correct is None:
                correct = math_accuracy(t, gold.gold(i))
            if correct is None:
                out.append(None)
                continue
            out.append(shaping.cosine_scaled(correct > 0, _at(lengths, i) or 0, self.max_len, *self.values))
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
    """Picklable form of TRL's ``get_repetition_penalty_reward``, called as TRL's:
    ``(completion_ids, **kwargs)`` with the token ids first (positional or keyword); n-grams of token ids
    (see :func:`rewards.shaping.repetition_penalty`). Without ids, the whitespace words of
    ``completions`` stand in."""

    __name__ = "repetition_penalty_reward"

    def __init__(self, ngram_size: int = 3, max_penalty: float = -1.0) -> None:
        if ngram_size <= 0:
            raise ValueError(f"ngram_size {ngram_size} must be positive")  # TRL would divide by zero
        if max_penalty > 0:
            raise ValueError(f"max_penalty {max_penalty} should not be positive")
        self.ngram_size, self.max_penalty = ngram_size, max_penalty

    def __call__(self, completion_ids: Any = None, completions: Any = None, **kwargs: Any) -> list[float]:
        if completion_ids is not None:
            sequences = [_list(ids) for ids in _list(completion_ids)]
        else:
            sequences = [(t or "").split() for t in _texts(completions)]
        return [shaping.repetition_penalty(tokens, self.ngram_size, self.max_penalty) for tokens in sequences]


def get_repetition_penalty_reward(ngram_size: int = 3, max_penalty: float = -1.0) -> RepetitionPenaltyReward:
    """TRL's factory: ``reward_funcs=[get_repetition_penalty_reward(ngram_size=3, max_penalty=-1.0)]``."""
    return RepetitionPenaltyReward(ngram_size, max_penalty)


class SoftOverlongPunishment:
    """Picklable form of TRL's ``get_soft_overlong_punishment`` (:func:`rewards.shaping.soft_overlong`),
    called as TRL's: ``(completion_ids, **kwargs)``. Settings are not checked, as in TRL
    (``soft_punish_cache=0`` is a hard limit at ``max_completion_len``). Without ids, the characters of
    ``completions`` stand in for tokens."""

    __name__ = "soft_overlong_punishment_reward"

    def __init__(self, max_completion_len: int, soft_punish_cache: int) -> None:
        self.max_completion_len, self.soft_punish_cache = max_completion_len, soft_punish_cache

    def __call__(self, completion_ids: Any = None, completions: Any = None, **kwargs: Any) -> list[float]:
        lengths = _lengths(_texts(completions), completion_ids)
        return [shaping.soft_overlong(n, self.max_completion_len, self.soft_punish_cache) for n in lengths]


def get_soft_overlong_punishment(max_completion_len: int, soft_punish_cache: int) -> SoftOverlongPunishment:
    """TRL's factory: ``reward_funcs=[get_soft_overlong_punishment(1024, 256)]``."""
    return SoftOverlongPunishment(max_completion_len, soft_punish_cache)


def repeated_sentence_penalty_reward(completions: Any, **kwargs: Any) -> list[float]:
    """−1.0 for completions that repeat a sentence (:func:`rewards.shaping.has_repeated_sentence`),
    else 0.0."""
    return [shaping.repeated_sentence_penalty(t, -1.0) for t in _texts(completions)]
