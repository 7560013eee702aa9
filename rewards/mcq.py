"""Multiple-choice accuracy with one robust extractor for predictions and gold answers.

:func:`extract_choice` reads one option out of a short answer text:

- accepted: ``B``, a lone ``b``, ``(B)``, ``B.``, ``B)``, ``B:``, ``B. dog``, ``B) dog``, ``**B**``,
  ``\\boxed{B}``, ``Option B``, ``The answer is B``, ``Answer: B``, and the exact text of one option
  (case- and punctuation-insensitive) when the options are known;
- rejected (``None``): hedges (``A or B``, ``A, B``, ``AB``, ``A. B``), empty answers, a letter beyond
  the number of options, a ``B. text`` whose text names a different option, anything longer than
  :data:`MAX_ANSWER_CHARS`.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Sequence
from typing import Any

from rewards._text import ANSWER_CLOSE, ANSWER_OPEN, answer_block, as_text
from schemas.prompt import LETTERS

MAX_ANSWER_CHARS = 4096  # longer answers are not a choice; bounds the work on adversarial input
CACHE_SIZE = 4096  # distinct golds and option lists remembered (thread-safe functools caches)

_LEAD = re.compile(
    r"^(?:the\s+)?(?:final\s+|correct\s+|best\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_BOXED = re.compile(r"^\\boxed\{([^{}]*)\}$")
_LETTER = re.compile(r"^\(?([A-Za-z])\)?(?:\s*[.):：]\s*(.*)|\s*)$", re.DOTALL)
_BARE_LETTER = re.compile(r"^\(?[A-Za-z]\)?[.):]?$")
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’。，：")
_ASCII_PUNCT = string.punctuation.encode()
_WRAP_START = "*_`\"'\\"  # characters _unwrap removes from the start ("\\" opens \boxed{})
_WRAP_END = "*_`\"'."
_UPPER = {letter: i for i, letter in enumerate(LETTERS)}  # "B" → 1
_LEAD_STARTS = frozenset(("th", "fi", "co", "be", "an", "op", "ch"))  # the, final, correct, best, answer, …


def _norm(text: str) -> str:
    """Lower case, punctuation removed, whitespace runs made one space."""
    if text.isascii():  # bytes.translate deletes with a 256-entry table; str.translate looks up a dict
        text = text.encode().translate(None, _ASCII_PUNCT).decode()
    else:
        text = text.translate(_PUNCT)
    return " ".join(text.lower().split())


def _unwrap(text: str) -> str:
    """Strip markdown emphasis, ``\\boxed{}``, quotes and answer lead-ins, repeatedly."""
    s = text.strip()
    if s and s[0] not in _WRAP_START and s[-1] not in _WRAP_END:
        # Nothing to strip at either end; only a lead-in could change s. _LEAD needs one of seven
        # words at the start: two ASCII characters that begin none of them rule it out without the
        # regex (ASCII only: IGNORECASE also folds some non-ASCII letters, e.g. "ı" to "i").
        head = s[:2]
        if head.isascii() and head.lower() not in _LEAD_STARTS or _LEAD.match(s) is None:
            return s
    prev = None
    while s != prev:
        prev = s
        s = s.strip().strip("*_`\"'").strip()
        boxed = _BOXED.match(s)
        if boxed:
            s = boxed.group(1)
        s = _LEAD.sub("", s, count=1)
        if s.endswith(".") and s[:-1].rstrip().endswith(("*", "}", ")")):
            s = s[:-1]  # "**B**.", "\\boxed{B}.", "(B)."
    return s


def _option_index(text: str, options: Sequence[str], keys: dict[str, int | None] | None = None) -> int | None:
    """The index of the one option whose normalised text equals ``text``'s; ``None`` for none or several.
    ``keys``: ``_option_map(options)`` when the caller has it."""
    target = _norm(text)
    if not target:
        return None
    return (keys if keys is not None else _option_map(options)).get(target)


def _option_map(options: Sequence[str]) -> dict[str, int | None]:
    """Normalised option text → its index, ``None`` where two options normalise alike; cached per
    distinct option tuple (the options of a question repeat over its group's completions)."""
    try:
        return _option_map_of(tuple(options))
    except TypeError:  # an unhashable option: no caching
        return _build_option_map(options)


def _build_option_map(options: Sequence[str]) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for i, opt in enumerate(options):
        key = _norm(str(opt))
        found[key] = None if key in found else i
    return found


_option_map_of = functools.lru_cache(maxsize=CACHE_SIZE)(_build_option_map)


def extract_choice(answer: Any, options: Sequence[str] | None = None) -> int | None:
    """0-based index of the option ``answer`` names, or ``None`` (see the module docstring)."""
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS:
        return None
    bare = answer.strip()
    if len(bare) == 1 and "A" <= bare <= "Z":  # the common case, without the regexes below
        index = ord(bare) - 65
        return index if index < (len(options) if options is not None else 26) else None
    if options is None:
        return _choice(bare, len(LETTERS), None, None)
    return _choice(bare, len(options), options, None)


def _choice(bare: str, n: int, options: Sequence[str] | None, keys: dict[str, int | None] | None) -> int | None:
    """:func:`extract_choice` of the stripped answer ``bare`` (at most MAX_ANSWER_CHARS) with ``n``
    options; ``keys``: ``_option_map(options)`` when the caller has it, else ``None`` (built when needed)."""
    if len(bare) == 1 and "A" <= bare <= "Z":
        index = ord(bare) - 65
        return index if index < n else None
    if options is not None:  # an option's own text, before lead-ins like "answer" are stripped from it
        target = _norm(bare)
        if target:
            if keys is None:
                keys = _option_map(options)
            named = keys.get(target)
            if named is not None:
                return named
    s = _unwrap(bare)
    if not s:
        return None
    unchanged = s == bare  # then s names no option: checked above
    m = _LETTER.match(s)
    if m:
        letter, rest = m.group(1), (m.group(2) or "").strip()
        if letter.islower() and (
            rest or options is not None and not unchanged and _option_index(s, options, keys) is not None
        ):
            letter = ""  # "a dog", "b. x": a lower-case letter counts only when it stands alone
        if letter:
            index = ord(letter.upper()) - 65
            if index >= n:
                return None
            if rest:
                if _BARE_LETTER.match(rest.strip("*").strip()):
                    return None  # "A. B": two letters
                if options is not None:
                    named = _option_index(rest, options, keys)
                    if named is not None and named != index:
                        return None  # "B. <text of C>"
            return index
    if options is not None and not unchanged:
        return _option_index(s, options, keys)
    return None


def gold_index(gold: Any, options: Sequence[str] | None = None) -> int | None:
    """The gold answer as a 0-based index: an int index, a letter, ``B.``, ``B. dog.``,
    ``<answer>B</answer>``, or an option's text when ``options`` are given; ``None`` if unreadable."""
    options = _options(options)
    if isinstance(gold, str) and len(gold) <= MAX_ANSWER_CHARS:
        return _gold_from_text(gold, tuple(options) if options is not None else None)
    if isinstance(gold, float) and gold.is_integer():  # an int column that pandas made float
        gold = int(gold)
    if isinstance(gold, bool):
        return None
    if hasattr(gold, "__index__") and not isinstance(gold, str):
        try:
            index = gold.__index__()
        except Exception:
            return None
        n = len(options) if options is not None else len(LETTERS)
        return index if 0 <= index < n else None
    return None


@functools.lru_cache(maxsize=CACHE_SIZE)
def _gold_from_text(gold: str, options: tuple[str, ...] | None) -> int | None:
    """Gold strings repeat across a group's completions: parse each once (thread-safe cache)."""
    block = answer_block(gold)
    text = block if block is not None else gold.replace(ANSWER_OPEN, "").replace(ANSWER_CLOSE, "")
    return extract_choice(text, options)


def _without_letters(options: list[str]) -> list[str]:
    """Option texts without their letters when every option carries its own in order (Video-R1 writes
    ``["A. cat", "B. dog"]``); otherwise unchanged."""
    first = options[0].lstrip() if options else ""
    if not first.startswith(("A", "(A")):  # the common case: plain option texts
        return options
    stripped = []
    for i, text in enumerate(options):
        head = text.lstrip()
        letter = LETTERS[i] if i < len(LETTERS) else ""
        for prefix in (f"{letter}.", f"{letter})", f"({letter})", f"{letter}:"):
            if letter and head.startswith(prefix) and (len(head) == len(prefix) or head[len(prefix)].isspace()):
                stripped.append(head[len(prefix) :].strip())
                break
        else:
            return options
    return stripped


def _options(options: Any) -> tuple[str, ...] | None:
    """The option texts as a tuple of strings (letters in front removed, see :func:`_without_letters`),
    or ``None`` when ``options`` is not a non-empty sequence of strings. Lists and tuples are read once
    per distinct value (cached)."""
    if options is None:
        return None
    if isinstance(options, (list, tuple)):
        try:
            return _options_of(tuple(options))
        except TypeError:  # an unhashable element: not a list of strings
            return None
    try:  # numpy arrays / pyarrow lists from a dataset column
        as_list = list(options) if not isinstance(options, (str, bytes, dict)) else None
    except Exception:
        return None
    if as_list and all(isinstance(o, str) for o in as_list):
        return tuple(_without_letters(as_list))
    return None


@functools.lru_cache(maxsize=CACHE_SIZE)
def _options_of(options: tuple) -> tuple[str, ...] | None:
    if options and all(isinstance(o, str) for o in options):
        return tuple(_without_letters(list(options)))
    return None


Question = tuple  # (opts, truth, n, keys): see question_data


def question_data(gold: Any, options: Any) -> Question:
    """What scoring an answer against a question needs: ``(opts, truth, n, keys)`` — the option texts as
    :func:`mcq_accuracy` reads them (``_options(options)``), the gold's index against them
    (``gold_index(gold, opts)``, ``None`` when unreadable), ``n`` the number of letters allowed (the
    options', else 26) and ``keys`` the normalised option texts (``_option_map(opts)``, ``None`` without
    options). A question's gold and options repeat over its group's completions, so a string gold with a
    list, tuple or no options is read once per distinct pair (thread-safe cache); anything else each time."""
    if type(gold) is str:
        if options is None:
            return _question_of(gold, None)
        if type(options) is list or type(options) is tuple:
            try:
                return _question_of(gold, tuple(options))
            except TypeError:  # an unhashable option
                pass
    return _read_question(gold, options)


def _read_question(gold: Any, options: Any) -> Question:
    opts = _options(options)
    truth = gold_index(gold, opts)
    if opts is None:
        return None, truth, len(LETTERS), None
    return opts, truth, len(opts), _option_map(opts)


_question_of = functools.lru_cache(maxsize=CACHE_SIZE)(_read_question)


def block_accuracy(block: str | None, opts: tuple[str, ...] | None, truth: int | None) -> float:
    """1.0 when the answer text ``block`` names option ``truth`` (:func:`extract_choice` against ``opts``,
    from :func:`question_data`), else 0.0."""
    if truth is None or block is None:
        return 0.0
    return 1.0 if extract_choice(block, opts) == truth else 0.0


def mcq_accuracy(completion: Any, gold: Any, options: Any = None, require_tags: bool = True) -> float:
    """1.0 when the completion's answer names the gold option, else 0.0.

    The answer is read from the single ``<answer>…</answer>`` block (none or several → 0.0);
    ``require_tags=False`` reads the whole text instead (option-only evaluation). ``options`` (the option
    texts) allow answers given as option text and bound the letters.
    """
    try:
        opts, truth, n, keys = question_data(gold, options)
        if truth is None:
            return 0.0
        text = as_text(completion)
        if text is None:
            return 0.0
        return _accuracy(answer_block(text) if require_tags else text, truth, n, opts, keys)
    except Exception:  # defensive: a reward must never raise inside a trainer
        return 0.0


NO_QUESTION: Question = (None, None, len(LETTERS), None)  # an unreadable question: every answer scores 0.0


def read_question(gold: Any, options: Any) -> Question:
    """:func:`question_data`, and :data:`NO_QUESTION` where reading it raises (a reward must never raise
    inside a trainer): what :func:`question_accuracy` takes."""
    try:
        if type(gold) is str and type(options) is list:  # question_data's common case, inline
            try:
                return _question_of(gold, tuple(options))
            except TypeError:  # an unhashable option
                return _read_question(gold, options)
        return question_data(gold, options)
    except Exception:
        return NO_QUESTION


def question_accuracy(text: str | None, parts: tuple[str, str] | None, question: Question) -> float:
    """``mcq_accuracy(text, gold, options)`` with the question already read (:func:`read_question`), so a
    caller scoring several completions of one question reads it once, and the text already split:
    ``parts`` is ``strict_r1_parts(text)``. When that holds, the text has exactly one of each tag, so its
    answer part is the single ``<answer>`` block :func:`mcq_accuracy` reads; the text is not searched
    again."""
    try:
        opts, truth, n, keys = question
        if truth is None or text is None:
            return 0.0
        return _accuracy(parts[1] if parts is not None else answer_block(text), truth, n, opts, keys)
    except Exception:  # as mcq_accuracy: a reward must never raise inside a trainer
        return 0.0


def _accuracy(block: str | None, truth: int, n: int, opts: Any, keys: Any) -> float:
    """1.0 when ``block`` names option ``truth`` of the question ``(opts, truth, n, keys)``, else 0.0."""
    if block is None or len(block) > MAX_ANSWER_CHARS:
        return 0.0
    bare = block.strip()
    index = _UPPER.get(bare)
    if index is not None:  # the common case: one capital letter (truth < n: no bound to check)
        return 1.0 if index == truth else 0.0
    return 1.0 if _choice(bare, n, opts, keys) == truth else 0.0
