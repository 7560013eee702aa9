"""Reward functions for GRPO training of video reasoning models. Standard library only.

Core scorers take one completion (a string, or a conversational message list) and never raise:

- :func:`r1_format`, :func:`tinyllava_format` — format (strict R1; TinyLLaVA-Video-R1 with length)
- :func:`mcq_accuracy`, :func:`extract_choice`, :func:`gold_index` — multiple choice
- :func:`numerical_accuracy`, :func:`regression_score`, :func:`ocr_score`, :func:`freeform_score`,
  :func:`math_accuracy` — Video-R1's other problem types (ROUGE and math-verify are optional extras)
- :func:`tinyllava_reward`, :func:`temporal_bonus`, :func:`score` — composites

Trainer adapters: :mod:`rewards.trl`, :mod:`rewards.verl`, :mod:`rewards.openrlhf`,
:mod:`rewards.easyr1`, :mod:`rewards.swift`.
"""

from rewards.combine import accuracy, score, temporal_bonus, tinyllava_combine, tinyllava_reward
from rewards.format import r1_format, tinyllava_format
from rewards.math_answer import math_accuracy
from rewards.mcq import extract_choice, gold_index, mcq_accuracy
from rewards.numeric import numerical_accuracy, parse_number, regression_score
from rewards.shaping import has_repeated_sentence, think_format
from rewards.text_match import freeform_score, ocr_score, word_error_rate

__all__ = [
    "accuracy",
    "extract_choice",
    "freeform_score",
    "gold_index",
    "has_repeated_sentence",
    "math_accuracy",
    "mcq_accuracy",
    "numerical_accuracy",
    "ocr_score",
    "parse_number",
    "r1_format",
    "regression_score",
    "score",
    "temporal_bonus",
    "think_format",
    "tinyllava_combine",
    "tinyllava_format",
    "tinyllava_reward",
    "word_error_rate",
]
