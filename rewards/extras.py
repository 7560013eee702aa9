"""Lazy imports of optional helpers, with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRAS = {
    "freeform": "rouge-score",
    "math": "math-verify",
}


class MissingExtra(ImportError):
    """An optional dependency of a reward is not installed."""


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` saying ``pip install 'videoqa-rl[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{module} is needed for this reward: pip install 'videoqa-rl[{extra}]' (or {EXTRAS[extra]})"
        ) from None
