"""A tiny random Qwen2-VL built on disk, so the ``hf`` backend runs end to end on CPU (tests, the demo) without
the Hub: a config with a 2-layer text model and a 1-block vision tower, a byte-level BPE tokenizer
trained on the fly with the special tokens the Qwen2-VL chat template and processor need, Qwen2-VL's
chat template, and image/video processors capped at 56×56 pixels per frame.

``build_tiny_qwen2vl(path)`` writes everything to ``path`` (loadable with ``AutoProcessor`` and
``AutoModelForImageTextToText``) and returns it as a string; calling it again for the same path reuses
what is there.
"""

from __future__ import annotations

import json
from pathlib import Path

# Qwen2-VL-Instruct's chat template (as shipped in its tokenizer_config.json / chat_template.json).
QWEN2VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# ids 0..N-1 in this order (the BPE trainer puts special tokens first)
SPECIAL_TOKENS = [
    "<|endoftext|>",  # also the pad token, as in Qwen2-VL
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Qwen2-VL's own special tokens in its order, from id QWEN_FIRST_SPECIAL (<|image_pad|> = 151655,
# <|video_pad|> = 151656): for trainers that hard-code those ids (ms-swift's Qwen2VLTemplate)
QWEN_SPECIAL_TOKENS = [
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
QWEN_FIRST_SPECIAL = 151643

CORPUS = [
    "Output the thinking process in <think> </think> and final answer (option) in <answer> </answer> tags.",
    "<think> let me think about the video. The person opens the door, then walks to the table. </think>",
    "<answer> A </answer> <answer> B </answer> <answer> C </answer> <answer> D </answer>",
    "What is the man doing after he picks up the cup? A. drinking B. running C. reading D. sleeping",
    "You are a helpful assistant. system user assistant Hmm, wait, oh, I see, let's break it down.",
    "Please provide only the single option letter (e.g., A, B, C, D, etc.) within the tags.",
    "Why did the girl laugh at the end of the video? Options: the dog jumped, the ball rolled away.",
    "0 1 2 3 4 5 6 7 8 9 yes no red blue green left right before after because first second",
]

# frame sizes run through the processors at most 56×56 (4×4 patches → 2×2 merged tokens per 2 frames)
MAX_PIXELS = 56 * 56
MIN_PIXELS = 28 * 28


def _tokenizer(qwen_ids: bool = False):
    """A byte-level BPE tokenizer trained on :data:`CORPUS` (400 tokens) with Qwen2-VL's chat template.
    Its special tokens are :data:`SPECIAL_TOKENS` at ids 0…6, or with ``qwen_ids`` Qwen2-VL's own
    (:data:`QWEN_SPECIAL_TOKENS` from id 151643, the ids between them unreachable fillers)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=[] if qwen_ids else SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    if qwen_ids:
        state = json.loads(tok.to_str())
        vocab = state["model"]["vocab"]
        for i in range(len(vocab), QWEN_FIRST_SPECIAL):  # fillers no merge builds, up to Qwen's first special
            vocab[f"\u0100\u0100filler{i}"] = i
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["model"]["merges"]]
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=None))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIAL_TOKENS])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
        model_max_length=32768 if qwen_ids else 4096,
        chat_template=QWEN2VL_CHAT_TEMPLATE,
    )
    if qwen_ids:
        for i, token in enumerate(QWEN_SPECIAL_TOKENS):
            assert fast.convert_tokens_to_ids(token) == QWEN_FIRST_SPECIAL + i, token
    return fast


def build_tiny_qwen2vl(path: str | Path, seed: int = 0, qwen_ids: bool = False) -> str:
    """Write a tiny random Qwen2-VL (2 text layers of width 64, 1 vision block) with its processor to
    ``path`` and return ``str(path)``; frames are capped at 56×56 pixels. ``qwen_ids``: special tokens at
    Qwen2-VL's real ids (:func:`_tokenizer`; most of the parameters are then the 151657-row embedding)."""
    path = Path(path)
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        return str(path)
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = _tokenizer(qwen_ids)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vocab = len(tokenizer)
    hidden, heads = 64, 4  # head_dim 16 → mrope sections sum to 8
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": vocab,
            "hidden_size": hidden,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": heads,
            "num_key_value_heads": 2,
            "max_position_embeddings": tokenizer.model_max_length,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": hidden,  # the merger projects to the text width
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
    processor_kwargs = {
        "min_pixels": MIN_PIXELS,
        "max_pixels": MAX_PIXELS,
        "patch_size": 14,
        "temporal_patch_size": 2,
        "merge_size": 2,
    }
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(**processor_kwargs),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**processor_kwargs, cap_pixels_per_frame=True),
        chat_template=QWEN2VL_CHAT_TEMPLATE,
    )
    path.mkdir(parents=True, exist_ok=True)
    processor.save_pretrained(path)
    model.save_pretrained(path)
    return str(path)


if __name__ == "__main__":  # python tests/tiny_vlm.py DIR
    import sys

    print(build_tiny_qwen2vl(sys.argv[1]))
