"""ms-swift GRPO reward models (ORM classes), checked against ms-swift 4.6.0.

Register them from a plugin file (``examples/swift/videoqa_plugin.py``) and name them on the command
line::

    # videoqa_plugin.py — keep it outside this package: ms-swift puts the plugin's folder on sys.path
    from rewards.swift import ORMS
    from swift.rewards import orms          # ms-swift 3.x: from swift.plugin import orms
    orms.update(ORMS)

    swift rlhf --rlhf_type grpo --external_plugins videoqa_plugin.py \\
        --reward_funcs videoqa_tinyllava ...

ms-swift builds each class as ``cls(args=GRPOConfig)`` (``cls()`` in ``swift sample``) and calls it
with ``completions`` (strings) and the dataset columns as keyword lists (``solution``, ``answer``,
``options``, ``problem_type`` — the columns ``curate export --to swift`` writes), expecting one float
per completion.
"""

from __future__ import annotations

from typing import Any

from rewards import trl


class _ORM:
    """Base: subclasses name the :mod:`rewards.trl` function they apply."""

    function = staticmethod(trl.format_reward)

    def __init__(self, args: Any = None, **kwargs: Any) -> None:
        self.args = args  # the trainer's GRPOConfig; the rewards need none of its settings

    def __call__(self, completions: Any, **kwargs: Any) -> list[float | None]:
        """One value per completion; ``None`` where the gold is unreadable (ms-swift makes it NaN and leaves
        it out of the reward's mean, as TRL does)."""
        return list(type(self).function(completions, **kwargs))


class FormatORM(_ORM):
    """Strict R1 format."""

    function = staticmethod(trl.format_reward)


class TinyllavaFormatORM(_ORM):
    """TinyLLaVA-Video-R1 format with its length term."""

    function = staticmethod(trl.tinyllava_format_reward)


class MCQAccuracyORM(_ORM):
    """Multiple-choice accuracy."""

    function = staticmethod(trl.mcq_accuracy_reward)


class TinyllavaORM(_ORM):
    """TinyLLaVA-Video-R1's whole reward."""

    function = staticmethod(trl.tinyllava_reward)


class ProblemTypeAccuracyORM(_ORM):
    """Accuracy by the ``problem_type`` column (Video-R1's mixed sets)."""

    function = staticmethod(trl.problem_type_accuracy_reward)


ORMS = {
    "videoqa_format": FormatORM,
    "videoqa_tinyllava_format": TinyllavaFormatORM,
    "videoqa_accuracy": MCQAccuracyORM,
    "videoqa_tinyllava": TinyllavaORM,
    "videoqa_problem_type_accuracy": ProblemTypeAccuracyORM,
}
