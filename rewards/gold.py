"""A packed ground truth: the gold answer with its options and problem type in one JSON string.

Some trainers hand a reward function only one value per sample besides the response: EasyR1 passes
``ground_truth`` (the dataset's answer column), OpenRLHF passes ``labels`` (its ``--data.label_key``
column). Packing the options and the problem type into that value lets those trainers score an answer
given as an option's text, and mixed problem types, exactly as the trainers that pass every column do::

    {"answer": "B", "options": ["cat", "dog"], "problem_type": "multiple choice"}

``curate export --to easyr1`` and ``--to openrlhf`` write this form (:func:`pack_gold`); the adapters read
it with :func:`unpack_gold`, and read any other value (a letter, ``<answer>B</answer>``, an index) as a
plain gold with no options.
"""

from __future__ import annotations

import functools
import json
from typing import Any, NamedTuple

MAX_PACKED_CHARS = 1 << 20  # a packed gold longer than this is not one (bounds the JSON parse)
CACHE_SIZE = 4096  # distinct packed golds remembered


class Gold(NamedTuple):
    answer: Any
    options: list[str] | None
    problem_type: str


def pack_gold(answer: Any, options: list[str] | None = None, problem_type: str = "multiple choice") -> str:
    """The JSON string :func:`unpack_gold` reads back (keys in a fixed order, UTF-8 kept readable)."""
    return json.dumps(
        {"answer": answer, "options": list(options) if options is not None else None, "problem_type": problem_type},
        ensure_ascii=False,
    )


def unpack_gold(value: Any, options: Any = None, problem_type: Any = None) -> Gold:
    """``value`` as a :class:`Gold`. A JSON object string with an ``answer`` key gives its answer, options
    and problem type; anything else is the answer itself. ``options`` and ``problem_type`` given here
    (columns a trainer passed beside the gold) fill what the packed value leaves out."""
    answer, opts, kind = read_gold(value, options, problem_type)
    if opts is not options:  # the packed value's options (the cached tuple): a list of the caller's own
        opts = list(opts)
    return Gold(answer, opts, kind)


def read_gold(value: Any, options: Any = None, problem_type: Any = None) -> tuple[Any, Any, str]:
    """:func:`unpack_gold` as a plain ``(answer, options, problem_type)`` tuple for the adapters' per-row
    path: packed options come back as the cached tuple (no copy), given ``options`` as they were given."""
    if options is None and problem_type is None and type(value) is str and "{" in value:
        read = _read_packed(value)  # EasyR1's and OpenRLHF's case: the whole answer cached
        if read is not None:
            return read
    packed = _parse(value) if isinstance(value, str) and "{" in value else None  # no "{": not packed
    if packed is None:
        return value, options, str(problem_type or "multiple choice")
    answer, packed_options, packed_type = packed
    return (
        answer,
        packed_options if packed_options is not None else options,
        str(packed_type or problem_type or "multiple choice"),
    )


@functools.lru_cache(maxsize=CACHE_SIZE)
def _parse(value: str) -> tuple[Any, tuple[str, ...] | None, str | None] | None:
    """Golds repeat across a group's responses: each distinct string is parsed once (thread-safe cache)."""
    s = value.strip()
    if not (s.startswith("{") and s.endswith("}")) or len(s) > MAX_PACKED_CHARS:
        return None
    try:
        obj = json.loads(s)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "answer" not in obj:
        return None
    options = obj.get("options")
    if not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
        options = None
    kind = obj.get("problem_type")
    answer = obj["answer"]
    if isinstance(answer, (list, dict)):
        answer = None  # unhashable and no gold form: unreadable
    return answer, tuple(options) if options is not None else None, kind if isinstance(kind, str) else None


@functools.lru_cache(maxsize=CACHE_SIZE)
def _read_packed(value: str) -> tuple[Any, tuple[str, ...] | None, str] | None:
    """:func:`read_gold` of a packed ``value`` given alone; ``None`` when it is not packed."""
    packed = _parse(value)
    if packed is None:
        return None
    answer, options, kind = packed
    return answer, options, str(kind or "multiple choice")
