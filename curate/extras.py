"""The optional parts of videoqa-rl (pyproject's extras) and the one error for a missing one.

The base install (``pip install videoqa-rl``) runs filter, extract-frames, export, run and verify. Every other
part imports its libraries through :func:`require`, so a missing one is a one-line error, exit code 2, that
names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from curate.errors import UserError

# extra -> what needs it (the error message's subject)
EXTRAS = {
    "publish": "curate publish",
    "report": "curate report",
    "coldstart": "curate coldstart --backend hf",
    "coldstart-openai": "curate coldstart --backend openai",
    "vllm": "curate coldstart --backend vllm",
    "ray": "--executor ray",
    "decontaminate": "curate decontaminate's question matching",
    "train": "the trainer-side readers",
}


class MissingExtra(UserError):
    """An optional dependency is not installed; the message says which extra brings it."""


def require(extra: str, module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra`: ``<part> needs <module>: pip install 'videoqa-rl[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        subject = EXTRAS.get(extra, f"the {extra!r} extra")
        raise MissingExtra(
            f"{subject} needs {module}, which is not installed ({exc}): pip install 'videoqa-rl[{extra}]'"
        ) from None
