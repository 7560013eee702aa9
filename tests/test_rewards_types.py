"""Video-R1's other problem types: numerical, regression, OCR (WER), free-form (ROUGE), math (math-verify)."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

from rewards import (
    freeform_score,
    math_accuracy,
    numerical_accuracy,
    ocr_score,
    parse_number,
    regression_score,
    word_error_rate,
)


def wrap(answer: str) -> str:
    return f"<think>Counting.</think><answer>{answer}</answer>"


def in_thread(fn, *args):
    """Run ``fn(*args)`` on a fresh non-main thread and return its value (or re-raise its exception)."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "scorer did not return"
    if "error" in box:
        raise box["error"]
    return box["value"]


# ------------------------------------------------------------------------------------------ parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42.0),
        (" 42 ", 42.0),
        ("-3.5", -3.5),
        ("+7", 7.0),
        ("1,000", 1000.0),
        ("1,000,000", 1_000_000.0),
        ("1,000.25", 1000.25),
        ("0.5", 0.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        (3, 3.0),
        (2.5, 2.5),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "42 apples", "4 or 5", "abc", "1,00", "1,2345", "nan", "inf", "-inf", "1" * 100, None, True, [1],
     {"a": 1}, float("nan"), float("inf"), b"42"],
)
def test_parse_number_rejects(text):
    assert parse_number(text) is None


def test_parse_number_two_numbers_separated_by_a_space_are_not_one_number():
    # The docstring: "The whole text must be the number: ``42 apples`` or ``4 or 5`` is not one." A hedge
    # "4 5" (two numbers) must not become 45.
    assert parse_number("4 5") is None
    assert numerical_accuracy(wrap("4 5"), "45") == 0.0


# ------------------------------------------------------------------------------------ numerical_accuracy


@pytest.mark.parametrize(
    ("answer", "gold"),
    [
        ("42", "42"),
        ("1,000", "1000"),
        ("1000", "1,000"),
        ("1,000", "<answer>1000</answer>"),
        ("3.14", "3.14"),
        ("3.141", "3.14"),  # equal to two decimals
        ("3.144", "3.14"),
        ("2.0", "2"),
        (" 7 ", "7"),
        ("7", 7),
        ("2.5", 2.5),
        ("-1.5", "-1.50"),
    ],
)
def test_numerical_accuracy_right(answer, gold):
    assert numerical_accuracy(wrap(answer), gold) == 1.0


@pytest.mark.parametrize(
    ("answer", "gold"),
    [
        ("3.146", "3.14"),  # rounds to 3.15
        ("3.13", "3.14"),
        ("41", "42"),
        ("42 apples", "42"),
        ("", "42"),
        ("forty-two", "42"),
        ("4 or 5", "4"),
        ("42", "forty-two"),
        ("42", None),
        ("42", True),
        ("42", [42]),
    ],
)
def test_numerical_accuracy_wrong(answer, gold):
    assert numerical_accuracy(wrap(answer), gold) == 0.0


def test_numerical_accuracy_answer_block_rule():
    assert numerical_accuracy("42", "42") == 0.0  # no tags
    assert numerical_accuracy("<answer>42</answer><answer>42</answer>", "42") == 0.0
    assert numerical_accuracy("42", "42", require_tags=False) == 1.0
    assert numerical_accuracy([{"role": "assistant", "content": wrap("42")}], "42") == 1.0


def test_numerical_accuracy_huge_int_gold_does_not_raise():
    # Core scorers never raise; a gold int too large for a float must score 0.0, not raise OverflowError.
    assert numerical_accuracy(wrap("1"), 10**400) == 0.0


# -------------------------------------------------------------------------------------- regression_score


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("10", "10", 1.0),
        ("9", "10", 0.9),
        ("11", "10", 0.9),
        ("15", "10", 0.5),
        ("20", "10", 0.0),
        ("100", "10", 0.0),  # relative error clipped at 1
        ("-10", "10", 0.0),
        ("0", "10", 0.0),
        ("1,050", "1000", 0.95),
        ("2.5", "2", 0.75),
        ("7.5", 10, 0.75),
    ],
)
def test_regression_score(answer, gold, expected):
    assert regression_score(wrap(answer), gold) == pytest.approx(expected, abs=1e-6)


def test_regression_score_unparseable_is_zero():
    assert regression_score(wrap("about ten"), "10") == 0.0
    assert regression_score(wrap("10"), "ten") == 0.0
    assert regression_score("10", "10") == 0.0  # no tags
    assert regression_score("10", "10", require_tags=False) == pytest.approx(1.0)


def test_regression_score_huge_int_gold_does_not_raise():
    assert regression_score(wrap("1"), 10**400) == 0.0


# ---------------------------------------------------------------------------------------- word error rate


@pytest.mark.parametrize(
    ("hypothesis", "reference", "expected"),
    [
        ("the cat sat", "the cat sat", 0.0),
        ("the cat sat", "the cat sits", 1 / 3),  # one substitution
        ("the cat", "the cat sat", 1 / 3),  # one deletion
        ("the big cat sat", "the cat sat", 1 / 3),  # one insertion
        ("cat the sat", "the cat sat", 2 / 3),
        ("a b c d", "a b c e", 0.25),
        ("x y z", "a b c", 1.0),
        ("", "", 0.0),
        ("", "a b", 1.0),
        ("a", "", 1.0),
        ("a b", "", 2.0),
        ("  the   cat ", "the cat", 0.0),  # whitespace-split words
        ("The cat", "the cat", 0.5),  # case-sensitive, as Video-R1's
    ],
)
def test_word_error_rate(hypothesis, reference, expected):
    assert word_error_rate(hypothesis, reference) == pytest.approx(expected)


def test_word_error_rate_long_hypothesis_is_at_least_one():
    # The documented shortcut: when the word counts alone prove WER >= 1 the value is a lower bound >= 1.
    assert word_error_rate("a b c d", "a") == pytest.approx(3.0)
    assert word_error_rate("w x y z", "a") >= 1.0


# --------------------------------------------------------------------------------------------- ocr_score


@pytest.mark.parametrize(
    ("answer", "gold", "expected"),
    [
        ("STOP AHEAD", "STOP AHEAD", 1.0),
        ("STOP", "STOP AHEAD", 0.5),
        ("STOP AHEAD NOW", "STOP AHEAD", 0.5),
        ("GO", "STOP AHEAD", 0.0),
        ("a b c d e f", "x", 0.0),  # WER > 1 clipped to 0
        ("  STOP   AHEAD ", "STOP AHEAD", 1.0),
        ("STOP AHEAD", "<answer>STOP AHEAD</answer>", 1.0),
        ("one two three four", "one two three five", 0.75),
    ],
)
def test_ocr_score(answer, gold, expected):
    assert ocr_score(wrap(answer), gold) == pytest.approx(expected)


def test_ocr_score_rules():
    assert ocr_score("STOP", "STOP") == 0.0  # no answer block
    assert ocr_score("STOP", "STOP", require_tags=False) == 1.0
    assert ocr_score(wrap("STOP"), None) == 0.0
    assert ocr_score(wrap("1"), 1) == 0.0  # gold must be text
    assert ocr_score(None, "STOP") == 0.0
    assert ocr_score(wrap(""), "") == 1.0  # empty answer for empty gold: no errors


# ---------------------------------------------------------------------------------------- freeform_score


def test_freeform_identical_is_one():
    text = "The man in the red shirt throws the ball to the dog."
    assert freeform_score(wrap(text), text) == pytest.approx(1.0)
    assert freeform_score(wrap(text), f"<answer>{text}</answer>") == pytest.approx(1.0)


def test_freeform_disjoint_is_zero():
    assert freeform_score(wrap("purple elephants dance"), "the man throws a ball") == 0.0


def test_freeform_matches_rouge_score_mean():
    from rouge_score import rouge_scorer

    gold, answer = "a man throws the ball to his dog", "the man throws a red ball"
    scores = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(gold, answer)
    expected = sum(s.fmeasure for s in scores.values()) / 3
    assert 0.0 < expected < 1.0
    assert freeform_score(wrap(answer), gold) == pytest.approx(expected)


def test_freeform_partial_is_between():
    value = freeform_score(wrap("the cat sat on the mat"), "the cat sat on the sofa")
    assert 0.0 < value < 1.0


def test_freeform_empty_or_untagged_is_zero():
    assert freeform_score(wrap(""), "the cat") == 0.0
    assert freeform_score(wrap("the cat"), "") == 0.0
    assert freeform_score("the cat", "the cat") == 0.0
    assert freeform_score("the cat", "the cat", require_tags=False) == pytest.approx(1.0)
    assert freeform_score(None, "the cat") == 0.0
    assert freeform_score(wrap("the cat"), None) == 0.0


# ----------------------------------------------------------------------------------------- math_accuracy


@pytest.mark.parametrize(
    ("completion", "gold"),
    [
        ("\\boxed{0.5}", "$\\frac{1}{2}$"),
        ("The answer is $\\frac{1}{2}$", "0.5"),
        ("The final answer is $0.5$", "$\\frac{1}{2}$"),
        ("<think>half</think><answer>$\\frac{1}{2}$</answer>", "0.5"),
        ("\\boxed{\\frac{63}{400}}", "\\frac{63}{400}"),
        ("\\boxed{2}", 2),
        ("\\boxed{0.5}", 0.5),
    ],
)
def test_math_accuracy_equal(completion, gold):
    assert math_accuracy(completion, gold) == 1.0


@pytest.mark.parametrize(
    ("completion", "gold"),
    [("\\boxed{3}", "2"), ("\\boxed{\\frac{1}{3}}", "0.5"), ("no answer here", "2"), ("", "2"), (None, "2")],
)
def test_math_accuracy_not_equal(completion, gold):
    assert math_accuracy(completion, gold) == 0.0


@pytest.mark.parametrize("gold", ["", "hello world", None, [1], {"a": 1}, True])
def test_math_accuracy_unparseable_gold_is_none(gold):
    assert math_accuracy("\\boxed{1}", gold) is None


def test_math_accuracy_conversational():
    assert math_accuracy([{"role": "assistant", "content": "\\boxed{0.5}"}], "$\\frac{1}{2}$") == 1.0


@pytest.mark.slow
def test_math_accuracy_off_the_main_thread():
    # Off the main thread signal.alarm cannot be used: the work goes to the helper process.
    assert in_thread(math_accuracy, "\\boxed{0.5}", "$\\frac{1}{2}$") == 1.0
    assert in_thread(math_accuracy, "\\boxed{3}", "2") == 0.0
    assert in_thread(math_accuracy, "\\boxed{1}", "hello world") is None
    assert in_thread(math_accuracy, "The answer is $\\frac{1}{2}$", "0.5") == 1.0
    from rewards import math_answer

    assert math_answer._POOL is not None  # the helper process did the work


def test_math_accuracy_in_a_thread_pool_matches_main_thread():
    cases = [("\\boxed{0.5}", "$\\frac{1}{2}$"), ("\\boxed{3}", "2"), ("\\boxed{1}", "hello world"),
             ("\\boxed{\\frac{63}{400}}", "\\frac{63}{400}")]
    expected = [math_accuracy(c, g) for c, g in cases]
    assert expected == [1.0, 0.0, None, 1.0]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda cg: math_accuracy(*cg), cases * 3))
    assert results == expected * 3


def test_math_accuracy_huge_int_gold_does_not_raise():
    # str() of an int past Python's 4300-digit limit raises ValueError; the scorer must not.
    value = math_accuracy("\\boxed{1}", 10**5000)
    assert value in (0.0, None)
