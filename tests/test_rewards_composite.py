"""Composite rewards: accuracy by problem type, the TinyLLaVA-Video-R1 combination, Video-R1's temporal bonus,
and score() (the entry point every adapter shares)."""

from __future__ import annotations

import pytest

from rewards import accuracy, score, temporal_bonus, tinyllava_combine, tinyllava_reward

OPTIONS = ["cat", "dog", "bird", "fish"]


def r1(answer: str, think: str = "x" * 1200) -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


# --------------------------------------------------------------------------------------- tinyllava_combine


@pytest.mark.parametrize(
    ("a", "f", "expected"),
    [
        (1.0, 1.0, 2.0),  # right, full format
        (1.0, 0.0, 1.0),  # right, no format
        (0.0, 0.0, -2.0),  # wrong, no format: r = 0 -> -2
        (0.0, 1.0, -1.0),  # wrong, full format
        (1.0, 0.75, 1.75),
        (1.0, 0.5, 1.5),
        (0.0, 0.75, -0.75),
        (0.0, 0.5, -0.5),
    ],
)
def test_tinyllava_combine(a, f, expected):
    assert tinyllava_combine(a, f) == pytest.approx(expected)


# ---------------------------------------------------------------------------------------- tinyllava_reward


@pytest.mark.parametrize(
    ("completion", "gold", "expected"),
    [
        (r1("B"), "B", 2.0),  # right, think of 1200+ chars
        (r1("A"), "B", -1.0),  # wrong, full format
        ("<answer>B</answer>", "B", 1.0),  # right, strict format fails
        ("<answer>A</answer>", "B", -2.0),  # wrong, no format
        ("B", "B", -2.0),  # no answer block at all: wrong, no format
        (r1("B", think="y" * 600), "B", 1.75),  # partial length term
        (r1("A", think="y" * 600), "B", -0.75),
        (r1("B", think=""), "B", 1.5),  # empty think: f = 0.5
        (r1("A", think=""), "B", -0.5),
        (r1("dog"), 1, 2.0),
        (r1("B"), "<answer>B</answer>", 2.0),
        ("Sure! " + r1("B"), "B", 1.0),  # text before: no format, still right
    ],
)
def test_tinyllava_reward_values(completion, gold, expected):
    assert tinyllava_reward(completion, gold, OPTIONS) == pytest.approx(expected)


def test_tinyllava_reward_custom_length():
    assert tinyllava_reward(r1("B", think="z" * 50), "B", OPTIONS, length=100) == pytest.approx(1.75)
    assert tinyllava_reward(r1("A", think="z" * 50), "B", OPTIONS, length=100) == pytest.approx(-0.75)


def test_tinyllava_reward_unreadable_gold_counts_as_wrong():
    assert tinyllava_reward(r1("B"), None, OPTIONS) == -1.0
    assert tinyllava_reward("B", None, OPTIONS) == -2.0


# ------------------------------------------------------------------------------------------ temporal_bonus


def test_temporal_bonus_defaults():
    # mean(ordered) = 0.5 >= 0.8 * mean(shuffled) = 0.4: the ordered samples above 0.1 get 0.3
    assert temporal_bonus([1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5]) == [0.3, 0.0, 0.3, 0.0]


def test_temporal_bonus_denied_when_shuffled_does_better():
    # mean(ordered) = 0.25 < 0.8 * mean(shuffled) = 0.8
    assert temporal_bonus([1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]) == [0.0, 0.0, 0.0, 0.0]


def test_temporal_bonus_boundary_is_inclusive():
    # mean(ordered) = 0.4 == 0.8 * 0.5
    assert temporal_bonus([0.4, 0.4], [0.5, 0.5]) == [0.3, 0.3]
    # just below the boundary
    assert temporal_bonus([0.39, 0.39], [0.5, 0.5]) == [0.0, 0.0]


def test_temporal_bonus_threshold_is_strict():
    assert temporal_bonus([0.1, 0.11, 0.0, 1.0], [0.0]) == [0.0, 0.3, 0.0, 0.3]


def test_temporal_bonus_custom_parameters():
    assert temporal_bonus([1.0, 0.6], [1.0], alpha=0.8, bonus=0.5, threshold=0.5) == [0.5, 0.5]
    assert temporal_bonus([1.0, 0.6], [1.0], alpha=0.9) == [0.0, 0.0]  # 0.8 < 0.9
    assert temporal_bonus([1.0, 0.6], [1.0], threshold=0.7) == [0.3, 0.0]


def test_temporal_bonus_edges():
    assert temporal_bonus([], [1.0]) == []
    assert temporal_bonus([1.0, 0.0], []) == [0.3, 0.0]  # no shuffled run: mean 0
    assert temporal_bonus([0.0, 0.0], [0.0, 0.0]) == [0.0, 0.0]  # allowed, but nobody is above 0.1
    assert temporal_bonus((1, 0), (0, 0)) == [0.3, 0.0]  # ints and tuples
    assert temporal_bonus(["x"], [1.0]) == [0.0]
    assert temporal_bonus([1.0], ["x"]) == [0.0]


# ---------------------------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize(
    ("problem_type", "completion", "gold", "expected"),
    [
        ("multiple choice", r1("B"), "B", 1.0),
        ("Multiple Choice", r1("B"), "B", 1.0),
        ("mcq", r1("dog"), 1, 1.0),
        ("multiple_choice", r1("A"), "B", 0.0),
        ("numerical", r1("1,000"), "1000", 1.0),
        ("numerical", r1("3"), "4", 0.0),
        ("regression", r1("9"), "10", 0.9),
        ("OCR", r1("STOP AHEAD"), "STOP AHEAD", 1.0),
        ("ocr", r1("STOP"), "STOP AHEAD", 0.5),
        ("free-form", r1("the cat sat"), "the cat sat", 1.0),
        ("freeform", r1("purple"), "the cat sat", 0.0),
        ("math", r1("\\boxed{0.5}"), "$\\frac{1}{2}$", 1.0),
        ("something else", r1("B"), "B", 0.0),
        (None, r1("B"), "B", 1.0),  # default: multiple choice
        ("", r1("B"), "B", 1.0),
    ],
)
def test_accuracy_by_problem_type(problem_type, completion, gold, expected):
    options = OPTIONS if problem_type in ("mcq",) else None
    assert accuracy(completion, gold, problem_type, options) == pytest.approx(expected, abs=1e-6)


def test_accuracy_math_unparseable_gold_is_none():
    assert accuracy(r1("\\boxed{1}"), "hello world", "math") is None


# ------------------------------------------------------------------------------------------------- score


def test_score_default_is_tinyllava():
    assert score(r1("B"), "B") == {"score": 2.0, "accuracy": 1.0, "format": 1.0}
    assert score(r1("B"), "B", mode="tinyllava") == {"score": 2.0, "accuracy": 1.0, "format": 1.0}


@pytest.mark.parametrize(
    ("completion", "gold", "expected"),
    [
        (r1("B"), "B", (2.0, 1.0, 1.0)),
        (r1("A"), "B", (-1.0, 0.0, 1.0)),
        ("<answer>B</answer>", "B", (1.0, 1.0, 0.0)),
        ("nothing", "B", (-2.0, 0.0, 0.0)),
        (r1("B", think="q" * 600), "B", (1.75, 1.0, 0.75)),
    ],
)
def test_score_tinyllava(completion, gold, expected):
    out = score(completion, gold, options=OPTIONS)
    assert (out["score"], out["accuracy"], out["format"]) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("completion", "gold", "expected"),
    [
        (r1("B", think="short"), "B", (2.0, 1.0, 1.0)),  # strict format, no length term
        (r1("A", think="short"), "B", (1.0, 0.0, 1.0)),
        ("<answer>B</answer>", "B", (1.0, 1.0, 0.0)),
        ("nothing", "B", (0.0, 0.0, 0.0)),
    ],
)
def test_score_sum(completion, gold, expected):
    out = score(completion, gold, mode="sum")
    assert (out["score"], out["accuracy"], out["format"]) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("completion", "weight", "expected_score"),
    [
        (r1("B", think="short"), 0.5, 1.0),
        ("<answer>B</answer>", 0.5, 0.5),
        ("<answer>B</answer>", 0.1, 0.9),
        (r1("A", think="short"), 0.1, 0.1),
        (r1("A", think="short"), 0.0, 0.0),
        ("nothing", 0.3, 0.0),
    ],
)
def test_score_weighted(completion, weight, expected_score):
    out = score(completion, "B", mode="weighted", format_weight=weight)
    assert out["score"] == pytest.approx(expected_score)
    assert set(out) == {"score", "accuracy", "format"}


def test_score_length_and_problem_type():
    out = score(r1("B", think="w" * 50), "B", length=100)
    assert out["format"] == pytest.approx(0.75) and out["score"] == pytest.approx(1.75)
    out = score(r1("42"), "42", problem_type="numerical")
    assert out == {"score": 2.0, "accuracy": 1.0, "format": 1.0}
    # an unparseable math gold counts as accuracy 0
    out = score(r1("\\boxed{1}"), "hello world", problem_type="math")
    assert out["accuracy"] == 0.0 and out["score"] == -1.0


@pytest.mark.parametrize("mode", ["unknown", "", "TINYLLAVA", None, "Sum"])
def test_score_unknown_mode_raises(mode):
    with pytest.raises(ValueError):
        score(r1("B"), "B", mode=mode)


def test_score_values_are_floats():
    for mode in ("tinyllava", "sum", "weighted"):
        out = score(r1("B"), "B", mode=mode)
        assert all(isinstance(v, float) for v in out.values()), out


# ------------------------------------------------------------------- the hot path's inlined formulas
# rewards.combine.score_values and _combined inline completion_text's common case, tinyllava_format_of at
# the default length and tinyllava_combine (a function call is ~2 % of a completion's scoring); these
# tests hold each inlined copy equal to the function it copies.


@pytest.mark.parametrize("a", [0.0, 0.25, 0.5, 1.0])
@pytest.mark.parametrize("think", ["", " ", "x", " x\n", "x" * 100, "x" * 500, "x" * 1500, "\t" + "y" * 499 + " "])
def test_inlined_format_and_combination_equal_the_named_functions(think, a):
    from rewards.combine import _combined
    from rewards.format import TINYLLAVA_LENGTH, tinyllava_format_of

    for parts in ((think, "B"), None):
        f = tinyllava_format_of(parts)
        assert _combined(parts, a, "tinyllava", 0.5, TINYLLAVA_LENGTH) == (tinyllava_combine(a, f), a, f)


@pytest.mark.parametrize(
    "tail", ["", "  ", "\n", "<|im_end|>", "<|im_end|>\n<|endoftext|>", "</s> ", "<b>", "</answer>", ">"]
)
@pytest.mark.parametrize("text", [r1("B"), r1("A"), r1("B", think="s"), "<answer>B</answer>", "B", ""])
def test_inlined_completion_text_equals_the_function(text, tail):
    from rewards._text import completion_text
    from rewards.combine import score_question, score_values
    from rewards.mcq import read_question

    completion = text + tail
    question = read_question("B", OPTIONS)
    assert score_values(completion, "B", OPTIONS) == score_question(completion_text(completion), question)
