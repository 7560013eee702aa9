"""Text helpers shared by the scorers. Linear-time string operations only (no backtracking regex on
unbounded input), and never an exception: unusable input gives ``None``."""

from __future__ import annotations

from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"


def as_text(completion: Any) -> str | None:
    """The completion's text: a string as is; bytes decoded (UTF-8, errors replaced); a conversational
    completion (a list of ``{"role", "content"}`` messages, or one such dict) → the content of its last
    message. A message whose reasoning a chat template's response parser moved into
    ``reasoning_content`` (TRL does this for tokenizers with a response schema) is put back together as
    the model wrote it: ``<think>`` + reasoning + ``</think>`` + content. Anything else → ``None``."""
    try:
        if isinstance(completion, str):
            return completion
        if isinstance(completion, (bytes, bytearray)):
            return bytes(completion).decode("utf-8", errors="replace")
        if isinstance(completion, dict):
            content = as_text(completion.get("content"))
            reasoning = completion.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning and content is not None and THINK_OPEN not in content:
                return f"{THINK_OPEN}{reasoning}{THINK_CLOSE}{content}"
            return content
        if isinstance(completion, (list, tuple)) and completion:
            return as_text(completion[-1])
    except Exception:  # a broken object (e.g. a dict subclass raising): no opinion
        return None
    return None


# End-of-sequence, end-of-turn and padding tokens that trainers decoding with special tokens kept
# (OpenRLHF, some verl and ms-swift settings) leave after the answer: Qwen/ChatML, GPT-2/Qwen padding,
# Llama 2/Mistral, Llama 3, Gemma, Phi-3, DeepSeek, gpt-oss.
END_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "</s>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|eom_id|>",
    "<end_of_turn>",
    "<eos>",
    "<pad>",
    "<|end|>",
    "<|return|>",
    "<\uff5cend\u2581of\u2581sentence\uff5c>",
)


def strip_end_tokens(text: str) -> str:
    """``text`` without the run of :data:`END_TOKENS` (and whitespace) at its end. Tokens elsewhere in
    the text stay: only what a decoder appends after the model stopped is removed."""
    s = text.rstrip()
    while s.endswith(END_TOKENS):  # one C-level test for the common case: no end token
        for token in END_TOKENS:
            if s.endswith(token):
                s = s[: -len(token)].rstrip()
                break
    return s


def completion_text(completion: Any) -> str | None:
    """:func:`as_text` with trailing end tokens removed (:func:`strip_end_tokens`): what every trainer
    adapter scores, whichever way the trainer decoded."""
    text = as_text(completion)
    return None if text is None else strip_end_tokens(text)


def single_block(text: str, open_tag: str, close_tag: str, start: int = 0, end: int | None = None) -> str | None:
    """The content of the one ``open_tag…close_tag`` block of ``text[start:end]``; ``None`` when there
    is not exactly one of each tag, in that order. Each tag is searched for twice (first and second
    occurrence), so the text is scanned once per tag."""
    end = len(text) if end is None else end
    i = text.find(open_tag, start, end)
    if i < 0 or text.find(open_tag, i + len(open_tag), end) >= 0 or text.find(close_tag, start, i) >= 0:
        return None
    j = text.find(close_tag, i + len(open_tag), end)
    if j < 0 or text.find(close_tag, j + len(close_tag), end) >= 0:
        return None
    return text[i + len(open_tag) : j]


def answer_block(text: str) -> str | None:
    """The content of the single ``<answer>…</answer>`` block, or ``None``."""
    return single_block(text, ANSWER_OPEN, ANSWER_CLOSE)


def strict_r1_parts(text: str) -> tuple[str, str] | None:
    """``(think, answer)`` when ``text`` (surrounding whitespace ignored) is exactly
    ``<think>…</think>``, optional whitespace, ``<answer>…</answer>`` with one of each tag; else ``None``."""
    s = text.strip()
    if not (s.startswith(THINK_OPEN) and s.endswith(ANSWER_CLOSE)):
        return None
    close = s.find(THINK_CLOSE)
    opening = s.find(ANSWER_OPEN, close + len(THINK_CLOSE)) if close >= 0 else -1
    if opening < 0 or s[close + len(THINK_CLOSE) : opening].strip():
        return None
    think = s[len(THINK_OPEN) : close]
    answer = s[opening + len(ANSWER_OPEN) : len(s) - len(ANSWER_CLOSE)]
    # exactly one of each tag: none of the four inside the think or answer text
    for part in (think, answer):
        if "<" in part and any(tag in part for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)):
            return None
    return think, answer
