"""Thread safety: the scorers give the single-threaded results when called concurrently from many threads
(verl, OpenRLHF and async TRL call rewards off the main thread)."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

from rewards import (
    freeform_score,
    math_accuracy,
    mcq_accuracy,
    numerical_accuracy,
    ocr_score,
    r1_format,
    regression_score,
    tinyllava_format,
    tinyllava_reward,
)
from rewards import trl as trl_rewards

OPTIONS = ["cat", "dog", "bird", "fish"]


def r1(answer: str, think: str = "thinking") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


# (function, args): cheap, pure-Python scorers
CASES = [
    (mcq_accuracy, (r1("B"), "B", OPTIONS)),
    (mcq_accuracy, (r1("dog"), 1, OPTIONS)),
    (mcq_accuracy, (r1("A or B"), "B", OPTIONS)),
    (mcq_accuracy, (r1("(C)"), "<answer>C</answer>", OPTIONS)),
    (mcq_accuracy, (r1("B"), "dog", OPTIONS)),
    (mcq_accuracy, (r1("B"), "Dog.", ["cat", "dog"])),
    (tinyllava_reward, (r1("B", "x" * 600), "B", OPTIONS)),
    (tinyllava_reward, (r1("A", "x" * 300), "B", OPTIONS)),
    (tinyllava_reward, ("B", "B", OPTIONS)),
    (r1_format, (r1("B"),)),
    (r1_format, ("<answer>B</answer>",)),
    (tinyllava_format, (r1("B", "y" * 900),)),
    (numerical_accuracy, (r1("1,000"), "1000")),
    (numerical_accuracy, (r1("3.146"), "3.14")),
    (regression_score, (r1("9"), "10")),
    (ocr_score, (r1("STOP AHEAD NOW"), "STOP AHEAD")),
    (ocr_score, (r1("the quick brown fox"), "the quick brown dog")),
    (freeform_score, (r1("the man throws a ball"), "a man throws the red ball")),
]
EXPECTED = [fn(*args) for fn, args in CASES]
MATH_CASES = [("\\boxed{0.5}", "$\\frac{1}{2}$"), ("\\boxed{3}", "2"), ("\\boxed{1}", "hello world")]


def test_single_threaded_reference_values():
    assert EXPECTED[:10] == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, pytest.approx(1.75), pytest.approx(-0.625), -2.0, 1.0]
    assert [math_accuracy(c, g) for c, g in MATH_CASES] == [1.0, 0.0, None]


def test_threading_threads_match_single_threaded():
    failures: list = []
    barrier = threading.Barrier(8)

    def worker(offset: int) -> None:
        barrier.wait()
        for k in range(200):
            i = (k + offset) % len(CASES)
            fn, args = CASES[i]
            try:
                value = fn(*args)
            except Exception as exc:  # reported below
                failures.append((i, repr(exc)))
                continue
            if value != EXPECTED[i]:
                failures.append((i, value))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def test_thread_pool_matches_single_threaded():
    jobs = [i % len(CASES) for i in range(8 * 200)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: CASES[i][0](*CASES[i][1]), jobs))
    assert results == [EXPECTED[i] for i in jobs]


def test_trl_batches_in_thread_pool():
    completions = [args[0] for fn, args in CASES[:9]]
    columns = {"solution": [args[1] for fn, args in CASES[:9]], "options": [args[2] for fn, args in CASES[:9]]}
    expected = trl_rewards.tinyllava_reward(completions=completions, **columns)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(trl_rewards.tinyllava_reward, completions=completions, **columns) for _ in range(100)]
        assert all(f.result() == expected for f in futures)


@pytest.mark.slow
def test_math_accuracy_concurrently():
    expected = [math_accuracy(c, g) for c, g in MATH_CASES]  # main thread: math-verify's own timeouts
    jobs = MATH_CASES * 4
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda cg: math_accuracy(*cg), jobs))
    assert results == expected * 4

    values: dict[int, object] = {}

    def worker(n: int) -> None:
        values[n] = math_accuracy(*MATH_CASES[n % len(MATH_CASES)])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert values == {n: expected[n % len(MATH_CASES)] for n in range(6)}
