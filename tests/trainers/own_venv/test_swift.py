"""The ms-swift tier: our rewards and ``curate export --to swift`` run through ms-swift's own code (ms-swift 4.6.0).

The recipe is ``examples/swift/grpo.yaml`` (what the README quotes), parsed by ms-swift's own CLI code:
``swift.cli.main.parse_yaml_args`` + ``parse_args(RLHFArguments, …)``, which imports
``examples/swift/videoqa_plugin.py`` through ``--external_plugins`` (``BaseArguments._import_external_plugins``
→ ``import_external_file``). The same argument list, plus CPU / tiny-model settings, is then run as
``swift rlhf``.

- Rewards: every name of ``rewards.swift.ORMS`` resolved by ``GRPOTrainer._prepare_rewards`` on the recipe's
  own ``GRPOConfig`` (and by ``resolve_reward_funcs``, the Megatron/Ray path), then scored by
  ``score_completions`` — the function ``GRPOTrainer._compute_rewards_per_func`` calls — on rows loaded by
  ms-swift's dataset loader; every value equals :func:`rewards.score` and the value the rules give.
- Dataset: ``curate demo`` → ``curate export frames --to swift`` → every mp4 deleted → the recipe's own
  ``args.load_dataset()`` and template (``encode_sample``, the GRPO forward encoding): every row kept, eight
  images per row, and the images ms-swift loads and hands to the processor are the JPEG bytes stored in
  ``frames/part-*.parquet``, pixel for pixel.
- ``swift rlhf examples/swift/grpo.yaml`` for 2 GRPO steps on CPU with a tiny Qwen2-VL. The rollout is
  scripted (``swift_helpers.py`` loaded as a second plugin) so that right, wrong and malformed answers all
  occur; each logged per-completion reward equals our scorer on the logged completion, each
  ``rewards/<ClassName>/mean`` their mean, and the ``pixel_values`` the rollout received are the stored
  frames.

No network: the tokenizer and model are built here; ``--check_model false`` stops ms-swift's ModelScope
lookup, and the Hugging Face libraries run offline.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

swift = pytest.importorskip("swift", minversion="4.6", reason="ms-swift is not installed (the .venv-trainers tier)")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import qwen_vl_utils  # noqa: E402
import yaml  # noqa: E402
from cli_runner import curate  # noqa: E402
from PIL import Image  # noqa: E402
from swift.arguments import RLHFArguments  # noqa: E402
from swift.cli.main import parse_yaml_args  # noqa: E402
from swift.rewards import orms  # noqa: E402
from swift.rl_core.data import GRPOSample  # noqa: E402
from swift.rl_core.grpo_algorithm import score_completions  # noqa: E402
from swift.rlhf_trainers.grpo_trainer import GRPOTrainer  # noqa: E402
from swift.rlhf_trainers.utils import encode_sample, resolve_reward_funcs  # noqa: E402
from swift.utils import get_external_files, parse_args  # noqa: E402
from swift_helpers import (  # noqa: E402
    SCRIPT_ENV,
    SCRIPTS,
    build_tiny_swift_qwen2vl,
    read_jsonl,
    row_of_prompt,
    script_values,
)
from transformers import TrainerState  # noqa: E402

import rewards  # noqa: E402
from rewards.format import TINYLLAVA_LENGTH  # noqa: E402
from rewards.swift import ORMS, FormatORM, MCQAccuracyORM, TinyllavaORM  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "examples" / "swift" / "grpo.yaml"
PLUGIN = REPO / "examples" / "swift" / "videoqa_plugin.py"
HELPERS = Path(__file__).resolve().with_name("swift_helpers.py")
MAX_COMPLETION = 16
TOL = 1e-6  # ms-swift keeps rewards in float32
RECIPE_CLASSES = ["TinyllavaORM", "MCQAccuracyORM", "FormatORM"]  # the recipe's reward_funcs, as logged


# --------------------------------------------------------------------------------------------- helpers


def cpu_settings(model: Path, dataset: Path, output_dir: Path) -> list[str]:
    """What the test adds to the recipe: the tiny local model (a local folder needs model_type and
    template), the export, and a 2-step CPU run. 2 prompts × num_generations 2 per step."""
    return [
        "--model", str(model), "--model_type", "qwen2_vl", "--template", "qwen2_vl",
        "--dataset", str(dataset),
        "--tuner_type", "full", "--torch_dtype", "float32",
        "--num_generations", "2", "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "1",
        "--max_completion_length", str(MAX_COMPLETION), "--max_steps", "2", "--logging_steps", "1",
        "--save_strategy", "no", "--output_dir", str(output_dir), "--report_to", "none",
        "--dataloader_num_workers", "0", "--dataset_num_proc", "1", "--seed", "0",
        "--check_model", "false",  # else ms-swift asks ModelScope whether the local model is the latest
    ]  # fmt: skip


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def processor_input(data: bytes) -> Image.Image:
    """A stored JPEG as the Qwen2-VL template hands it to the image processor: decoded, then resized by
    ``qwen_vl_utils.fetch_image`` (the template's ``replace_tag``)."""
    return qwen_vl_utils.fetch_image({"image": Image.open(io.BytesIO(data)).convert("RGB")})


def expected_pixel_values(processor, frames: list[dict]) -> torch.Tensor:
    images = [processor_input(frame["bytes"]) for frame in frames]
    return processor.image_processor(images=images, return_tensors="pt", do_resize=False)["pixel_values"]


def expected_rewards(completion: str, row: dict) -> dict[str, float]:
    """Our values for one completion, from :func:`rewards.score` (what every adapter shares)."""
    tiny = rewards.score(completion, row["solution"], options=row["options"], mode="tinyllava")
    strict = rewards.score(completion, row["solution"], options=row["options"], mode="sum")
    return {
        "TinyllavaORM": tiny["score"],
        "TinyllavaFormatORM": tiny["format"],
        "MCQAccuracyORM": tiny["accuracy"],
        "FormatORM": strict["format"],
        "ProblemTypeAccuracyORM": tiny["accuracy"],  # problem_type "multiple choice"
    }


def with_completion(row: dict, completion: str) -> dict:
    """A loaded row with the completion as its assistant turn: what a GRPO sample holds after rollout."""
    return {**row, "messages": [*row["messages"], {"role": "assistant", "content": completion}]}


def tinyllava_format(think: str) -> float:
    return 0.5 + 0.5 * min(len(think.strip()) / TINYLLAVA_LENGTH, 1.0)


# -------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def environment():
    """Offline Hugging Face libraries, the repository as working directory (the recipe's plugin path is
    relative to it), and every variable ms-swift's argument parsing sets undone afterwards. Yields the
    environment as it was before, for the ``swift rlhf`` subprocess."""
    import datasets
    import huggingface_hub.constants

    before = dict(os.environ)
    with pytest.MonkeyPatch.context() as mp:
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            mp.setenv(name, "1")
        mp.setenv("TOKENIZERS_PARALLELISM", "false")
        mp.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            if hasattr(datasets.config, name):
                mp.setattr(datasets.config, name, True)
        mp.chdir(REPO)
        try:
            yield before
        finally:
            os.environ.clear()
            os.environ.update(before)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """``curate demo --videos 2 --no-coldstart``, ``curate export frames --to swift``, then every mp4 deleted."""
    out = tmp_path_factory.mktemp("swift") / "demo"
    curate("demo", "-o", out, "--videos", 2, "--no-coldstart")
    assert "wrote 4 rows" in curate("export", out / "frames", "--to", "swift", "-o", out / "export" / "train.jsonl")
    videos = sorted((out / "sample" / "videos").rglob("*.mp4"))
    assert len(videos) == 2
    for video in videos:
        video.unlink()
    assert not list(out.rglob("*.mp4"))
    return out


@pytest.fixture(scope="module")
def export(demo) -> Path:
    return demo / "export" / "train.jsonl"


@pytest.fixture(scope="module")
def stored_frames(demo) -> dict[str, list[dict]]:
    """video_key → its frames as extract-frames stored them (``{bytes, path}``, time order)."""
    out = {}
    for shard in sorted((demo / "frames" / "frames").glob("part-*.parquet")):
        for row in pq.read_table(shard, columns=["video_key", "frames"]).to_pylist():
            out[row["video_key"]] = row["frames"]
    assert len(out) == 2 and all(len(frames) == 8 for frames in out.values())
    return out


@pytest.fixture(scope="module")
def frames_of(demo, stored_frames) -> dict[str, list[dict]]:
    """question id → the stored frames of its video."""
    table = pq.read_table(demo / "frames" / "mcq.parquet", columns=["id", "video_key"]).to_pylist()
    return {row["id"]: stored_frames[row["video_key"]] for row in table}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_swift_qwen2vl(tmp_path_factory.mktemp("tiny_swift_qwen2vl") / "model")


@pytest.fixture(scope="module")
def swift_args(tiny_model, export, tmp_path_factory):
    """``swift rlhf examples/swift/grpo.yaml <cpu settings>`` parsed in this process by ms-swift's own CLI
    code: ``RLHFArguments`` (its ``__post_init__`` imports the recipe's plugin). What the plugin import
    changed — the reward registry, sys.path, the module, ms-swift's plugin list and its DataLoader hook —
    is undone afterwards."""
    import swift.utils.utils as swift_utils
    from torch.utils.data import DataLoader

    registry, path, modules = dict(orms), list(sys.path), set(sys.modules)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(swift_utils, "_external_files", [])
        mp.setattr(DataLoader, "__init__", DataLoader.__init__)
        mp.setattr(DataLoader, "_swift_external_plugins", False, raising=False)
        argv = [str(RECIPE), *cpu_settings(tiny_model, export, tmp_path_factory.mktemp("swift_args"))]
        parse_yaml_args(argv)
        args, remaining = parse_args(RLHFArguments, argv)
        assert remaining == []
        try:
            yield args
        finally:
            orms.clear()
            orms.update(registry)
            sys.path[:] = path
            for name in set(sys.modules) - modules:
                if name.startswith("_swift_external_"):
                    del sys.modules[name]


@pytest.fixture(scope="module")
def processor(swift_args):
    """The tiny model's processor as ms-swift loads it (``get_model_processor(load_model=False)``)."""
    return swift_args.get_model_processor(load_model=False)[1]


def fake_trainer(config) -> SimpleNamespace:
    """The attributes ``GRPOTrainer._prepare_rewards`` reads from the trainer it is called on."""
    return SimpleNamespace(args=config, accelerator=SimpleNamespace(device=torch.device("cpu")), use_gym_env=False)


# ------------------------------------------------------------------------------------------ 1. rewards


def test_recipe_loads_the_plugin_through_external_plugins(swift_args):
    """``--external_plugins`` of the recipe imported exactly examples/swift/videoqa_plugin.py, which
    registered every ``rewards.swift.ORMS`` name in ms-swift's reward registry."""
    assert swift_args.external_plugins == ["examples/swift/videoqa_plugin.py"]
    (loaded,) = get_external_files()  # the absolute path ms-swift imported, named after its sha256
    assert Path(loaded).resolve() == PLUGIN
    module = sys.modules["_swift_external_" + hashlib.sha256(loaded.encode()).hexdigest()]
    assert Path(module.__file__).resolve() == PLUGIN
    for name, cls in ORMS.items():
        assert orms[name] is cls, name
    assert swift_args.reward_funcs == ["videoqa_tinyllava", "videoqa_accuracy", "videoqa_format"]
    assert swift_args.reward_weights == [1.0, 0.0, 0.0]


def test_grpo_trainer_resolves_every_reward_name(swift_args):
    """``GRPOTrainer._prepare_rewards`` builds ``orms[name](args=GRPOConfig)``: the recipe's three with its
    weights, then every registered name; ``resolve_reward_funcs`` (Megatron/Ray) and ``orms[name]()``
    (``swift sample``) build the same classes."""
    config = swift_args.training_args
    assert type(config).__name__ == "GRPOConfig"
    trainer = fake_trainer(config)
    GRPOTrainer._prepare_rewards(trainer, list(swift_args.reward_funcs))
    assert trainer.reward_func_names == RECIPE_CLASSES
    assert trainer.reward_weights.tolist() == [1.0, 0.0, 0.0]
    assert all(func.args is config for func in trainer.reward_funcs)

    config = copy.copy(config)
    config.reward_weights = None  # the recipe's three weights do not fit five functions
    trainer = fake_trainer(config)
    GRPOTrainer._prepare_rewards(trainer, list(ORMS))
    assert [type(f) for f in trainer.reward_funcs] == list(ORMS.values())
    assert trainer.reward_func_names == [cls.__name__ for cls in ORMS.values()]
    assert trainer.reward_weights.tolist() == [1.0] * len(ORMS)
    for args in (config, None):
        funcs, names = resolve_reward_funcs(list(ORMS), args=args)
        assert [type(f) for f in funcs] == list(ORMS.values())
        assert names == [cls.__name__ for cls in ORMS.values()]
        assert all(f.args is args for f in funcs)
    assert all(isinstance(orms[name](), cls) for name, cls in ORMS.items())


def completion_cases(row: dict) -> list[tuple[str, str, dict[str, float]]]:
    """(case, completion, values by class) for one row, the values written from the rules:
    tinyllava = a + (2a − 1)·f, −2 when 0; f = 0.5 + 0.5·min(len(think)/1200, 1) in R1 format, else 0."""
    v = script_values(row)
    gold, wrong, text = v["gold"], v["wrong"], v["text"]

    def values(tiny, accuracy, strict, fmt):
        return {"TinyllavaORM": tiny, "MCQAccuracyORM": accuracy, "FormatORM": strict, "TinyllavaFormatORM": fmt,
                "ProblemTypeAccuracyORM": accuracy}

    long, half = "x" * 1200, "x" * 600
    short = tinyllava_format("r")
    return [
        ("right, 1200-char think", f"<think>{long}</think><answer>{gold}</answer>", values(2.0, 1.0, 1.0, 1.0)),
        ("right, 2400-char think", f"<think>{long * 2}</think> <answer>{gold}</answer>", values(2.0, 1.0, 1.0, 1.0)),
        ("right, 600-char think", f"<think>{half}</think><answer>{gold}</answer>", values(1.75, 1.0, 1.0, 0.75)),
        ("wrong, 1200-char think", f"<think>{long}</think><answer>{wrong}</answer>", values(-1.0, 0.0, 1.0, 1.0)),
        ("wrong, short think", f"<think>r</think><answer>{wrong}</answer>", values(-short, 0.0, 1.0, short)),
        ("right, no think", f"<answer>{gold}</answer>", values(1.0, 1.0, 0.0, 0.0)),
        ("bare letter", gold, values(-2.0, 0.0, 0.0, 0.0)),
        ("unclosed answer", f"<think>r</think><answer>{gold}", values(-2.0, 0.0, 0.0, 0.0)),
        ("two answers", f"<think>r</think><answer>{gold}</answer><answer>{gold}</answer>", values(-2.0, 0.0, 0.0, 0.0)),
        ("option text", f"<think>r</think><answer>{text}</answer>", values(1 + short, 1.0, 1.0, short)),
        ("letter and text", f"<think>r</think><answer>{gold}. {text}</answer>", values(1 + short, 1.0, 1.0, short)),
        ("hedge", f"<think>r</think><answer>{gold} or {wrong}</answer>", values(-short, 0.0, 1.0, short)),
        ("<|im_end|> left on", f"<think>r</think><answer>{gold}</answer><|im_end|>", values(1 + short, 1, 1, short)),
        ("empty", "", values(-2.0, 0.0, 0.0, 0.0)),
    ]  # fmt: skip


def test_rewards_through_score_completions(swift_args):
    """Rows from ms-swift's loader, one sample per completion (``GRPOSample.from_row`` with the completion as
    the assistant turn), scored by ``score_completions`` with every registered reward: each value equals
    the rules' value and :func:`rewards.score`'s."""
    ds, _ = swift_args.load_dataset()
    config = copy.copy(swift_args.training_args)
    config.reward_weights = None
    trainer = fake_trainer(config)
    GRPOTrainer._prepare_rewards(trainer, list(ORMS))
    names = trainer.reward_func_names
    checked = 0
    for row in ds:
        cases = completion_cases(row)
        samples = [GRPOSample.from_row(with_completion(row, completion)) for _, completion, _ in cases]
        table = score_completions(
            samples, trainer.reward_funcs, trainer.reward_model_plugins, use_gym_env=False,
            device=torch.device("cpu"), trainer_state=TrainerState(),
        )  # fmt: skip
        assert tuple(table.shape) == (len(cases), len(names))
        for (case, completion, want), got in zip(cases, table.tolist(), strict=True):
            ours = expected_rewards(completion, row)
            for name, value in zip(names, got, strict=True):
                assert value == pytest.approx(want[name], abs=TOL), (row["id"], case, name)
                assert value == pytest.approx(ours[name], abs=TOL), (row["id"], case, name)
            checked += 1
    assert checked == 4 * len(completion_cases(ds[0]))


def test_rewards_see_the_exported_columns(swift_args):
    """What ms-swift passes besides the completions: our columns by keyword, one value per completion,
    and ``trainer_state`` as a scalar; a row whose ``solution`` is missing is scored from ``answer``."""
    ds, _ = swift_args.load_dataset()
    row = ds[0]
    seen = {}

    def spy(completions, **kwargs):
        seen.update(kwargs, completions=completions)
        return [0.0] * len(completions)

    gold = script_values(row)["gold"]
    completion = f"<think>r</think><answer>{gold}</answer>"
    rows = [with_completion(row, completion), {**with_completion(row, completion), "solution": None}]
    samples = [GRPOSample.from_row(r) for r in rows]
    funcs = [TinyllavaORM(), MCQAccuracyORM(), FormatORM(), spy]
    table = score_completions(samples, funcs, None, use_gym_env=False, device=torch.device("cpu"),
                              trainer_state=TrainerState())
    assert seen["completions"] == [completion, completion]
    for key in ("solution", "options", "answer", "problem_type", "id", "images"):
        assert len(seen[key]) == 2, key
    assert seen["solution"] == [row["solution"], None]
    assert seen["options"] == [row["options"]] * 2
    assert seen["answer"] == [row["answer"]] * 2
    assert seen["problem_type"] == ["multiple choice"] * 2
    assert isinstance(seen["trainer_state"], TrainerState)
    short = tinyllava_format("r")
    assert table[:, :3].flatten().tolist() == pytest.approx([1 + short, 1.0, 1.0] * 2, abs=TOL)


# ------------------------------------------------------------------------------------------ 2. dataset


def test_export_is_loaded_and_encoded_from_the_stored_frames(
    swift_args, demo, export, frames_of, processor, monkeypatch
):
    """The recipe's own dataset loading and template on the export, with no mp4 on disk: every row kept,
    each row's eight ``images`` are the stored frames' files, and what the template loads and hands to the
    image processor is the stored JPEG bytes decoded."""
    assert not list(demo.rglob("*.mp4"))
    exported = {row["id"]: row for row in read_jsonl(export)}
    assert len(exported) == 4
    ds, val = swift_args.load_dataset()
    assert val is None
    assert len(ds) == 4 and sorted(ds["id"]) == sorted(exported)
    assert {"messages", "images", "solution", "options", "answer", "problem_type", "id"} <= set(ds.column_names)

    template = swift_args.get_template(processor)
    template.set_mode("train")  # SwiftRLHF._prepare_template for grpo
    assert type(template).__name__ == "Qwen2VLTemplate"
    merge = processor.image_processor.merge_size ** 2

    loaded, original_fetch = [], qwen_vl_utils.fetch_image

    def fetch_image(ele, *args, **kwargs):
        loaded.append(ele["image"])
        return original_fetch(ele, *args, **kwargs)

    monkeypatch.setattr(qwen_vl_utils, "fetch_image", fetch_image)
    for row in ds:
        frames = frames_of[row["id"]]
        paths = [image["path"] for image in row["images"]]
        assert paths == exported[row["id"]]["images"]
        assert len(paths) == 8 == row["messages"][0]["content"].count("<image>")
        for path, frame in zip(paths, frames, strict=True):
            assert Path(path).is_absolute() and Path(path).read_bytes() == frame["bytes"]

        completion = f"<think>r</think><answer>{script_values(row)['gold']}</answer>"
        sample = GRPOSample.from_row(with_completion(row, completion))
        assert sample.to_infer_request().images == paths  # what the rollout engine is handed
        loaded.clear()
        encoded = encode_sample(sample, template)

        # the images ms-swift loaded are the stored JPEGs, decoded, in order
        assert len(loaded) == 8
        for image, frame in zip(loaded, frames, strict=True):
            assert isinstance(image, Image.Image)
            assert np.array_equal(np.asarray(image), decode(frame["bytes"]))
        # and the processor got exactly them: pixel_values, one grid per frame, one token run per grid
        grid = encoded["image_grid_thw"]
        assert tuple(grid.shape) == (8, 3)
        assert torch.equal(encoded["pixel_values"], expected_pixel_values(processor, frames))
        assert encoded["input_ids"].count(template.image_token_id) == int(grid.prod(-1).sum()) // merge
        labels = [t for t in encoded["labels"] if t != -100]
        assert processor.tokenizer.decode(labels) == completion  # the loss covers the completion only


# -------------------------------------------------------------------------------- 3. swift rlhf (GRPO)


def swift_command() -> list[str]:
    """The ``swift`` console script next to the interpreter, else ``python -m swift.cli.main``."""
    script = Path(sys.executable).with_name("swift")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "swift.cli.main"]


def test_swift_rlhf_grpo(environment, demo, export, tiny_model, frames_of, processor, tmp_path):
    """``swift rlhf examples/swift/grpo.yaml`` + CPU settings, 2 steps, scripted rollout: exit 0, and the
    logged rewards are our scorers' values on the logged completions."""
    out, record = tmp_path / "out", tmp_path / "generate"
    plugins = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))["external_plugins"]
    plugins = [plugins] if isinstance(plugins, str) else list(plugins)
    command = [
        *swift_command(), "rlhf", str(RECIPE), *cpu_settings(tiny_model, export, out),
        "--external_plugins", *plugins, str(HELPERS),  # the recipe's plugin, then the scripted rollout
    ]  # fmt: skip
    env = {
        **environment,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), environment.get("PYTHONPATH")) if p),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRL_EXPERIMENTAL_SILENCE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "CUDA_VISIBLE_DEVICES": "",
        SCRIPT_ENV: json.dumps({"dataset": str(export), "record": str(record)}),
    }
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    log = proc.stdout + proc.stderr
    (tmp_path / "swift.log").write_text(log, encoding="utf-8")
    assert proc.returncode == 0, log[-6000:]
    assert "NetworkError" not in log
    assert not list(demo.rglob("*.mp4"))

    (run,) = sorted(out.glob("v*"))  # ms-swift adds a version folder
    exported = read_jsonl(export)

    # the rollout: 2 generate calls (one per step) of 2 prompts × 2 generations, each with the prompts'
    # stored frames as pixel_values — 8 images per prompt
    calls = [torch.load(p, weights_only=False) for p in sorted(record.glob("generate_*.pt"))]
    assert len(calls) == 2
    for call in calls:
        assert len(call["prompts"]) == 4
        assert call["max_new_tokens"] == MAX_COMPLETION
        assert all(len(ids) < MAX_COMPLETION for ids in call["completion_ids"]), call["completions"]
        frames = [frames_of[row_of_prompt(p, exported)["id"]] for p in call["prompts"]]
        assert tuple(call["image_grid_thw"].shape) == (8 * 4, 3)
        want = torch.cat([expected_pixel_values(processor, f) for f in frames])
        assert torch.equal(call["pixel_values"], want)

    # completions.jsonl: one table per logging step (the last one written twice, at the end of training)
    tables = {}
    for table in read_jsonl(run / "completions.jsonl"):
        step = int(table["step"][0])
        assert tables.setdefault(step, table) == table
    assert sorted(tables) == [1, 2]
    logged = [e for e in read_jsonl(run / "logging.jsonl") if "rewards/TinyllavaORM/mean" in e]
    assert [e["global_step/max_steps"] for e in logged] == ["1/2", "2/2"]

    funcs = {"TinyllavaORM": TinyllavaORM(), "MCQAccuracyORM": MCQAccuracyORM(), "FormatORM": FormatORM()}
    index = 0
    for step, entry in zip((1, 2), logged, strict=True):
        table, call = tables[step], calls[step - 1]
        assert table["completion"] == call["completions"]  # what we scripted is what ms-swift scored
        assert set(RECIPE_CLASSES) <= set(table)
        ours = {name: [] for name in funcs}
        for i, (prompt, completion) in enumerate(zip(table["prompt"], table["completion"], strict=True)):
            row = row_of_prompt(prompt, exported)
            assert table["solution"][i] == row["solution"]
            columns = {k: [row[k]] for k in ("solution", "options", "answer", "problem_type", "id")}
            want = expected_rewards(completion, row)
            for name, func in funcs.items():
                value = func([completion], **columns)[0]
                assert value == pytest.approx(want[name], abs=TOL)
                assert table[name][i] == pytest.approx(value, abs=TOL), (step, i, name, completion)
                ours[name].append(value)
            # and the value the rules give for the script
            v = script_values(row)
            kind = SCRIPTS.index(next(s for s in SCRIPTS if s.format(**v) == completion))
            assert kind == index % len(SCRIPTS)
            index += 1
            assert_script_values(kind, v, {name: values[-1] for name, values in ours.items()})
        for name, values in ours.items():
            assert entry[f"rewards/{name}/mean"] == pytest.approx(sum(values) / len(values), abs=TOL), (step, name)
        # reward = weighted sum, recipe weights 1, 0, 0: the TinyLLaVA reward alone
        tiny = ours["TinyllavaORM"]
        assert entry["reward"] == pytest.approx(sum(tiny) / len(tiny), abs=TOL), step
    assert index == len(SCRIPTS)  # each script once: right, wrong and malformed answers all scored


def assert_script_values(kind: int, v: dict[str, str], got: dict[str, float]) -> None:
    """The rules' values for each script of ``swift_helpers.SCRIPTS`` (formatted with row values ``v``)."""
    f_gold, f_wrong = tinyllava_format(v["gold"]), tinyllava_format(v["wrong"])
    want = {
        0: (1 + f_gold, 1.0, 1.0),  # right, R1 format
        1: (-f_wrong, 0.0, 1.0),  # wrong, R1 format
        2: (1.0, 1.0, 0.0),  # right, no think
        3: (-2.0, 0.0, 0.0),  # bare letter
        4: (1.0, 1.0, 0.0),  # the option's text, no think
        5: (-2.0, 0.0, 0.0),  # unclosed tags
        6: (1.5, 1.0, 1.0),  # blank think: f = 0.5
        7: (-2.0, 0.0, 0.0),  # no answer
    }[kind]
    assert [got["TinyllavaORM"], got["MCQAccuracyORM"], got["FormatORM"]] == pytest.approx(list(want), abs=TOL), kind
    assert not any(math.isnan(x) for x in got.values())
