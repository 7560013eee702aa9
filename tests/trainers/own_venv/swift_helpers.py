"""Helpers for the ms-swift tier (``test_swift.py``), and a test-only ms-swift plugin.

- :func:`build_tiny_swift_qwen2vl`: the project's tiny random Qwen2-VL (``curate.coldstart.tiny_model``) with
  its special tokens at Qwen2-VL's real ids (``<|image_pad|>`` = 151655, ``<|video_pad|>`` = 151656):
  ms-swift's ``Qwen2VLTemplate`` hard-codes them.
- :data:`SCRIPTS` / :func:`scripted_completion`: the completions the scripted rollout writes.
- Loaded by ``swift rlhf --external_plugins … swift_helpers.py`` with ``VIDEOQA_SWIFT_SCRIPT`` set (a JSON
  object ``{"dataset": export.jsonl, "record": folder}``), this file replaces what the random model
  generates with :data:`SCRIPTS` (right, wrong and malformed answers to each prompt's own gold), so that
  every reward takes several values in a real GRPO run; and it saves what each ``generate`` call received
  (prompts, ``pixel_values``, ``image_grid_thw``) under ``record``. Everything else — rollout, decoding,
  reward calls, advantages, loss, logging — is ms-swift's own code. Nothing happens without the variable.

Standard library only at import time: the plugin runs inside ``swift rlhf``.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

SCRIPT_ENV = "VIDEOQA_SWIFT_SCRIPT"

# The scripted rollout's completions, in order (completion i of the run gets SCRIPTS[i % 8]). Fields:
# gold = the row's gold letter, wrong = the next letter, text = the gold option's text. Each is at most 15
# tokens of the tiny tokenizer, so that with <|im_end|> it fits max_completion_length 16.
SCRIPTS = [
    "<think> {gold} </think> <answer> {gold} </answer>",  # right, R1 format, 1-character think
    "<think> {wrong} </think> <answer> {wrong} </answer>",  # wrong, R1 format
    "<answer> {gold} </answer>",  # right, no <think>
    "{gold}",  # a bare letter: no tags
    "<answer> {text} </answer>",  # the gold option's text, no <think>
    "<think> hmm <answer> {gold}",  # unclosed tags
    "<think> </think> <answer> {gold} </answer>",  # right, blank think
    "the the the the",  # no answer at all
]


def script_values(row: dict) -> dict[str, str]:
    """``gold``, ``wrong`` and ``text`` for an exported row (``answer``, ``options``)."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    answer, options = row["answer"], row["options"]
    return {"gold": letters[answer], "wrong": letters[(answer + 1) % len(options)], "text": options[answer]}


def scripted_completion(index: int, row: dict) -> str:
    return SCRIPTS[index % len(SCRIPTS)].format(**script_values(row))


def prompt_key(row: dict) -> str:
    """The part of an exported row's user turn that appears verbatim in every prompt built from it (the
    text after the ``<image>`` tags: question, options, instruction)."""
    return row["messages"][0]["content"].replace("<image>", "")


def row_of_prompt(prompt: str, rows: list[dict]) -> dict:
    """The one exported row whose question, options and instruction the prompt text contains."""
    hits = [row for row in rows if prompt_key(row) in prompt]
    if len(hits) != 1:
        raise AssertionError(f"{len(hits)} exported rows match the prompt {prompt[-300:]!r}")
    return hits[0]


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# ------------------------------------------------------------------------------------------ tiny model


def build_tiny_swift_qwen2vl(path: str | os.PathLike, seed: int = 0) -> Path:
    """The project's tiny random Qwen2-VL (:func:`curate.coldstart.tiny_model.build_tiny_qwen2vl`) with its
    special tokens at Qwen2-VL's real ids, which ms-swift's ``Qwen2VLTemplate`` hard-codes."""
    from curate.coldstart.tiny_model import build_tiny_qwen2vl

    return Path(build_tiny_qwen2vl(path, seed, qwen_ids=True))


# ------------------------------------------------------------------------- the scripted-rollout plugin


def install_scripted_generation(settings: dict) -> None:
    """Wrap ``Qwen2VLForConditionalGeneration.generate``: the real generation runs, then the tokens it
    produced are replaced by the next :data:`SCRIPTS` entries (tokenized, then ``<|im_end|>``, then
    padding, which ms-swift's engine drops), and the call's inputs are saved for the test."""
    import torch
    from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration

    rows = read_jsonl(settings["dataset"])
    record = Path(settings["record"])
    record.mkdir(parents=True, exist_ok=True)
    original = Qwen2VLForConditionalGeneration.generate
    state = {"calls": 0, "completions": 0}

    @functools.cache
    def tokenizer(name: str):
        return AutoTokenizer.from_pretrained(name)

    @functools.wraps(original)
    def generate(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        tok = tokenizer(self.name_or_path)
        input_ids = kwargs["input_ids"]
        prompts = tok.batch_decode(input_ids, skip_special_tokens=False)
        texts = []
        for prompt in prompts:
            texts.append(scripted_completion(state["completions"], row_of_prompt(prompt, rows)))
            state["completions"] += 1
        completion_ids = [tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for text in texts]
        width = max(len(ids) for ids in completion_ids)
        tail = torch.full((len(texts), width), tok.pad_token_id, dtype=input_ids.dtype, device=input_ids.device)
        for i, ids in enumerate(completion_ids):
            tail[i, : len(ids)] = torch.tensor(ids, dtype=input_ids.dtype)
        sequences = torch.cat([input_ids, tail], dim=1)
        torch.save(
            {
                "prompts": prompts,
                "completions": texts,
                "completion_ids": completion_ids,
                "max_new_tokens": kwargs["generation_config"].max_new_tokens,
                "pixel_values": kwargs.get("pixel_values"),
                "image_grid_thw": kwargs.get("image_grid_thw"),
            },
            record / f"generate_{state['calls']:03d}.pt",
        )
        state["calls"] += 1
        if isinstance(out, torch.Tensor):
            return sequences
        out.sequences = sequences
        return out

    Qwen2VLForConditionalGeneration.generate = generate


if os.environ.get(SCRIPT_ENV):  # loaded by `swift rlhf --external_plugins` for the scripted run
    install_scripted_generation(json.loads(os.environ[SCRIPT_ENV]))
