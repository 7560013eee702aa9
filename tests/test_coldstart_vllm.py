"""The vLLM backend against vLLM's documented offline call convention. vLLM needs a GPU and is not
installed here, so a stand-in ``vllm`` module records the calls: LLM(...) construction, one
``generate`` per batch with ``{"prompt", "multi_modal_data": {"video": frames}}`` prompts and
``SamplingParams(n=K, …)``, and ``RequestOutput.outputs[i].text/finish_reason/token_ids``."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import numpy as np
import pytest
from tiny_vlm import build_tiny_qwen2vl

from curate.coldstart.backends import BackendError, Request, SamplingParams, make_backend


@dataclass
class _Out:
    text: str
    finish_reason: str
    token_ids: list = field(default_factory=list)


@dataclass
class _RequestOutput:
    prompt_token_ids: list
    outputs: list


class _FakeVLLM(types.ModuleType):
    def __init__(self):
        super().__init__("vllm")
        self.__version__ = "stand-in"
        self.calls: list = []
        module = self

        class SamplingParams:
            def __init__(self, **kw):
                self.kw = kw

        class LLM:
            def __init__(self, **kw):
                module.llm_kwargs = kw

            def generate(self, prompts, sampling_params, use_tqdm=True):
                module.calls.append((prompts, sampling_params.kw))
                n = sampling_params.kw["n"]
                return [
                    _RequestOutput(
                        [1, 2, 3],
                        [_Out(f"<answer>A</answer>{i}", "length" if i else "stop", [7] * (i + 1)) for i in range(n)],
                    )
                    for _ in prompts
                ]

        self.SamplingParams, self.LLM = SamplingParams, LLM


@pytest.fixture
def fake_vllm(monkeypatch):
    module = _FakeVLLM()
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny") / "model")


@pytest.mark.slow
def test_generate_follows_the_offline_convention(fake_vllm, tiny_model):
    backend = make_backend("vllm", tiny_model, dtype="bfloat16")
    assert fake_vllm.llm_kwargs["model"] == tiny_model and fake_vllm.llm_kwargs["limit_mm_per_prompt"] == {"video": 1}
    frames = np.zeros((4, 56, 56, 3), dtype=np.uint8)
    out = backend.generate(
        [Request("a", "Q1?", frames), Request("b", "Q2?", None)],
        SamplingParams(num_samples=3, temperature=0.7, top_p=0.9, max_new_tokens=12, seed=5),
    )
    prompts, sampling = fake_vllm.calls[0]
    assert len(fake_vllm.calls) == 1  # one generate per batch
    assert sampling == {"n": 3, "temperature": 0.7, "top_p": 0.9, "max_tokens": 12, "seed": 5}
    assert prompts[0]["multi_modal_data"]["video"] is frames and "multi_modal_data" not in prompts[1]
    assert "<|video_pad|>" in prompts[0]["prompt"] and "<|video_pad|>" not in prompts[1]["prompt"]
    assert "Q1?" in prompts[0]["prompt"]
    assert [len(x) for x in out] == [3, 3]
    assert [c.finish_reason for c in out[0]] == ["stop", "length", "length"]
    assert out[0][2].completion_tokens == 3 and out[0][0].prompt_tokens == 3
    assert backend.info()["backend"] == "vllm"


def test_missing_vllm_is_a_one_line_error(monkeypatch, tiny_model):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import fails
    with pytest.raises(BackendError, match="needs vLLM"):
        make_backend("vllm", tiny_model)
