"""Composite rewards: accuracy by problem type, the TinyLLaVA-Video-R1 combination, Video-R1's temporal
bonus, and :func:`score`, the one entry point the trainer adapters share."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from rewards._text import ANSWER_CLOSE, completion_text, strict_r1_parts, strip_end_tokens
from rewards.format import TINYLLAVA_LENGTH, tinyllava_format, tinyllava_format_of
from rewards.gold import read_gold
from rewards.math_answer import math_accuracy
from rewards.mcq import CACHE_SIZE, Question, mcq_accuracy, question_accuracy, read_question
from rewards.numeric import numerical_accuracy, regression_score
from rewards.text_match import freeform_score, ocr_score

PROBLEM_TYPES = ("multiple choice", "numerical", "regression", "ocr", "free-form", "math")
MODES = ("tinyllava", "sum", "weighted")
MCQ_KINDS = ("multiple choice", "multiple_choice", "mcq")
_DEFAULT_SCALE = float(TINYLLAVA_LENGTH)


def accuracy(completion: Any, gold: Any, problem_type: str = "multiple choice", options: Any = None) -> float | None:
    """Accuracy of the ``<answer>`` block for Video-R1's problem types: ``multiple choice``
    (:func:`~rewards.mcq.mcq_accuracy`), ``numerical``, ``regression``, ``OCR``, ``free-form``, ``math``.
    An unknown type scores 0.0; ``math`` gives ``None`` for an unparseable gold."""
    kind = str(problem_type or "multiple choice").strip().lower()
    if kind in MCQ_KINDS:
        return mcq_accuracy(completion, gold, options)
    if kind == "numerical":
        return numerical_accuracy(completion, gold)
    if kind == "regression":
        return regression_score(completion, gold)
    if kind == "ocr":
        return ocr_score(completion, gold)
    if kind in ("free-form", "freeform", "free_form"):
        return freeform_score(completion, gold)
    if kind == "math":
        return math_accuracy(completion, gold)
    return 0.0


def tinyllava_combine(a: float, f: float) -> float:
    """TinyLLaVA-Video-R1's combination of accuracy ``a`` and format ``f``:
    ``r = a + (2a − 1) · f``, and ``r = −2`` when that is 0 (a wrong answer with no format)."""
    r = a + (2 * a - 1) * f
    return -2.0 if r == 0 else r


def tinyllava_reward(completion: Any, gold: Any, options: Any = None, length: int = TINYLLAVA_LENGTH) -> float:
    """The TinyLLaVA-Video-R1 reward as one function: :func:`tinyllava_combine` of the multiple-choice
    accuracy (strict ``<answer>`` block) and :func:`~rewards.format.tinyllava_format`. Trainers sum
    their reward functions, so this product-like form has to live in one function. Values: 2 (right,
    full format), 1 (right, no format), 0.5 … 1 partial, −1 (wrong, full format), −2 (wrong, no format)."""
    return tinyllava_combine(mcq_accuracy(completion, gold, options), tinyllava_format(completion, length))


def temporal_bonus(
    ordered: Sequence[float], shuffled: Sequence[float], alpha: float = 0.8, bonus: float = 0.3, threshold: float = 0.1
) -> list[float]:
    """Video-R1's temporal reward (T-GRPO) as a pure function. ``ordered``: accuracies of the group's
    completions on frames in order; ``shuffled``: accuracies on shuffled frames. When
    ``mean(ordered) ≥ alpha · mean(shuffled)``, each ordered completion with accuracy > ``threshold``
    gets ``bonus``; otherwise none does. Returns the bonus per ordered completion (defaults: Video-R1's
    published alpha 0.8, bonus 0.3, threshold 0.1)."""
    try:
        ordered = [float(x) for x in ordered]
        shuffled = [float(x) for x in shuffled]
    except (TypeError, ValueError):
        return [0.0] * len(ordered) if isinstance(ordered, list) else []
    if not ordered:
        return []
    mean_shuffled = sum(shuffled) / len(shuffled) if shuffled else 0.0
    if sum(ordered) / len(ordered) < alpha * mean_shuffled:
        return [0.0] * len(ordered)
    return [bonus if x > threshold else 0.0 for x in ordered]


def score(
    completion: Any,
    gold: Any,
    *,
    options: Any = None,
    problem_type: str = "multiple choice",
    mode: str = "tinyllava",
    format_weight: float = 0.5,
    length: int = TINYLLAVA_LENGTH,
) -> dict[str, float]:
    """``{"score", "accuracy", "format"}`` for one completion; the adapters all call this.

    - ``mode="tinyllava"`` (default): format = :func:`~rewards.format.tinyllava_format`,
      score = :func:`tinyllava_combine` (accuracy, format);
    - ``mode="sum"``: format = strict R1 format, score = accuracy + format (Video-R1);
    - ``mode="weighted"``: format = strict R1 format, score = (1 − w)·accuracy + w·format (EasyR1).
    An accuracy of ``None`` (unparseable math gold) counts as 0. An unknown ``mode`` is a ValueError
    (a configuration mistake, raised on the first call rather than hidden). End-of-sequence tokens a
    trainer left after the answer (``<|im_end|>``, ``</s>``, …) are removed first
    (:func:`rewards._text.completion_text`).
    """
    s, a, f = score_values(completion, gold, options, problem_type, mode, format_weight, length)
    return {"score": s, "accuracy": a, "format": f}


def score_values(
    completion: Any,
    gold: Any,
    options: Any = None,
    problem_type: Any = "multiple choice",
    mode: str = "tinyllava",
    format_weight: float = 0.5,
    length: int = TINYLLAVA_LENGTH,
) -> tuple[float, float, float]:
    """:func:`score` as a ``(score, accuracy, format)`` tuple, for the adapters' per-row loops.

    The completion is split by :func:`~rewards._text.strict_r1_parts` once: both format rewards read
    it, and when it holds (exactly one of each tag) its answer part is the single ``<answer>`` block
    :func:`~rewards.mcq.mcq_accuracy` reads, so the text is searched only once for the common case."""
    if mode not in MODES:
        raise ValueError(f"unknown reward mode {mode!r} (one of {', '.join(MODES)})")
    if type(completion) is str:  # completion_text's common case, inline
        text = completion.rstrip()
        if text[-1:] == ">" and text[-9:] != ANSWER_CLOSE:
            text = strip_end_tokens(text)
    else:
        text = completion_text(completion)
    parts = strict_r1_parts(text) if text is not None else None
    if type(problem_type) is str and problem_type in MCQ_KINDS:  # accuracy()'s dispatch, without its str()
        a = question_accuracy(text, parts, read_question(gold, options))  # score_question's two lines
    else:
        a = accuracy(text, gold, problem_type, options) or 0.0
    return _combined(parts, a, mode, format_weight, length)


def score_question(
    text: str | None,
    question: Question,
    mode: str = "tinyllava",
    format_weight: float = 0.5,
    length: int = TINYLLAVA_LENGTH,
) -> tuple[float, float, float]:
    """:func:`score_values` of a multiple-choice row whose parts the caller has read once:
    ``text = completion_text(completion)`` and ``question = read_question(gold, options)``
    (:func:`rewards.mcq.read_question`; a GRPO group's completions share it).

    The text is split by :func:`~rewards._text.strict_r1_parts` once: both format rewards read it, and
    when it holds (exactly one of each tag) its answer part is the single ``<answer>`` block
    :func:`~rewards.mcq.mcq_accuracy` reads, so the text is searched only once for the common case."""
    if mode not in MODES:
        raise ValueError(f"unknown reward mode {mode!r} (one of {', '.join(MODES)})")
    parts = strict_r1_parts(text) if text is not None else None
    return _combined(parts, question_accuracy(text, parts, question), mode, format_weight, length)


def _combined(
    parts: tuple[str, str] | None, a: float, mode: str, format_weight: float, length: int
) -> tuple[float, float, float]:
    """``(score, accuracy, format)`` from accuracy ``a`` and the split ``parts`` (``None``: no strict format)."""
    if mode == "tinyllava":
        if parts is None:
            f = 0.0
        elif length is TINYLLAVA_LENGTH:  # tinyllava_format_of with the default scale, inline
            x = len(parts[0].strip()) / _DEFAULT_SCALE
            f = 0.5 + 0.5 * (x if x <= 1.0 else 1.0)  # min(x, 1.0)
        else:
            f = tinyllava_format_of(parts, length)
        r = a + (2 * a - 1) * f  # tinyllava_combine, inline
        return -2.0 if r == 0 else r, a, f
    f = 1.0 if parts is not None else 0.0
    if mode == "sum":
        return a + f, a, f
    return (1 - format_weight) * a + format_weight * f, a, f


def score_gold(
    completion: Any,
    value: Any,
    options: Any = None,
    problem_type: Any = None,
    mode: str = "tinyllava",
    format_weight: float = 0.5,
    length: int = TINYLLAVA_LENGTH,
) -> tuple[float, float, float]:
    """``score_values(completion, *read_gold(value, options, problem_type), mode, format_weight, length)``
    (:func:`rewards.gold.read_gold`), for the adapters handed one gold value per row (EasyR1, OpenRLHF):
    a string gold given alone is read, with its question, once per distinct string (cached)."""
    if options is None and problem_type is None and type(value) is str:
        answer, opts, kind, question = _gold_row(value)
        if question is None:
            return score_values(completion, answer, opts, kind, mode, format_weight, length)
        return score_question(completion_text(completion), question, mode, format_weight, length)
    return score_values(completion, *read_gold(value, options, problem_type), mode, format_weight, length)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _gold_row(value: str) -> tuple[Any, Any, str, Question | None]:
    """``read_gold(value)`` and, for a multiple-choice gold, its question (else ``None``)."""
    answer, options, kind = read_gold(value)
    return answer, options, kind, read_question(answer, options) if kind in MCQ_KINDS else None
