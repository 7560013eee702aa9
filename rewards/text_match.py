"""Video-R1's text problem types: OCR (word error rate) and free-form (ROUGE)."""

from __future__ import annotations

from typing import Any

from rewards._text import answer_block, as_text
from rewards.extras import require


def _answer_and_gold(completion: Any, gold: Any, require_tags: bool) -> tuple[str, str] | None:
    text = as_text(completion)
    if text is None or not isinstance(gold, str):
        return None
    answer = answer_block(text) if require_tags else text
    if answer is None:
        return None
    gold_block = answer_block(gold)
    return answer.strip(), (gold_block if gold_block is not None else gold).strip()


def word_error_rate(hypothesis: str, reference: str) -> float:
    """Word-level Levenshtein distance / max(1, reference words)."""
    hyp, ref = hypothesis.split(), reference.split()
    m = max(1, len(ref))
    previous = list(range(len(ref) + 1))
    for i, word in enumerate(hyp, 1):
        current = [i]
        for j, target in enumerate(ref, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != target)))
        previous = current
    return previous[-1] / m


def ocr_score(completion: Any, gold: Any, require_tags: bool = True) -> float:
    """1 − word error rate of the answer against the gold text, clipped to [0, 1]."""
    pair = _answer_and_gold(completion, gold, require_tags)
    if pair is None:
        return 0.0
    n, m = len(pair[0].split()), len(pair[1].split())
    if abs(n - m) >= max(1, m):  # the distance is at least |n − m|: the rate is ≥ 1 without the O(n·m) work
        return 0.0
    return max(0.0, min(1.0, 1.0 - word_error_rate(*pair)))


_SCORER = None


def _rouge():
    global _SCORER
    if _SCORER is None:
        rouge_scorer = require("rouge_score.rouge_scorer", "freeform")
        _SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    return _SCORER


def freeform_score(completion: Any, gold: Any, require_tags: bool = True) -> float:
    """Mean of the ROUGE-1, ROUGE-2 and ROUGE-L F1 of the answer against the gold text, in [0, 1]
    (Video-R1's free-form reward; needs the ``freeform`` extra: ``rouge-score``)."""
    scorer = _rouge()
    pair = _answer_and_gold(completion, gold, require_tags)
    if pair is None or not pair[0] or not pair[1]:
        return 0.0
    try:
        scores = scorer.score(pair[1], pair[0])
    except Exception:
        return 0.0
    mean = sum(s.fmeasure for s in scores.values()) / 3
    return max(0.0, min(1.0, mean))
