"""The verl tier: our reward and ``curate export --to verl`` run through verl's own code (verl 0.9.1).

The config is verl's own ``ppo_trainer``, composed by hydra from the lines of
``examples/verl/overrides.txt`` (what the README quotes) with only the data files' values replaced by the
test's export. A test adds only what its environment needs: the tiny local model's path, and for the
rollout ``data.filter_overlong_prompts=True`` and ``actor_rollout_ref.rollout.name``.

- Reward: ``RewardLoopWorker`` (what each Ray reward worker of the trainer runs: ``load_reward_manager`` →
  ``get_custom_reward_fn`` → ``load_extern_object("pkg://rewards.verl")`` and the registered ``naive``
  manager) scores right, wrong, malformed, option-text and ``<|im_end|>``-terminated responses to the
  exported rows; ``assemble_rm_scores`` puts each score at the last valid response token, equal to
  ``rewards.verl.compute_score`` (``tinyllava``; ``sum`` when the override line says so). Once more through
  the real ``RewardLoopManager`` on a local Ray. The two pitfalls the overrides file names are asserted: the
  old top-level ``custom_reward_function.*`` is accepted and ignored (verl then falls back to its default
  scorer, which raises for our data sources), and ``reward_kwargs`` needs the ``+``.
- Dataset: ``curate demo`` → ``curate export frames --to verl`` → every mp4 deleted → in a fresh
  interpreter started in another folder (``verl_helpers.py``), the trainer's tokenizer and processor
  (``HFModelConfig``), ``create_rl_dataset`` with ``filter_overlong_prompts=True``, and
  ``AgentLoopWorker.generate_sequences`` with only the generation scripted: every row is kept, the frames
  qwen-vl-utils opens are the JPEG bytes stored in ``frames/part-*.parquet``, the video tensors the
  processor and the inference server get are those frames processed, the rollout batch carries
  ``pixel_values_videos`` and ``video_grid_thw``, and verl's reward manager scores the rollout with each
  row's own gold.
- The mp4 export without ``--video-root`` is refused (exit 2, naming the option) instead of verl dropping
  every row in its length filter.

No network: the tokenizer and model are built here (``curate.coldstart.tiny_model``); the rollout process
runs with the Hugging Face libraries offline.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

verl = pytest.importorskip("verl", minversion="0.9", reason="verl is not installed (the .venv-trainers tier)")
torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from cli_runner import curate  # noqa: E402
from hydra.errors import ConfigCompositionException  # noqa: E402
from PIL import Image  # noqa: E402
from qwen_vl_utils import process_vision_info  # noqa: E402
from typer.testing import CliRunner  # noqa: E402
from verl.experimental.reward_loop import RewardLoopWorker  # noqa: E402
from verl.experimental.reward_loop.reward_manager import get_reward_manager_cls  # noqa: E402
from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls  # noqa: E402
from verl.utils import hf_tokenizer  # noqa: E402
from verl_helpers import (  # noqa: E402
    SCRIPTS,
    compose,
    example_overrides,
    override_key,
    response_batch,
    script_values,
    scripted_completion,
    set_override,
)

from curate.cli import app  # noqa: E402
from curate.coldstart.tiny_model import build_tiny_qwen2vl  # noqa: E402
from curate.export import frames_dir_for  # noqa: E402
from rewards.verl import compute_score  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
HELPERS = Path(__file__).resolve().with_name("verl_helpers.py")
TOL = 1e-6  # verl keeps rm_scores in float32
EXTRA_KEYS = ["score", "acc", "accuracy", "format"]
IM_END = "<|im_end|>"
MODE_KEY = "reward.custom_reward_function.reward_kwargs.mode"


# --------------------------------------------------------------------------------------------- helpers


def pythonpath() -> str:
    """The repository first: the rollout process and Ray's workers import ``rewards`` (``pkg://rewards.verl``)."""
    return os.pathsep.join([str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@dataclass
class Demo:
    root: Path
    export: Path
    rows: list[dict]  # the exported Parquet's rows
    frames: list[list[dict]]  # per exported row: the stored frames ({bytes, path}) of its video, in order
    stored: dict[str, bytes]  # absolute path of an exported frame file -> the JPEG bytes the shard stores
    timestamps: list[list[float]]  # per exported row: its stored frames' timestamps

    def key(self, index: int) -> str:
        """The part of row ``index``'s prompt that every rendering of it contains."""
        return self.rows[index]["prompt"][0]["content"].replace("<video>", "")

    def row_of_text(self, text: str) -> int:
        hits = [i for i in range(len(self.rows)) if self.key(i) in text]
        assert len(hits) == 1, f"{len(hits)} exported rows match {text[-200:]!r}"
        return hits[0]


def expected_video(demo: Demo, index: int, patch_size: int):
    """Row ``index``'s video as qwen-vl-utils makes it from the stored JPEGs themselves (decoded here, handed
    over as images, with the export's ``sample_fps``/``raw_fps``): ``(frames tensor, metadata)``."""
    part = {
        "type": "video",
        **demo.rows[index]["videos"][0],
        "video": [Image.open(io.BytesIO(f["bytes"])) for f in demo.frames[index]],
    }
    _, videos = process_vision_info(
        [{"role": "user", "content": [part]}], image_patch_size=patch_size, return_video_metadata=True
    )
    return videos[0]


def trainer_overrides(demo: Demo, model: Path, *extra: str) -> list[str]:
    """The example's lines, data files replaced by the export, then ``extra``."""
    lines = example_overrides()
    for key in ("data.train_files", "data.val_files"):
        lines = set_override(lines, key, demo.export)
    return [*lines, f"actor_rollout_ref.model.path={model}", *extra]


# The reward cases: (kind, exported row, response text template; gold/wrong/text as in verl_helpers).
CASES = [
    ("right", 0, SCRIPTS[0]),
    ("wrong", 1, SCRIPTS[1]),
    ("malformed", 2, SCRIPTS[2]),
    ("option text", 3, SCRIPTS[3]),
    ("<|im_end|> left in", 0, SCRIPTS[0] + IM_END),
]
# Independent of rewards.verl: the accuracy each case must get, and its Video-R1 `sum` score.
CASE_ACC = [1.0, 0.0, 0.0, 1.0, 1.0]
CASE_SUM = [2.0, 1.0, 0.0, 2.0, 2.0]


def case_texts(demo: Demo) -> list[str]:
    texts = []
    for _, index, template in CASES:
        row = demo.rows[index]
        texts.append(template.format(**script_values(row["extra_info"], row["reward_model"]["ground_truth"])))
    return texts


def case_batch(demo: Demo, tokenizer):
    """The cases as a rollout batch: each response as the model emits it (its tokens, then eos)."""
    rows = [demo.rows[index] for _, index, _ in CASES]
    prompts = [tokenizer(row["prompt"][0]["content"], add_special_tokens=False)["input_ids"] for row in rows]
    responses = [
        tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for text in case_texts(demo)
    ]
    non_tensor = {
        "data_source": [row["data_source"] for row in rows],
        "reward_model": [copy.deepcopy(row["reward_model"]) for row in rows],
        "extra_info": [copy.deepcopy(row["extra_info"]) for row in rows],
    }
    return response_batch(tokenizer, prompts, responses, non_tensor)


def expected_scores(demo: Demo, mode: str) -> list[dict]:
    """``rewards.verl.compute_score`` on what verl hands it: the response decoded without special tokens."""
    out = []
    for (_, index, _), text in zip(CASES, case_texts(demo), strict=True):
        row = demo.rows[index]
        out.append(
            compute_score(
                row["data_source"], text.replace(IM_END, ""), row["reward_model"]["ground_truth"],
                row["extra_info"], mode=mode,
            )
        )  # fmt: skip
    return out


def score_like_the_trainer(cfg, batch):
    """What one of the trainer's reward workers does with a batch, without Ray: ``RewardLoopWorker``
    (which loads the tokenizer and the reward manager from ``cfg``), one ``run_single`` per response, then
    the manager class's ``assemble_rm_scores``. Returns ``(rm_scores, reward_extra_info per response)``."""
    worker = RewardLoopWorker(cfg)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(batch))
    rm_scores = resolve_reward_manager_cls(cfg).assemble_rm_scores(batch, [o["reward_score"] for o in outputs])
    return rm_scores, [o["reward_extra_info"] for o in outputs]


def at_last_token(rm_scores, batch) -> list[float]:
    """The value at each response's last valid token; everything else must be 0."""
    prompt_length = batch.batch["prompts"].size(1)
    last = batch.batch["attention_mask"][:, prompt_length:].sum(-1) - 1
    values = rm_scores[torch.arange(rm_scores.size(0)), last]
    rest = rm_scores.clone()
    rest[torch.arange(rm_scores.size(0)), last] = 0
    assert not rest.any(), "rm_scores has values off the last valid token"
    return values.tolist()


def load_records(record: Path, kind: str) -> list[dict]:
    return [torch.load(f, weights_only=False) for f in sorted((record / kind).glob("*.pt"))]


# -------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return Path(build_tiny_qwen2vl(tmp_path_factory.mktemp("verl-model") / "tiny-qwen2vl"))


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return hf_tokenizer(str(tiny_model))  # how verl's reward worker loads it


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    """``curate demo`` → ``curate export frames --to verl`` → every mp4 deleted."""
    root = tmp_path_factory.mktemp("verl-demo")
    curate("demo", "-o", root, "--videos", 2, "--no-coldstart")
    export = root / "export" / "train.parquet"
    export.parent.mkdir()
    curate("export", root / "frames", "--to", "verl", "-o", export)
    mp4s = sorted((root / "sample" / "videos").rglob("*.mp4"))
    assert mp4s, "the demo wrote no videos"
    for mp4 in mp4s:
        mp4.unlink()

    rows = pq.read_table(export).to_pylist()
    key_of = {r["id"]: r["video_key"] for r in pq.read_table(root / "frames" / "mcq.parquet").to_pylist()}
    shard_rows = {}
    for shard in sorted((root / "frames" / "frames").glob("part-*.parquet")):
        for r in pq.read_table(shard, columns=["video_key", "frames", "timestamps"]).to_pylist():
            shard_rows[r["video_key"]] = r
    frames_dir = frames_dir_for(export).resolve()
    stored = {str(frames_dir / f["path"]): f["bytes"] for r in shard_rows.values() for f in r["frames"]}
    shards = [shard_rows[key_of[row["extra_info"]["id"]]] for row in rows]
    return Demo(root, export, rows, [s["frames"] for s in shards], stored, [s["timestamps"] for s in shards])


@dataclass
class Rollout:
    process: subprocess.CompletedProcess
    record: Path
    cwd: Path
    overrides: list[str]

    def failure(self) -> str:
        tail = (self.process.stdout or "")[-3000:] + (self.process.stderr or "")[-6000:]
        return f"verl_helpers.py rollout exited {self.process.returncode}:\n{tail}"

    def summary(self) -> dict:
        path = self.record / "dataset.json"
        assert path.is_file(), self.failure()
        return json.loads(path.read_text(encoding="utf-8"))

    def output(self):
        path = self.record / "rollout.pkl"
        if not path.is_file():
            error = self.record / "rollout_error.txt"
            pytest.fail(error.read_text(encoding="utf-8") if error.is_file() else self.failure())
        return pickle.loads(path.read_bytes())


@pytest.fixture(scope="module")
def rollout(demo, tiny_model, tmp_path_factory) -> Rollout:
    """verl's data side in a fresh interpreter whose working directory holds nothing of the export."""
    work = tmp_path_factory.mktemp("verl-rollout")
    cwd, record = work / "elsewhere", work / "record"
    cwd.mkdir()
    overrides = trainer_overrides(
        demo, tiny_model, "data.filter_overlong_prompts=True", "actor_rollout_ref.rollout.name=vllm"
    )
    spec = work / "spec.json"
    spec.write_text(json.dumps({"overrides": overrides, "record": str(record), "cwd": str(cwd)}), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": pythonpath(),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(work / "hf-datasets"),
    }
    process = subprocess.run(
        [sys.executable, str(HELPERS), "rollout", str(spec)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return Rollout(process, record, cwd, overrides)


# ---------------------------------------------------------------------------------------------- reward


def test_the_example_overrides_are_verls_reward_keys(demo, tiny_model):
    cfg = compose(trainer_overrides(demo, tiny_model))
    fn = cfg.reward.custom_reward_function
    assert (fn.path, fn.name, dict(fn.reward_kwargs)) == ("pkg://rewards.verl", "compute_score", {"mode": "tinyllava"})
    assert (cfg.data.train_files, cfg.data.val_files) == (str(demo.export), str(demo.export))
    assert (cfg.data.prompt_key, cfg.data.video_key) == ("prompt", "videos")
    manager = resolve_reward_manager_cls(cfg)
    assert manager is get_reward_manager_cls("naive") and manager.__name__ == "NaiveRewardManager"

    loaded = get_custom_reward_fn(cfg)  # verl's loader: load_extern_object + the reward_kwargs
    row = demo.rows[0]
    for text in case_texts(demo):
        args = dict(
            data_source=row["data_source"], solution_str=text, ground_truth=row["reward_model"]["ground_truth"],
            extra_info=row["extra_info"],
        )  # fmt: skip
        assert loaded(**args) == compute_score(**args, mode="tinyllava")


@pytest.mark.parametrize("mode", ["tinyllava", "sum"])
def test_verls_reward_manager_scores_like_compute_score(demo, tiny_model, tokenizer, mode):
    lines = trainer_overrides(demo, tiny_model)
    lines = set_override(lines, MODE_KEY, mode)
    cfg = compose(lines)
    batch = case_batch(demo, tokenizer)
    prompt_length = batch.batch["prompts"].size(1)
    last = batch.batch["responses"][-1][: int(batch.batch["attention_mask"][-1, prompt_length:].sum())]
    assert int((last == tokenizer.convert_tokens_to_ids(IM_END)).sum()) == 2  # the text's, then eos
    rm_scores, infos = score_like_the_trainer(cfg, batch)

    expected = expected_scores(demo, mode)
    assert at_last_token(rm_scores, batch) == pytest.approx([e["score"] for e in expected], abs=TOL)
    for (kind, _, _), info, want, acc in zip(CASES, infos, expected, CASE_ACC, strict=True):
        assert list(info) == EXTRA_KEYS, kind
        assert info == pytest.approx(want), kind
        assert info["acc"] == acc, kind  # the option-text case needs extra_info.options to have arrived
    if mode == "sum":
        assert [e["score"] for e in expected] == CASE_SUM
    else:  # TinyLLaVA-Video-R1: right > 1, wrong in (-1, 0), no answer -2
        scores = [e["score"] for e in expected]
        assert scores[0] > 1 and -1 < scores[1] < 0 and scores[2] == -2.0 and scores[3] > 1 and scores[4] == scores[0]


def test_the_reward_mode_override_changes_the_rewards(demo, tiny_model, tokenizer):
    values = {}
    for mode in ("tinyllava", "sum"):
        cfg = compose(set_override(trainer_overrides(demo, tiny_model), MODE_KEY, mode))
        batch = case_batch(demo, tokenizer)
        values[mode] = at_last_token(score_like_the_trainer(cfg, batch)[0], batch)
    assert values["sum"] == pytest.approx(CASE_SUM, abs=TOL)
    assert values["tinyllava"] != pytest.approx(values["sum"], abs=TOL)


def test_the_old_top_level_custom_reward_function_is_ignored(demo, tiny_model, tokenizer):
    """verl 0.9.1's config still declares ``custom_reward_function.*`` at the top level, so hydra takes the
    old lines, but the trainer reads only ``reward.custom_reward_function``: our function is never loaded and
    verl's default scorer refuses our data sources."""
    lines = [
        line.replace("reward.custom_reward_function.", "custom_reward_function.", 1)
        if override_key(line).startswith("reward.custom_reward_function.")
        else line
        for line in trainer_overrides(demo, tiny_model)
    ]
    cfg = compose(lines)
    assert cfg.custom_reward_function.path == "pkg://rewards.verl"  # accepted…
    assert cfg.reward.custom_reward_function.path is None  # …and not what verl reads
    assert get_custom_reward_fn(cfg) is None
    with pytest.raises(NotImplementedError, match="llava_video_178k"):
        score_like_the_trainer(cfg, case_batch(demo, tokenizer))


def test_reward_kwargs_needs_the_plus(demo, tiny_model):
    lines = trainer_overrides(demo, tiny_model)
    plain = [line.lstrip("+") for line in lines]
    assert plain != lines
    with pytest.raises(ConfigCompositionException, match="reward_kwargs"):
        compose(plain)


def test_reward_loop_manager_on_ray(demo, tiny_model, tokenizer):
    """The trainer's own reward path: ``RewardLoopManager`` starts a ``RewardLoopWorker`` Ray actor, which
    loads our function in its own process, and assembles ``rm_scores`` and the extra keys."""
    import ray
    from verl.experimental.reward_loop import RewardLoopManager

    cfg = compose(trainer_overrides(demo, tiny_model, "reward.num_workers=1"))
    batch = case_batch(demo, tokenizer)
    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=1, include_dashboard=False, log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": pythonpath(), "HF_HUB_OFFLINE": "1"}},
        )  # fmt: skip
    try:
        out = RewardLoopManager(cfg).compute_rm_score(batch)
    finally:
        if started:
            ray.shutdown()

    expected = expected_scores(demo, "tinyllava")
    assert at_last_token(out.batch["rm_scores"], batch) == pytest.approx([e["score"] for e in expected], abs=TOL)
    assert out.meta_info["reward_extra_keys"] == EXTRA_KEYS
    for key in EXTRA_KEYS:
        assert out.non_tensor_batch[key].tolist() == pytest.approx([e[key] for e in expected]), key


# --------------------------------------------------------------------------------------------- dataset


def test_verl_keeps_every_exported_row_with_no_mp4(demo, rollout):
    assert not list(demo.root.rglob("*.mp4"))
    summary = rollout.summary()
    assert summary["processor"] == "Qwen2VLProcessor"
    assert Path(summary["cwd"]) == rollout.cwd and rollout.cwd not in demo.export.parents
    assert summary["len"] == len(demo.rows) == 4  # filter_overlong_prompts=True dropped nothing
    for index, media in zip(summary["index"], summary["media"], strict=True):  # the dataset's items
        assert media == [{"type": "video", **demo.rows[index]["videos"][0]}]

    for i, row in enumerate(demo.rows):  # what the export points verl at
        (video,) = row["videos"]
        frames_dir = frames_dir_for(demo.export).resolve()
        assert video["video"] == [str(frames_dir / f["path"]) for f in demo.frames[i]]  # absolute, in time order
        ts = demo.timestamps[i]
        assert video["sample_fps"] == video["raw_fps"] == pytest.approx((len(ts) - 1) / (ts[-1] - ts[0]))

    calls = [c for c in load_records(rollout.record, "processor") if c["phase"] == "filter"]
    assert sorted(demo.row_of_text(c["text"][0]) for c in calls) == list(range(len(demo.rows)))
    for call in calls:
        i = demo.row_of_text(call["text"][0])
        (frames,), (meta,) = call["videos"], call["video_metadata"]
        n = len(demo.frames[i])
        assert frames.shape[0] == n + n % 2  # qwen-vl-utils pads to an even count
        assert meta["fps"] == pytest.approx(demo.rows[i]["videos"][0]["raw_fps"])
        assert list(meta["frames_indices"]) == list(range(frames.shape[0]))
        assert call["do_sample_frames"] is False
        (grid,) = call["video_grid_thw"].tolist()
        assert grid[0] == frames.shape[0] // 2 and call["pixel_values_videos"].shape[0] == grid[0] * grid[1] * grid[2]


def test_the_frames_verl_processes_are_the_stored_jpegs(demo, rollout):
    rollout.summary()
    loaded = load_records(rollout.record, "loaded")
    assert {r["filename"] for r in loaded} == set(demo.stored)  # every stored frame, and no other file
    assert {r["filename"] for r in loaded if r["phase"] == "filter"} == set(demo.stored)
    for path, data in demo.stored.items():
        assert Path(path).read_bytes() == data
    for record in loaded:
        assert np.array_equal(record["array"], decode(demo.stored[record["filename"]])), record["filename"]

    patch_size = compose(rollout.overrides).data.image_patch_size
    for call in load_records(rollout.record, "processor"):
        i = demo.row_of_text(call["text"][0])
        frames, meta = expected_video(demo, i, patch_size)
        assert torch.equal(call["videos"][0], frames), (call["phase"], i)
        assert call["video_metadata"][0] == meta


def test_the_rollout_batch_has_the_video_inputs_and_our_rewards(demo, tiny_model, tokenizer, rollout):
    output = rollout.output()
    assert len(output) == len(demo.rows)
    filter_calls = {
        demo.row_of_text(c["text"][0]): c for c in load_records(rollout.record, "processor") if c["phase"] == "filter"
    }
    video_pad = tokenizer.convert_tokens_to_ids("<|video_pad|>")
    patch_size = compose(rollout.overrides).data.image_patch_size

    for server in load_records(rollout.record, "server"):  # what an inference server would have been sent
        ((frames, meta),) = server["videos"]
        expected_frames, expected_meta = expected_video(demo, server["row"], patch_size)
        assert torch.equal(frames, expected_frames) and meta == expected_meta

    texts, gold = [], []
    for j in range(len(output)):
        i = output.non_tensor_batch["extra_info"][j]["index"]
        row = demo.rows[i]
        inputs = output.non_tensor_batch["multi_modal_inputs"][j]
        assert {"pixel_values_videos", "video_grid_thw"} <= set(inputs)
        assert torch.equal(inputs["pixel_values_videos"], filter_calls[i]["pixel_values_videos"])
        assert torch.equal(inputs["video_grid_thw"], filter_calls[i]["video_grid_thw"])
        t, h, w = inputs["video_grid_thw"][0].tolist()
        ids = output.batch["input_ids"][j][output.batch["attention_mask"][j].bool()]
        assert int((ids == video_pad).sum()) == t * h * w // 4  # merge_size 2
        prompt = tokenizer.decode(output.batch["prompts"][j], skip_special_tokens=True)
        assert demo.row_of_text(prompt) == i

        length = int(output.batch["attention_mask"][j, output.batch["prompts"].size(1) :].sum())
        text = tokenizer.decode(output.batch["responses"][j, :length], skip_special_tokens=True)
        assert text == scripted_completion(i, row["extra_info"], row["reward_model"]["ground_truth"])
        texts.append(text)
        gold.append(row)

    rm_scores, infos = score_like_the_trainer(compose(trainer_overrides(demo, tiny_model)), output)
    expected = [
        compute_score(row["data_source"], text, row["reward_model"]["ground_truth"], row["extra_info"])
        for text, row in zip(texts, gold, strict=True)
    ]
    assert at_last_token(rm_scores, output) == pytest.approx([e["score"] for e in expected], abs=TOL)
    script_acc = [1.0, 0.0, 0.0, 1.0]  # right, wrong, malformed, option text (verl_helpers.SCRIPTS)
    assert [info["acc"] for info in infos] == [script_acc[r["extra_info"]["index"] % len(SCRIPTS)] for r in gold]


# ---------------------------------------------------------------------------------------------- export


def test_the_mp4_export_needs_video_root(demo, tmp_path):
    out = tmp_path / "mp4.parquet"
    result = CliRunner().invoke(app, ["export", str(demo.root / "filter"), "--to", "verl", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "--video-root" in result.output and "relative" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()
