"""The interface every generation backend implements; scoring, selection and writing never depend on
which backend produced a completion."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from curate.errors import UserError
from curate.options import config, option


class BackendError(UserError):
    """The model or endpoint cannot be used (missing model, unreachable endpoint): exit code 2."""


class OutOfMemory(RuntimeError):
    """The batch did not fit on the device; the stage halves the batch and retries."""


@config(frozen=True)
class SamplingParams:
    num_samples: int = option(8, "Completions per question (K).", ge=1, le=4096)
    temperature: float = option(1.0, "Sampling temperature (0: greedy).", ge=0)
    top_p: float = option(1.0, "Nucleus sampling: keep the smallest token set with this probability.", gt=0, le=1)
    max_new_tokens: int = option(1024, "Tokens per completion at most.", ge=1)
    seed: int = option(0, "Sampling seed.")


def _dtypes() -> tuple[str, ...]:
    from curate.coldstart.backends.hf import DTYPES

    return tuple(DTYPES)


@config(frozen=True)
class BackendOptions:
    """The options of the generation backends; :meth:`for_backend` gives the ones a backend takes."""

    device: str | None = option(
        None, "hf: cuda, cuda:N, cpu, mps or auto (default: cuda if any).", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$"
    )
    dtype: str | None = option(None, "hf, vllm: weight dtype (default: bfloat16 on GPU).", choices=_dtypes)
    trust_remote_code: bool = option(False, "hf, vllm: run the model's own code.")
    revision: str | None = option(None, "hf, vllm: model revision (branch, tag or commit).")
    base_url: str = option("http://127.0.0.1:8000/v1", "openai: endpoint base URL.", pattern=r"^https?://\S+$")
    api_key_env: str = option("OPENAI_API_KEY", "openai: environment variable holding the key.", min_length=1)
    concurrency: int = option(8, "openai: requests in flight.", ge=1, le=4096)

    def for_backend(self, backend: str) -> dict:
        """The keyword arguments of ``backend``'s constructor."""
        if backend == "openai":
            return {"base_url": self.base_url, "api_key_env": self.api_key_env, "concurrency": self.concurrency}
        return {
            "device": self.device,
            "dtype": self.dtype,
            "trust_remote_code": self.trust_remote_code,
            "revision": self.revision,
        }


@dataclass
class Request:
    """One question to answer: the rendered user text and its frames (uint8 ``(T, H, W, C)``; ``None``
    for a blind prompt)."""

    id: str
    text: str
    frames: np.ndarray | None = None


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop", "length" or "error"
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Backend(ABC):
    name = "base"

    @abstractmethod
    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        """``params.num_samples`` completions for each request, in request order. Raises
        :class:`OutOfMemory` when the batch does not fit; any other per-request failure becomes a
        completion with ``finish_reason="error"``."""

    @abstractmethod
    def info(self) -> dict:
        """What to record in run.json: model, revision, dtype, device, … (never secrets)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model or connections."""
