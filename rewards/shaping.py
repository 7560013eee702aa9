"""Shaping terms with TRL's values (single completion; the batch forms are in :mod:`rewards.trl`), and
a repeated-sentence check like TinyLLaVA-Video-R1's."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from rewards._text import THINK_CLOSE, THINK_OPEN, as_text

MAX_SENTENCE_SCAN = 200_000  # characters examined for repeated sentences


def think_format(completion: Any) -> float:
    """TRL's ``think_format_reward``: 1.0 when the completion starts with ``<think>``, has no second
    ``<think>``, and closes it with ``</think>`` (anything may follow); else 0.0."""
    text = as_text(completion)
    if text is None or not text.startswith(THINK_OPEN) or text.count(THINK_OPEN) != 1:
        return 0.0
    return 1.0 if THINK_CLOSE in text else 0.0


def cosine_scaled(
    correct: bool,
    length: int,
    max_len: int,
    min_value_wrong: float = -1.0,
    max_value_wrong: float = -0.5,
    min_value_correct: float = 0.5,
    max_value_correct: float = 1.0,
) -> float:
    """TRL's cosine length scaling: with ``p = min(length / max_len, 1)``,
    ``r = lo + 0.5 · (hi − lo) · (1 + cos(p · π))`` where ``(lo, hi) = (min_value_correct,
    max_value_correct)`` for a correct answer and ``(max_value_wrong, min_value_wrong)`` for a wrong one:
    short right answers earn most, short wrong answers lose most."""
    progress = min(length / max_len, 1.0) if max_len > 0 else 1.0
    lo, hi = (min_value_correct, max_value_correct) if correct else (max_value_wrong, min_value_wrong)
    return lo + 0.5 * (hi - lo) * (1.0 + math.cos(progress * math.pi))


def repetition_penalty(tokens: Sequence[Any], ngram_size: int = 3, max_penalty: float = -1.0) -> float:
    """TRL's n-gram repetition penalty: ``max_penalty · (1 − distinct n-grams / n-grams)``; 0.0 for a
    sequence shorter than ``ngram_size``."""
    tokens = list(tokens)
    if len(tokens) < ngram_size:
        return 0.0
    ngrams = list(zip(*[tokens[i:] for i in range(ngram_size)], strict=False))
    scaling = 1 - len(set(ngrams)) / len(ngrams)
    return scaling * max_penalty if scaling else 0.0


def soft_overlong(length: int, max_completion_len: int, soft_punish_cache: int) -> float:
    """DAPO's soft overlong punishment as TRL computes it: 0.0 up to ``L − C`` tokens, then
    ``(L − C − length) / C`` down to −1 at ``L``, and −1.0 beyond (L = max length, C = cache)."""
    if length <= max_completion_len - soft_punish_cache:
        return 0.0
    if length <= max_completion_len:
        return (max_completion_len - soft_punish_cache - length) / soft_punish_cache
    return -1.0


_SENTENCE_END = re.compile(r"[,.!?]")


def has_repeated_sentence(completion: Any) -> bool:
    """TinyLLaVA-Video-R1's check: split the text at ``, . ! ?``; True when a non-empty piece (stripped)
    occurs twice. Only the first :data:`MAX_SENTENCE_SCAN` characters are examined."""
    text = as_text(completion)
    if text is None:
        return False
    seen: set[str] = set()
    for piece in _SENTENCE_END.split(text[:MAX_SENTENCE_SCAN]):
        piece = piece.strip()
        if not piece:
            continue
        if piece in seen:
            return True
        seen.add(piece)
    return False


def repeated_sentence_penalty(completion: Any, penalty: float = -1.0) -> float:
    """``penalty`` when :func:`has_repeated_sentence`, else 0.0."""
    return penalty if has_repeated_sentence(completion) else 0.0
