"""Property tests: every scorer accepts anything without raising and stays in its range; adversarial inputs."""

from __future__ import annotations

import math
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import (
    mcq_accuracy,
    numerical_accuracy,
    ocr_score,
    r1_format,
    regression_score,
    think_format,
    tinyllava_format,
    tinyllava_reward,
)
from rewards import trl as trl_rewards

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = ["<think>", "</think>", "<answer>", "</answer>", "<think", "answer>", "\\boxed{", "}", "(", ")", "**",
        "Answer:", "The answer is", "A", "B", "b", "C.", "D)", "1,000", "3.14", " ", "\n", ".", ",", "!", "?"]

dense_tags = st.lists(
    st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", " ", "x", "\n", "<", ">", "B"]), max_size=14
).map("".join)
tagged_text = st.lists(st.one_of(st.sampled_from(TAGS), st.text(max_size=8)), max_size=30).map("".join)
well_formed = st.builds(
    lambda think, answer, pre, mid, post: f"{pre}<think>{think}</think>{mid}<answer>{answer}</answer>{post}",
    st.text(max_size=50) | tagged_text,
    st.sampled_from(["A", "B", "(C)", "dog", "1,000", "42", "", "A or B"]) | tagged_text,
    st.sampled_from(["", " ", "\n", "x"]),
    st.sampled_from(["", " ", "\n", "x", "<think>"]),
    st.sampled_from(["", " ", "\n", "x", "</answer>"]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=40), st.text(max_size=40),
)
text_like = st.one_of(dense_tags, tagged_text, well_formed, st.text(max_size=200), st.binary(max_size=100))
message = st.fixed_dictionaries({"role": st.sampled_from(["assistant", "user"]), "content": st.one_of(text_like,
                                                                                                       scalars)})
completions = st.one_of(
    text_like,
    scalars,
    st.lists(message, max_size=3),
    message,
    st.dictionaries(st.text(max_size=5), scalars, max_size=3),
    st.lists(scalars, max_size=3),
)
golds = st.one_of(
    scalars,
    st.sampled_from(["A", "B", "b", "B.", "B. dog.", "<answer>B</answer>", "dog", "E", "Z", "A or B"]),
    st.integers(-3, 30),
    tagged_text,
    st.lists(scalars, max_size=2),
)
options_strategy = st.one_of(
    st.none(),
    st.lists(st.text(max_size=10), max_size=6),
    st.lists(st.sampled_from(["cat", "dog", "A", "b", "", "Dog."]), max_size=6),
    scalars,
    st.lists(scalars, max_size=3),
)


def is_binary(value) -> bool:
    return isinstance(value, float) and value in (0.0, 1.0)


def in_unit(value) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0 and not math.isnan(value)


def is_tinyllava_format(value) -> bool:
    return isinstance(value, float) and (value == 0.0 or 0.5 <= value <= 1.0)


def is_tinyllava_reward(value) -> bool:
    """a + (2a - 1)·f with a in {0, 1} and f in {0} ∪ [0.5, 1], and -2 for 0."""
    return isinstance(value, float) and (
        value in (-2.0, 1.0) or -1.0 <= value <= -0.5 or 1.5 <= value <= 2.0
    )


# ------------------------------------------------------------------------------------- single completion


@pytest.mark.slow
@SETTINGS
@given(completions)
def test_format_scorers_never_raise(completion):
    assert is_binary(r1_format(completion))
    assert is_binary(think_format(completion))
    assert is_tinyllava_format(tinyllava_format(completion))


@pytest.mark.slow
@SETTINGS
@given(completions, st.one_of(st.integers(-10, 10**6), st.floats(allow_nan=True), st.none(), st.text(max_size=5)))
def test_tinyllava_format_any_length(completion, length):
    assert is_tinyllava_format(tinyllava_format(completion, length))


@pytest.mark.slow
@SETTINGS
@given(completions, golds, options_strategy, st.booleans())
def test_mcq_accuracy_never_raises(completion, gold, options, require_tags):
    assert is_binary(mcq_accuracy(completion, gold, options, require_tags))


@SETTINGS
@given(st.integers(0, 7), st.integers(1, 8), st.sampled_from(["letter", "index", "tagged", "text"]),
       st.lists(st.text(alphabet="abcdefgh xyz", min_size=1, max_size=8), min_size=8, max_size=8, unique=True))
def test_mcq_accuracy_right_letter_always_scores(gold, n, form, pool):
    options = pool[:n]
    gold = gold % n
    letter = "ABCDEFGH"[gold]
    gold_value = {"letter": letter, "index": gold, "tagged": f"<answer>{letter}</answer>", "text": options[gold]}[form]
    if form == "text" and sum(1 for o in options if " ".join(o.split()) == " ".join(options[gold].split())) > 1:
        return  # two options with the same text: the gold is ambiguous
    if form == "text" and not options[gold].strip():
        return
    expected = 1.0 if form != "text" or mcq_accuracy(f"<answer>{options[gold]}</answer>", letter, options) else 0.0
    assert mcq_accuracy(f"<think>t</think><answer>{letter}</answer>", gold_value, options) == expected
    for other in range(n):
        if other != gold:
            wrong = "ABCDEFGH"[other]
            assert mcq_accuracy(f"<think>t</think><answer>{wrong}</answer>", gold_value, options) == 0.0


@SETTINGS
@given(completions, golds, st.booleans())
def test_numeric_scorers_never_raise(completion, gold, require_tags):
    assert is_binary(numerical_accuracy(completion, gold, require_tags))
    assert in_unit(regression_score(completion, gold, require_tags))


@SETTINGS
@given(st.floats(-1e12, 1e12, allow_nan=False), st.floats(-1e12, 1e12, allow_nan=False))
def test_regression_score_in_range(pred, gold):
    value = regression_score(f"<answer>{pred!r}</answer>", repr(gold))
    assert in_unit(value)
    if pred == gold and abs(gold) >= 1e-3:  # Video-R1's epsilon (1e-9) only shows for tiny golds
        assert value == pytest.approx(1.0)


@pytest.mark.slow
@SETTINGS
@given(completions, st.one_of(golds, st.text(max_size=60)), st.booleans())
def test_ocr_score_never_raises(completion, gold, require_tags):
    assert in_unit(ocr_score(completion, gold, require_tags))


@pytest.mark.slow
@SETTINGS
@given(completions, golds, options_strategy)
def test_tinyllava_reward_values(completion, gold, options):
    assert is_tinyllava_reward(tinyllava_reward(completion, gold, options))


# ------------------------------------------------------------------------- reference implementations

_TAG_NAMES = ("<think>", "</think>", "<answer>", "</answer>")
_R1 = re.compile(r"<think>(.*)</think>\s*<answer>(.*)</answer>", re.DOTALL)


def reference_r1(text: str) -> float:
    """The spec, written the obvious way: one of each tag, and the whole (stripped) text is the pattern."""
    s = text.strip()
    if any(s.count(tag) != 1 for tag in _TAG_NAMES):
        return 0.0
    return 1.0 if _R1.fullmatch(s) else 0.0


def reference_answer_block(text: str) -> str | None:
    if text.count("<answer>") != 1 or text.count("</answer>") != 1:
        return None
    start, end = text.find("<answer>") + len("<answer>"), text.find("</answer>")
    return text[start:end] if end >= start else None


@pytest.mark.slow
@SETTINGS
@given(st.one_of(dense_tags, tagged_text, well_formed))
def test_r1_format_matches_reference(text):
    assert r1_format(text) == reference_r1(text)


@pytest.mark.slow
@SETTINGS
@given(st.one_of(dense_tags, tagged_text, well_formed))
def test_answer_block_matches_reference(text):
    from rewards._text import answer_block

    assert answer_block(text) == reference_answer_block(text)


@pytest.mark.slow
@SETTINGS
@given(st.one_of(dense_tags, tagged_text, well_formed), st.sampled_from(["A", "B", "C", "D"]))
def test_mcq_accuracy_matches_reference_block(text, gold):
    block = reference_answer_block(text)
    from rewards import extract_choice

    expected = 1.0 if block is not None and extract_choice(block, ["w", "x", "y", "z"]) == "ABCD".index(gold) else 0.0
    assert mcq_accuracy(text, gold, ["w", "x", "y", "z"]) == expected


@SETTINGS
@given(st.text(max_size=80), st.sampled_from(["", " ", "\n", " \t\n"]), st.text(max_size=20))
def test_tinyllava_format_matches_formula(think, sep, answer):
    text = f"<think>{think}</think>{sep}<answer>{answer}</answer>"
    if reference_r1(text) == 0.0:
        assert tinyllava_format(text) == 0.0
    else:
        expected = 0.5 + 0.5 * min(len(think.strip()) / 40, 1.0)
        assert tinyllava_format(text, 40) == pytest.approx(expected)


# ------------------------------------------------------------------------------------------ TRL batches

column = st.one_of(st.none(), st.lists(golds, max_size=4), scalars)
batches = st.one_of(st.lists(completions, max_size=4), scalars, st.dictionaries(st.text(max_size=3), scalars))


@pytest.mark.slow
@SETTINGS
@given(batches, column, column, column, st.one_of(st.none(), st.lists(st.lists(st.integers(0, 5), max_size=20),
                                                                       max_size=4), scalars))
def test_trl_batch_functions_never_raise(batch, solution, answer, options, ids):
    columns = {"solution": solution, "answer": answer, "options": options}
    size = len(trl_rewards._list(batch))
    for fn, check in [
        (trl_rewards.format_reward, is_binary),
        (trl_rewards.tinyllava_format_reward, is_tinyllava_format),
        (trl_rewards.think_format_reward, is_binary),
        (trl_rewards.mcq_accuracy_reward, lambda v: v is None or is_binary(v)),
        (trl_rewards.tinyllava_reward, lambda v: v is None or is_tinyllava_reward(v)),
        (trl_rewards.repeated_sentence_penalty_reward, lambda v: v in (0.0, -1.0)),
    ]:
        out = fn(prompts=None, completions=batch, completion_ids=ids, trainer_state=None, **columns)
        assert isinstance(out, list) and len(out) == size, fn
        assert all(check(v) for v in out), (fn, out)
    for fn, low, high in [
        (trl_rewards.get_repetition_penalty_reward(2), -1.0, 0.0),
        (trl_rewards.get_soft_overlong_punishment(10, 5), -1.0, 0.0),
    ]:
        out = fn(prompts=None, completions=batch, completion_ids=ids, trainer_state=None, **columns)
        assert isinstance(out, list)
        assert all(low <= v <= high for v in out)


# ------------------------------------------------------------------------------------------- adversarial

MB = 1 << 20


def _binary_text() -> str:
    rng = random.Random(1234)
    return bytes(rng.getrandbits(8) for _ in range(MB)).decode("utf-8", errors="replace")


ADVERSARIAL = {
    "answer_tags": "<answer>" * (MB // len("<answer>")),
    "open_parens": "(" * MB,
    "letters": "A" * MB,
    "binary": _binary_text(),
    "wrapped_parens": "<think>t</think><answer>" + "(" * MB + "</answer>",
    "wrapped_letters": "<think>t</think><answer>" + "A " * (MB // 2) + "</answer>",
    "think_tags": "<think>" + "</think><think>" * (MB // 16),
    "lead_ins": "<answer>" + "The answer is " * (MB // 14) + "B</answer>",
    "stars": "<answer>" + "*" * MB + "B" + "*" * MB + "</answer>",
    "sentences": "a. " * (MB // 3),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_inputs_return_valid_values(name):
    text = ADVERSARIAL[name]
    assert is_binary(r1_format(text))
    assert is_binary(think_format(text))
    assert is_tinyllava_format(tinyllava_format(text))
    assert is_binary(mcq_accuracy(text, "B", ["cat", "dog", "bird", "fish"]))
    assert is_binary(mcq_accuracy(text, "A", require_tags=False))
    assert is_tinyllava_reward(tinyllava_reward(text, "A"))
    assert is_binary(numerical_accuracy(text, "1"))
    assert in_unit(regression_score(text, "1"))
    assert in_unit(ocr_score(text, "A A A"))
    assert trl_rewards.repeated_sentence_penalty_reward([text]) in ([0.0], [-1.0])
    assert len(trl_rewards.tinyllava_reward([text], solution=[text])) == 1
    assert len(trl_rewards.get_repetition_penalty_reward()(completions=[text])) == 1


def test_adversarial_gold():
    for text in (ADVERSARIAL["answer_tags"], ADVERSARIAL["letters"], ADVERSARIAL["binary"]):
        assert mcq_accuracy("<answer>A</answer>", text) in (0.0, 1.0)
        assert numerical_accuracy("<answer>1</answer>", text) == 0.0
        assert in_unit(ocr_score("<answer>A</answer>", text))


def test_deeply_nested_messages():
    nested: object = "<think>t</think><answer>B</answer>"
    for _ in range(5000):
        nested = [nested]
    assert is_binary(r1_format(nested))
    assert is_binary(mcq_accuracy(nested, "B"))
