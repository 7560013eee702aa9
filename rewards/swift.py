"""ms-swift GRPO reward models (ORM classes).

Register them from a plugin file and name them on the command line::

    # videoqa_plugin.py
    from swift.plugin import orms          # ms-swift 4.x: from swift.rewards import orms
    from rewards.swift import ORMS
    orms.update(ORMS)

    swift rlhf --rlhf_type grpo --external_plugins videoqa_plugin.py \\
        --reward_funcs videoqa_tinyllava ...

ms-swift instantiates each class and calls it with ``completions`` (strings) and the dataset columns
as keyword lists (``solution``, ``answer``, ``options``), returning one float per completion.
"""

from __future__ import annotations

from typing import Any

from rewards import trl


class _ORM:
    """Base: subclasses name the :mod:`rewards.trl` function they apply."""

    function = staticmethod(trl.format_reward)

    def __call__(self, completions: Any, **kwargs: Any) -> list[float]:
        return [0.0 if r is None else r for r in type(self).function(completions, **kwargs)]


class FormatORM(_ORM):
    """Strict R1 format."""

    function = staticmethod(trl.format_reward)


class TinyllavaFormatORM(_ORM):
    """TinyLLaVA-Video-R1 format with its length term."""

    function = staticmethod(trl.tinyllava_format_reward)


class MCQAccuracyORM(_ORM):
    """Multiple-choice accuracy (0.0 where the gold is unreadable)."""

    function = staticmethod(trl.mcq_accuracy_reward)


class TinyllavaORM(_ORM):
    """TinyLLaVA-Video-R1's whole reward."""

    function = staticmethod(trl.tinyllava_reward)


ORMS = {
    "videoqa_format": FormatORM,
    "videoqa_tinyllava_format": TinyllavaFormatORM,
    "videoqa_accuracy": MCQAccuracyORM,
    "videoqa_tinyllava": TinyllavaORM,
}
