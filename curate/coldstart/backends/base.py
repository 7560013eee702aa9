"""The interface every generation backend implements; scoring, selection and writing never depend on
which backend produced a completion."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from curate.errors import UserError


class BackendError(UserError):
    """The model or endpoint cannot be used (missing model, unreachable endpoint): exit code 2."""


class OutOfMemory(RuntimeError):
    """The batch did not fit on the device; the stage halves the batch and retries."""


@dataclass(frozen=True)
class SamplingParams:
    num_samples: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 1024
    seed: int = 0


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
