"""Trainer adapters, called exactly as each trainer calls them: TRL, verl, OpenRLHF, EasyR1, ms-swift."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rewards import easyr1, openrlhf, swift, trl, verl

REPO_ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ["cat", "dog", "bird", "fish"]


def r1(answer: str, think: str = "x" * 1200) -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


RIGHT, WRONG, NO_FORMAT_RIGHT, GARBAGE = r1("B"), r1("A"), "<answer>B</answer>", "I do not know"
COMPLETIONS = [RIGHT, WRONG, NO_FORMAT_RIGHT, GARBAGE]


def conversational(texts):
    return [[{"role": "assistant", "content": t}] for t in texts]


def trl_call(fn, completions, **columns):
    """Call ``fn`` the way GRPOTrainer does: keyword arguments only, with the extra columns."""
    n = len(completions)
    return fn(
        prompts=[[{"role": "user", "content": "What animal?"}]] * n,
        completions=completions,
        completion_ids=[[1, 2, 3]] * n,
        trainer_state=object(),
        some_other_column=["x"] * n,
        **columns,
    )


# -------------------------------------------------------------------------------------------------- TRL

MCQ_COLUMN_SETS = [
    {"solution": ["<answer>B</answer>"] * 4, "options": [OPTIONS] * 4},
    {"solution": ["<answer>B</answer>"] * 4},
    {"answer": [1] * 4, "options": [OPTIONS] * 4},
    {"answer": ["B"] * 4, "options": [OPTIONS] * 4},
    {"answer": ["B"] * 4},
    {"solution": ["<answer>B</answer>"] * 4, "answer": [1] * 4, "options": [OPTIONS] * 4},
]


@pytest.mark.parametrize("columns", MCQ_COLUMN_SETS)
@pytest.mark.parametrize("to_messages", [False, True])
def test_trl_mcq_accuracy_reward(columns, to_messages):
    completions = conversational(COMPLETIONS) if to_messages else COMPLETIONS
    assert trl_call(trl.mcq_accuracy_reward, completions, **columns) == [1.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize("columns", MCQ_COLUMN_SETS)
@pytest.mark.parametrize("to_messages", [False, True])
def test_trl_tinyllava_reward(columns, to_messages):
    completions = conversational(COMPLETIONS) if to_messages else COMPLETIONS
    assert trl_call(trl.tinyllava_reward, completions, **columns) == [2.0, -1.0, 1.0, -2.0]


@pytest.mark.parametrize("to_messages", [False, True])
def test_trl_format_rewards(to_messages):
    half = r1("B", think="t" * 600)
    texts = [RIGHT, half, NO_FORMAT_RIGHT, GARBAGE]
    completions = conversational(texts) if to_messages else texts
    assert trl_call(trl.format_reward, completions, solution=["B"] * 4) == [1.0, 1.0, 0.0, 0.0]
    assert trl_call(trl.tinyllava_format_reward, completions, solution=["B"] * 4) == pytest.approx(
        [1.0, 0.75, 0.0, 0.0]
    )
    assert trl_call(trl.think_format_reward, completions) == [1.0, 1.0, 0.0, 0.0]


def test_trl_option_text_answers_use_the_options_column():
    completions = [r1("dog"), r1("Dog."), r1("cat")]
    out = trl_call(trl.mcq_accuracy_reward, completions, solution=["<answer>B</answer>"] * 3, options=[OPTIONS] * 3)
    assert out == [1.0, 1.0, 0.0]
    # without options the text cannot be read
    assert trl_call(trl.mcq_accuracy_reward, completions, solution=["<answer>B</answer>"] * 3) == [0.0, 0.0, 0.0]


def test_trl_per_row_gold():
    completions = [r1("A"), r1("B"), r1("C")]
    assert trl_call(trl.mcq_accuracy_reward, completions, answer=[0, 1, 3]) == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("fn", [trl.mcq_accuracy_reward, trl.tinyllava_reward])
def test_trl_unreadable_gold_is_none(fn):
    out = trl_call(
        fn,
        [RIGHT, RIGHT, RIGHT, RIGHT],
        solution=["<answer>B</answer>", None, "A or B", "?"],
        answer=[None, None, None, None],
    )
    assert out[0] is not None
    assert out[1:] == [None, None, None]
    assert trl_call(fn, [RIGHT, RIGHT]) == [None, None]  # no gold column at all
    assert trl_call(fn, [RIGHT, RIGHT], solution=["B"])[1] is None  # a short column


def test_trl_solution_none_falls_back_to_answer():
    out = trl_call(trl.mcq_accuracy_reward, [RIGHT, RIGHT], solution=[None, "<answer>A</answer>"], answer=[1, 1])
    assert out == [1.0, 0.0]


def test_trl_accuracy_reward_math():
    completions = ["\\boxed{0.5}", "\\boxed{3}", "\\boxed{1}"]
    out = trl_call(trl.accuracy_reward, completions, solution=["$\\frac{1}{2}$", "2", "hello world"])
    assert out == [1.0, 0.0, None]
    out = trl_call(trl.accuracy_reward, conversational(completions), solution=["$\\frac{1}{2}$", "2", "hello world"])
    assert out == [1.0, 0.0, None]
    assert trl_call(trl.accuracy_reward, completions) == [None, None, None]


def test_trl_reasoning_accuracy_reward():
    completions = [
        "<think>maybe \\boxed{3}</think>The answer is \\boxed{0.5}",  # only the text after </think> counts
        "<think>\\boxed{0.5}</think>\\boxed{3}",
        "<think>still thinking \\boxed{0.5}",  # not finished: 0.0
        "<think>x</think>\\boxed{1}",
    ]
    solution = ["$\\frac{1}{2}$", "$\\frac{1}{2}$", "$\\frac{1}{2}$", "hello world"]
    assert trl_call(trl.reasoning_accuracy_reward, completions, solution=solution) == [1.0, 0.0, 0.0, None]
    out = trl_call(
        trl.reasoning_accuracy_reward,
        ["<seed:think>x</seed:think>\\boxed{0.5}"],
        solution=["0.5"],
        reasoning_delimiters=["</seed:think>"],
    )
    assert out == [1.0]


def test_trl_shaping_batch_called_like_trl():
    out = trl_call(trl.get_cosine_scaled_reward(max_len=6), [RIGHT, WRONG], solution=["<answer>B</answer>"] * 2)
    assert out == pytest.approx([0.75, -0.75])  # completion_ids of 3 tokens, max_len 6
    out = trl_call(trl.get_repetition_penalty_reward(ngram_size=2), [RIGHT, WRONG])
    assert out == [0.0, 0.0]
    out = trl_call(trl.get_soft_overlong_punishment(4, 2), [RIGHT, WRONG])
    assert out == pytest.approx([-0.5, -0.5])
    out = trl_call(trl.repeated_sentence_penalty_reward, ["a. a.", "a. b."])
    assert out == [-1.0, 0.0]


def test_trl_dataset_columns_named_like_parameters():
    # TRL passes every dataset column as a keyword argument: a column that shares a name with a reward
    # function's setting ("length", "penalty") must not turn the rewards into something other than floats.
    out = trl_call(trl.tinyllava_format_reward, [r1("B", think="t" * 600)], length=[10])
    assert out == pytest.approx([0.75])
    out = trl_call(trl.repeated_sentence_penalty_reward, ["a. a.", "a. b."], penalty=[3, 4])
    assert all(isinstance(v, float) for v in out), out


@pytest.mark.parametrize(
    "fn",
    [
        trl.format_reward,
        trl.tinyllava_format_reward,
        trl.mcq_accuracy_reward,
        trl.tinyllava_reward,
        trl.think_format_reward,
        trl.accuracy_reward,
        trl.reasoning_accuracy_reward,
        trl.repeated_sentence_penalty_reward,
        trl.get_cosine_scaled_reward(10),
        trl.get_repetition_penalty_reward(),
        trl.get_soft_overlong_punishment(10, 2),
    ],
)
def test_trl_empty_batch(fn):
    assert trl_call(fn, [], solution=[], answer=[]) == []


def test_trl_public_names_are_readable():
    names = {}
    for name in trl.__all__:
        obj = getattr(trl, name)
        if name.startswith("get_"):
            obj = obj(10, 2) if name == "get_soft_overlong_punishment" else obj(10) if "cosine" in name else obj()
        names[name] = obj.__name__
    for public, reward_name in names.items():
        assert isinstance(reward_name, str) and reward_name.isidentifier()
        assert "lambda" not in reward_name and not reward_name.startswith("_")
        if not public.startswith("get_"):
            assert reward_name == public
    assert len(set(names.values())) == len(names)  # TRL logs rewards by name: no two alike


# ------------------------------------------------------------------------------------------------- verl


def test_verl_compute_score_called_like_verl():
    info = {"options": OPTIONS, "problem_type": "multiple choice", "index": 0}
    out = verl.compute_score(data_source="nextqa", solution_str=RIGHT, ground_truth="B", extra_info=info)
    assert out == {"score": 2.0, "acc": 1.0, "accuracy": 1.0, "format": 1.0}
    out = verl.compute_score("nextqa", r1("dog"), "B", info)
    assert out["accuracy"] == 1.0
    out = verl.compute_score("nextqa", WRONG, "B", info)
    assert out == {"score": -1.0, "acc": 0.0, "accuracy": 0.0, "format": 1.0}
    out = verl.compute_score("nextqa", GARBAGE, "B")
    assert out == {"score": -2.0, "acc": 0.0, "accuracy": 0.0, "format": 0.0}


def test_verl_compute_score_options_from_reward_kwargs():
    out = verl.compute_score("nextqa", r1("B", think="s"), "B", None, mode="sum")
    assert out == {"score": 2.0, "acc": 1.0, "accuracy": 1.0, "format": 1.0}
    out = verl.compute_score("nextqa", NO_FORMAT_RIGHT, "B", {}, mode="weighted", format_weight=0.1)
    assert out["score"] == pytest.approx(0.9)
    out = verl.compute_score("nextqa", r1("B", think="s" * 50), "B", {}, length=100, unrelated="ignored")
    assert out["score"] == pytest.approx(1.75)
    with pytest.raises(ValueError):
        verl.compute_score("nextqa", RIGHT, "B", {}, mode="nope")


def test_verl_compute_score_other_problem_types():
    out = verl.compute_score("video-r1", r1("1,000"), "1000", {"problem_type": "numerical"})
    assert out["accuracy"] == 1.0
    out = verl.compute_score("video-r1", r1("9"), "10", {"problem_type": "regression"})
    assert out["accuracy"] == pytest.approx(0.9)


def test_verl_compute_score_batch():
    out = verl.compute_score_batch(
        data_sources=["nextqa"] * 4,
        solution_strs=COMPLETIONS,
        ground_truths=["B"] * 4,
        extra_infos=[{"options": OPTIONS, "problem_type": "multiple choice"}] * 4,
    )
    assert [o["score"] for o in out] == [2.0, -1.0, 1.0, -2.0]
    assert [o["accuracy"] for o in out] == [1.0, 0.0, 1.0, 0.0]
    assert all(set(o) == {"score", "acc", "accuracy", "format"} for o in out)
    assert verl.compute_score_batch([], [], [], []) == []
    assert len(verl.compute_score_batch(None, COMPLETIONS, ["B"], None, mode="sum")) == 4


def test_verl_on_curate_export(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from curate.export import export
    from curate.filter import FilterConfig, run

    out = tmp_path / "filtered"
    run(FilterConfig(inputs=[REPO_ROOT / "curate" / "samples" / "nextqa_val.csv"], output=out))
    count = export(out, "verl", tmp_path / "v.parquet", video_root=str(tmp_path))
    rows = pq.read_table(tmp_path / "v.parquet").to_pylist()
    assert count == len(rows) > 0
    for row in rows:
        gold = row["reward_model"]["ground_truth"]
        info = row["extra_info"]
        wrong = next(letter for letter in "ABCDE" if letter != gold)
        right_text = info["options"][info["answer"]]
        right = verl.compute_score(row["data_source"], r1(gold), gold, info)
        assert right == {"score": 2.0, "acc": 1.0, "accuracy": 1.0, "format": 1.0}
        assert verl.compute_score(row["data_source"], r1(right_text), gold, info)["accuracy"] == 1.0
        bad = verl.compute_score(row["data_source"], r1(wrong), gold, info)
        assert bad == {"score": -1.0, "acc": 0.0, "accuracy": 0.0, "format": 1.0}
        batch = verl.compute_score_batch([row["data_source"]] * 2, [r1(gold), r1(wrong)], [gold] * 2, [info] * 2)
        assert [b["accuracy"] for b in batch] == [1.0, 0.0]


# --------------------------------------------------------------------------------------------- OpenRLHF


def values(x) -> list[float]:
    """A list of floats from OpenRLHF's output: a float (one query), a list, or (with torch) a tensor."""
    if type(x) is float:
        return [x]
    return [float(v) for v in (x.tolist() if hasattr(x, "tolist") else x)]


@pytest.fixture(params=["without torch", "as installed"])
def torch_state(request, monkeypatch):
    """OpenRLHF's outputs are tensors when torch imports and lists otherwise: test both."""
    if request.param == "without torch":
        monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" raises ImportError
        return False
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_openrlhf_reward_func_strips_prompt(torch_state):
    prompts = ["<|user|>What animal? A. cat B. dog<|assistant|>"] * 4
    queries = [p + c for p, c in zip(prompts, COMPLETIONS, strict=True)]
    out = openrlhf.reward_func(queries, prompts, ["B", "<answer>B</answer>", 1, "B"])
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert values(out["rewards"]) == [2.0, -1.0, 1.0, -2.0]
    assert values(out["scores"]) == [1.0, 0.0, 1.0, 0.0]
    assert values(out["extra_logs"]["accuracy"]) == [1.0, 0.0, 1.0, 0.0]
    assert values(out["extra_logs"]["format"]) == [1.0, 1.0, 0.0, 0.0]


def test_openrlhf_prompt_that_breaks_the_format_is_removed(torch_state):
    # The prompt itself contains text: left in, it would break the strict format of the response.
    prompt = "Think in <think></think> then answer.\n"
    out = openrlhf.reward_func([prompt + RIGHT], [prompt], ["B"])
    assert values(out["rewards"]) == [2.0]


def test_openrlhf_prompt_not_a_prefix_and_kwargs(torch_state):
    out = openrlhf.reward_func([RIGHT], ["some other prompt"], ["B"])
    assert values(out["rewards"]) == [2.0]
    out = openrlhf.reward_func([RIGHT], [RIGHT[:5]], ["B"], mode="sum")
    assert values(out["rewards"]) == [1.0]  # stripping "<thin" broke the format: accuracy only
    out = openrlhf.reward_func([r1("B", think="s")], [""], ["B"], mode="sum")
    assert values(out["rewards"]) == [2.0]
    out = openrlhf.reward_func([NO_FORMAT_RIGHT], [""], ["B"], mode="weighted", format_weight=0.1)
    assert values(out["rewards"]) == pytest.approx([0.9])


@pytest.mark.parametrize(
    "tail",
    ["", "<|im_end|>", "<|im_end|><|endoftext|><|endoftext|>", "<|im_end|>\n", " </s>", "<|im_end|>x", "<b>", "<"],
)
@pytest.mark.parametrize("response", [RIGHT, WRONG, NO_FORMAT_RIGHT, "", "im_end|>", "<answer>B</answer>"])
@pytest.mark.parametrize("prompt", ["<|im_start|>user\nWhich?<|im_end|>\n<|im_start|>assistant\n", "Q: <b>which</b>?"])
def test_openrlhf_scores_the_response_as_every_adapter_does(response, tail, prompt):
    """The query cut at its prompt and its end token in one step (the common case) scores what
    ``rewards.score`` gives the response with its trailing end tokens stripped."""
    from rewards import score
    from rewards._text import strip_end_tokens

    out = openrlhf.reward_func([prompt + response + tail], [prompt], ["B"])
    want = score(strip_end_tokens(response + tail), "B")
    assert [values(out["rewards"]), values(out["scores"]), values(out["extra_logs"]["format"])] == [
        [pytest.approx(want["score"])],
        [want["accuracy"]],
        [pytest.approx(want["format"])],
    ]


def test_openrlhf_output_types_and_missing_labels(torch_state):
    out = openrlhf.reward_func([RIGHT, RIGHT], [""], [])
    if torch_state:
        import torch

        assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].dtype == torch.float32
        assert out["rewards"].shape == (2,)
    else:
        assert isinstance(out["rewards"], list) and isinstance(out["scores"], list)
        assert isinstance(out["extra_logs"]["format"], list)
    assert len(out["rewards"]) == 2
    assert values(out["scores"]) == [0.0, 0.0]  # no label: accuracy 0
    empty = openrlhf.reward_func([], [], [])
    assert [len(empty["rewards"]), len(empty["scores"]), len(empty["extra_logs"]["accuracy"])] == [0, 0, 0]


@pytest.mark.parametrize(
    ("queries", "prompts", "labels"),
    [
        (["Q" + RIGHT], ["Q"], ["B"]),  # what OpenRLHF 0.11.2 sends: lists of one
        (("Q" + RIGHT,), ("Q",), ("B",)),
        (["Q" + RIGHT], None, ["B", "A"]),  # missing prompt, extra label
        (["Q" + RIGHT], ["Q", "extra"], ["B"]),  # lists of other lengths: the general path
    ],
)
def test_openrlhf_one_query_gives_floats(torch_state, queries, prompts, labels):
    """One query gives Python floats (OpenRLHF wraps each in ``torch.tensor([value])``): the same values as
    the query scored inside a batch, up to the batch's float32 rounding."""
    out = openrlhf.reward_func(queries, prompts, labels)
    got = [out["rewards"], out["scores"], out["extra_logs"]["accuracy"], out["extra_logs"]["format"]]
    assert [type(v) for v in got] == [float] * 4
    batch = openrlhf.reward_func([queries[0], WRONG], [(prompts or [None])[0], ""], [labels[0], "B"])
    want = [values(batch["rewards"])[0], values(batch["scores"])[0], values(batch["extra_logs"]["format"])[0]]
    assert [got[0], got[1], got[3]] == pytest.approx(want, abs=1e-6)
    assert got[1] == got[2] == 1.0


def test_openrlhf_default_settings_are_score_golds():
    """The one-query call OpenRLHF makes leaves ``score_gold``'s defaults in place; every other call passes
    ``_settings``, whose defaults must be the same."""
    import inspect

    from rewards.combine import score_gold

    params = inspect.signature(score_gold).parameters
    assert openrlhf._settings({}) == tuple(params[k].default for k in ("mode", "format_weight", "length"))
    # and a keyword given with its default value scores as the bare call does
    query, prompt = "Q" + r1("B", think="t" * 40) + "<|im_end|>", "Q"
    bare = openrlhf.reward_func([query], [prompt], ["B"])
    assert openrlhf.reward_func([query], [prompt], ["B"], mode="tinyllava") == bare
    assert bare["rewards"] != 2.0  # the think length counts: the format term is not saturated


def test_openrlhf_one_query_through_openrlhfs_tensor():
    """``torch.tensor([value])``, what OpenRLHF 0.11.2 makes of each value (samples_generator.py), gives
    a (1,) float32 tensor holding what the same query gets inside a batch."""
    torch = pytest.importorskip("torch")
    out = openrlhf.reward_func(["Q" + RIGHT], ["Q"], ["B"])
    batch = openrlhf.reward_func(["Q" + RIGHT, WRONG], ["Q", ""], ["B", "B"])
    made = torch.tensor([out["rewards"]])
    assert made.shape == (1,) and made.dtype == torch.float32
    assert made.item() == batch["rewards"][0].item()


# ------------------------------------------------------------------------------------------------ EasyR1


def test_easyr1_compute_score():
    assert easyr1.REWARD_TYPE == "batch"
    assert isinstance(easyr1.REWARD_NAME, str) and easyr1.REWARD_NAME
    inputs = [{"response": c, "response_length": len(c), "ground_truth": "B"} for c in COMPLETIONS]
    out = easyr1.compute_score(inputs)
    assert [o["overall"] for o in out] == [2.0, -1.0, 1.0, -2.0]
    assert [o["accuracy"] for o in out] == [1.0, 0.0, 1.0, 0.0]
    assert [o["format"] for o in out] == [1.0, 1.0, 0.0, 0.0]
    assert all(set(o) == {"overall", "format", "accuracy"} for o in out)


def test_easyr1_modes_and_extra_fields():
    inputs = [
        {"response": r1("dog", think="s"), "response_length": 3, "ground_truth": "B", "options": OPTIONS},
        {"response": NO_FORMAT_RIGHT, "response_length": 3, "ground_truth": "<answer>B</answer>"},
        {"response": r1("42", think="s"), "response_length": 3, "ground_truth": "42", "problem_type": "numerical"},
    ]
    weighted = easyr1.compute_score(inputs, mode="weighted", format_weight=0.1)
    assert [o["overall"] for o in weighted] == pytest.approx([1.0, 0.9, 1.0])
    summed = easyr1.compute_score(inputs, mode="sum")
    assert [o["overall"] for o in summed] == pytest.approx([2.0, 1.0, 2.0])
    assert easyr1.compute_score([]) == []
    assert easyr1.compute_score([None, "junk"]) == [{"overall": -2.0, "format": 0.0, "accuracy": 0.0}] * 2


# ---------------------------------------------------------------------------------------------- ms-swift


def test_swift_orms_registry():
    assert set(swift.ORMS) == {
        "videoqa_format",
        "videoqa_tinyllava_format",
        "videoqa_accuracy",
        "videoqa_tinyllava",
        "videoqa_problem_type_accuracy",
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("videoqa_format", [1.0, 1.0, 0.0, 0.0]),
        ("videoqa_tinyllava_format", [1.0, 1.0, 0.0, 0.0]),
        ("videoqa_accuracy", [1.0, 0.0, 1.0, 0.0]),
        ("videoqa_tinyllava", [2.0, -1.0, 1.0, -2.0]),
        ("videoqa_problem_type_accuracy", [1.0, 0.0, 1.0, 0.0]),
    ],
)
def test_swift_orms_called_like_ms_swift(name, expected):
    cls = swift.ORMS[name]
    assert cls(args=object())(completions=COMPLETIONS, solution=["<answer>B</answer>"] * 4) == pytest.approx(expected)
    out = cls()(completions=COMPLETIONS, solution=["<answer>B</answer>"] * 4)
    assert out == pytest.approx(expected)
    assert all(isinstance(v, float) for v in out)
    out = cls()(
        COMPLETIONS,
        solution=["<answer>B</answer>"] * 4,
        answer=[1] * 4,
        options=[OPTIONS] * 4,
        messages=[[{"role": "user", "content": "q"}]] * 4,
    )
    assert out == pytest.approx(expected)


def test_swift_unreadable_gold_is_none_as_in_trl():
    """ms-swift 4.6 turns None into NaN and leaves it out of the reward's mean; 0.0 would be a value the
    TinyLLaVA formula never gives."""
    assert swift.MCQAccuracyORM()(completions=[RIGHT], solution=[None]) == [None]
    assert swift.TinyllavaORM()(completions=[RIGHT]) == [None]


def test_trl_tinyllava_reward_reads_each_rows_question():
    # Rows are scored as if each were its own call, whichever gold and options its neighbours share: equal
    # golds in distinct strings, one options list object, a changed gold, a changed options list, no gold.
    shared = ["A. cat", "B. dog", "C. bird"]
    golds = ["<answer>B</answer>", "".join(["<answer>", "B", "</answer>"]), "<answer>C</answer>", "C", None, "B", 1, 1]
    options = [shared, shared, shared, ["bird", "dog", "cat"], shared, ["A. A. x", "B. B. y"], shared, None]
    texts = [r1("dog"), r1("B"), r1("bird"), r1("cat"), r1("B"), r1("B. y"), r1("B"), r1("B")]
    batch = trl_call(trl.tinyllava_reward, texts, solution=golds, options=options)
    rows = zip(texts, golds, options, strict=True)
    assert batch == [trl_call(trl.tinyllava_reward, [t], solution=[g], options=[o])[0] for t, g, o in rows]
    assert batch == [2.0, 2.0, 2.0, 2.0, None, 2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "options", [["A. A. x", "B. B. y"], ["A. E. coli", "B. yeast", "C. B. subtilis"], ["A. cat", "B. dog"]]
)
@pytest.mark.parametrize("answer", ["B", "B. y", "y", "C. B. subtilis", "B. subtilis", "subtilis", "dog", "E. coli"])
def test_trl_reads_option_letters_once_as_score_does(options, answer):
    """The letters in front of the options are removed once, in TRL's rewards as in ``rewards.score``:
    options that still read as a lettered list without them (``"B. B. y"`` → ``"B. y"``) keep their text,
    and an option text that starts with a letter and a dot (``"B. subtilis"``) stays whole."""
    from rewards import score

    gold = "C" if len(options) == 3 else "B"
    text = r1(answer)
    got = trl_call(trl.tinyllava_reward, [text], solution=[gold], options=[options])
    assert got == [score(text, gold, options=options)["score"]]
    assert trl_call(trl.mcq_accuracy_reward, [text], solution=[gold], options=[options]) == [
        score(text, gold, options=options)["accuracy"]
    ]


@pytest.mark.parametrize("mode", ["tinyllava", "sum", "weighted"])
def test_score_gold_is_score_values_of_the_read_gold(mode):
    from rewards.combine import score_gold, score_values
    from rewards.gold import pack_gold, read_gold

    golds = [
        "B",
        "<answer>B</answer>",
        1,
        None,
        pack_gold("B", OPTIONS),
        pack_gold("dog", OPTIONS),
        "{",
        pack_gold("2.0", None, "numerical"),
        pack_gold("B", OPTIONS, "Multiple Choice"),
    ]
    texts = [RIGHT, WRONG, NO_FORMAT_RIGHT, GARBAGE, r1("dog") + "<|im_end|>", None, b"<answer>B</answer>", r1("2")]
    for gold in golds:
        for text in texts:
            for options, kind in [(None, None), (OPTIONS, None), (None, "numerical")]:
                expected = score_values(text, *read_gold(gold, options, kind), mode, 0.3, 600)
                assert score_gold(text, gold, options, kind, mode, 0.3, 600) == expected, (gold, text, options)
    with pytest.raises(ValueError, match="unknown reward mode"):
        score_gold(RIGHT, "B", mode="bogus")
