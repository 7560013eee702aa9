"""verl custom reward function (``compute_score``), checked against verl 0.9.1.

verl's trainer loads it from the ``reward.custom_reward_function`` keys (``examples/verl/overrides.txt``)::

    reward.custom_reward_function.path=pkg://rewards.verl          # or this file's path
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.mode=tinyllava   # + : the key is not in verl's schema

and its reward managers (``naive``, ``dapo``, ``gdpo``, ``rate_limited``) call it one response at a time
as ``compute_score(data_source=, solution_str=, ground_truth=, extra_info=, **reward_kwargs)``. The
top-level ``custom_reward_function.*`` keys of older verl are accepted by 0.9.1's config and ignored.

Works on the Parquet ``curate export --to verl`` writes: ``reward_model.ground_truth`` is the letter and
``extra_info`` carries ``options`` and ``problem_type``. Keyword arguments (``mode``, ``format_weight``,
``length``) go to :func:`rewards.combine.score`. The result has ``score`` (the reward), ``acc`` (verl's
headline validation metric, the accuracy), ``accuracy`` and ``format``. :func:`compute_score_batch`
scores lists for scripts of your own: verl 0.9.1's trainer registers no batch reward manager.
"""

from __future__ import annotations

from typing import Any

from rewards.combine import score_values
from rewards.gold import read_gold

_SCORE_OPTIONS = ("mode", "format_weight", "length")
_NO_INFO: dict = {}


def _options(kwargs: dict) -> dict:
    return {k: kwargs[k] for k in _SCORE_OPTIONS if k in kwargs}


def compute_score(
    data_source: Any, solution_str: Any, ground_truth: Any, extra_info: Any = None, **kwargs: Any
) -> dict[str, float]:
    """``{"score", "acc", "accuracy", "format"}`` for one response; verl uses ``score`` and logs the rest."""
    info = extra_info if isinstance(extra_info, dict) else _NO_INFO
    answer, options, kind = read_gold(ground_truth, info.get("options"), info.get("problem_type"))
    if kwargs:
        s, a, f = score_values(solution_str, answer, options, kind, **_options(kwargs))
    else:
        s, a, f = score_values(solution_str, answer, options, kind)
    return {"score": s, "acc": a, "accuracy": a, "format": f}


def compute_score_batch(
    data_sources: Any, solution_strs: Any, ground_truths: Any, extra_infos: Any = None, **kwargs: Any
) -> list[dict[str, float]]:
    """:func:`compute_score` over lists: one dict per response."""
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
