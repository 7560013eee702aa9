"""Shaping terms with TRL's values: cosine length scaling, n-gram repetition, soft overlong punishment,
think format, and TinyLLaVA-Video-R1's repeated-sentence check."""

from __future__ import annotations

import math

import pytest

from rewards import has_repeated_sentence, shaping
from rewards.trl import (
    get_cosine_scaled_reward,
    get_repetition_penalty_reward,
    get_soft_overlong_punishment,
    repeated_sentence_penalty_reward,
    think_format_reward,
)

RIGHT = "<think>It is a dog.</think><answer>B</answer>"
WRONG = "<think>It is a cat.</think><answer>A</answer>"


# ------------------------------------------------------------------------------------ think_format_reward


def test_think_format_reward_batch():
    completions = [
        "<think>\nreason\n</think>\nB",
        "<think>\nreason\n</think>\n<think>again</think>",
        "reason</think>",
        "<think>never closed",
        "",
    ]
    assert think_format_reward(completions=completions) == [1.0, 0.0, 0.0, 0.0, 0.0]
    conversational = [[{"role": "assistant", "content": c}] for c in completions]
    assert think_format_reward(completions=conversational) == [1.0, 0.0, 0.0, 0.0, 0.0]


# ----------------------------------------------------------------------------------------- cosine scaled


def test_cosine_scaled_trl_values_at_half_length():
    reward = get_cosine_scaled_reward(max_len=100)
    out = reward(completions=[RIGHT, WRONG], solution=["<answer>B</answer>"] * 2, completion_ids=[[1] * 50] * 2)
    assert out == pytest.approx([0.75, -0.75])


@pytest.mark.parametrize(
    ("tokens", "right", "wrong"),
    [(0, 1.0, -1.0), (50, 0.75, -0.75), (100, 0.5, -0.5), (500, 0.5, -0.5), (25, 0.5 + 0.25 * (1 + math.sqrt(0.5)),
                                                                             -0.5 - 0.25 * (1 + math.sqrt(0.5)))],
)
def test_cosine_scaled_curve(tokens, right, wrong):
    assert shaping.cosine_scaled(True, tokens, 100) == pytest.approx(right)
    assert shaping.cosine_scaled(False, tokens, 100) == pytest.approx(wrong)


def test_cosine_scaled_custom_values():
    reward = get_cosine_scaled_reward(max_len=10, min_value_wrong=-2.0, max_value_wrong=-1.0,
                                      min_value_correct=1.0, max_value_correct=3.0)
    out = reward(completions=[RIGHT, WRONG], solution=["B", "B"], completion_ids=[[0] * 5, [0] * 5])
    assert out == pytest.approx([2.0, -1.5])


def test_cosine_scaled_gold_from_answer_column_and_options():
    reward = get_cosine_scaled_reward(max_len=100)
    out = reward(
        completions=["<think>x</think><answer>dog</answer>", WRONG],
        completion_ids=[[1] * 50, [1] * 50],
        answer=[1, "B"],
        options=[["cat", "dog"], ["cat", "dog"]],
    )
    assert out == pytest.approx([0.75, -0.75])


def test_cosine_scaled_math_gold_and_unreadable_gold():
    reward = get_cosine_scaled_reward(max_len=100)
    out = reward(
        completions=["\\boxed{0.5}", "\\boxed{3}", "\\boxed{1}"],
        solution=["$\\frac{1}{2}$", "2", "hello world"],
        completion_ids=[[1] * 100, [1] * 100, [1] * 100],
    )
    assert out[:2] == pytest.approx([0.5, -0.5])  # long: right earns least, wrong loses least
    assert out[2] is None


def test_cosine_scaled_without_ids_counts_characters():
    reward = get_cosine_scaled_reward(max_len=2 * len(RIGHT))
    assert reward(completions=[RIGHT], solution=["B"]) == pytest.approx([0.75])


# ------------------------------------------------------------------------------------ repetition penalty


def test_repetition_penalty_trl_values():
    reward = get_repetition_penalty_reward(ngram_size=2)
    assert reward(completions=["a", "b"], completion_ids=[[1, 2, 3, 4], [5, 5, 5, 5, 5]]) == pytest.approx([0.0, -0.75])


@pytest.mark.parametrize(
    ("tokens", "n", "penalty", "expected"),
    [
        ([1, 2, 3, 4], 2, -1.0, 0.0),
        ([5, 5, 5, 5, 5], 2, -1.0, -0.75),
        ([5, 5, 5, 5, 5], 2, -0.5, -0.375),
        ([1, 2, 1, 2], 2, -1.0, -1 / 3),
        ([1, 2], 3, -1.0, 0.0),  # shorter than n
        ([], 3, -1.0, 0.0),
        ([7] * 10, 3, -1.0, -7 / 8),
        ([1, 2, 3], 1, -1.0, 0.0),
    ],
)
def test_repetition_penalty_values(tokens, n, penalty, expected):
    assert shaping.repetition_penalty(tokens, n, penalty) == pytest.approx(expected)


def test_repetition_penalty_without_ids_uses_words():
    reward = get_repetition_penalty_reward(ngram_size=2)
    assert reward(completions=["a b c d", "x x x x x"]) == pytest.approx([0.0, -0.75])
    conversational = [[{"role": "assistant", "content": "x x x x x"}]]
    assert reward(completions=conversational) == pytest.approx([-0.75])


def test_repetition_penalty_default_is_trigram():
    reward = get_repetition_penalty_reward()
    assert reward.ngram_size == 3 and reward.max_penalty == -1.0
    assert reward(completion_ids=[[1, 1, 1, 1]]) == pytest.approx([-0.5])


# ----------------------------------------------------------------------------------------- soft overlong


@pytest.mark.parametrize(("length", "expected"), [(0, 0.0), (70, 0.0), (80, 0.0), (90, -0.5), (95, -0.75),
                                                  (100, -1.0), (110, -1.0)])
def test_soft_overlong_trl_values(length, expected):
    reward = get_soft_overlong_punishment(100, 20)
    assert reward(completions=["x"], completion_ids=[[0] * length]) == pytest.approx([expected])
    assert shaping.soft_overlong(length, 100, 20) == pytest.approx(expected)


def test_soft_overlong_batch():
    reward = get_soft_overlong_punishment(max_completion_len=100, soft_punish_cache=20)
    ids = [[0] * 90, [0] * 70, [0] * 110]
    assert reward(completions=["a", "b", "c"], completion_ids=ids) == pytest.approx([-0.5, 0.0, -1.0])
    assert reward(completion_ids=ids) == pytest.approx([-0.5, 0.0, -1.0])
    assert reward(completions=["x" * 90]) == pytest.approx([-0.5])  # characters when no ids


# ------------------------------------------------------------------------------------ factory validation


@pytest.mark.parametrize("max_len", [0, -1])
def test_cosine_invalid(max_len):
    with pytest.raises(ValueError):
        get_cosine_scaled_reward(max_len=max_len)


@pytest.mark.parametrize(("ngram_size", "max_penalty"), [(0, -1.0), (-2, -1.0), (3, 0.5), (3, 1.0)])
def test_repetition_invalid(ngram_size, max_penalty):
    with pytest.raises(ValueError):
        get_repetition_penalty_reward(ngram_size=ngram_size, max_penalty=max_penalty)


@pytest.mark.parametrize(
    ("max_len", "cache", "lengths", "expected"),
    [
        (100, 0, [0, 100, 101], [0.0, 0.0, -1.0]),  # cache 0: a hard limit, as in TRL
        (100, -5, [100, 105, 106], [0.0, 0.0, -1.0]),
        (100, 100, [0, 50, 100, 101], [0.0, -0.5, -1.0, -1.0]),
        (20, 100, [0, 10, 21], [-0.8, -0.9, -1.0]),
    ],
)
def test_soft_overlong_settings_trl_accepts(max_len, cache, lengths, expected):
    """TRL checks no setting of get_soft_overlong_punishment; neither do we, with TRL's values."""
    reward = get_soft_overlong_punishment(max_len, cache)
    assert reward([[7] * n for n in lengths]) == pytest.approx(expected)


def test_soft_overlong_empty_ids_are_zero_tokens():
    reward = get_soft_overlong_punishment(10, 5)
    assert reward([[], [1] * 8], completions=["x" * 50, "y"]) == pytest.approx([0.0, -0.6])


def test_valid_edge_settings_do_not_raise():
    get_cosine_scaled_reward(max_len=1)
    get_repetition_penalty_reward(ngram_size=1, max_penalty=0.0)
    get_soft_overlong_punishment(2, 1)


def test_factory_names():
    assert get_cosine_scaled_reward(10).__name__ == "cosine_scaled_reward"
    assert get_repetition_penalty_reward().__name__ == "repetition_penalty_reward"
    assert get_soft_overlong_punishment(10, 2).__name__ == "soft_overlong_punishment_reward"


# ------------------------------------------------------------------------------------ repeated sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The dog runs. The dog runs.", True),
        ("The dog runs. The cat sleeps.", False),
        ("yes, yes", True),
        ("wait! wait?", True),
        ("a, b. c! d?", False),
        ("The dog runs.  The dog runs  ", True),  # pieces are stripped
        ("The dog runs. the dog runs.", False),  # case-sensitive
        ("....,,,!!!???", False),  # empty pieces do not count
        ("", False),
        ("one sentence only", False),
        ("The dog; runs. The dog; runs.", True),  # ';' does not split
        ("3.5 and 3.5", False),  # '3', '5 and 3', '5'
        ("1.5, 2.5", True),  # '1', '5', '2', '5': numbers split too
    ],
)
def test_has_repeated_sentence(text, expected):
    assert has_repeated_sentence(text) is expected


def test_has_repeated_sentence_non_text():
    for value in (None, 1, {}, [], object()):
        assert has_repeated_sentence(value) is False
    assert has_repeated_sentence([{"role": "assistant", "content": "a. a."}]) is True


def test_repeated_sentence_penalty_reward():
    out = repeated_sentence_penalty_reward(completions=["a. a.", "a. b.", [{"content": "x, x"}]])
    assert out == [-1.0, 0.0, -1.0]
    # settings are not keyword arguments: TRL passes dataset columns that way (a column named "penalty")
    assert repeated_sentence_penalty_reward(completions=["a. a.", "a. b."], penalty=-0.5) == [-1.0, 0.0]
