"""The TRL tier: our rewards and ``curate export --to trl`` run through TRL's own code (trl==1.16.0).

- Text GRPO: ``curate demo`` → ``curate export --to trl`` (real CLI) → ``datasets.load_dataset`` →
  ``trl.GRPOTrainer`` for 2 optimizer steps on a tiny local Qwen2, ``reward_funcs`` from ``rewards.trl``
  plus a spy that records what TRL passes. Every logged ``rewards/<name>/mean`` (and ``reward``) must
  equal our scorers re-run on the captured call, and every per-completion value in the
  ``log_completions`` parquet must equal ours. Once with real generation, once with scripted
  completions (``rollout_func``) so that right, wrong and malformed answers all occur.
- VLM GRPO on stored frames: the export of an extract-frames folder has an ``images`` column pointing at
  the stored JPEGs; every mp4 is deleted before training, and the frames TRL hands to the rewards and
  to the model must be, pixel for pixel, the JPEG bytes in ``frames/part-*.parquet``.
- Parity: TRL's shipped rewards and our mirrors called the same ways, edge values included; the
  deliberate differences are asserted as such.

No network: the tokenizer and models are built here (curate.coldstart.tiny_model).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")
pytest.importorskip("math_verify")
trl = pytest.importorskip("trl")

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
import trl.rewards as T  # noqa: E402
from cli_runner import curate  # noqa: E402
from PIL import Image  # noqa: E402
from transformers import (  # noqa: E402
    AutoProcessor,
    GenerationConfig,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2VLForConditionalGeneration,
)
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

from curate.coldstart.tiny_model import _tokenizer, build_tiny_qwen2vl  # noqa: E402
from rewards import trl as O  # noqa: E402
from schemas.prompt import LETTERS  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_example(path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("trl_grpo_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE = _load_example(REPO_ROOT / "examples" / "trl" / "grpo.py")

# TRL 1.16 itself calls transformers 5's deprecated `is_gradient_checkpointing`: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

MAX_COMPLETION = 16
TOL = 1e-5  # TRL keeps rewards in float32


# --------------------------------------------------------------------------------------------- helpers


class Spy:
    """A reward function that records every call's keyword arguments and returns 0.0 (no effect on
    the loss or on the ``reward`` total)."""

    __name__ = "spy"

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return [0.0] * len(kwargs["completions"])


def our_rewards() -> list:
    return [
        O.tinyllava_reward,
        O.mcq_accuracy_reward,
        O.format_reward,
        O.problem_type_accuracy_reward,
        O.get_repetition_penalty_reward(ngram_size=2, max_penalty=-1.0),
        O.get_soft_overlong_punishment(MAX_COMPLETION, 4),
        O.get_cosine_scaled_reward(max_len=MAX_COMPLETION),
    ]


def name_of(func) -> str:
    return getattr(func, "__name__", type(func).__name__)


def nanmean(values: list) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return sum(kept) / len(kept) if kept else None


def grpo_args(output_dir: Path, **overrides) -> GRPOConfig:
    return GRPOConfig(**grpo_settings(output_dir, **overrides))


def grpo_settings(output_dir: Path, **overrides) -> dict:
    settings = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=4,  # one generation batch = 2 prompts x 2 generations per step
        num_generations=2,
        max_completion_length=MAX_COMPLETION,
        max_steps=2,
        logging_steps=1,  # log_history entry i = generation call i (gradient_accumulation_steps=1)
        learning_rate=1e-4,
        report_to="none",
        use_cpu=True,
        bf16=False,  # TRL defaults to bf16=True
        activation_checkpointing=False,  # TRL defaults gradient_checkpointing=True; transformers 5 renamed it
        save_strategy="no",
        num_completions_to_print=0,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )
    settings.update(overrides)
    return settings


def tiny_causal_lm(tokenizer, seed: int = 0) -> Qwen2ForCausalLM:
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=[tokenizer.eos_token_id, tokenizer.pad_token_id], pad_token_id=tokenizer.pad_token_id
    )
    return model


def assert_logged_means_are_ours(trainer: GRPOTrainer, spy: Spy, funcs: list) -> list[dict[str, list]]:
    """Every step's ``rewards/<name>/mean`` is the nan-mean of our scorer re-run on what TRL passed, and
    ``reward`` the mean of the per-completion sums. Returns our values per step and name."""
    assert trainer.reward_func_names == ["spy", *[name_of(f) for f in funcs]]
    logged = [entry for entry in trainer.state.log_history if "rewards/spy/mean" in entry]
    assert len(logged) == len(spy.calls) == 2
    ours_per_step = []
    for step, (call, entry) in enumerate(zip(spy.calls, logged, strict=True), start=1):
        assert entry["step"] == step
        ours = {name_of(f): f(**call) for f in funcs}
        for name, values in ours.items():
            assert len(values) == len(call["completions"])
            expected, got = nanmean(values), entry[f"rewards/{name}/mean"]
            if expected is None:  # TRL logs None when every value of the step is NaN
                assert got is None, (step, name)
            else:
                assert got == pytest.approx(expected, abs=TOL), (step, name, values)
        totals = [sum(v[i] for v in ours.values() if v[i] is not None) for i in range(len(call["completions"]))]
        assert entry["reward"] == pytest.approx(sum(totals) / len(totals), abs=TOL), step
        ours_per_step.append(ours)
    return ours_per_step


def assert_completion_log_is_ours(output_dir: Path, spy: Spy, funcs: list) -> None:
    """``log_completions=True`` writes ``completions/completions_<step>.parquet``: its completions are the
    ones the rewards saw, and each reward column holds our value per completion (NaN for None)."""
    for step, call in enumerate(spy.calls, start=1):
        rows = pq.read_table(output_dir / "completions" / f"completions_{step:05d}.parquet").to_pylist()
        assert [r["step"] for r in rows] == [step] * len(call["completions"])
        assert [r["completion"] for r in rows] == call["completions"]
        for func in funcs:
            name = name_of(func)
            for i, (ours, row) in enumerate(zip(func(**call), rows, strict=True)):
                got = row[name]
                if ours is None:
                    assert got is None or math.isnan(got), (step, name, i)
                else:
                    assert got == pytest.approx(ours, abs=TOL), (step, name, i)


def assert_columns_reach_rewards(call: dict, export_rows: dict[str, dict]) -> None:
    """Every exported column reaches the rewards by keyword, aligned with the completions."""
    n = len(call["completions"])
    for key in ("prompts", "completion_ids", "id", "solution", "options", "answer", "problem_type", "video"):
        assert len(call[key]) == n, key
    for i, row_id in enumerate(call["id"]):
        row = export_rows[row_id]
        for key in ("solution", "options", "answer", "problem_type"):
            assert call[key][i] == row[key], (key, row_id)
    assert call["id"][0::2] == call["id"][1::2]  # num_generations=2: each prompt twice in a row


# -------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", autouse=True)
def offline():
    """No network while this module runs, and nothing changed for the other test modules: the variables,
    and the constants huggingface_hub and datasets read from them at import."""
    import huggingface_hub.constants

    with pytest.MonkeyPatch.context() as mp:
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            mp.setenv(name, "1")
        mp.setenv("TOKENIZERS_PARALLELISM", "false")
        mp.setenv("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is experimental in TRL 1.16
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
            if hasattr(datasets.config, name):
                mp.setattr(datasets.config, name, True)
        yield


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """``curate demo --videos 2 --no-coldstart``: filter/ (4 questions), frames/ (2 videos x 8 JPEG frames)."""
    out = tmp_path_factory.mktemp("trl") / "demo"
    curate("demo", "-o", out, "--videos", 2, "--no-coldstart")
    return out


@pytest.fixture(scope="module")
def tokenizer():
    return _tokenizer()  # the project's local BPE with the Qwen2-VL chat template


def load_export(path: Path, kind: str, cache: Path) -> datasets.Dataset:
    return datasets.load_dataset(kind, data_files=str(path), split="train", cache_dir=str(cache))


@pytest.fixture(scope="module")
def text_export(demo, tmp_path_factory) -> dict[str, Path]:
    """The filter output exported for TRL as JSONL and as Parquet (no frames: a text-only dataset)."""
    folder = tmp_path_factory.mktemp("trl_text_export")
    paths = {"json": folder / "train.jsonl", "parquet": folder / "train.parquet"}
    for path in paths.values():
        curate("export", demo / "filter", "--to", "trl", "-o", path)
    return paths


# ------------------------------------------------------------------------------------------ text GRPO


def test_grpo_text_generated(text_export, tokenizer, tmp_path):
    """Real generation by a tiny random Qwen2: TRL's logged means and completion log equal our scorers."""
    ds = load_export(text_export["json"], "json", tmp_path / "cache")
    assert ds.num_rows == 4
    export_rows = {row["id"]: row for row in ds}
    spy, funcs = Spy(), our_rewards()
    trainer = GRPOTrainer(
        model=tiny_causal_lm(tokenizer),
        reward_funcs=[spy, *funcs],
        args=grpo_args(tmp_path / "out", log_completions=True),
        train_dataset=ds,
        processing_class=tokenizer,
    )
    trainer.train()

    for call in spy.calls:
        assert_columns_reach_rewards(call, export_rows)
        assert all(isinstance(c, list) and c[0]["role"] == "assistant" for c in call["completions"])
        assert all(1 <= len(ids) <= MAX_COMPLETION for ids in call["completion_ids"])
        texts = tokenizer.batch_decode(call["completion_ids"], skip_special_tokens=True)
        assert [c[0]["content"] for c in call["completions"]] == texts
    assert sorted({i for call in spy.calls for i in call["id"]}) == sorted(export_rows)  # one epoch, every row
    assert_logged_means_are_ours(trainer, spy, funcs)
    assert_completion_log_is_ours(tmp_path / "out", spy, funcs)


# Scripted completions. A tiny random model writes gibberish, so every reward would be its floor (tinyllava
# −2, accuracy 0, format 0) and "logged == ours" would hold for a scorer that ignored its input. The
# rollout_func below answers each prompt with a right answer in the first generation and a wrong or
# malformed one in the second, chosen from the prompt's own gold, so that every reward takes several
# values. Each completion is at most MAX_COMPLETION tokens with its end-of-sequence token.
RIGHT = [
    "<think> {gold} </think> <answer> {gold} </answer>",  # right and R1-formatted: tinyllava 1 + f (f < 1: short)
    "<answer> {gold} </answer>",  # right, no <think>
    "<answer> {text} </answer>",  # the gold option's text instead of its letter
    "<think> {gold} </think> <answer> {gold} </answer>",
]
WRONG = [
    "<think> {wrong} </think> <answer> {wrong} </answer>",  # wrong letter, well formed
    "the the the the the the the",  # no tags, repetitive
    "<think> hmm <answer> {gold}",  # unclosed tags
    "{gold}",  # a bare letter
]


class ScriptedRollout:
    """A TRL ``rollout_func``: TRL passes the prompts (each repeated num_generations=2 times in a row) and
    the trainer; it returns prompt_ids, completion_ids and logprobs. ``kinds`` records, per completion in
    order, ``(slot, script index)``: slot 0 = RIGHT, slot 1 = WRONG."""

    def __init__(self, tokenizer, ds: datasets.Dataset) -> None:
        self.tokenizer = tokenizer
        self.by_prompt = {row["prompt"][0]["content"]: row for row in ds}
        self.kinds: list[tuple[int, int]] = []
        self.groups = 0

    def __call__(self, prompts, trainer):
        tok = self.tokenizer
        prompt_ids, completion_ids, logprobs = [], [], []
        for i, prompt in enumerate(prompts):
            row = self.by_prompt[prompt[0]["content"]]
            answer = row["answer"] if row["answer"] is not None else 0  # the None-gold row: any letter
            values = {
                "gold": LETTERS[answer],
                "wrong": LETTERS[(answer + 1) % len(row["options"])],
                "text": row["options"][answer],
            }
            slot, index = i % 2, self.groups % len(RIGHT)
            self.groups += slot  # a new group after each prompt's second generation
            self.kinds.append((slot, index))
            script = (RIGHT, WRONG)[slot][index]
            text = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
            prompt_ids.append(tok(text, add_special_tokens=False)["input_ids"])
            ids = tok(script.format(**values), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            assert len(ids) <= MAX_COMPLETION
            completion_ids.append(ids)
            logprobs.append([0.0] * len(ids))
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs}


def test_grpo_text_scripted(text_export, tokenizer, tmp_path):
    """Scripted completions (right / wrong / malformed) and one row without a readable gold."""
    ds = load_export(text_export["parquet"], "parquet", tmp_path / "cache")
    assert ds.num_rows == 4
    export_rows = {row["id"]: row for row in ds}
    # One row's gold made unreadable: our MCQ rewards return None for it, which TRL turns into NaN and leaves
    # out of rewards/<name>/mean (its step's mean is over the 2 readable completions).
    no_gold = ds[3]["id"]
    ds = ds.map(lambda row: {"solution": None, "answer": None} if row["id"] == no_gold else {})
    export_rows[no_gold] = {**export_rows[no_gold], "solution": None, "answer": None}
    spy, funcs, rollout = Spy(), our_rewards(), ScriptedRollout(tokenizer, ds)
    trainer = GRPOTrainer(
        model=tiny_causal_lm(tokenizer),
        reward_funcs=[spy, *funcs],
        args=grpo_args(tmp_path / "out", log_completions=True),
        train_dataset=ds,
        processing_class=tokenizer,
        rollout_func=rollout,
    )
    trainer.train()

    for call in spy.calls:
        assert_columns_reach_rewards(call, export_rows)
        assert all(ids[-1] == tokenizer.eos_token_id for ids in call["completion_ids"])
    ours = assert_logged_means_are_ours(trainer, spy, funcs)
    assert_completion_log_is_ours(tmp_path / "out", spy, funcs)

    # the values are not trivial: each reward saw several different values
    def seen(name: str) -> set:
        return {round(v, 6) for step in ours for v in step[name] if v is not None}

    tiny = seen("tinyllava_reward")
    assert max(tiny) > 1.0  # a right, formatted answer: 1 + its partial-length format score
    assert max(tiny) < 2.0  # 2.0 needs the full 1200-character length term
    assert -2.0 in tiny  # wrong and unformatted
    assert len(tiny) >= 3
    assert seen("mcq_accuracy_reward") == {0.0, 1.0}
    assert seen("format_reward") == {0.0, 1.0}
    assert seen("problem_type_accuracy_reward") == {0.0, 1.0}
    assert len(seen("repetition_penalty_reward")) >= 3
    assert any(-1.0 < v < 0.0 for v in seen("soft_overlong_punishment_reward"))  # 13..16 tokens: partial penalty
    assert any(v > 0 for v in seen("cosine_scaled_reward")) and any(v < 0 for v in seen("cosine_scaled_reward"))

    # each scripted completion got the value its kind calls for (written from the rules, not from our code)
    completions = [
        (row_id, len(ids), {name: values[i] for name, values in step.items()})
        for call, step in zip(spy.calls, ours, strict=True)
        for i, (row_id, ids) in enumerate(zip(call["id"], call["completion_ids"], strict=True))
    ]
    flat = [(kind, *rest) for kind, rest in zip(rollout.kinds, completions, strict=True)]
    assert len(flat) == 8
    formatted = {(0, 0), (0, 3), (1, 0)}  # <think>…</think> <answer>…</answer>
    for kind, row_id, length, r in flat:
        assert r["format_reward"] == (1.0 if kind in formatted else 0.0), kind
        assert r["soft_overlong_punishment_reward"] == pytest.approx(min(0.0, (MAX_COMPLETION - 4 - length) / 4))
        if row_id == no_gold:  # no readable gold: None (NaN in TRL) from the gold-based rewards only
            for name in ("tinyllava_reward", "mcq_accuracy_reward", "problem_type_accuracy_reward"):
                assert r[name] is None, name
            continue
        right = kind[0] == 0
        assert r["mcq_accuracy_reward"] == r["problem_type_accuracy_reward"] == (1.0 if right else 0.0), kind
        assert (r["cosine_scaled_reward"] > 0) == right, kind
        tiny = r["tinyllava_reward"]  # a + (2a − 1)·f, and −2 when a = f = 0
        if right and kind in formatted:
            assert 1.0 < tiny < 2.0, kind  # f < 1: far below the 1200-character length term
        elif right:
            assert tiny == 1.0, kind
        elif kind in formatted:
            assert -1.0 < tiny < 0.0, kind
        else:
            assert tiny == -2.0, kind
    assert sum(row_id == no_gold for _, row_id, _, _ in flat) == 2


# --------------------------------------------------------------------------------- VLM on stored frames


@pytest.fixture(scope="module")
def frames_export(demo) -> Path:
    """``curate export demo/frames --to trl`` (Parquet with an ``images`` column), then every mp4 deleted."""
    output = demo / "export" / "train.parquet"
    curate("export", demo / "frames", "--to", "trl", "-o", output)
    videos = sorted(demo.rglob("*.mp4"))
    assert len(videos) == 2
    for video in videos:
        video.unlink()
    assert not list(demo.rglob("*.mp4"))
    return output


@pytest.fixture(scope="module")
def stored_frames(demo) -> dict[str, list[dict]]:
    """video_key → its frames as stored by extract-frames (``{bytes, path}``, time order)."""
    out = {}
    for shard in sorted((demo / "frames" / "frames").glob("part-*.parquet")):
        for row in pq.read_table(shard, columns=["video_key", "frames"]).to_pylist():
            out[row["video_key"]] = row["frames"]
    return out


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_trl_export_frames_are_the_stored_bytes(demo, frames_export, stored_frames):
    """The exported frame files hold the shards' JPEG bytes unchanged, one folder per video."""
    assert len(stored_frames) == 2
    root = frames_export.with_name("train_frames")
    for frames in stored_frames.values():
        assert len(frames) == 8
        for frame in frames:
            assert (root / frame["path"]).read_bytes() == frame["bytes"]
    # the two videos' frames differ, so a question handed the other video's frames would be caught below
    first, second = stored_frames.values()
    assert not any(np.array_equal(decode(a["bytes"]), decode(b["bytes"])) for a, b in zip(first, second, strict=True))


def test_trl_jsonl_export_casts_to_the_stored_frames(demo, frames_export, stored_frames, tmp_path):
    """JSONL has no Image type: the export writes the frame paths, and ``cast_column`` makes them Images."""
    output = tmp_path / "train.jsonl"
    curate("export", demo / "frames", "--to", "trl", "-o", output)
    ds = load_export(output, "json", tmp_path / "cache")
    ds = ds.cast_column("images", datasets.List(datasets.Image()))
    video_key = {r["id"]: r["video_key"] for r in pq.read_table(demo / "frames" / "mcq.parquet").to_pylist()}
    assert ds.num_rows == 4
    for row in ds:
        frames = stored_frames[video_key[row["id"]]]
        assert len(row["images"]) == len(frames) == 8
        for image, frame in zip(row["images"], frames, strict=True):
            assert np.array_equal(np.asarray(image.convert("RGB")), decode(frame["bytes"]))


def test_grpo_vlm_stored_frames(demo, frames_export, stored_frames, tmp_path_factory, tmp_path):
    """A tiny Qwen2-VL trained by GRPOTrainer on the export's ``images`` column, no mp4 on disk."""
    ds = load_export(frames_export, "parquet", tmp_path / "cache")
    assert isinstance(ds.features["images"], datasets.List)
    assert isinstance(ds.features["images"].feature, datasets.Image)  # PIL lists, no cast needed
    export_rows = {row["id"]: row for row in ds}
    video_key = {r["id"]: r["video_key"] for r in pq.read_table(demo / "frames" / "mcq.parquet").to_pylist()}
    assert set(video_key) == set(export_rows)

    model_dir = build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny_qwen2vl") / "model")
    processor = AutoProcessor.from_pretrained(model_dir)
    model = Qwen2VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32)
    # the README's TRL set-up (examples/trl/grpo.py), with a spy in front of its rewards
    spy = Spy()
    settings = grpo_settings(tmp_path / "out")
    trainer = EXAMPLE.make_trainer(model, processor, frames_export, extra_rewards=[spy], **settings)
    funcs = trainer.reward_funcs[1:]
    assert [f.__name__ for f in funcs] == ["tinyllava_reward", "mcq_accuracy_reward", "format_reward"]
    # what the model receives: pixel_values in generate() and in the loss pass
    generated, scored = [], []
    original_generate = model.generate

    def generate(*args, **kwargs):
        generated.append(kwargs.get("pixel_values"))
        return original_generate(*args, **kwargs)

    model.generate = generate
    original_logps = trainer._get_per_token_logps_and_entropies

    def logps(*args, **kwargs):
        if kwargs.get("pixel_values") is not None:
            scored.append(kwargs["pixel_values"])
        return original_logps(*args, **kwargs)

    trainer._get_per_token_logps_and_entropies = logps
    trainer.train()

    assert not list(demo.rglob("*.mp4"))
    assert len(spy.calls) == len(generated) == 2
    wanted = []
    for call, pixel_values in zip(spy.calls, generated, strict=True):
        assert_columns_reach_rewards(call, export_rows)
        # the frames TRL received are the stored JPEGs, decoded: same count, order and pixels
        stored = []
        for row_id, images in zip(call["id"], call["images"], strict=True):
            frames = stored_frames[video_key[row_id]]
            assert len(images) == len(frames) == 8
            for image, frame in zip(images, frames, strict=True):
                assert np.array_equal(np.asarray(image.convert("RGB")), decode(frame["bytes"]))
            stored += [Image.open(io.BytesIO(f["bytes"])).convert("RGB") for f in frames]
        # and the model saw them: the pixel_values TRL built equal the processor's on the decoded bytes
        want = processor.image_processor(images=stored, return_tensors="pt")["pixel_values"]
        assert torch.equal(pixel_values, want)
        wanted.append(want)
        # the prompt the rewards see carries one image block per frame before the question
        blocks = call["prompts"][0][0]["content"]
        assert [b["type"] for b in blocks] == ["image"] * 8 + ["text"]
    # the loss pass (log-probs of the completions) got the same frames
    assert scored and all(any(torch.equal(pv, want) for want in wanted) for pv in scored)
    assert_logged_means_are_ours(trainer, spy, funcs)


# -------------------------------------------------------------------------------- parity with trl.rewards


def conv(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


MATH = [conv(r"\boxed{\frac{1}{3}}"), conv(r"\boxed{\frac{1}{2}}")]
MATH_GOLD = [r"\frac{1}{3}", r"\frac{1}{3}"]
REASONING = [
    conv(r"<think> r </think> The final answer is \boxed{\frac{1}{3}}"),
    conv(r"<think> r </think> The final answer is \boxed{\frac{1}{2}}"),
    conv(r"<think> partial \boxed{\frac{1}{3}} but no final answer"),  # unfinished reasoning
]
THINK = [
    conv("<think>\nreasoning\n</think>\nanswer"),
    conv("<think>\nno close"),
    conv(" <think>x</think>y"),
    conv("<think>a<think>b</think>c"),
    conv("<think></think>"),
    conv("<think>a</think>b<|im_end|>"),
    conv(""),
    conv("x\n<think>a</think>b"),
]
TRAINER_EXTRAS = {"prompts": ["p", "p"], "trainer_state": None, "log_extra": lambda *a: None, "log_metric": None}

# (id, call): call(M) is run with M = trl.rewards and with rewards.trl; results must be equal.
PARITY = [
    # think_format_reward
    ("think_format/positional", lambda M: M.think_format_reward(THINK)),
    ("think_format/keyword", lambda M: M.think_format_reward(completions=THINK[:2], **TRAINER_EXTRAS)),
    # accuracy_reward
    ("accuracy/positional", lambda M: M.accuracy_reward(MATH, MATH_GOLD)),
    ("accuracy/keyword", lambda M: M.accuracy_reward(completions=MATH, solution=MATH_GOLD, **TRAINER_EXTRAS)),
    ("accuracy/unparseable-gold", lambda M: M.accuracy_reward([conv("x"), conv(r"\boxed{2}")], ["hello", ""])),
    (
        "accuracy/dollar-gold",
        lambda M: M.accuracy_reward([conv(r"is $\frac{1}{2}$"), conv("0.5")], [r"$\frac{1}{2}$"] * 2),
    ),
    ("accuracy/empty-completion", lambda M: M.accuracy_reward([conv("")], ["2"])),
    ("accuracy/empty-batch", lambda M: M.accuracy_reward([], [])),
    # reasoning_accuracy_reward
    ("reasoning/positional", lambda M: M.reasoning_accuracy_reward(REASONING, MATH_GOLD + MATH_GOLD[:1])),
    (
        "reasoning/keyword",
        lambda M: M.reasoning_accuracy_reward(completions=REASONING[:2], solution=MATH_GOLD, **TRAINER_EXTRAS),
    ),
    # unfinished reasoning is 0.0 whatever the gold, even an unparseable one
    ("reasoning/unfinished-any-gold", lambda M: M.reasoning_accuracy_reward(REASONING[2:] * 3, ["hello", "", "3"])),
    ("reasoning/finished-unparseable-gold", lambda M: M.reasoning_accuracy_reward(REASONING[:1], ["hello"])),
    (
        "reasoning/last-occurrence",
        lambda M: M.reasoning_accuracy_reward([conv(r"a</think>\boxed{1}</think>\boxed{2}")], ["2"]),
    ),
    (
        "reasoning/delimiter-order",
        lambda M: M.reasoning_accuracy_reward(
            [conv(r"x</r>\boxed{1}</think>\boxed{2}")], ["2"], reasoning_delimiters=["</think>", "</r>"]
        ),
    ),
    (
        "reasoning/delimiters-positional",
        lambda M: M.reasoning_accuracy_reward([conv(r"x</r>\boxed{2}")], ["2"], ["</r>"]),
    ),
    # get_cosine_scaled_reward: (completions, solution, completion_ids)
    ("cosine/positional", lambda M: M.get_cosine_scaled_reward(100)(MATH, MATH_GOLD, [[1] * 50] * 2)),
    (
        "cosine/keyword",
        lambda M: M.get_cosine_scaled_reward(max_len=8, min_value_wrong=-2.0, max_value_wrong=-1.0,
                                             min_value_correct=1.0, max_value_correct=3.0)(
            completions=MATH, solution=MATH_GOLD, completion_ids=[[1] * 3, [1] * 5], **TRAINER_EXTRAS
        ),
    ),
    ("cosine/empty-ids", lambda M: M.get_cosine_scaled_reward(100)(MATH, MATH_GOLD, [[], []])),
    ("cosine/beyond-max-len", lambda M: M.get_cosine_scaled_reward(100)(MATH, MATH_GOLD, [[1] * 150, [1] * 101])),
    ("cosine/unparseable-gold", lambda M: M.get_cosine_scaled_reward(100)(MATH[:1], ["hello"], [[1]])),
    ("cosine/numeric-gold", lambda M: M.get_cosine_scaled_reward(10)([conv(r"\boxed{2}"), conv(r"\boxed{3}")],
                                                                      ["2", "2"], [[1] * 3] * 2)),
    ("cosine/empty-batch", lambda M: M.get_cosine_scaled_reward(10)([], [], [])),
    # get_repetition_penalty_reward: (completion_ids) first
    ("repetition/positional", lambda M: M.get_repetition_penalty_reward(2, -1.0)([[1, 2, 3, 4], [5] * 5])),
    (
        "repetition/keyword",
        lambda M: M.get_repetition_penalty_reward(ngram_size=2, max_penalty=-0.5)(
            completion_ids=[[1, 2, 1, 2, 1, 2], [3, 4, 5]], completions=["x", "y"], **TRAINER_EXTRAS
        ),
    ),
    ("repetition/empty-ids", lambda M: M.get_repetition_penalty_reward(3)([[], [1, 1]])),
    ("repetition/unigram", lambda M: M.get_repetition_penalty_reward(1)([[7, 7, 7, 7]])),
    ("repetition/zero-penalty", lambda M: M.get_repetition_penalty_reward(2, 0.0)([[5] * 5])),
    # get_soft_overlong_punishment: (completion_ids) first
    ("overlong/positional", lambda M: M.get_soft_overlong_punishment(100, 20)([[1] * 80, [1] * 81, [1] * 90])),
    ("overlong/at-and-beyond-max", lambda M: M.get_soft_overlong_punishment(100, 20)([[1] * 100, [1] * 101, []])),
    (
        "overlong/keyword",
        lambda M: M.get_soft_overlong_punishment(max_completion_len=100, soft_punish_cache=20)(
            completion_ids=[[1] * 90], completions=["x"], **TRAINER_EXTRAS
        ),
    ),
    # soft_punish_cache=0 is a hard limit at max_completion_len
    ("overlong/cache-0", lambda M: M.get_soft_overlong_punishment(100, 0)([[1] * 100, [1] * 101, []])),
    ("overlong/negative-cache", lambda M: M.get_soft_overlong_punishment(100, -5)([[1] * 100, [1] * 104, [1] * 106])),
    ("overlong/max-0", lambda M: M.get_soft_overlong_punishment(0, 0)([[], [1]])),
]


def same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is None and b is None
    return isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("call", [c for _, c in PARITY], ids=[i for i, _ in PARITY])
def test_parity_with_trl_rewards(call):
    theirs, ours = call(T), call(O)
    assert same(theirs, ours), (theirs, ours)


def test_parity_reasoning_empty_delimiter_list():
    """TRL uses the default delimiter only for None: an empty list means no delimiter, so 0.0."""
    completions = [conv(r"a</think>\boxed{2}")]
    assert T.reasoning_accuracy_reward(completions, ["2"], reasoning_delimiters=[]) == [0.0]
    assert O.reasoning_accuracy_reward(completions, ["2"], reasoning_delimiters=[]) == [0.0]


def test_parity_reward_names():
    """Same ``__name__``, so the same ``rewards/<name>/mean`` keys in TRL's logs."""
    pairs = [
        (T.think_format_reward, O.think_format_reward),
        (T.accuracy_reward, O.accuracy_reward),
        (T.reasoning_accuracy_reward, O.reasoning_accuracy_reward),
        (T.get_cosine_scaled_reward(10), O.get_cosine_scaled_reward(10)),
        (T.get_repetition_penalty_reward(), O.get_repetition_penalty_reward()),
        (T.get_soft_overlong_punishment(10, 2), O.get_soft_overlong_punishment(10, 2)),
    ]
    for theirs, ours in pairs:
        assert trl.trainer.utils.get_callable_name(theirs) == trl.trainer.utils.get_callable_name(ours)


def test_parity_both_reject_positive_max_penalty():
    with pytest.raises(ValueError):
        T.get_repetition_penalty_reward(3, 0.5)
    with pytest.raises(ValueError):
        O.get_repetition_penalty_reward(3, 0.5)


# Deliberate differences, each asserted as such.


@pytest.mark.parametrize("ngram_size", [0, -1])
def test_difference_repetition_ngram_size_checked_at_construction(ngram_size):
    # TRL accepts the factory and divides by zero on the first call; ours refuse at construction.
    penalty = T.get_repetition_penalty_reward(ngram_size)
    with pytest.raises(ZeroDivisionError):
        penalty([[1, 2]])
    with pytest.raises(ValueError):
        O.get_repetition_penalty_reward(ngram_size)


@pytest.mark.parametrize("max_len", [0, -3])
def test_difference_cosine_max_len_checked_at_construction(max_len):
    # TRL divides by max_len on the first call (ZeroDivisionError for 0; a negative one is not checked);
    # ours refuse a non-positive max_len at construction.
    if max_len == 0:
        with pytest.raises(ZeroDivisionError):
            T.get_cosine_scaled_reward(max_len)(MATH, MATH_GOLD, [[1], [1]])
    with pytest.raises(ValueError):
        O.get_cosine_scaled_reward(max_len)


def test_difference_plain_string_completions():
    # TRL's math/format rewards read completion[0]["content"] (TypeError on a string); ours take plain
    # strings (text-only prompts make TRL pass strings) and give the value of the conversational form.
    with pytest.raises(TypeError):
        T.accuracy_reward([r"\boxed{3}"], ["3"])
    with pytest.raises(TypeError):
        T.think_format_reward(["<think>x</think>y"])
    assert O.accuracy_reward([r"\boxed{3}"], ["3"]) == T.accuracy_reward([conv(r"\boxed{3}")], ["3"]) == [1.0]
    assert O.think_format_reward(["<think>x</think>y"]) == T.think_format_reward([conv("<think>x</think>y")]) == [1.0]
    assert O.reasoning_accuracy_reward([r"</think>\boxed{3}"], ["3"]) == [1.0]


def test_difference_cosine_scores_multiple_choice_golds():
    # TRL's cosine reward judges correctness with math-verify only: an MCQ gold gives None (no reward).
    # Ours judge a multiple-choice gold by MCQ accuracy of the <answer> block, then apply the same
    # cosine length scaling.
    completions = [conv("<answer>B</answer>"), conv("<answer>C</answer>")]
    gold, ids = ["<answer>B</answer>"] * 2, [[1] * 10] * 2
    assert T.get_cosine_scaled_reward(100)(completions, gold, ids) == [None, None]
    ours = O.get_cosine_scaled_reward(100)(completions, gold, ids)
    right = T.get_cosine_scaled_reward(100)([conv(r"\boxed{2}")], ["2"], [[1] * 10])[0]
    wrong = T.get_cosine_scaled_reward(100)([conv(r"\boxed{3}")], ["2"], [[1] * 10])[0]
    assert ours == pytest.approx([right, wrong], abs=1e-12)  # TRL's formula, for a right and a wrong answer


def test_difference_length_mismatch_does_not_raise():
    # TRL zips with strict=True (ValueError when columns and completions differ in length); ours never
    # raise on a batch: a missing gold gives None, a missing id list 0 tokens.
    with pytest.raises(ValueError):
        T.accuracy_reward(MATH, MATH_GOLD[:1])
    with pytest.raises(ValueError):
        T.get_cosine_scaled_reward(100)(MATH, MATH_GOLD, [[1]])
    assert O.accuracy_reward(MATH, MATH_GOLD[:1]) == [1.0, None]
    assert len(O.get_cosine_scaled_reward(100)(MATH, MATH_GOLD, [[1]])) == 2


def test_difference_reasoning_content_is_reassembled():
    # A tokenizer with a response schema makes TRL move <think>…</think> into reasoning_content; TRL's
    # think_format_reward then sees only the content (0.0). Ours put the completion back together as the
    # model wrote it (rewards._text.as_text), so the format is still judged.
    completion = [[{"role": "assistant", "reasoning_content": "he drinks", "content": "<answer>A</answer>"}]]
    assert T.think_format_reward(completion) == [0.0]
    assert O.think_format_reward(completion) == [1.0]
