"""Format rewards for R1-style completions."""

from __future__ import annotations

from typing import Any

from rewards._text import as_text, strict_r1_parts

TINYLLAVA_LENGTH = 1200


def r1_format(completion: Any) -> float:
    """Strict R1 format: 1.0 when the completion (surrounding whitespace ignored) is
    ``<think>…</think>``, optional whitespace, ``<answer>…</answer>`` with exactly one of each tag;
    else 0.0."""
    text = as_text(completion)
    return 1.0 if text is not None and strict_r1_parts(text) is not None else 0.0


def tinyllava_format(completion: Any, length: int = TINYLLAVA_LENGTH) -> float:
    """TinyLLaVA-Video-R1's format reward with its continuous length term:

    f = 0                                               if the strict R1 format fails
    f = 0.5 + 0.5 · min(len(think.strip()) / L, 1)      otherwise (L = ``length`` characters)
    """
    text = as_text(completion)
    return tinyllava_format_of(strict_r1_parts(text) if text is not None else None, length)


def tinyllava_format_of(parts: tuple[str, str] | None, length: int = TINYLLAVA_LENGTH) -> float:
    """:func:`tinyllava_format` from ``strict_r1_parts(text)`` already computed."""
    if parts is None:
        return 0.0
    try:
        scale = float(length)
    except (TypeError, ValueError, OverflowError):
        scale = float(TINYLLAVA_LENGTH)
    if not scale > 0:
        return 1.0
    x = len(parts[0].strip()) / scale
    return 0.5 + 0.5 * (x if x <= 1.0 else 1.0)  # min(x, 1.0) without the builtin's generic call
