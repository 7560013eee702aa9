"""Packed golds (rewards.gold), end tokens left by trainers, option letters, and accuracy by problem type."""

from __future__ import annotations

import pytest

from rewards import easyr1, openrlhf, score, swift, trl, verl
from rewards._text import END_TOKENS, strip_end_tokens
from rewards.gold import pack_gold, unpack_gold

OPTIONS = ["cat", "dog", "bird"]
THINK = "t" * 1200


def r1(answer: str) -> str:
    return f"<think>{THINK}</think><answer>{answer}</answer>"


# --------------------------------------------------------------------------------------------- packing


def test_pack_round_trip():
    packed = pack_gold("B", OPTIONS, "multiple choice")
    assert unpack_gold(packed) == ("B", OPTIONS, "multiple choice")
    assert unpack_gold(pack_gold(3.5, None, "numerical")) == (3.5, None, "numerical")


@pytest.mark.parametrize("value", ["B", "<answer>B</answer>", 1, None, "{not json}", '{"no_answer": 1}', "[1, 2]"])
def test_anything_else_is_a_plain_gold(value):
    assert unpack_gold(value, ["x", "y"], "numerical") == (value, ["x", "y"], "numerical")


def test_columns_fill_what_the_packed_gold_leaves_out():
    assert unpack_gold('{"answer": "B"}', OPTIONS, None) == ("B", OPTIONS, "multiple choice")
    assert unpack_gold('{"answer": "B", "options": ["p", "q"]}', OPTIONS) == ("B", ["p", "q"], "multiple choice")


def test_malformed_packed_fields_are_ignored():
    assert unpack_gold('{"answer": ["B"], "options": [1, 2], "problem_type": 5}') == (None, None, "multiple choice")


# ------------------------------------------------------------------------------------------ end tokens


@pytest.mark.parametrize("token", END_TOKENS)
def test_every_end_token_is_stripped(token):
    assert strip_end_tokens(f"<answer>B</answer>{token}\n{token}{token}  ") == "<answer>B</answer>"


def test_only_trailing_tokens_are_stripped():
    assert strip_end_tokens("a<|im_end|>b<|im_end|>") == "a<|im_end|>b"


@pytest.mark.parametrize("suffix", ["<|im_end|>", "<|endoftext|><|endoftext|><|endoftext|>", "</s>", "<|eot_id|>",
                                    "<end_of_turn>\n<eos>"])
def test_every_adapter_scores_through_end_tokens(suffix):
    """A right answer with full format keeps its ~2.0 whatever the trainer left after it."""
    right, wrong = r1("B") + suffix, r1("A") + suffix
    expected = score(r1("B"), "B", options=OPTIONS)["score"]
    assert expected == pytest.approx(2.0)
    assert trl.tinyllava_reward(completions=[right, wrong], solution=["<answer>B</answer>"] * 2) == [2.0, -1.0]
    assert trl.format_reward(completions=[right]) == [1.0]
    assert verl.compute_score("src", right, "B", {"options": OPTIONS})["score"] == pytest.approx(expected)
    out = openrlhf.reward_func(["Q" + right, "Q" + wrong], ["Q", "Q"], [pack_gold("B", OPTIONS)] * 2)
    assert [float(x) for x in out["rewards"]] == pytest.approx([2.0, -1.0])
    packed = pack_gold("B", OPTIONS)
    got = easyr1.compute_score([{"response": right, "response_length": 10, "ground_truth": packed}])
    assert got[0]["overall"] == pytest.approx(2.0) and got[0]["accuracy"] == 1.0
    assert swift.ORMS["videoqa_tinyllava"]()([right, wrong], solution=["B", "B"]) == [2.0, -1.0]


# --------------------------------------------------------------------- option text through the packed gold


def test_option_text_answers_score_through_a_packed_gold():
    packed = pack_gold("B", OPTIONS)
    inputs = [{"response": r1(text), "response_length": 1, "ground_truth": packed} for text in ("dog", "Dog.", "cat")]
    assert [r["accuracy"] for r in easyr1.compute_score(inputs)] == [1.0, 1.0, 0.0]
    labels = [packed] * 3
    out = openrlhf.reward_func([r1("dog"), r1("B. dog"), r1("cat")], ["", "", ""], labels)
    assert [float(x) for x in out["scores"]] == [1.0, 1.0, 0.0]
    # without the options the text cannot be matched: the plain letter gold scores it 0
    assert easyr1.compute_score([{"response": r1("dog"), "ground_truth": "B"}])[0]["accuracy"] == 0.0


def test_packed_gold_carries_the_problem_type():
    packed = pack_gold("3.50", None, "numerical")
    got = easyr1.compute_score([{"response": r1("3.5"), "ground_truth": packed}], mode="sum")
    assert got[0]["accuracy"] == 1.0 and got[0]["overall"] == 2.0


# --------------------------------------------------------------------------- option letters and types


def test_options_written_with_their_letters():
    video_r1_options = ["A. cat", "B. dog", "C. bird"]
    assert trl.mcq_accuracy_reward(completions=[r1("dog"), r1("B"), r1("B. dog"), r1("cat")],
                                   solution=["<answer>B</answer>"] * 4, options=[video_r1_options] * 4) == [
        1.0, 1.0, 1.0, 0.0]


def test_problem_type_accuracy_reward_dispatches_per_row():
    completions = [r1("B"), r1("dog"), r1("3.50"), r1("10"), r1("hello world"), r1("A")]
    out = trl.problem_type_accuracy_reward(
        completions=completions,
        solution=["<answer>B</answer>", "<answer>B</answer>", "<answer>3.5</answer>", "<answer>8</answer>",
                  "<answer>hello world</answer>", "<answer>B</answer>"],
        problem_type=["multiple choice", "multiple choice", "numerical", "regression", "OCR", "multiple choice"],
        options=[["A. cat", "B. dog"], ["A. cat", "B. dog"], [], [], [], ["A. cat", "B. dog"]],
    )
    assert out == pytest.approx([1.0, 1.0, 1.0, 0.75, 1.0, 0.0])


def test_problem_type_accuracy_reward_without_the_column_is_multiple_choice():
    out = trl.problem_type_accuracy_reward(completions=[r1("B"), r1("A")], answer=[1, 1], options=[OPTIONS] * 2)
    assert out == [1.0, 0.0]
    assert trl.problem_type_accuracy_reward(completions=[r1("B")], solution=["nonsense gold"]) == [None]


def test_reasoning_moved_out_by_a_response_parser_is_put_back():
    """TRL splits <think> text into reasoning_content for tokenizers with a response schema."""
    parsed = [{"role": "assistant", "reasoning_content": THINK, "content": "<answer>B</answer>"}]
    assert trl.format_reward(completions=[parsed]) == [1.0]
    assert trl.tinyllava_reward(completions=[parsed], solution=["B"]) == [2.0]
    assert trl.think_format_reward(completions=[parsed]) == [1.0]
    plain = [{"role": "assistant", "content": "<answer>B</answer>"}]
    assert trl.format_reward(completions=[plain]) == [0.0]


@pytest.mark.parametrize(
    ("query", "prompt"),
    [
        # image placeholders expanded in the query, not in the prompt
        ("<|im_start|>user\n<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>Q<|im_end|>\n"
         "<|im_start|>assistant\n" + "<think>" + "t" * 1200 + "</think><answer>B</answer><|im_end|>",
         "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Q<|im_end|>\n<|im_start|>assistant\n"),
        # an over-long prompt cut from the left
        ("Q<|im_end|>\n<|im_start|>assistant\n<think>" + "t" * 1200 + "</think><answer>B</answer><|endoftext|>",
         "<|im_start|>system\nLong<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"),
        ("<|start_header_id|>assistant<|end_header_id|>\n\n<think>" + "t" * 1200
         + "</think><answer>B</answer><|eot_id|>", "something else"),
    ],
)
def test_openrlhf_response_when_the_query_does_not_start_with_the_prompt(query, prompt):
    out = openrlhf.reward_func([query], [prompt], ["B"])
    assert out["rewards"] == pytest.approx(2.0) and out["scores"] == 1.0
