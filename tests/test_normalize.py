"""curate/normalize.py: inline options, letter prefixes and answer resolution, one vectorized pass."""

from __future__ import annotations

import polars as pl
import pytest

from curate.normalize import norm_answer_text, norm_text, normalize
from curate.readers.base import frame_from_items


def norm(*items: dict) -> list[dict]:
    base = {"id": "t", "source": "t", "video": "v.mp4"}
    return normalize(frame_from_items([{**base, **it} for it in items])).to_dicts()


def one(**item) -> dict:
    (row,) = norm(item)
    return row


# ------------------------------------------------------------------------------------------ inline options


@pytest.mark.parametrize("style", ["{L}. {t}", "{L}) {t}", "{L}: {t}", "({L}) {t}"])
def test_inline_option_styles(style):
    lines = [style.format(L=L, t=t) for L, t in zip("ABC", ["red", "green", "blue"], strict=True)]
    r = one(question="What color?\n" + "\n".join(lines), answer_letter="B")
    assert r["question"] == "What color?"
    assert r["options"] == ["red", "green", "blue"]
    assert r["answer"] == 1
    assert r["reject"] is None


def test_media_token_header_and_trailing_instruction_are_dropped():
    r = one(question="<image>\nWhat is shown?\nOptions:\nA. a cat\nB. a dog\nAnswer with the letter.",
            answer_letter="A.")
    assert r["question"] == "What is shown?"
    assert r["options"] == ["a cat", "a dog"]
    assert r["answer"] == 0


def test_choices_header_and_video_token():
    r = one(question="<video>What is shown?\nChoices:\n(A) x\n(B) y", answer_letter="(B)")
    assert r["question"] == "What is shown?"
    assert r["options"] == ["x", "y"]
    assert r["answer"] == 1


def test_question_prefix_drops_instruction_before_it():
    r = one(question="Select the best answer.\nQuestion: Why?\nOptions:\n(A) because\n(B) no reason\n"
                     "Only give the best option.", answer_index=0)
    assert r["question"] == "Why?"
    assert r["options"] == ["because", "no reason"]


def test_multi_line_question_is_kept():
    r = one(question="Watch carefully.\nWhat happens next?\nA. x\nB. y", answer_index=1)
    assert r["question"] == "Watch carefully.\nWhat happens next?"


def test_gap_in_option_letters_is_unparseable():
    assert one(question="Q?\nA. x\nC. y", answer_letter="A")["reject"] == "unparseable_options"


def test_options_not_starting_at_a_are_unparseable():
    assert one(question="Q?\nB. x\nC. y", answer_letter="B")["reject"] == "unparseable_options"


def test_stray_line_inside_option_block_is_unparseable():
    r = one(question="Q?\nA. x\nsomething else\nB. y", answer_letter="A")
    assert r["reject"] == "unparseable_options"


def test_no_option_lines_is_open_ended():
    r = one(question="<image>\nWhat happens in the video?", answer_letter="The man runs.")
    assert r["reject"] == "open_ended"
    assert r["question"] == "What happens in the video?"


def test_given_options_are_not_split_from_question():
    r = one(question="Which?\nA. not an option line", options=["x", "y"], answer_index=0)
    assert r["options"] == ["x", "y"]
    assert r["question"] == "Which?\nA. not an option line"


# ------------------------------------------------------------------------------------------------ prefixes


def test_prefixes_stripped_when_all_carry_them_in_order():
    r = one(question="Q?", options=["A. Apples.", "B. Candles.", "C. Berries."], answer_letter="C")
    assert r["options"] == ["Apples.", "Candles.", "Berries."]
    assert r["answer"] == 2


def test_prefix_kept_when_not_every_option_has_one():
    r = one(question="Q?", options=["A. cat", "dog", "bird"], answer_index=0)
    assert r["options"] == ["A. cat", "dog", "bird"]


def test_prefix_kept_when_letters_out_of_order():
    r = one(question="Q?", options=["B. cat", "A. dog"], answer_index=0)
    assert r["options"] == ["B. cat", "A. dog"]


def test_options_are_stripped_of_whitespace():
    assert one(question="Q?", options=["  x ", "y  "], answer_index=0)["options"] == ["x", "y"]


# -------------------------------------------------------------------------------------------------- answers


@pytest.mark.parametrize("letter", ["B", "B.", "(B)", "B)", "B:", "B. dog.", "B. Dog", "<answer>B</answer>",
                                    "<answer> B </answer>", "**B**", " B "])
def test_answer_letter_forms(letter):
    r = one(question="Q?", options=["cat", "dog", "bird"], answer_letter=letter)
    assert r["answer"] == 1, letter
    assert r["reject"] is None


def test_answer_letter_with_other_option_text_is_a_mismatch():
    r = one(question="Q?", options=["cat", "dog", "bird"], answer_letter="B. bird.")
    assert r["reject"] == "answer_text_mismatch"


def test_unparseable_answer_letter():
    r = one(question="Q?", options=["cat", "dog"], answer_letter="maybe")
    assert r["reject"] == "unparseable_answer"


def test_letter_beyond_options_gives_out_of_range_index():
    r = one(question="Q?", options=["cat", "dog"], answer_letter="<answer>E</answer>")
    assert r["answer"] == 4
    assert r["reject"] is None  # answer_not_in_options is decided by the filter


def test_answer_index_is_used_as_is():
    assert one(question="Q?", options=["a", "b", "c"], answer_index=2)["answer"] == 2


@pytest.mark.parametrize(("text", "expected"), [("dog", 1), ("  Dog. ", 1), ("DOG!", 1), ("bird", 2)])
def test_answer_text_matches_option(text, expected):
    assert one(question="Q?", options=["cat", "dog", "bird"], answer_text=text)["answer"] == expected


def test_answer_text_exact_match_beats_loose_match():
    r = one(question="Q?", options=["Dog", "dog"], answer_text="dog")
    assert r["answer"] == 1


def test_answer_text_not_in_options_is_null():
    assert one(question="Q?", options=["cat", "dog"], answer_text="fish")["answer"] is None


def test_mixed_rows_in_one_pass():
    rows = norm(
        {"question": "Q1?\nA. x\nB. y", "answer_letter": "B"},
        {"question": "Q2?", "options": ["A. p", "B. q"], "answer_text": "p"},
        {"question": "Q3?", "options": ["m", "n"], "answer_index": 1},
        {"question": "Q4 open?", "answer_letter": "free text"},
    )
    assert [r["answer"] for r in rows[:3]] == [1, 0, 1]
    assert [r["reject"] for r in rows] == [None, None, None, "open_ended"]
    assert rows[1]["options"] == ["p", "q"]


def test_reader_reject_is_kept():
    r = one(question="Q?\nA. x\nB. y", answer_letter="A", reject="no_answer")
    assert r["reject"] == "no_answer"


def test_problem_type_defaults_to_multiple_choice():
    assert one(question="Q?", options=["a", "b"], answer_index=0)["problem_type"] == "multiple choice"
    assert one(question="Q?", options=["a", "b"], answer_index=0, problem_type=" numerical ")["problem_type"] \
        == "numerical"


def test_norm_text_helpers():
    df = pl.DataFrame({"s": ["  Hello   World. ", "A\tb\nC!"]})
    assert df.select(norm_text(pl.col("s"))).to_series().to_list() == ["hello world.", "a b c!"]
    assert df.select(norm_answer_text(pl.col("s"))).to_series().to_list() == ["hello world", "a b c"]
