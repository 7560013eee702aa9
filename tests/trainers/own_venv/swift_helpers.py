"""Helpers for the ms-swift tier (``test_swift.py``), and a test-only ms-swift plugin.

- :func:`build_tiny_swift_qwen2vl`: a tiny random Qwen2-VL on disk whose special tokens sit at Qwen2-VL's
  real ids (``<|image_pad|>`` = 151655, ``<|video_pad|>`` = 151656): ms-swift's ``Qwen2VLTemplate``
  hard-codes them, so the project's compact tiny model (``curate.coldstart.tiny_model``, specials at
  0…6) cannot be used with it. Same tokenizer corpus and chat template as the project's builder.
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

QWEN_SPECIALS = [  # ids 151643… in Qwen2's order
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
FIRST_SPECIAL = 151643

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


def _tokenizer():
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    from curate.coldstart.tiny_model import CORPUS, QWEN2VL_CHAT_TEMPLATE

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    state = json.loads(tok.to_str())
    vocab = state["model"]["vocab"]
    for i in range(len(vocab), FIRST_SPECIAL):  # unreachable fillers (no merge builds them) up to Qwen's ids
        vocab[f"\u0100\u0100filler{i}"] = i
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["model"]["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIALS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        model_max_length=32768,
        chat_template=QWEN2VL_CHAT_TEMPLATE,
    )
    for i, token in enumerate(QWEN_SPECIALS):
        assert fast.convert_tokens_to_ids(token) == FIRST_SPECIAL + i, token
    return fast


def build_tiny_swift_qwen2vl(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a tiny random Qwen2-VL (2 text layers, 1 vision block, ~20M parameters, most of them the
    151657-row embedding) with its processor to ``path``; frames are capped at 56×56 pixels."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    from curate.coldstart.tiny_model import QWEN2VL_CHAT_TEMPLATE

    path = Path(path)
    tok = _tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN_SPECIALS}
    hidden = 64
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tok),
            "hidden_size": hidden,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 32768,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": hidden,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
    )
    pixels = {"min_pixels": 28 * 28, "max_pixels": 56 * 56, "patch_size": 14, "temporal_patch_size": 2,
              "merge_size": 2}
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels),
        video_processor=Qwen2VLVideoProcessor(**pixels),
        tokenizer=tok,
        chat_template=QWEN2VL_CHAT_TEMPLATE,
    )
    path.mkdir(parents=True, exist_ok=True)
    processor.save_pretrained(path)
    model.save_pretrained(path)
    return path


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
