"""EasyR1 reward function (a batch function, chosen by this module's ``REWARD_TYPE``).

    worker:
      reward:
        reward_function: /path/to/site-packages/rewards/easyr1.py:compute_score
        reward_function_kwargs:
          mode: tinyllava          # or weighted (EasyR1's (1 − w)·accuracy + w·format) or sum

EasyR1 hands each batch function a list of ``{"response", "response_length", "ground_truth"}`` and
reads ``{"overall", "format", "accuracy"}`` back, one dict per response. ``ground_truth`` is the
dataset's answer column: ``curate export --to easyr1`` packs the options and problem type into it as
JSON (:mod:`rewards.gold`), so answers given as an option's text and non-multiple-choice problems score
right; a plain letter or ``<answer>B</answer>`` works too (no options then). ``options`` and
``problem_type`` keys in an input, where a caller passes them, fill what the gold leaves out.
"""

from __future__ import annotations

from typing import Any

from rewards.combine import score_gold
from rewards.format import TINYLLAVA_LENGTH

REWARD_NAME = "videoqa_mcq"
REWARD_TYPE = "batch"


def compute_score(
    reward_inputs: Any, mode: str = "tinyllava", format_weight: float = 0.5, **kwargs: Any
) -> list[dict[str, float]]:
    """One ``{"overall", "format", "accuracy"}`` per input (:func:`rewards.combine.score`)."""
    length = kwargs.get("length", TINYLLAVA_LENGTH)
    out = []
    for item in list(reward_inputs) if reward_inputs is not None else []:
        item = item if isinstance(item, dict) else {}
        gold, options, kind = item.get("ground_truth"), item.get("options"), item.get("problem_type")
        # score_gold: a packed gold read once per distinct string, with its question
        s, a, f = score_gold(item.get("response"), gold, options, kind, mode, format_weight, length)
        out.append({"overall": s, "format": f, "accuracy": a})
    return out
