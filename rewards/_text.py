"""Text helpers shared by the scorers. Linear-time string operations only (no backtracking regex on
unbounded input), and never an exception: unusable input gives ``None``."""

from __future__ import annotations

from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"


def as_text(completion: Any) -> str | None:
    """The completion's text: a string as is; bytes decoded (UTF-8, errors replaced); a conversational
    completion (a list of ``{"role", "content"}`` messages, or one such dict) → the content of its last
    message. Anything else → ``None``."""
    try:
        if isinstance(completion, str):
            return completion
        if isinstance(completion, (bytes, bytearray)):
            return bytes(completion).decode("utf-8", errors="replace")
        if isinstance(completion, dict):
            return as_text(completion.get("content"))
        if isinstance(completion, (list, tuple)) and completion:
            return as_text(completion[-1])
    except Exception:  # a broken object (e.g. a dict subclass raising): no opinion
        return None
    return None


def single_block(text: str, open_tag: str, close_tag: str) -> str | None:
    """The content of the one ``open_tag…close_tag`` block of ``text``; ``None`` when there is not
    exactly one of each tag, in that order."""
    if text.count(open_tag) != 1 or text.count(close_tag) != 1:
        return None
    start = text.find(open_tag) + len(open_tag)
    end = text.find(close_tag)
    if end < start:
        return None
    return text[start:end]


def answer_block(text: str) -> str | None:
    """The content of the single ``<answer>…</answer>`` block, or ``None``."""
    return single_block(text, ANSWER_OPEN, ANSWER_CLOSE)


def strict_r1_parts(text: str) -> tuple[str, str] | None:
    """``(think, answer)`` when ``text`` (surrounding whitespace ignored) is exactly
    ``<think>…</think>``, optional whitespace, ``<answer>…</answer>`` with one of each tag; else ``None``."""
    s = text.strip()
    if not (s.startswith(THINK_OPEN) and s.endswith(ANSWER_CLOSE)):
        return None
    think = single_block(s, THINK_OPEN, THINK_CLOSE)
    answer = single_block(s, ANSWER_OPEN, ANSWER_CLOSE)
    if think is None or answer is None:
        return None
    between = s[s.find(THINK_CLOSE) + len(THINK_CLOSE) : s.find(ANSWER_OPEN)]
    if between.strip() or s.find(THINK_CLOSE) > s.find(ANSWER_OPEN):
        return None
    if ANSWER_OPEN in think or THINK_OPEN in answer or THINK_CLOSE in answer:
        return None
    return think, answer
