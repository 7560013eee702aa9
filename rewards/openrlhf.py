"""OpenRLHF reward function file (``--remote_rm_url``).

    python -m openrlhf.cli.train_ppo_ray ... \\
        --remote_rm_url /path/to/site-packages/rewards/openrlhf.py --label_key answer

OpenRLHF calls ``reward_func(queries, prompts, labels)`` where each query is the prompt followed by the
response; the prompt is stripped before scoring. ``labels`` come from the ``--label_key`` column (a
letter, ``<answer>B</answer>`` or an index). Returns ``{"rewards", "scores", "extra_logs"}`` as OpenRLHF
expects: ``rewards`` (the TinyLLaVA-Video-R1 reward, :func:`rewards.combine.score`) drives the
advantage, ``scores`` (accuracy, in [0, 1]) the dynamic filtering, ``extra_logs`` go to the logger.
They are torch tensors when torch is importable (it is, inside OpenRLHF), lists otherwise.
"""

from __future__ import annotations

from typing import Any

from rewards._text import as_text
from rewards.combine import score
from rewards.gold import unpack_gold


def _response(query: Any, prompt: Any) -> str | None:
    text = as_text(query)
    if text is None:
        return None
    if isinstance(prompt, str) and prompt and text.startswith(prompt):
        return text[len(prompt) :]
    return text


def _as_tensor(values: list[float]) -> Any:
    try:
        import torch
    except ImportError:
        return values
    return torch.tensor(values, dtype=torch.float32)


def reward_func(queries: Any, prompts: Any, labels: Any, **kwargs: Any) -> dict[str, Any]:
    queries = list(queries) if queries is not None else []
    prompts = list(prompts) if prompts is not None else []
    labels = list(labels) if labels is not None else []
    options = {k: kwargs[k] for k in ("mode", "format_weight", "length") if k in kwargs}
    results = []
    for i, q in enumerate(queries):
        gold = unpack_gold(labels[i] if i < len(labels) else None)
        response = _response(q, prompts[i] if i < len(prompts) else None)
        results.append(score(response, gold.answer, options=gold.options, problem_type=gold.problem_type, **options))
    rewards = [r["score"] for r in results]
    accuracy = [r["accuracy"] for r in results]
    fmt = [r["format"] for r in results]
    return {
        "rewards": _as_tensor(rewards),
        "scores": _as_tensor(accuracy),
        "extra_logs": {"accuracy": _as_tensor(accuracy), "format": _as_tensor(fmt)},
    }
