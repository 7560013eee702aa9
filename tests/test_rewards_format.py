"""Format rewards: strict R1 format, TinyLLaVA-Video-R1's format with its length term, TRL's think format."""

from __future__ import annotations

import pytest

from rewards import r1_format, think_format, tinyllava_format
from rewards.format import TINYLLAVA_LENGTH

GOOD = "<think>The dog runs after the ball.</think><answer>B</answer>"


def r1(think: str = "reasoning", answer: str = "B", sep: str = "") -> str:
    return f"<think>{think}</think>{sep}<answer>{answer}</answer>"


# ------------------------------------------------------------------------------------------- r1_format


@pytest.mark.parametrize(
    "completion",
    [
        GOOD,
        r1(sep="\n"),
        r1(sep="  \n\t "),
        "  \n" + GOOD + "\n\n ",
        r1(think="", answer=""),
        r1(think="multi\nline\nthinking", answer="\nB\n"),
        r1(think="x < y and y > z", answer="B"),
        r1(think="<thinking> is not the tag", answer="B"),
    ],
)
def test_r1_format_accepts(completion):
    assert r1_format(completion) == 1.0


@pytest.mark.parametrize(
    "completion",
    [
        "",
        "   ",
        "B",
        "<answer>B</answer>",  # missing think
        "<think>reasoning</think>",  # missing answer
        "<think>reasoning</think>B",
        "<think>reasoning<answer>B</answer>",  # missing </think>
        "reasoning</think><answer>B</answer>",  # missing <think>
        "<think>reasoning</think><answer>B",  # missing </answer>
        "<think>reasoning</think>B</answer>",  # missing <answer>
        r1() + "<answer>C</answer>",  # two answers
        "<think>r</think><answer>B</answer><answer>B</answer>",
        "<think>r</think><answer><answer>B</answer></answer>",  # nested answer
        "<think>a<think>b</think></think><answer>B</answer>",  # nested think
        "<think>a<think>b</think><answer>B</answer>",  # second <think>
        "<think>a</think></think><answer>B</answer>",  # second </think>
        r1() + r1(),  # the whole thing twice
        "Sure! " + GOOD,  # text before
        GOOD + " Hope this helps.",  # text after
        GOOD + "\n</think>",
        "<think>r</think> text between <answer>B</answer>",  # text between the blocks
        "<think>r</think>.<answer>B</answer>",
        "<answer>B</answer><think>r</think>",  # reversed order
        "</think>r<think><answer>B</answer>",  # close before open
        "<think>r</answer><answer>B</think>",  # crossed tags
        "<think>r<answer>x</think></answer>",
        "<think>r</think><answer>B<think></answer>",
        "<think>r</think><answer>B</think></answer>",
        "<think>r <answer> </think><answer>B</answer>",
        "<THINK>r</THINK><ANSWER>B</ANSWER>",  # tags are case-sensitive
        "<think >r</think><answer>B</answer>",
    ],
)
def test_r1_format_rejects(completion):
    assert r1_format(completion) == 0.0


def test_r1_format_conversational_and_bytes():
    assert r1_format([{"role": "assistant", "content": GOOD}]) == 1.0
    assert r1_format({"role": "assistant", "content": GOOD}) == 1.0
    # the last message is the completion
    assert r1_format([{"role": "user", "content": "question"}, {"role": "assistant", "content": GOOD}]) == 1.0
    assert r1_format([{"role": "assistant", "content": GOOD}, {"role": "assistant", "content": "B"}]) == 0.0
    assert r1_format(GOOD.encode()) == 1.0


@pytest.mark.parametrize("value", [None, 0, 1.0, [], {}, [{}], [{"content": None}], object(), b"", True])
def test_r1_format_non_text_is_zero(value):
    assert r1_format(value) == 0.0


# ------------------------------------------------------------------------------------- tinyllava_format


def test_tinyllava_default_length_is_1200():
    assert TINYLLAVA_LENGTH == 1200


@pytest.mark.parametrize(
    ("think_chars", "expected"),
    [(0, 0.5), (1, 0.5 + 0.5 / 1200), (120, 0.55), (300, 0.625), (600, 0.75), (900, 0.875), (1200, 1.0),
     (1201, 1.0), (5000, 1.0)],
)
def test_tinyllava_format_length_term(think_chars, expected):
    completion = r1(think="x" * think_chars)
    assert tinyllava_format(completion) == pytest.approx(expected)


def test_tinyllava_format_counts_stripped_think():
    padded = r1(think="\n\n   " + "y" * 600 + "   \n")
    assert tinyllava_format(padded) == pytest.approx(0.75)
    assert tinyllava_format(r1(think="   \n  ")) == 0.5  # whitespace-only think: empty


@pytest.mark.parametrize(
    ("length", "think_chars", "expected"),
    [(100, 50, 0.75), (100, 100, 1.0), (100, 250, 1.0), (10, 0, 0.5), (400, 100, 0.625), (2400, 600, 0.625)],
)
def test_tinyllava_format_custom_length(length, think_chars, expected):
    assert tinyllava_format(r1(think="z" * think_chars), length) == pytest.approx(expected)
    assert tinyllava_format(r1(think="z" * think_chars), length=length) == pytest.approx(expected)


@pytest.mark.parametrize(
    "completion",
    ["", "<answer>B</answer>", "<think>" + "x" * 2000 + "</think>", "pre " + r1(think="x" * 1200), r1() + r1()],
)
def test_tinyllava_format_zero_when_strict_format_fails(completion):
    assert tinyllava_format(completion) == 0.0


def test_tinyllava_format_conversational():
    assert tinyllava_format([{"role": "assistant", "content": r1(think="x" * 600)}]) == pytest.approx(0.75)


@pytest.mark.parametrize("length", [None, "abc", [1, 2], 0, -5, float("nan"), float("inf")])
def test_tinyllava_format_odd_length_stays_in_range(length):
    value = tinyllava_format(r1(think="x" * 600), length)
    assert 0.5 <= value <= 1.0


def test_tinyllava_format_huge_length_does_not_raise():
    # A length that float() cannot hold must not raise (TypeError/ValueError are already handled).
    assert 0.5 <= tinyllava_format(r1(think="x" * 600), 10**400) <= 1.0


# ----------------------------------------------------------------------------------------- think_format


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("<think>\nreasoning\n</think>\nThe answer is B.", 1.0),  # anything may follow </think>
        ("<think></think>", 1.0),
        (GOOD, 1.0),
        ("<think>a</think> b </think>", 1.0),  # extra closes are allowed (TRL's regex)
        ("<think>unfinished", 0.0),
        (" <think>a</think>", 0.0),  # must start with <think>
        ("Sure. <think>a</think>", 0.0),
        ("<think>a<think>b</think>", 0.0),  # a second <think>
        ("<think>a</think><think>b</think>", 0.0),
        ("</think><think>", 0.0),
        ("no tags at all", 0.0),
        ("", 0.0),
    ],
)
def test_think_format_trl_semantics(completion, expected):
    assert think_format(completion) == expected
    assert think_format([{"role": "assistant", "content": completion}]) == expected


def test_think_format_non_text():
    for value in (None, 3, {}, [], object()):
        assert think_format(value) == 0.0
