"""Helpers for the verl tier (``test_verl.py``), and the script that runs verl's data side in a fresh
interpreter.

- :func:`example_overrides` / :func:`set_override` / :func:`compose`: verl's own ``ppo_trainer`` config
  composed by hydra from the lines of ``examples/verl/overrides.txt`` (what the README quotes), with only
  values swapped (the data files, a reward mode).
- :func:`response_batch`: a rollout batch laid out as verl's agent loop lays it out (``prompts``
  left-padded, ``responses`` right-padded, ``attention_mask`` over both).
- ``python verl_helpers.py rollout SPEC.json`` (:func:`run_rollout`): in its own process, since datasets'
  length filter forks a worker and a fork taken after torch CPU work can hang, it loads the tokenizer and
  processor as verl's trainer does (``HFModelConfig``), builds verl's ``RLHFDataset`` from the exported
  Parquet with the trainer's ``data`` config, and runs verl's ``AgentLoopWorker.generate_sequences`` on the
  whole dataset as one batch. Only generation is scripted (:class:`ScriptedLLMClient`): it answers each
  prompt with :data:`SCRIPTS` for its row's gold. Everything it observes is saved under the spec's
  ``record`` folder for the test to check: every frame qwen-vl-utils opened (``loaded/``), every
  processor call with videos (``processor/``), what the inference server would have received
  (``server/``), the dataset's size and items (``dataset.json``), and the output batch (``rollout.pkl``, or
  the traceback in ``rollout_error.txt``: the dataset checks do not depend on the rollout).
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OVERRIDES_FILE = REPO / "examples" / "verl" / "overrides.txt"

# The rollout's scripted completions for a row (gold = its gold letter, wrong = the next letter, text = the
# gold option's text). Row i of the dataset gets SCRIPTS[i % len(SCRIPTS)].
SCRIPTS = [
    "<think>the square moves</think><answer>{gold}</answer>",  # right
    "<think>hmm</think><answer>{wrong}</answer>",  # wrong
    "I think it is <answer>{gold}",  # malformed: unclosed tag, no <think>
    "<think>it is {text}</think><answer>{text}</answer>",  # the gold option's text instead of its letter
]


# ------------------------------------------------------------------------------------------- config


def config_dir() -> str:
    import verl

    return os.path.join(os.path.dirname(verl.__file__), "trainer", "config")


def example_overrides(path: Path = OVERRIDES_FILE) -> list[str]:
    """The hydra override lines of ``examples/verl/overrides.txt`` (comments and blank lines skipped)."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def override_key(line: str) -> str:
    """``+a.b=c`` → ``a.b``."""
    return line.split("=", 1)[0].lstrip("+~")


def set_override(lines: list[str], key: str, value: object) -> list[str]:
    """``lines`` with the value of ``key``'s line replaced (its ``+`` prefix kept); the line must exist."""
    hits = [i for i, line in enumerate(lines) if override_key(line) == key]
    if len(hits) != 1:
        raise AssertionError(f"{len(hits)} override lines for {key!r} in {lines}")
    out = list(lines)
    out[hits[0]] = f"{lines[hits[0]].split('=', 1)[0]}={value}"
    return out


def compose(overrides: list[str]):
    """verl's ``ppo_trainer`` config with ``overrides``, as ``python -m verl.trainer.main_ppo`` composes it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=config_dir(), version_base=None):
        return hydra_compose(config_name="ppo_trainer", overrides=list(overrides))


def model_config(cfg):
    """The trainer's ``HFModelConfig`` (tokenizer and processor) for ``actor_rollout_ref.model``."""
    from verl.utils.config import omega_conf_to_dataclass

    return omega_conf_to_dataclass(cfg.actor_rollout_ref.model)


# -------------------------------------------------------------------------------------------- batches


def response_batch(tokenizer, prompts: list[list[int]], responses: list[list[int]], non_tensor: dict):
    """A ``DataProto`` laid out like the agent loop's output: prompts left-padded, responses right-padded."""
    import numpy as np
    import torch
    from verl import DataProto

    n, width_p, width_r = len(prompts), max(map(len, prompts)), max(map(len, responses))
    pad = tokenizer.pad_token_id
    prompt_ids = torch.full((n, width_p), pad, dtype=torch.long)
    response_ids = torch.full((n, width_r), pad, dtype=torch.long)
    mask = torch.zeros((n, width_p + width_r), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        prompt_ids[i, width_p - len(p) :] = torch.tensor(p)
        response_ids[i, : len(r)] = torch.tensor(r)
        mask[i, width_p - len(p) : width_p + len(r)] = 1
    return DataProto.from_dict(
        tensors={
            "prompts": prompt_ids,
            "responses": response_ids,
            "response_mask": mask[:, width_p:].clone(),
            "input_ids": torch.cat([prompt_ids, response_ids], dim=1),
            "attention_mask": mask,
            "position_ids": (mask.cumsum(-1) - 1).clamp(min=0),
        },
        non_tensors={k: np.array(v, dtype=object) for k, v in non_tensor.items()},
    )


def script_values(extra_info: dict, gold: str) -> dict[str, str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    options = list(extra_info["options"])
    answer = letters.index(gold)
    return {"gold": gold, "wrong": letters[(answer + 1) % len(options)], "text": options[answer]}


def scripted_completion(index: int, extra_info: dict, gold: str) -> str:
    return SCRIPTS[index % len(SCRIPTS)].format(**script_values(extra_info, gold))


# ------------------------------------------------------------------------- the rollout subprocess

_PHASE = {"name": "setup"}


def _save(record: Path, kind: str, payload: dict) -> None:
    import torch

    folder = record / kind
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"phase": _PHASE["name"], "pid": os.getpid(), **payload}, folder / f"{uuid.uuid4().hex}.pt")


def install_recorders(record: Path) -> None:
    """Record every frame image qwen-vl-utils opens (before its resize) and every processor call with
    videos. Files, not memory: datasets may run the length filter in a forked worker."""
    import numpy as np
    import qwen_vl_utils.vision_process as vp
    from transformers import Qwen2VLProcessor

    to_rgb = vp.to_rgb

    def recording_to_rgb(image):
        out = to_rgb(image)
        _save(record, "loaded", {"filename": getattr(image, "filename", None), "array": np.asarray(out).copy()})
        return out

    vp.to_rgb = recording_to_rgb

    call = Qwen2VLProcessor.__call__

    def recording_call(self, *args, **kwargs):
        out = call(self, *args, **kwargs)
        videos = kwargs.get("videos")
        if videos is not None:
            text = kwargs.get("text", args[1] if len(args) > 1 else None)
            _save(
                record,
                "processor",
                {
                    "text": list(text) if isinstance(text, list) else [text],
                    "videos": [v.clone() for v in videos],
                    "video_metadata": kwargs.get("video_metadata"),
                    "do_sample_frames": kwargs.get("do_sample_frames"),
                    "video_grid_thw": out["video_grid_thw"].clone(),
                    "pixel_values_videos": out["pixel_values_videos"].clone(),
                },
            )
        return out

    Qwen2VLProcessor.__call__ = recording_call


def _scripted_client_class():
    from verl.workers.rollout.llm_server import LLMServerClient
    from verl.workers.rollout.replica import TokenOutput

    class ScriptedLLMClient(LLMServerClient):
        """Stands in for the inference server only: answers each prompt with the scripted completion for
        the exported row whose question it contains, and records what the server was handed."""

        def __init__(self, config, tokenizer, rows: list[dict], record: Path):
            super().__init__(config)
            self.tokenizer, self.rows, self.record = tokenizer, rows, record

        async def generate(self, request_id, *, prompt_ids, sampling_params, video_data=None, **kwargs):
            prompt = self.tokenizer.decode(prompt_ids)
            hits = [i for i, row in enumerate(self.rows) if row["key"] in prompt]
            if len(hits) != 1:
                raise AssertionError(f"{len(hits)} exported rows match the prompt {prompt[-300:]!r}")
            row = self.rows[hits[0]]
            text = scripted_completion(hits[0], row["extra_info"], row["gold"])
            _save(
                self.record,
                "server",
                {"row": hits[0], "prompt_ids": list(prompt_ids), "videos": video_data, "completion": text},
            )
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
            return TokenOutput(token_ids=ids, stop_reason="completed")

    return ScriptedLLMClient


def run_rollout(spec: dict) -> None:
    """See the module docstring. ``spec``: ``overrides`` (full list), ``record`` (folder), ``cwd``."""
    from verl.trainer.ppo.utils import create_rl_dataset

    os.chdir(spec["cwd"])
    record = Path(spec["record"])
    record.mkdir(parents=True, exist_ok=True)
    install_recorders(record)
    cfg = compose(spec["overrides"])
    model = model_config(cfg)  # what the trainer's _init_tokenizer does
    tokenizer, processor = model.tokenizer, model.processor

    _PHASE["name"] = "filter"
    dataset = create_rl_dataset(cfg.data.train_files, cfg.data, tokenizer, processor, is_train=True)
    items = [dataset[i] for i in range(len(dataset))]
    summary = {
        "len": len(dataset),
        "processor": type(processor).__name__,
        "cwd": os.getcwd(),
        # each item's raw_prompt media parts: what the agent loop will hand to qwen-vl-utils
        "media": [
            [part for message in item["raw_prompt"] for part in message["content"] if part.get("type") != "text"]
            for item in items
        ],
        "index": [item["index"] for item in items],
    }
    (record / "dataset.json").write_text(json.dumps(summary), encoding="utf-8")

    _PHASE["name"] = "rollout"
    try:
        output = _rollout(cfg, dataset, tokenizer, record)
    except BaseException:
        (record / "rollout_error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        raise
    (record / "rollout.pkl").write_bytes(pickle.dumps(output))


def _rollout(cfg, dataset, tokenizer, record: Path):
    """verl's ``AgentLoopWorker.generate_sequences`` on the whole dataset as one batch, the batch built as
    the trainer builds it (``collate_fn`` → ``DataProto.from_single_dict``)."""
    import asyncio

    import pyarrow.parquet as pq
    from verl import DataProto
    from verl.experimental.agent_loop import AgentLoopWorker
    from verl.utils.dataset.rl_dataset import collate_fn

    rows = [
        {
            "key": row["prompt"][0]["content"].replace("<video>", ""),
            "gold": row["reward_model"]["ground_truth"],
            "extra_info": row["extra_info"],
        }
        for row in pq.read_table(cfg.data.train_files).to_pylist()
    ]
    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(len(dataset))]))
    batch.meta_info = {"global_steps": 1, "validate": False}
    client = _scripted_client_class()(cfg, tokenizer, rows, record)
    worker = AgentLoopWorker(cfg, client)  # no reward handles: the trainer then scores the batch itself
    return asyncio.run(worker.generate_sequences(batch))


if __name__ == "__main__":
    if sys.argv[1:2] == ["rollout"]:
        run_rollout(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))
    else:
        raise SystemExit("usage: verl_helpers.py rollout SPEC.json")
