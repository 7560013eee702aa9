"""EasyR1 reward function (batch type).

    worker:
      reward:
        reward_type: batch
        reward_function: /path/to/site-packages/rewards/easyr1.py:compute_score
        reward_function_kwargs:
          mode: tinyllava          # or weighted (EasyR1's (1 − w)·accuracy + w·format) or sum

Each input is ``{"response", "response_length", "ground_truth"}`` (plus ``options`` /
``problem_type`` when the dataset provides them); each output ``{"overall", "format", "accuracy"}``.
"""

from __future__ import annotations

from typing import Any

from rewards.combine import score

REWARD_NAME = "videoqa_mcq"
REWARD_TYPE = "batch"


def compute_score(reward_inputs: Any, mode: str = "tinyllava", format_weight: float = 0.5, **kwargs: Any):
    out = []
    for item in list(reward_inputs) if reward_inputs is not None else []:
        item = item if isinstance(item, dict) else {}
        result = score(
            item.get("response"),
            item.get("ground_truth"),
            options=item.get("options"),
            problem_type=item.get("problem_type") or "multiple choice",
            mode=mode,
            format_weight=format_weight,
            **{k: kwargs[k] for k in ("length",) if k in kwargs},
        )
        out.append({"overall": result["score"], "format": result["format"], "accuracy": result["accuracy"]})
    return out
