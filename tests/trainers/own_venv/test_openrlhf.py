"""The OpenRLHF tier: ``examples/openrlhf/flags.txt``, ``curate export --to openrlhf`` and
``rewards/openrlhf.py`` run through OpenRLHF's own code (openrlhf==0.11.2, installed with --no-deps).

- Flags: the lines of ``examples/openrlhf/flags.txt`` (``${REWARD_FILE}`` replaced by this repository's
  ``rewards/openrlhf.py``) go through the ``__main__`` block of ``openrlhf/cli/train_ppo_ray.py`` — its
  argparse parser, ``hierarchize`` and validation — with only ``train`` replaced by a function that keeps
  the parsed arguments (the module's imports need vLLM and DeepSpeed, so only that block is compiled).
- Data: the export of ``curate demo`` is loaded with ``blending_datasets`` and ``PromptDataset``, as
  ``prepare_datasets`` (trainer/ppo_trainer.py:26-41) does with those arguments: the prompt is the chat
  template's output for the ``--data.input_key`` messages, the label the ``--data.label_key`` value.
- Rewards: ``SingleTurnAgentExecutor(args.reward.remote_url)`` loads the reward file as OpenRLHF's vLLM
  actor does (trainer/ray/vllm_engine.py:56-59), and its real ``execute`` tokenizes the prompt, truncates
  it when it is too long, decodes prompt + response with the special tokens, calls ``reward_func`` and
  reads the result (utils/agent.py:206-305). Only the engine is ours: it returns scripted responses
  (right, wrong, option text, malformed), so every value is asserted exactly. The result then goes
  through ``SamplesGenerator._process_response_into_experience``, what turns it into an ``Experience``.

No network and no GPU: the tokenizer is built here (curate.coldstart.tiny_model), with Qwen2-VL's chat
template. ``execute`` swallows any exception of the reward function (reward ``None``), so every test
asserts the values, never just the absence of an error.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import datetime
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("openrlhf")
pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")

import openrlhf  # noqa: E402
import torch  # noqa: E402
from openrlhf.datasets import PromptDataset  # noqa: E402
from openrlhf.datasets.utils import blending_datasets  # noqa: E402
from openrlhf.utils.agent import SingleTurnAgentExecutor  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from curate.cli import app  # noqa: E402
from curate.coldstart.tiny_model import _tokenizer  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
FLAGS = REPO / "examples" / "openrlhf" / "flags.txt"
REWARD_FILE = REPO / "rewards" / "openrlhf.py"
PLACEHOLDER = "${REWARD_FILE}"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
TOL = 1e-6  # OpenRLHF keeps the rewards as float32 tensors

# TinyLLaVA-Video-R1's format term saturates at 1200 characters of <think>.
THINK_FULL = ("The square moves from the left edge towards the right while its colour stays the same. " * 20)[:1200]
THINK_HALF = THINK_FULL[:600]
assert len(THINK_FULL.strip()) == 1200 and len(THINK_HALF.strip()) == 600


# --------------------------------------------------------------------------------------------- helpers


def curate(*args: object) -> None:
    """``curate ARGS`` through the real Typer app; fails the test on a non-zero exit."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output


def flag_words(reward_file: str | os.PathLike) -> list[str]:
    """``flags.txt`` as the shell hands it to OpenRLHF in ``$(grep -v '^#' flags.txt | envsubst)``:
    comment lines dropped, the placeholder replaced, split on whitespace (no quote handling)."""
    text = FLAGS.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return " ".join(lines).replace(PLACEHOLDER, str(reward_file)).split()


def openrlhf_parse(argv: list[str]) -> SimpleNamespace:
    """The arguments ``python -m openrlhf.cli.train_ppo_ray ARGV`` would train with: the file's own
    ``if __name__ == "__main__":`` block, run with ``train`` replaced by a function that keeps them."""
    path = Path(openrlhf.__file__).parent / "cli" / "train_ppo_ray.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    blocks = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    assert len(blocks) == 1, "train_ppo_ray.py has no single __main__ block: OpenRLHF changed, revisit this test"
    code = compile(ast.Module(body=blocks[0].body, type_ignores=[]), str(path), "exec")
    captured: list[SimpleNamespace] = []
    namespace = {"argparse": argparse, "datetime": datetime.datetime, "os": os, "train": captured.append}
    saved = sys.argv
    sys.argv = [str(path), *argv]
    try:
        exec(code, namespace)
    finally:
        sys.argv = saved
    assert len(captured) == 1
    return captured[0]


class Strategy:
    """What ``blending_datasets`` and ``PromptDataset`` read from OpenRLHF's DeepSpeed strategy."""

    def __init__(self, args: SimpleNamespace) -> None:
        self.args = args

    def print(self, *args: object) -> None:
        pass

    def is_rank_0(self) -> bool:
        return False


class ScriptedEngine:
    """Stands in for the vLLM actor's ``generate`` (what ``execute`` awaits): returns ``response`` as
    tokens of the same tokenizer, ending at the end-of-sequence token like a finished generation."""

    def __init__(self, tokenizer, response: str) -> None:
        self.tokenizer = tokenizer
        self.response = response

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        ids = self.tokenizer(self.response, add_special_tokens=False)["input_ids"]
        output = SimpleNamespace(token_ids=ids, text=self.response, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[output])


def sampling_params(max_tokens: int | None) -> SimpleNamespace:
    """The two vllm.SamplingParams attributes ``execute`` reads (samples_generator.py:199-207 builds it)."""
    return SimpleNamespace(max_tokens=max_tokens, logprobs=None)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    """``curate demo`` (2 synthetic videos, no coldstart), then ``curate export --to openrlhf`` of its
    filter folder as ``train.jsonl``, the name flags.txt gives."""
    root = tmp_path_factory.mktemp("openrlhf")
    curate("demo", "-o", root / "demo", "--videos", 2, "--no-coldstart")
    curate("export", root / "demo" / "filter", "--to", "openrlhf", "-o", root / "train.jsonl", "--quiet")
    return root


@pytest.fixture(scope="module")
def args() -> SimpleNamespace:
    return openrlhf_parse(flag_words(REWARD_FILE))


@pytest.fixture(scope="module")
def tokenizer():
    return _tokenizer()


@pytest.fixture(scope="module")
def dataset(export_dir, args, tokenizer) -> PromptDataset:
    """The export as OpenRLHF's trainer loads it (ppo_trainer.py:26-41), from the folder it is in."""
    saved = os.getcwd()
    os.chdir(export_dir)  # flags.txt names the file relative to where the trainer runs
    try:
        strategy = Strategy(args)
        data = args.data
        train_data = blending_datasets(
            data.prompt_dataset,
            data.prompt_probs,
            strategy,
            args.train.seed,
            max_count=data.max_samples,
            dataset_split=data.prompt_split,
        )
        train_data = train_data.select(range(min(data.max_samples, len(train_data))))
        return PromptDataset(train_data, tokenizer, strategy, input_template=data.input_template)
    finally:
        os.chdir(saved)


@pytest.fixture
def executor(args):
    """The reward-file executor OpenRLHF's vLLM actor builds, with ``reward_func`` wrapped to record each
    call's arguments."""
    ex = SingleTurnAgentExecutor(args.reward.remote_url)
    original = ex.reward_func
    ex.calls = []

    def recording(*a, **k):
        ex.calls.append((a, k))
        return original(*a, **k)

    ex.reward_func = recording
    return ex


def run_execute(ex, prompt, label, tokenizer, response, max_length, max_tokens=None) -> dict:
    engine = ScriptedEngine(tokenizer, response)
    return asyncio.run(
        ex.execute(
            prompt, label, sampling_params(max_tokens), max_length=max_length, hf_tokenizer=tokenizer, llm_engine=engine
        )
    )


def gold_of(label: str) -> dict:
    """The letter, a wrong letter and the gold option's text of an exported label."""
    packed = json.loads(label)
    letter = packed["answer"]
    index = LETTERS.index(letter)
    options = packed["options"]
    return {"gold": letter, "wrong": LETTERS[(index + 1) % len(options)], "text": options[index]}


# ----------------------------------------------------------------------------------------------- tests


def test_flags_parse_with_openrlhfs_own_parser(args, export_dir):
    words = flag_words(REWARD_FILE)
    assert not any(q in " ".join(words) for q in "'\""), "flags.txt is split without quote handling"
    assert PLACEHOLDER in FLAGS.read_text(encoding="utf-8")
    assert args.reward.remote_url == [str(REWARD_FILE)]  # split on "," by the __main__ block
    assert args.data.prompt_dataset == "train.jsonl"
    assert args.data.input_key == "prompt"
    assert args.data.label_key == "label"
    assert args.data.apply_chat_template is True
    assert args.data.input_template is None
    assert args.algo.advantage.estimator == "group_norm"
    assert args.rollout.n_samples_per_prompt == 8
    assert args.train.agent_func_path is None  # it would replace the reward file by an agent
    assert args.reward.model_name_or_path is None
    # the keys name columns of the export, with the values OpenRLHF expects there
    rows = read_jsonl(export_dir / args.data.prompt_dataset)
    assert len(rows) == 4
    for row in rows:
        messages = row[args.data.input_key]
        assert [m["role"] for m in messages] == ["user"] and isinstance(messages[0]["content"], str)
        assert isinstance(row[args.data.label_key], str)
        assert json.loads(row[args.data.label_key])["problem_type"] == "multiple choice"


def test_old_flag_names_are_refused():
    """OpenRLHF 0.11 renamed --remote_rm_url/--label_key (the names older READMEs show): argparse exits 2."""
    with pytest.raises(SystemExit) as raised:
        openrlhf_parse(["--remote_rm_url", str(REWARD_FILE), "--label_key", "label"])
    assert raised.value.code == 2


def test_reward_file_is_loaded_by_openrlhf(args):
    ex = SingleTurnAgentExecutor(args.reward.remote_url)
    assert ex.reward_func is not None
    assert ex.reward_func.__name__ == "reward_func"
    assert Path(ex.reward_func.__code__.co_filename) == REWARD_FILE
    assert ex.reward_func.__module__ == "reward_func"  # spec_from_file_location("reward_func", path)


def test_prompt_dataset_from_the_export(dataset, export_dir, tokenizer):
    rows = read_jsonl(export_dir / "train.jsonl")
    assert len(dataset) == len(rows)
    for i, row in enumerate(rows):
        _, prompt, label, images = dataset[i]
        assert prompt == tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        assert prompt.endswith("<|im_start|>assistant\n")
        assert row["prompt"][0]["content"] in prompt
        assert label == row["label"]  # handed on unchanged
        assert images is None  # the export has no images column


# (response template, reward, accuracy, format); {gold}/{wrong}/{text} from the row's label
CASES = {
    "right": ("<think>" + THINK_FULL + "</think><answer>{gold}</answer><|im_end|>", 2.0, 1.0, 1.0),
    "right-endoftext": ("<think>" + THINK_FULL + "</think> <answer>{gold}</answer><|endoftext|>", 2.0, 1.0, 1.0),
    "right-half-think": ("<think>" + THINK_HALF + "</think><answer>{gold}</answer><|im_end|>", 1.75, 1.0, 0.75),
    "option-text": ("<think>" + THINK_FULL + "</think><answer>{text}</answer><|im_end|>", 2.0, 1.0, 1.0),
    "wrong": ("<think>" + THINK_FULL + "</think><answer>{wrong}</answer><|im_end|>", -1.0, 0.0, 1.0),
    "wrong-half-think": ("<think>" + THINK_HALF + "</think><answer>{wrong}</answer><|im_end|>", -0.75, 0.0, 0.75),
    "right-no-think": ("<answer>{gold}</answer><|im_end|>", 1.0, 1.0, 0.0),
    "no-tags": ("The answer is {wrong}.<|im_end|>", -2.0, 0.0, 0.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rewards_through_openrlhfs_executor(case, executor, dataset, args, tokenizer, samples_generator):
    template, reward, accuracy, fmt = CASES[case]
    for i in range(len(dataset)):
        _, prompt, label, _ = dataset[i]
        response = template.format(**gold_of(label))
        out = run_execute(
            executor,
            prompt,
            label,
            tokenizer,
            response,
            max_length=args.data.max_len,
            max_tokens=args.rollout.max_new_tokens,
        )
        # what OpenRLHF handed the reward function (agent.py:287-290, 308-325)
        (queries, prompts, labels), kwargs = executor.calls[-1]
        assert kwargs == {} and queries == [prompt + response] and prompts == [prompt] and labels == [label]
        # what it read back (agent.py:293-302): floats for the one query
        assert out["reward"] is not None, "reward_func raised (execute logs and swallows it)"
        assert type(out["reward"]) is float and out["reward"] == pytest.approx(reward, abs=TOL), (case, i)
        assert out["scores"] == pytest.approx(accuracy, abs=TOL), (case, i)
        assert set(out["extra_logs"]) == {"accuracy", "format"}
        # and the (1,) tensors OpenRLHF makes of them (samples_generator.py:243-310)
        experience = samples_generator._process_response_into_experience(out, max_len=args.data.max_len)
        assert experience.rewards.shape == (1,) and experience.rewards.dtype == torch.float32
        assert experience.rewards.item() == pytest.approx(reward, abs=TOL), (case, i)
        assert experience.scores.shape == (1,) and experience.scores.item() == pytest.approx(accuracy, abs=TOL)
        assert experience.info["accuracy"].shape == (1,)
        assert experience.info["accuracy"].item() == pytest.approx(accuracy, abs=TOL)
        assert experience.info["format"].item() == pytest.approx(fmt, abs=TOL)


@pytest.mark.parametrize("case", ["right", "wrong"])
def test_left_truncated_prompt(case, executor, dataset, tokenizer):
    """A prompt longer than max_length − max_tokens is cut from the left (agent.py:227-239): the query no
    longer starts with the prompt, and the response is found after the assistant marker."""
    _, prompt, label, _ = dataset[0]
    template, reward, accuracy, _ = CASES[case]
    response = template.format(**gold_of(label))
    prompt_tokens = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    max_tokens = 1024
    out = run_execute(
        executor, prompt, label, tokenizer, response, max_length=prompt_tokens - 10 + max_tokens, max_tokens=max_tokens
    )
    (queries, prompts, _), _ = executor.calls[-1]
    assert not queries[0].startswith(prompts[0])  # the truncation happened
    assert queries[0].endswith("<|im_start|>assistant\n" + response)
    assert out["reward"] == pytest.approx(reward, abs=TOL)
    assert out["scores"] == accuracy


def test_label_key_unset_gives_no_gold(executor, dataset, tokenizer, args):
    """Without --data.label_key OpenRLHF passes "" as the label: nothing is right (no error either)."""
    _, prompt, label, _ = dataset[0]
    response = CASES["right"][0].format(**gold_of(label))
    out = run_execute(executor, prompt, "", tokenizer, response, max_length=args.data.max_len)
    assert out["reward"] == pytest.approx(-1.0, abs=TOL)
    assert out["scores"] == 0.0


@pytest.fixture
def samples_generator(monkeypatch):
    """``openrlhf.trainer.ppo_utils.samples_generator`` imports ``vllm`` (a CUDA-only extra, not
    installed) for two names it does not use in the method under test: those names are stubbed in
    sys.modules for the import, and the modules imported with them are dropped afterwards."""
    import types

    before = set(sys.modules)
    vllm = types.ModuleType("vllm")
    vllm.__path__ = []
    vllm.SamplingParams = object
    vllm.__version__ = "0.0.0"
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = dict
    utils = types.ModuleType("vllm.utils")
    utils.random_uuid = lambda: "0"
    for name, module in (("vllm", vllm), ("vllm.inputs", inputs), ("vllm.utils", utils)):
        monkeypatch.setitem(sys.modules, name, module)
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator

    yield SamplesGenerator.__new__(SamplesGenerator)  # the method reads no instance state
    for name in set(sys.modules) - before:
        if name.startswith("openrlhf.trainer"):
            del sys.modules[name]


def test_experience_from_our_rewards(samples_generator, executor, dataset, tokenizer, args):
    """The executor's output becomes an Experience (samples_generator.py:243-310): rewards and scores
    of shape (1,), each extra log as info[key]."""
    _, prompt, label, _ = dataset[1]
    g = gold_of(label)
    experiences = []
    for template in (CASES["right"][0], CASES["wrong"][0]):
        out = run_execute(executor, prompt, label, tokenizer, template.format(**g), max_length=args.data.max_len)
        experiences.append(samples_generator._process_response_into_experience(out, max_len=args.data.max_len))
    right, wrong = experiences
    assert right.rewards.shape == (1,) and right.rewards.item() == pytest.approx(2.0, abs=TOL)
    assert wrong.rewards.item() == pytest.approx(-1.0, abs=TOL)
    assert right.scores.item() == 1.0 and wrong.scores.item() == 0.0
    assert right.info["accuracy"].item() == 1.0 and right.info["format"].item() == pytest.approx(1.0)
    assert right.info["reward"].item() == pytest.approx(2.0, abs=TOL)
    # experience_maker.py concatenates the rewards and groups them by prompt
    grouped = torch.cat([e.rewards for e in experiences]).reshape(-1, 2)
    assert grouped.tolist() == [[pytest.approx(2.0), pytest.approx(-1.0)]]
