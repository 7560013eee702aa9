"""Generation backends behind one interface (:class:`~curate.coldstart.backends.base.Backend`)."""

from __future__ import annotations

from curate.coldstart.backends.base import Backend, BackendError, Completion, OutOfMemory, Request, SamplingParams

BACKENDS = ("hf", "vllm", "openai")


def make_backend(name: str, model: str, **options) -> Backend:
    """Build backend ``name`` for ``model`` (a local path, a Hub id, or an endpoint's model name)."""
    if name == "hf":
        from curate.coldstart.backends.hf import HFBackend

        return HFBackend(model, **options)
    if name == "vllm":
        from curate.coldstart.backends.vllm import VLLMBackend

        return VLLMBackend(model, **options)
    if name == "openai":
        from curate.coldstart.backends.openai import OpenAIBackend

        return OpenAIBackend(model, **options)
    raise BackendError(f"--backend {name!r}: one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "Completion",
    "OutOfMemory",
    "Request",
    "SamplingParams",
    "make_backend",
]
