"""Video-R1's numeric problem types: numerical answers and regression."""

from __future__ import annotations

import math
import re
from typing import Any

from rewards._text import answer_block, as_text

MAX_NUMBER_CHARS = 64
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")


def parse_number(text: Any) -> float | None:
    """The number ``text`` is (surrounding spaces ignored; ``1,000`` = ``1000``), or ``None``. The whole
    text must be the number: ``42 apples`` or ``4 or 5`` is not one."""
    if not isinstance(text, str):
        if isinstance(text, bool) or not isinstance(text, (int, float)):
            return None
        try:
            value = float(text)
        except OverflowError:  # an int too large for a float
            return None
        return value if math.isfinite(value) else None
    s = text.strip()
    if not s or len(s) > MAX_NUMBER_CHARS:
        return None
    s = _THOUSANDS.sub("", s)
    try:
        value = float(s)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _answer_and_gold(completion: Any, gold: Any, require_tags: bool) -> tuple[float, float] | None:
    text = as_text(completion)
    if text is None:
        return None
    answer = answer_block(text) if require_tags else text
    if isinstance(gold, str):
        gold_block = answer_block(gold)
        gold = gold_block if gold_block is not None else gold
    pred, truth = parse_number(answer), parse_number(gold)
    if pred is None or truth is None:
        return None
    return pred, truth


def numerical_accuracy(completion: Any, gold: Any, require_tags: bool = True) -> float:
    """1.0 when the answer and the gold are the same number to two decimals (Video-R1's rule:
    ``round(pred, 2) == round(gold, 2)``), else 0.0."""
    pair = _answer_and_gold(completion, gold, require_tags)
    if pair is None:
        return 0.0
    return 1.0 if round(pair[0], 2) == round(pair[1], 2) else 0.0


def regression_score(completion: Any, gold: Any, require_tags: bool = True) -> float:
    """Video-R1's regression reward: ``1 − min(1, (|pred − gold| + ε) / (|gold| + ε))``, ε = 1e-9."""
    pair = _answer_and_gold(completion, gold, require_tags)
    if pair is None:
        return 0.0
    pred, truth = pair
    relative = (abs(pred - truth) + 1e-9) / (abs(truth) + 1e-9)
    return 1.0 - min(1.0, relative)
