"""Package rules: importing rewards pulls in no heavy dependency; every public reward pickles and scores the
same after a round trip (trainers send reward functions to worker processes)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import rewards
from rewards import swift
from rewards import trl as trl_rewards

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ["torch", "polars", "transformers", "numpy", "math_verify", "rouge_score", "sympy", "pyarrow", "pandas"]

R1_RIGHT = "<think>" + "x" * 600 + "</think><answer>B</answer>"
R1_WRONG = "<think>short</think><answer>A</answer>"
OPTIONS = ["cat", "dog", "bird", "fish"]


@pytest.mark.parametrize(
    "modules",
    [["rewards"], ["rewards", "rewards.trl", "rewards.verl", "rewards.openrlhf", "rewards.easyr1", "rewards.swift"]],
)
def test_import_pulls_no_heavy_dependency(modules):
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_scoring_without_optional_extras_loads_none():
    code = (
        "import json, sys, rewards\n"
        "rewards.score('<think>t</think><answer>B</answer>', 'B')\n"
        "rewards.numerical_accuracy('<answer>1</answer>', '1'); rewards.ocr_score('<answer>a</answer>', 'a')\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_all_names_exist():
    for name in rewards.__all__:
        assert callable(getattr(rewards, name)), name
    for name in trl_rewards.__all__:
        assert callable(getattr(trl_rewards, name)), name


# ------------------------------------------------------------------------------------------------ pickle

# Arguments to call each public function of rewards with.
CORE_CALLS = {
    "accuracy": (R1_RIGHT, "B"),
    "extract_choice": ("(B)",),
    "freeform_score": ("<answer>the cat sat</answer>", "the cat sat down"),
    "gold_index": ("<answer>C</answer>",),
    "has_repeated_sentence": ("a. a.",),
    "math_accuracy": ("\\boxed{0.5}", "$\\frac{1}{2}$"),
    "mcq_accuracy": (R1_RIGHT, "B", OPTIONS),
    "numerical_accuracy": ("<answer>1,000</answer>", "1000"),
    "ocr_score": ("<answer>STOP</answer>", "STOP AHEAD"),
    "parse_number": ("1,000.5",),
    "r1_format": (R1_RIGHT,),
    "regression_score": ("<answer>9</answer>", "10"),
    "score": (R1_RIGHT, "B"),
    "temporal_bonus": ([1.0, 0.0], [0.5, 0.5]),
    "think_format": (R1_RIGHT,),
    "tinyllava_combine": (1.0, 0.75),
    "tinyllava_format": (R1_RIGHT,),
    "tinyllava_reward": (R1_WRONG, "B"),
    "word_error_rate": ("a b c", "a b d"),
}


def test_every_core_name_has_a_pickle_case():
    assert set(CORE_CALLS) == set(rewards.__all__)


@pytest.mark.parametrize("name", sorted(CORE_CALLS))
def test_core_functions_pickle(name):
    fn = getattr(rewards, name)
    restored = pickle.loads(pickle.dumps(fn))
    args = CORE_CALLS[name]
    assert restored(*args) == fn(*args)


TRL_BATCH = {
    "completions": [R1_RIGHT, R1_WRONG, "<answer>B</answer>", "\\boxed{0.5}", "a. a."],
    "completion_ids": [[1] * 10, [2, 2, 2, 2], [1, 2, 3], [1] * 30, [5, 6]],
    "solution": ["<answer>B</answer>", "<answer>B</answer>", "B", "$\\frac{1}{2}$", None],
    "answer": [1, 1, 1, None, None],
    "options": [OPTIONS, OPTIONS, OPTIONS, None, None],
    "prompts": ["q"] * 5,
    "trainer_state": None,
}


def trl_public_objects():
    objects = {}
    for name in trl_rewards.__all__:
        obj = getattr(trl_rewards, name)
        objects[name] = obj
    objects["cosine_instance"] = trl_rewards.get_cosine_scaled_reward(max_len=20)
    objects["repetition_instance"] = trl_rewards.get_repetition_penalty_reward(ngram_size=2, max_penalty=-0.5)
    objects["overlong_instance"] = trl_rewards.get_soft_overlong_punishment(20, 5)
    return objects


@pytest.mark.parametrize("name", sorted(trl_public_objects()))
def test_trl_objects_pickle(name):
    obj = trl_public_objects()[name]
    restored = pickle.loads(pickle.dumps(obj))
    if name.startswith("get_"):
        assert restored is obj  # a module-level function pickles by reference
        return
    expected = obj(**TRL_BATCH)
    assert restored(**TRL_BATCH) == expected
    assert getattr(restored, "__name__", None) == getattr(obj, "__name__", None)
    assert len(expected) == 5


def test_factory_instances_keep_their_settings_through_pickle():
    reward = pickle.loads(pickle.dumps(trl_rewards.get_soft_overlong_punishment(100, 20)))
    assert reward(completion_ids=[[0] * 90, [0] * 70, [0] * 110]) == pytest.approx([-0.5, 0.0, -1.0])
    reward = pickle.loads(pickle.dumps(trl_rewards.get_repetition_penalty_reward(ngram_size=2)))
    assert reward(completion_ids=[[1, 2, 3, 4], [5, 5, 5, 5, 5]]) == pytest.approx([0.0, -0.75])
    reward = pickle.loads(pickle.dumps(trl_rewards.get_cosine_scaled_reward(max_len=100)))
    assert reward(completions=[R1_RIGHT, R1_WRONG], solution=["B", "B"], completion_ids=[[1] * 50] * 2) == (
        pytest.approx([0.75, -0.75])
    )


@pytest.mark.parametrize("name", sorted(swift.ORMS))
def test_swift_classes_pickle(name):
    cls = swift.ORMS[name]
    assert pickle.loads(pickle.dumps(cls)) is cls
    instance = cls()
    restored = pickle.loads(pickle.dumps(instance))
    kwargs = {"completions": TRL_BATCH["completions"], "solution": TRL_BATCH["solution"]}
    assert restored(**kwargs) == instance(**kwargs)


def test_adapter_functions_pickle():
    from rewards import easyr1, openrlhf, verl

    for fn in (verl.compute_score, verl.compute_score_batch, openrlhf.reward_func, easyr1.compute_score):
        assert pickle.loads(pickle.dumps(fn)) is fn
    args = ("nextqa", R1_RIGHT, "B", {"options": OPTIONS})
    assert pickle.loads(pickle.dumps(verl.compute_score))(*args) == verl.compute_score(*args)
