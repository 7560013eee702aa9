"""verl custom reward function (``compute_score``) and its batch form.

Per sample (verl's naive reward manager)::

    custom_reward_function:
      path: /path/to/site-packages/rewards/verl.py    # python -c "import rewards.verl as m; print(m.__file__)"
      name: compute_score

Batch (``reward_model.reward_manager=batch``)::

    reward_model:
      reward_manager: batch
    custom_reward_function:
      path: /path/to/site-packages/rewards/verl.py
      name: compute_score_batch

Works on the Parquet ``curate export --to verl`` writes: ``reward_model.ground_truth`` is the letter and
``extra_info`` carries ``options`` and ``problem_type``. Extra keyword arguments (``mode``,
``format_weight``, ``length``; from ``custom_reward_function.reward_kwargs``) go to
:func:`rewards.combine.score`.
"""

from __future__ import annotations

from typing import Any

from rewards.combine import score
from rewards.gold import unpack_gold

_SCORE_OPTIONS = ("mode", "format_weight", "length")


def _options(kwargs: dict) -> dict:
    return {k: kwargs[k] for k in _SCORE_OPTIONS if k in kwargs}


def compute_score(
    data_source: Any, solution_str: Any, ground_truth: Any, extra_info: Any = None, **kwargs: Any
) -> dict[str, float]:
    """``{"score", "accuracy", "format"}`` for one response; verl uses ``score`` and logs the rest."""
    info = extra_info if isinstance(extra_info, dict) else {}
    gold = unpack_gold(ground_truth, info.get("options"), info.get("problem_type"))
    return score(solution_str, gold.answer, options=gold.options, problem_type=gold.problem_type, **_options(kwargs))


def compute_score_batch(
    data_sources: Any, solution_strs: Any, ground_truths: Any, extra_infos: Any = None, **kwargs: Any
) -> list[dict[str, float]]:
    """verl's batch reward manager form: one dict per response."""
    solutions = list(solution_strs) if solution_strs is not None else []
    truths = list(ground_truths) if ground_truths is not None else []
    infos = list(extra_infos) if extra_infos is not None else []
    sources = list(data_sources) if data_sources is not None else []
    return [
        compute_score(
            sources[i] if i < len(sources) else None,
            text,
            truths[i] if i < len(truths) else None,
            infos[i] if i < len(infos) else None,
            **kwargs,
        )
        for i, text in enumerate(solutions)
    ]
