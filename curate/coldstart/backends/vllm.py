"""vLLM offline-engine backend (the ``vllm`` extra; needs a GPU): the fast path for sampling.

Each request becomes one vLLM prompt ``{"prompt": chat_text, "multi_modal_data": {"video": frames}}``
(frames uint8 ``(T, H, W, C)``; no ``multi_modal_data`` for a blind prompt), where ``chat_text`` is the
model's own chat template applied by its transformers processor (a ``video`` entry, then the text).
One ``LLM.generate`` call per batch with ``SamplingParams(n=K, temperature, top_p, max_tokens, seed)``
returns K completions per prompt. vLLM is imported only when this backend is built.
"""

from __future__ import annotations

from curate.coldstart.backends.base import Backend, BackendError, Completion, OutOfMemory, Request, SamplingParams


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(
        self,
        model: str,
        dtype: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        **_: object,
    ) -> None:
        try:
            import vllm
            from transformers import AutoProcessor
        except ImportError:
            raise BackendError("--backend vllm needs vLLM: pip install 'videoqa-rl[vllm]' (on a GPU machine)") from None
        self.model_name, self.revision, self.dtype = model, revision, dtype or "auto"
        self._vllm = vllm
        try:
            self.processor = AutoProcessor.from_pretrained(
                model, revision=revision, trust_remote_code=trust_remote_code
            )
            self.llm = vllm.LLM(
                model=model,
                revision=revision,
                dtype=self.dtype,
                trust_remote_code=trust_remote_code,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                limit_mm_per_prompt={"video": 1},
            )
        except Exception as exc:
            raise BackendError(f"--model {model}: cannot load with vLLM ({_one_line(exc)})") from None

    def _prompt(self, request: Request) -> dict:
        content = ([{"type": "video"}] if request.frames is not None else []) + [{"type": "text", "text": request.text}]
        text = self.processor.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )
        prompt: dict = {"prompt": text}
        if request.frames is not None:
            prompt["multi_modal_data"] = {"video": request.frames}
        return prompt

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        sampling = self._vllm.SamplingParams(
            n=params.num_samples,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_new_tokens,
            seed=params.seed,
        )
        try:
            outputs = self.llm.generate([self._prompt(r) for r in requests], sampling_params=sampling, use_tqdm=False)
        except Exception as exc:
            if "out of memory" in str(exc).lower():
                raise OutOfMemory(_one_line(exc)) from None
            raise
        results = []
        for output in outputs:
            prompt_tokens = len(getattr(output, "prompt_token_ids", None) or [])
            results.append(
                [
                    Completion(
                        c.text, "length" if c.finish_reason == "length" else "stop", prompt_tokens, len(c.token_ids)
                    )
                    for c in output.outputs
                ]
            )
        return results

    def info(self) -> dict:
        return {
            "backend": "vllm",
            "model": self.model_name,
            "revision": self.revision,
            "dtype": self.dtype,
            "vllm": getattr(self._vllm, "__version__", None),
        }
