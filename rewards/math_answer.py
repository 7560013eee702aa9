"""Math answers through math-verify (the ``math`` extra), with timeouts that work on any thread.

math-verify bounds its work with ``signal.alarm``, which only works on the main thread; verl, OpenRLHF
and async TRL call rewards from other threads. Here the main thread uses math-verify's own timeouts
(as TRL does) and any other thread sends the work to one helper process (spawned once, reused) and
waits at most ``timeout`` seconds; a helper that overruns is terminated and replaced, and the answer
scores 0.0. (Spawned helpers re-import the main script: scripts need the usual
``if __name__ == "__main__":`` guard.)
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import threading
from typing import Any

from rewards._text import as_text
from rewards.extras import require

DEFAULT_TIMEOUT = 5.0
_POOL = None
_POOL_LOCK = threading.Lock()


def _compare(gold: str, answer: str, timeout: float | None) -> tuple[bool, bool]:
    """(gold parsed, answer equals gold) — run in this process; ``timeout`` None disables signals."""
    mv = require("math_verify", "math")
    from latex2sympy2_extended import NormalizationConfig

    gold_parsed = mv.parse(gold, parsing_timeout=timeout)
    if len(gold_parsed) == 0:
        return False, False
    config = [
        mv.LatexExtractionConfig(
            normalization_config=NormalizationConfig(units=True),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
    ]
    answer_parsed = mv.parse(answer, extraction_config=config, extraction_mode="first_match", parsing_timeout=timeout)
    return True, bool(mv.verify(gold_parsed, answer_parsed, timeout_seconds=timeout))


def _compare_untimed(gold: str, answer: str) -> tuple[bool, bool]:
    # In the helper process the timeout is enforced from outside; silence math-verify's warning about it.
    for name in ("math_verify", "math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return _compare(gold, answer, None)


def _pool():
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            require("math_verify", "math")  # fail here, with the extra's name, not in the helper
            _POOL = multiprocessing.get_context("spawn").Pool(1)
            atexit.register(_close, _POOL)
        return _POOL


def _close(pool) -> None:
    pool.terminate()
    pool.join()


def _reset_pool(pool) -> None:
    global _POOL
    with _POOL_LOCK:
        if _POOL is pool:
            _POOL = None
    pool.terminate()


def math_equal(gold: str, answer: str, timeout: float = DEFAULT_TIMEOUT) -> bool | None:
    """Whether ``answer`` equals ``gold`` as math; ``None`` when the gold cannot be parsed."""
    if threading.current_thread() is threading.main_thread():
        try:
            parsed, equal = _compare(gold, answer, max(1, round(timeout)))
        except Exception:
            return False
        return equal if parsed else None
    pool = _pool()
    try:
        parsed, equal = pool.apply_async(_compare_untimed, (gold, answer)).get(timeout)
    except multiprocessing.TimeoutError:
        _reset_pool(pool)
        return False
    except Exception:
        return False
    return equal if parsed else None


def math_accuracy(completion: Any, gold: Any, timeout: float = DEFAULT_TIMEOUT) -> float | None:
    """1.0 when the completion's math answer equals the gold (math-verify), 0.0 when it does not,
    ``None`` when the gold cannot be parsed (TRL's "skip this example")."""
    text = as_text(completion)
    if not isinstance(gold, str):
        try:
            gold = str(gold) if isinstance(gold, (int, float)) and not isinstance(gold, bool) else None
        except ValueError:  # an int beyond Python's int-to-str digit limit
            gold = None
    if gold is None:
        return None
    if text is None:
        return 0.0
    result = math_equal(gold, text, timeout)
    return None if result is None else float(result)
