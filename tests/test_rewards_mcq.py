"""Multiple-choice accuracy: the extractor, gold parsing, and the <answer>-block rule."""

from __future__ import annotations

import pytest

from rewards import extract_choice, gold_index, mcq_accuracy
from rewards.mcq import MAX_ANSWER_CHARS

OPTIONS = ["cat", "dog", "bird", "fish"]  # B = dog


def wrap(answer: str, think: str = "Looking at the video.") -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


ACCEPTED_B = [
    "B",
    "b",
    " B ",
    "\nB\n",
    "(B)",
    "(b)",
    "B.",
    "b.",
    "B)",
    "B:",
    "B. dog",
    "B) dog",
    "B: dog",
    "B.dog",
    "(B) dog",
    "**B**",
    "**B.**",
    "**(B)**",
    "**B. dog**",
    "*B*",
    "`B`",
    "'B'",
    '"B"',
    "\\boxed{B}",
    "\\boxed{B}.",
    "\\boxed{(B)}",
    "Option B",
    "option b",
    "Option (B)",
    "The answer is B",
    "The answer is B.",
    "The answer is (B).",
    "the answer is b",
    "The final answer is B",
    "The correct answer is: B",
    "Answer: B",
    "Answer: b",
    "Answer: (B) dog",
    "answer B",
    "Choice: B",
    "**Answer:** B",
]

OPTION_TEXT_B = ["dog", "Dog", "DOG", "dog.", "Dog!", "  dog  ", '"dog"', "**dog**", "The answer is dog"]

REJECTED = [
    "",
    "   ",
    "A or B",
    "B or C",
    "A, B",
    "A,B",
    "AB",
    "A B",
    "A and B",
    "A/B",
    "A. B",
    "A) B)",
    "(A) (B)",
    "B. cat",  # letter B but the text of option A
    "I think B",
    "B dog",
    "E",  # beyond four options
    "e",
    "Z",
    "(E)",
    "Option E",
    "\\boxed{}",
    "**",
    "none of the above",
    "the dog",  # not the exact text of an option
    "1",
    "2",
]


# ---------------------------------------------------------------------------------------- extract_choice


@pytest.mark.parametrize("answer", ACCEPTED_B)
def test_extract_choice_accepts(answer):
    assert extract_choice(answer, OPTIONS) == 1


@pytest.mark.parametrize("answer", [a for a in ACCEPTED_B if "dog" not in a])
def test_extract_choice_accepts_without_options(answer):
    assert extract_choice(answer) == 1


@pytest.mark.parametrize("answer", OPTION_TEXT_B)
def test_extract_choice_option_text(answer):
    assert extract_choice(answer, OPTIONS) == 1
    assert extract_choice(answer) is None  # option text needs the options


@pytest.mark.parametrize("answer", REJECTED)
def test_extract_choice_rejects(answer):
    assert extract_choice(answer, OPTIONS) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("A", 0), ("a", 0), ("C", 2), ("D", 3), ("(d)", 3), ("D. fish", 3), ("cat", 0), ("Bird.", 2), ("FISH", 3)],
)
def test_extract_choice_every_option(answer, expected):
    assert extract_choice(answer, OPTIONS) == expected


def test_extract_choice_letter_bound_follows_options():
    assert extract_choice("E", ["a", "b", "c", "d", "e"]) == 4
    assert extract_choice("E", ["a", "b", "c", "d"]) is None
    assert extract_choice("E") == 4  # no options: any letter A-Z
    assert extract_choice("Z") == 25
    assert extract_choice("C", ["x", "y"]) is None


def test_extract_choice_option_text_with_punctuation_and_case():
    options = ["He throws the ball.", "He kicks the ball!", "She sits down"]
    assert extract_choice("he kicks the ball", options) == 1
    assert extract_choice("HE THROWS THE BALL", options) == 0
    assert extract_choice("She sits down.", options) == 2
    assert extract_choice("B. He kicks the ball!", options) == 1
    assert extract_choice("A. He kicks the ball!", options) is None  # letter and text disagree


@pytest.mark.parametrize(
    "text", ["answer the phone", "Answer the phone.", "option value", "the choice is hard", "the best answer"]
)
def test_extract_choice_option_text_starting_with_a_lead_word(text):
    # The exact text of an option is accepted; an option that happens to start with "answer", "option" or
    # "choice" must not lose those words to the "Answer: B" lead-in stripping.
    options = ["answer the phone", "option value", "the choice is hard", "the best answer", "hang up"]
    expected = [o.lower() for o in options].index(text.lower().rstrip("."))
    assert extract_choice(text, options) == expected
    assert gold_index(text, options) == expected
    assert mcq_accuracy(wrap(text), expected, options) == 1.0


def test_extract_choice_duplicate_option_text_is_ambiguous():
    assert extract_choice("dog", ["dog", "cat", "dog"]) is None
    assert extract_choice("B", ["dog", "cat", "dog"]) == 1  # a letter is still fine


def test_extract_choice_lowercase_letter_that_is_an_option_text():
    options = ["b", "a"]  # option texts that look like letters
    assert extract_choice("A", options) == 0  # capital: a letter
    assert extract_choice("a", options) == 1  # lower case, equal to option text "a": the text wins


@pytest.mark.parametrize("value", [None, 1, 1.5, b"B", ["B"], {"B": 1}, object()])
def test_extract_choice_non_string(value):
    assert extract_choice(value, OPTIONS) is None


def test_extract_choice_too_long():
    assert extract_choice("B" + " " * MAX_ANSWER_CHARS) is None
    assert extract_choice(" " * (MAX_ANSWER_CHARS - 1) + "B") == 1


# -------------------------------------------------------------------------------------------- gold_index


@pytest.mark.parametrize(
    "gold",
    [1, "B", "b", "B.", "B)", "(B)", "B. dog", "B. dog.", "<answer>B</answer>", "<answer> B </answer>",
     "<answer>B. dog</answer>", "dog", "Dog.", "<answer>dog</answer>", "Answer: B"],
)
def test_gold_index_forms(gold):
    assert gold_index(gold, OPTIONS) == 1


@pytest.mark.parametrize("gold", [1, "B", "B.", "B. dog.", "<answer>B</answer>"])
def test_gold_index_without_options(gold):
    assert gold_index(gold) == 1


def test_gold_index_int_like():
    class Index:
        def __index__(self):
            return 2

    assert gold_index(Index(), OPTIONS) == 2
    assert gold_index(0, OPTIONS) == 0
    assert gold_index(3, OPTIONS) == 3
    assert gold_index(25) == 25


@pytest.mark.parametrize(
    "gold", [None, True, False, -1, 4, 26, "", "E", "A or B", "the dog", [1], {"answer": 1}, b"B", 1.5, object()]
)
def test_gold_index_unreadable(gold):
    assert gold_index(gold, OPTIONS) is None


def test_gold_index_depends_on_the_options_given():
    # gold strings are parsed once and cached: the cache must be keyed by the options too
    assert gold_index("dog", ["cat", "dog"]) == 1
    assert gold_index("dog", ["dog", "cat"]) == 0
    assert gold_index("dog", ["cat", "bird"]) is None
    assert gold_index("dog") is None
    assert gold_index("E", ["a", "b", "c", "d", "e"]) == 4
    assert gold_index("E", ["a", "b", "c", "d"]) is None
    assert gold_index("E") == 4
    assert gold_index("dog", ("cat", "dog")) == 1
    assert gold_index("dog", iter(["cat", "dog"])) == 1


def test_gold_index_many_distinct_golds():
    options = [f"item number {i}" for i in range(10)]
    for round_ in range(2):
        for i in range(5000):
            assert gold_index(f"item number {i % 10}", options + [f"extra {i}"]) == i % 10, round_


def test_gold_index_non_string_options_do_not_raise():
    # Options are documented as strings, but gold_index turns them into a cache key: options that are not
    # hashable (a list of lists from a nested dataset column) must not make it raise TypeError.
    assert gold_index("B", [1, 2, 3]) == 1
    assert gold_index("B", [["cat"], ["dog"]]) == 1


def test_gold_index_with_malformed_answer_tags():
    assert gold_index("<answer>B", OPTIONS) == 1  # a stray tag is dropped
    assert gold_index("<answer>B</answer><answer>C</answer>", OPTIONS) is None


# ------------------------------------------------------------------------------------------ mcq_accuracy


@pytest.mark.parametrize("answer", ACCEPTED_B + OPTION_TEXT_B)
def test_mcq_accuracy_right(answer):
    assert mcq_accuracy(wrap(answer), 1, OPTIONS) == 1.0
    assert mcq_accuracy(wrap(answer), "B", OPTIONS) == 1.0
    assert mcq_accuracy(wrap(answer), "<answer>B</answer>", OPTIONS) == 1.0


@pytest.mark.parametrize("answer", ACCEPTED_B)
def test_mcq_accuracy_wrong_gold(answer):
    assert mcq_accuracy(wrap(answer), "C", OPTIONS) == 0.0
    assert mcq_accuracy(wrap(answer), 0, OPTIONS) == 0.0


@pytest.mark.parametrize("answer", REJECTED)
def test_mcq_accuracy_rejected_answers_score_zero(answer):
    for gold in range(len(OPTIONS)):
        assert mcq_accuracy(wrap(answer), gold, OPTIONS) == 0.0


@pytest.mark.parametrize(
    "gold", [1, "B", "b", "B.", "B)", "B. dog", "B. dog.", "<answer>B</answer>", "dog", "Dog", "<answer>dog</answer>"]
)
def test_mcq_accuracy_gold_forms(gold):
    assert mcq_accuracy(wrap("B"), gold, OPTIONS) == 1.0
    assert mcq_accuracy(wrap("dog"), gold, OPTIONS) == 1.0
    assert mcq_accuracy(wrap("A"), gold, OPTIONS) == 0.0


def test_mcq_accuracy_gold_letter_beyond_options_is_zero():
    assert mcq_accuracy(wrap("E"), "E", OPTIONS) == 0.0
    assert mcq_accuracy(wrap("E"), 4, OPTIONS) == 0.0
    assert mcq_accuracy(wrap("E"), "E") == 1.0  # no options: letters up to Z


@pytest.mark.parametrize(
    "completion",
    [
        "B",  # no tags
        "The answer is B",
        "<think>B</think>",
        "<answer>B</answer><answer>B</answer>",  # several blocks
        "<answer>B</answer> and <answer>C</answer>",
        "<answer>B",
        "B</answer>",
        "</answer>B<answer>",
        "<answer></answer>",
        "<answer>   </answer>",
    ],
)
def test_mcq_accuracy_needs_one_answer_block(completion):
    assert mcq_accuracy(completion, "B", OPTIONS) == 0.0


def test_mcq_accuracy_does_not_need_the_think_block():
    assert mcq_accuracy("<answer>B</answer>", "B", OPTIONS) == 1.0
    assert mcq_accuracy("text before <answer>B</answer> and after", "B", OPTIONS) == 1.0


def test_mcq_accuracy_require_tags_false_reads_whole_text():
    assert mcq_accuracy("B", "B", OPTIONS, require_tags=False) == 1.0
    assert mcq_accuracy("The answer is (B).", 1, OPTIONS, require_tags=False) == 1.0
    assert mcq_accuracy("dog", 1, OPTIONS, require_tags=False) == 1.0
    assert mcq_accuracy("A or B", 1, OPTIONS, require_tags=False) == 0.0
    assert mcq_accuracy("<think>x</think><answer>B</answer>", "B", OPTIONS, require_tags=False) == 0.0
    assert mcq_accuracy("", "B", OPTIONS, require_tags=False) == 0.0


def test_mcq_accuracy_conversational_and_bytes():
    messages = [{"role": "assistant", "content": wrap("B")}]
    assert mcq_accuracy(messages, "B", OPTIONS) == 1.0
    assert mcq_accuracy(messages[0], "B", OPTIONS) == 1.0
    assert mcq_accuracy(wrap("B").encode(), "B", OPTIONS) == 1.0


def test_mcq_accuracy_options_as_tuple_or_iterable():
    assert mcq_accuracy(wrap("dog"), "B", tuple(OPTIONS)) == 1.0
    assert mcq_accuracy(wrap("dog"), "B", iter(OPTIONS)) == 1.0


@pytest.mark.parametrize("options", [None, [], "cat dog", [1, 2, 3], {"a": 1}, 5])
def test_mcq_accuracy_unusable_options_fall_back_to_letters(options):
    assert mcq_accuracy(wrap("B"), "B", options) == 1.0
    assert mcq_accuracy(wrap("dog"), "B", options) == 0.0


@pytest.mark.parametrize("gold", [None, "", "A or B", True, -1, 99, object(), [1]])
def test_mcq_accuracy_unreadable_gold_is_zero(gold):
    assert mcq_accuracy(wrap("B"), gold, OPTIONS) == 0.0


@pytest.mark.parametrize("completion", [None, 1, 2.5, {}, [], [{}], object(), [{"content": 7}]])
def test_mcq_accuracy_non_text_completion(completion):
    assert mcq_accuracy(completion, "B", OPTIONS) == 0.0


def test_mcq_accuracy_broken_options_object_does_not_raise():
    class Broken:
        def __iter__(self):
            raise RuntimeError("boom")

    assert mcq_accuracy(wrap("B"), "B", Broken()) == 1.0


def test_mcq_accuracy_long_answer_is_zero():
    assert mcq_accuracy(wrap("B" + " x" * MAX_ANSWER_CHARS), "B", OPTIONS) == 0.0
