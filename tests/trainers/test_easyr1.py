"""The EasyR1 tier: ``examples/easyr1/config.yaml``, ``curate export --to easyr1`` and ``rewards/easyr1.py``
against EasyR1's contracts (hiyouga/EasyR1 at commit b44b311b669bf1fd1aa2fc36f2251482ba33cb16).

EasyR1 is not on PyPI and pins transformers < 5, so it cannot be installed here; these tests reproduce,
step by step, what its code does with our files (the file:line references are into that commit):

- Config: ``verl/trainer/main.py:90-101`` merges the YAML over ``OmegaConf.structured(PPOConfig())``, so
  any key that is not a field of EasyR1's dataclasses is an error (a ``reward_type`` under
  ``worker.reward`` fails with ``ConfigKeyError``); ``RewardConfig.post_init``
  (``verl/workers/reward/config.py:33-40``) splits ``reward_function`` at the last ``:`` and resolves the
  path against the working directory (a missing file silently becomes ``None``).
- Reward: ``AutoRewardManager`` (``verl/workers/reward/function.py:108-145``) imports the file with
  ``spec_from_file_location("custom_reward_fn", path)``, reads ``REWARD_NAME`` and ``REWARD_TYPE``
  (default ``"batch"``), binds ``reward_function_kwargs`` with ``functools.partial``; the batch path
  (``function.py:74-104``) decodes each response with ``skip_special_tokens``, calls the function once
  with ``[{"response", "response_length", "ground_truth"}]``, puts ``overall`` on the last response token
  and averages every returned key into ``reward/<key>`` (``verl/trainer/metrics.py:23-24``).
- Dataset: ``RLHFDataset`` (``verl/utils/dataset.py:92-314``) reads the file with 🤗 ``load_dataset``,
  splits the prompt at ``<video>``, takes the ``image_key`` branch whenever that column exists, joins
  ``image_dir`` only to string videos (so frame lists must be absolute), hands each video to
  qwen-vl-utils (a frame list is opened frame by frame as images), and passes ``answer`` on unchanged
  as ``ground_truth``.

The ground truths come from a real ``curate export --to easyr1`` of ``curate demo``'s output, and the
frame files are checked byte for byte against the stored JPEGs, with every mp4 deleted first.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import math
import os
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
np = pytest.importorskip("numpy")
datasets = pytest.importorskip("datasets")
pytest.importorskip("transformers")
Image = pytest.importorskip("PIL.Image")

import pyarrow.parquet as pq  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from curate.cli import app  # noqa: E402
from curate.coldstart.tiny_model import _tokenizer  # noqa: E402
from rewards.gold import pack_gold  # noqa: E402

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "examples" / "easyr1" / "config.yaml"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# The fields of EasyR1's config dataclasses (init fields; verl/trainer/config.py:35-56 DataConfig,
# verl/workers/reward/config.py:24-30 RewardConfig, verl/workers/config.py:40-46 WorkerConfig,
# verl/trainer/config.py:149-153 PPOConfig). Anything else in the YAML is a ConfigKeyError there.
PPO_FIELDS = {"data", "worker", "algorithm", "trainer"}
WORKER_FIELDS = {"hybrid_engine", "actor", "critic", "ref", "reward", "rollout"}
REWARD_FIELDS = {"reward_function", "reward_function_kwargs", "skip_special_tokens", "num_cpus"}
DATA_DEFAULTS = {
    "train_files": "",
    "val_files": "",
    "prompt_key": "prompt",
    "answer_key": "answer",
    "image_key": "images",
    "video_key": "videos",
    "image_dir": None,
    "video_fps": 2.0,
    "max_prompt_length": 512,
    "max_response_length": 512,
    "rollout_batch_size": 512,
    "mini_rollout_batch_size": None,
    "val_batch_size": -1,
    "format_prompt": None,
    "override_chat_template": None,
    "shuffle": True,
    "seed": 1,
    "min_pixels": 262144,
    "max_pixels": 4194304,
    "filter_overlong_prompts": True,
    "filter_overlong_prompts_workers": 16,
}
REWARD_DEFAULTS = {"reward_function": None, "reward_function_kwargs": {}, "skip_special_tokens": True, "num_cpus": 1}

# TinyLLaVA-Video-R1's format term saturates at 1200 characters of <think>.
THINK_FULL = ("The square moves from the left edge towards the right while its colour stays the same. " * 20)[:1200]
THINK_HALF = THINK_FULL[:600]
assert len(THINK_FULL.strip()) == 1200 and len(THINK_HALF.strip()) == 600


# --------------------------------------------------------------------------------------------- helpers


def curate(*args: object) -> int:
    """``curate ARGS`` through the real Typer app; returns the exit code (exceptions propagate)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code


def load_config() -> dict:
    with open(CONFIG, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def data_setting(config: dict, key: str):
    return config.get("data", {}).get(key, DATA_DEFAULTS[key])


def reward_setting(config: dict, key: str):
    return config.get("worker", {}).get("reward", {}).get(key, REWARD_DEFAULTS[key])


def resolve_reward_function(spec: str, cwd: Path) -> tuple[str | None, str]:
    """``RewardConfig.post_init``: ``path:name`` (name ``main`` without a colon), the path made absolute
    when it exists from the working directory, else ``None`` (EasyR1 then refuses to start)."""
    if ":" not in spec:
        path, name = spec, "main"
    else:
        path, name = spec.rsplit(":", maxsplit=1)
    full = cwd / path
    return (os.path.abspath(full) if full.exists() else None), name


class RewardManager:
    """EasyR1's ``AutoRewardManager``, as far as it touches the reward module: loading (function.py:108-133)
    and the batch path (function.py:74-104, 138-145) with the trainer's metric reduction."""

    def __init__(self, path: str, name: str, kwargs: dict, skip_special_tokens: bool, tokenizer) -> None:
        spec = importlib.util.spec_from_file_location("custom_reward_fn", path)
        module = importlib.util.module_from_spec(spec)
        saved = sys.modules.get("custom_reward_fn")
        sys.modules["custom_reward_fn"] = module
        try:
            spec.loader.exec_module(module)
        finally:
            if saved is None:
                sys.modules.pop("custom_reward_fn", None)
            else:
                sys.modules["custom_reward_fn"] = saved
        assert hasattr(module, name), f"{path} has no {name}"
        self.module = module
        self.reward_name = getattr(module, "REWARD_NAME", "unknown")
        self.reward_type = getattr(module, "REWARD_TYPE", "batch")
        self.reward_fn = functools.partial(getattr(module, name), **kwargs)
        self.skip_special_tokens = skip_special_tokens
        self.tokenizer = tokenizer
        self.inputs: list[dict] = []

    def compute_reward(self, responses: list[list[int]], ground_truths: np.ndarray):
        """``responses``: each response's valid token ids; ``ground_truths``: the batch's
        ``non_tensor_batch["ground_truth"]`` (an object array, as collate_fn makes it)."""
        assert self.reward_type == "batch", "EasyR1 dispatches on REWARD_TYPE: batch or sequential"
        inputs = []
        for i, ids in enumerate(responses):
            text = self.tokenizer.decode(ids, skip_special_tokens=self.skip_special_tokens)
            inputs.append({"response": text, "response_length": len(ids), "ground_truth": ground_truths[i]})
        self.inputs = inputs
        scores = self.reward_fn(inputs)
        width = max(len(ids) for ids in responses)
        token_level = np.zeros((len(responses), width), dtype=np.float32)
        metrics: dict[str, list] = {}
        for i, score in enumerate(scores):
            token_level[i, len(responses[i]) - 1] = score["overall"]
            for key, value in score.items():
                metrics.setdefault(key, []).append(value)
        return scores, token_level, {key: np.mean(values) for key, values in metrics.items()}


def load_like_easyr1(path: Path) -> datasets.Dataset:
    """``RLHFDataset.__init__`` for a file: ``load_dataset(<ext, jsonl→json>, data_files=path, split)``."""
    file_type = os.path.splitext(path)[-1][1:].replace("jsonl", "json")
    return datasets.load_dataset(file_type, data_files=str(path), split="train")


def video_items(prompt: str) -> int:
    """How many ``{"type": "video"}`` items ``_build_messages`` makes of the prompt (dataset.py:173-182)."""
    return len(prompt.split("<video>")) - 1


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def frames_export(tmp_path_factory) -> dict:
    """``curate demo`` (2 videos, no coldstart), every mp4 deleted, then ``curate export`` of the
    extract-frames folder ``--to easyr1`` as ``train.jsonl`` (the name the config gives)."""
    root = tmp_path_factory.mktemp("easyr1")
    demo = root / "demo"
    assert curate("demo", "-o", demo, "--videos", 2, "--no-coldstart") == 0
    mp4s = sorted(demo.rglob("*.mp4"))
    assert mp4s
    for mp4 in mp4s:
        mp4.unlink()
    output = root / "train.jsonl"
    assert curate("export", demo / "frames", "--to", "easyr1", "-o", output, "--quiet") == 0
    return {"root": root, "demo": demo, "output": output, "mp4s": mp4s}


@pytest.fixture(scope="module")
def rows(frames_export) -> list[dict]:
    text = frames_export["output"].read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tokenizer():
    return _tokenizer()


@pytest.fixture(scope="module")
def manager(tokenizer) -> RewardManager:
    config = load_config()
    path, name = resolve_reward_function(reward_setting(config, "reward_function"), REPO)
    assert path is not None
    return RewardManager(
        path,
        name,
        dict(reward_setting(config, "reward_function_kwargs")),
        reward_setting(config, "skip_special_tokens"),
        tokenizer,
    )


def response_ids(tokenizer, text: str) -> list[int]:
    """A finished generation: the response's tokens then the end-of-turn token (which the decode with
    ``skip_special_tokens=True`` removes)."""
    return tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.convert_tokens_to_ids("<|im_end|>")]


def gold_of(ground_truth: str) -> dict:
    packed = json.loads(ground_truth)
    index = LETTERS.index(packed["answer"])
    options = packed["options"]
    return {"gold": packed["answer"], "wrong": LETTERS[(index + 1) % len(options)], "text": options[index]}


# ---------------------------------------------------------------------------------------------- config


def test_config_keys_are_easyr1_fields():
    config = load_config()
    assert set(config) <= PPO_FIELDS
    assert set(config["worker"]) <= WORKER_FIELDS
    reward = config["worker"]["reward"]
    assert "reward_type" not in reward  # not a RewardConfig field: EasyR1 reads REWARD_TYPE from the module
    assert set(reward) <= REWARD_FIELDS, set(reward) - REWARD_FIELDS
    assert set(config["data"]) <= set(DATA_DEFAULTS), set(config["data"]) - set(DATA_DEFAULTS)
    for key, value in config["data"].items():  # OmegaConf checks the types against the dataclass
        default = DATA_DEFAULTS[key]
        if default is not None and value is not None:
            assert type(value) is type(default) or (type(default) is float and type(value) is int), key
    assert isinstance(reward["reward_function_kwargs"], dict)


def test_config_reward_function_resolves_from_the_repository_root():
    config = load_config()
    path, name = resolve_reward_function(reward_setting(config, "reward_function"), REPO)
    assert path == str(REPO / "rewards" / "easyr1.py")
    assert name == "compute_score"
    # from anywhere else the relative path does not resolve: EasyR1 would stop ("Reward function is not
    # provided"), which is why the config says to run from the repository root
    assert resolve_reward_function(reward_setting(config, "reward_function"), REPO / "examples")[0] is None


def test_config_data_keys_match_the_export(rows):
    config = load_config()
    columns = set(rows[0])
    assert columns == {"id", "prompt", "answer", "videos"}
    for key in ("prompt_key", "answer_key", "video_key"):
        assert data_setting(config, key) in columns, key
    # the image branch is taken whenever the image column exists (dataset.py:167, 229)
    assert data_setting(config, "image_key") not in columns
    assert data_setting(config, "format_prompt") is None  # the exported prompt carries the instruction
    assert data_setting(config, "train_files").endswith(".jsonl")
    assert data_setting(config, "image_dir") is None


# ---------------------------------------------------------------------------------------------- reward


def test_reward_module_as_easyr1_loads_it(manager):
    assert manager.reward_type == "batch"
    assert manager.reward_name == "videoqa_mcq"
    assert manager.module.__name__ == "custom_reward_fn"
    assert manager.reward_fn.keywords == load_config()["worker"]["reward"]["reward_function_kwargs"]


# (response template, overall, accuracy, format) under the config's kwargs (mode: tinyllava)
CASES = {
    "right": ("<think>" + THINK_FULL + "</think><answer>{gold}</answer>", 2.0, 1.0, 1.0),
    "right-half-think": ("<think>" + THINK_HALF + "</think> <answer>{gold}</answer>", 1.75, 1.0, 0.75),
    "option-text": ("<think>" + THINK_FULL + "</think><answer>{text}</answer>", 2.0, 1.0, 1.0),
    "wrong": ("<think>" + THINK_FULL + "</think><answer>{wrong}</answer>", -1.0, 0.0, 1.0),
    "right-no-think": ("<answer>{gold}</answer>", 1.0, 1.0, 0.0),
    "no-tags": ("The answer is {wrong}.", -2.0, 0.0, 0.0),
}


def test_batch_reward_on_exported_ground_truths(manager, tokenizer, frames_export):
    config = load_config()
    assert reward_setting(config, "reward_function_kwargs").get("mode") == "tinyllava"  # the values below
    # ground_truth = example.pop(answer_key) (dataset.py:313), batched by collate_fn as an object array
    data = load_like_easyr1(frames_export["output"])
    answers = data[data_setting(config, "answer_key")]
    responses, ground_truths, expected = [], [], []
    for answer in answers:
        assert isinstance(answer, str)
        for name, (template, overall, accuracy, fmt) in CASES.items():
            responses.append(response_ids(tokenizer, template.format(**gold_of(answer))))
            ground_truths.append(answer)
            expected.append((name, overall, accuracy, fmt))
    scores, token_level, metrics = manager.compute_reward(responses, np.array(ground_truths, dtype=object))

    assert all(set(item) == {"response", "response_length", "ground_truth"} for item in manager.inputs)
    assert not any("<|im_end|>" in item["response"] for item in manager.inputs)  # skip_special_tokens=True
    assert isinstance(scores, list) and len(scores) == len(responses)
    for score, (name, overall, accuracy, fmt) in zip(scores, expected, strict=True):
        assert isinstance(score, dict) and {"overall", "format", "accuracy"} <= set(score)
        assert all(is_number(v) for v in score.values()), score  # every key is averaged into reward/<key>
        assert score["overall"] == pytest.approx(overall), name
        assert score["accuracy"] == pytest.approx(accuracy), name
        assert score["format"] == pytest.approx(fmt), name
    # overall sits on each response's last token; the metrics average every key
    for i, ids in enumerate(responses):
        assert token_level[i].sum() == pytest.approx(scores[i]["overall"])
        assert token_level[i, len(ids) - 1] == pytest.approx(scores[i]["overall"])
    per_case = [e[1] for e in expected]
    assert metrics["overall"] == pytest.approx(sum(per_case) / len(per_case))
    assert set(metrics) >= {"overall", "accuracy", "format"}  # algorithm.filter_key defaults to overall


def test_batch_reward_other_problem_types_and_plain_golds(manager, tokenizer):
    """Packed golds of other problem types (the export writes them with rewards.gold.pack_gold), and the
    plain golds a hand-made dataset might hold."""
    think = "<think>" + THINK_FULL + "</think>"
    cases = [
        (pack_gold("3.5", None, "numerical"), think + "<answer>3.5</answer>", 2.0),
        (pack_gold("3.5", None, "numerical"), think + "<answer>4</answer>", -1.0),
        ("B", think + "<answer>B</answer>", 2.0),
        ("<answer>C</answer>", think + "<answer>B</answer>", -1.0),
        (pack_gold("B", ["cat", "dog"], "multiple choice"), think + "<answer>dog</answer>", 2.0),
    ]
    responses = [response_ids(tokenizer, text) for _, text, _ in cases]
    scores, _, _ = manager.compute_reward(responses, np.array([gold for gold, _, _ in cases], dtype=object))
    assert [s["overall"] for s in scores] == pytest.approx([overall for _, _, overall in cases])


def test_reward_kwargs_other_modes(tokenizer):
    """``reward_function_kwargs`` reach ``compute_score`` as keywords: EasyR1's own weighted form."""
    config = load_config()
    path, name = resolve_reward_function(reward_setting(config, "reward_function"), REPO)
    weighted = RewardManager(path, name, {"mode": "weighted", "format_weight": 0.1}, True, tokenizer)
    gold = pack_gold("B", ["cat", "dog"], "multiple choice")
    texts = ["<think>x</think><answer>B</answer>", "<think>x</think><answer>A</answer>", "B"]
    scores, _, _ = weighted.compute_reward([response_ids(tokenizer, t) for t in texts], np.array([gold] * 3, object))
    assert [s["overall"] for s in scores] == pytest.approx([1.0, 0.1, 0.0])


# --------------------------------------------------------------------------------------------- dataset


def test_export_rows_fit_easyr1s_dataset(frames_export, rows):
    config = load_config()
    data = load_like_easyr1(frames_export["output"])
    assert data.column_names == list(rows[0])
    prompt_key, answer_key, video_key = (data_setting(config, k) for k in ("prompt_key", "answer_key", "video_key"))
    mcq = {r["id"]: r for r in pq.read_table(frames_export["demo"] / "frames" / "mcq.parquet").to_pylist()}
    assert len(data) == len(rows) == len(mcq)
    for example, row in zip(data, rows, strict=True):
        prompt, videos = example[prompt_key], example[video_key]
        assert video_items(prompt) == len(videos) == 1
        assert prompt.startswith("<video>") and mcq[row["id"]]["question"] in prompt
        assert "<image>" not in prompt
        # a frame list is not joined with image_dir (dataset.py:244-245): it must be absolute
        assert isinstance(videos[0], list) and len(videos[0]) >= 2
        assert all(isinstance(p, str) and os.path.isabs(p) for p in videos[0])
        # ground_truth is the answer string, unchanged (dataset.py:313)
        ground_truth = example[answer_key]
        assert ground_truth == row["answer"] and isinstance(ground_truth, str)
        packed = json.loads(ground_truth)
        question = mcq[row["id"]]
        assert packed == {
            "answer": LETTERS[question["answer"]],
            "options": question["options"],
            "problem_type": question["problem_type"],
        }


def test_frame_files_are_the_stored_frames(frames_export, rows):
    """Every frame path exists, under OUTPUT's stem + ``_frames/``, and holds the stored JPEG's bytes, in
    the stored order; PIL opens each one at the stored size (qwen-vl-utils' fetch_image opens paths with
    PIL). No mp4 exists any more."""
    assert not any(p.exists() for p in frames_export["mp4s"])
    frames_dir = frames_export["output"].with_name("train_frames")
    mcq = {r["id"]: r for r in pq.read_table(frames_export["demo"] / "frames" / "mcq.parquet").to_pylist()}
    stored = {}
    for shard in sorted((frames_export["demo"] / "frames" / "frames").glob("part-*.parquet")):
        for video in pq.read_table(shard).to_pylist():
            stored[video["video_key"]] = video
    for row in rows:
        video = stored[mcq[row["id"]]["video_key"]]
        assert video["encoding"] == "jpeg"
        paths = row["videos"][0]
        assert len(paths) == len(video["frames"])
        for path, frame in zip(paths, video["frames"], strict=True):
            assert Path(path) == frames_dir / frame["path"]
            assert Path(path).read_bytes() == frame["bytes"]
            with Image.open(path) as image:
                assert image.format == "JPEG" and image.size == (video["width"], video["height"])
            with Image.open(io.BytesIO(frame["bytes"])) as image:
                assert image.size == (video["width"], video["height"])


def test_mp4_export_needs_absolute_paths(tmp_path):
    """Without stored frames the export hands EasyR1 the mp4 path, made absolute from --video-root; a
    relative path is refused (EasyR1 would open it from its own working directory)."""
    demo = tmp_path / "demo"
    assert curate("demo", "-o", demo, "--videos", 2, "--no-coldstart") == 0
    video_root = demo / "sample" / "videos"
    output = tmp_path / "mp4.jsonl"
    assert curate("export", demo / "filter", "--to", "easyr1", "-o", output, "--video-root", video_root, "--quiet") == 0
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    mcq = {r["id"]: r for r in pq.read_table(demo / "filter" / "mcq.parquet").to_pylist()}
    for row in rows:
        assert video_items(row["prompt"]) == len(row["videos"]) == 1
        (path,) = row["videos"]
        assert isinstance(path, str) and os.path.isabs(path) and Path(path).is_file()
        assert Path(path) == video_root / mcq[row["id"]]["video"]
    assert curate("export", demo / "filter", "--to", "easyr1", "-o", tmp_path / "rel.jsonl", "--quiet") == 2
    assert not (tmp_path / "rel.jsonl").exists()
