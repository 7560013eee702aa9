"""Text helpers shared by the scorers. Linear-time string operations only (no backtracking regex on
unbounded input), and never an exception: unusable input gives ``None``."""

from __future__ import annotations

from typing import Any

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)


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
# each end token without its leading '<': what follows the last '<' of a text that ends with one
END_TAILS = frozenset(token[1:] for token in END_TOKENS)
assert all(token[:1] == "<" and token.count("<") == 1 and token[-1:] == ">" for token in END_TOKENS)


def strip_end_tokens(text: str) -> str:
    """``text`` without the run of :data:`END_TOKENS` (and whitespace) at its end. Tokens elsewhere in
    the text stay: only what a decoder appends after the model stopped is removed."""
    s = text.rstrip()
    # Each token holds one '<', its first character, and ends with '>': s ends with a token exactly when
    # the text after its last '<' is one (at most one can be, and no token ends "</answer>").
    while s[-1:] == ">" and s[-9:] != ANSWER_CLOSE:
        head, found, tail = s.rpartition("<")
        if not found or tail not in END_TAILS:
            break
        s = head.rstrip()
    return s


def completion_text(completion: Any) -> str | None:
    """:func:`as_text` with trailing end tokens removed (:func:`strip_end_tokens`): what every trainer
    adapter scores, whichever way the trainer decoded."""
    if type(completion) is str:  # the common case, without as_text's checks
        text = completion.rstrip()
    else:
        text = as_text(completion)
        if text is None:
            return None
        text = text.rstrip()
    # Every end token ends with ">"; a text ending in "</answer>" ends in none of them. Both tests are
    # cheaper than endswith() with the tuple (twelve comparisons behind a generic argument parser), and
    # strip_end_tokens returns any other text unchanged.
    if text[-1:] == ">" and text[-9:] != ANSWER_CLOSE:
        return strip_end_tokens(text)
    return text


# Tag search. CPython's str.find for an 8-character tag over reasoning text is several times slower than
# its one-character search (the letters of "think"/"answer" defeat its skip table), so both functions
# below walk the '<' characters instead, which every tag starts with: each tag occurrence is at a '<'.
# Texts with more than MAX_WALKED '<' take the plain find path (same result, bounded Python work).
MAX_WALKED = 16


def _tag_positions(text: str, tags: tuple[str, ...], start: int, end: int) -> list[list[int]] | None:
    """Start positions of each tag in ``text[start:end]`` (whole occurrences only, sorted), found by
    walking its '<'; ``None`` when there are more than :data:`MAX_WALKED` of them."""
    found: list[list[int]] = [[] for _ in tags]
    pos = text.find("<", start, end)
    walked = 0
    while pos >= 0:
        walked += 1
        if walked > MAX_WALKED:
            return None
        for k, tag in enumerate(tags):
            if text.startswith(tag, pos, end):
                found[k].append(pos)
        pos = text.find("<", pos + 1, end)
    return found


def single_block(text: str, open_tag: str, close_tag: str, start: int = 0, end: int | None = None) -> str | None:
    """The content of the one ``open_tag…close_tag`` block of ``text[start:end]``; ``None`` when there
    is not exactly one of each tag, in that order (an occurrence counts when it does not overlap the
    one before it: a second ``open_tag`` at or after the end of the first, a ``close_tag`` ending at or
    before the ``open_tag``, a second ``close_tag`` after the first)."""
    end = len(text) if end is None else end
    if open_tag[:1] == "<" == close_tag[:1]:
        found = _tag_positions(text, (open_tag, close_tag), start, end)
        if found is not None:
            opens, closes = found
            if not opens:
                return None
            i, after = opens[0], opens[0] + len(open_tag)
            if opens[-1] >= after or (closes and closes[0] + len(close_tag) <= i):
                return None
            j = next((c for c in closes if c >= after), -1)
            if j < 0 or closes[-1] >= j + len(close_tag):
                return None
            return text[after:j]
    i = text.find(open_tag, start, end)
    if i < 0 or text.find(open_tag, i + len(open_tag), end) >= 0 or text.find(close_tag, start, i) >= 0:
        return None
    j = text.find(close_tag, i + len(open_tag), end)
    if j < 0 or text.find(close_tag, j + len(close_tag), end) >= 0:
        return None
    return text[i + len(open_tag) : j]


def answer_block(text: str) -> str | None:
    """The content of the single ``<answer>…</answer>`` block, or ``None`` (:func:`single_block`'s rule).

    Two splits and one ``in``: the tags cannot overlap each other or themselves (each holds one '<', its
    first character), so every occurrence falls wholly on one side of a split."""
    parts = text.split(ANSWER_OPEN)
    if len(parts) != 2 or ANSWER_CLOSE in parts[0]:
        return None
    inner = parts[1].split(ANSWER_CLOSE)
    return inner[0] if len(inner) == 2 else None


def strict_r1_parts(text: str) -> tuple[str, str] | None:
    """``(think, answer)`` when ``text`` (surrounding whitespace ignored) is exactly
    ``<think>…</think>``, optional whitespace, ``<answer>…</answer>`` with one of each tag; else ``None``."""
    s = text.strip()
    if s[:7] != THINK_OPEN or s[-9:] != ANSWER_CLOSE:
        return None
    # s is "<think>" + think + "</think>" + whitespace + "<answer>" + answer + "</answer>", split at the
    # last "<answer>" (found from the end: the answer is short); it has one of each tag when neither part
    # holds a tag (an occurrence cannot straddle a boundary: each tag holds one '<', its first character).
    # Only operators and one-argument methods: in CPython 3.11 find/startswith/endswith parse their
    # arguments generically and cost more than the scans themselves.
    head, found, answer = s.rpartition(ANSWER_OPEN)
    if not found:
        return None
    closed = head.rstrip()
    if closed[-8:] != THINK_CLOSE:
        return None
    think, answer = closed[7:-8], answer[:-9]  # the tags cannot overlap: "<answer>" starts after "<think>"
    if ("<" in think or "<" in answer) and any(tag in part for part in (think, answer) for tag in _TAGS):
        return None
    return think, answer
