"""The ``hf`` backend: a vision-language model run in-process with transformers.

``AutoProcessor`` + ``AutoModelForImageTextToText`` (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, LLaVA-OneVision,
SmolVLM2-class models). Each request becomes one user turn of the model's own chat template: a video
entry (when the request has frames) followed by the text. The frames go to the processor as the video
input (one ``(T, H, W, C)`` uint8 array per video, ``do_sample_frames=False``: they were sampled
upstream). A batch is left-padded and sampled with ONE ``model.generate`` call with
``num_return_sequences=K``, so questions and samples share the forward passes.

Sampling uses exactly the requested temperature/top_p/max_new_tokens: the sampling defaults a
checkpoint ships in ``generation_config.json`` (Qwen2-VL-Instruct's ``top_k=1``,
``repetition_penalty=1.05``, …) are dropped, otherwise ``top_k=1`` would make all K samples identical;
``info()["dropped_generation_defaults"]`` lists what was dropped.

Errors: a missing local model or an unloadable one raises :class:`BackendError` (one line, exit 2); a
model given as a path that exists is loaded with ``local_files_only=True``, a string that cannot be a
Hub id (absolute, ``./``, ``~``, more than one ``/``) is never looked up on the Hub. CUDA out of memory
raises :class:`OutOfMemory` (the stage halves the batch). A request whose frames are not a
``(T, H, W, 3)`` array, or that fails on its own when a batch fails, gets ``finish_reason="error"``
completions.
"""

from __future__ import annotations

import gc
import logging
import re
from pathlib import Path

import numpy as np

from curate.coldstart.backends.base import (
    Backend,
    BackendError,
    Completion,
    OutOfMemory,
    Request,
    SamplingParams,
)

log = logging.getLogger(__name__)

DTYPES = {
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
    "half": "float16",
    "fp32": "float32",
    "float32": "float32",
    "float": "float32",
    "auto": "auto",
}
# generation_config fields that carry token ids or cache settings, kept when the sampling defaults are dropped
KEEP_GENERATION_FIELDS = (
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "decoder_start_token_id",
    "cache_implementation",
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_SNAPSHOT = re.compile(r"^[0-9a-f]{40}$")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def looks_like_hub_id(model: str) -> bool:
    """``name`` or ``org/name``, and not spelled like a filesystem path."""
    if model.startswith((".", "/", "~")) or "\\" in model or model.endswith("/"):
        return False
    return bool(_HUB_ID.match(model))


def _git_head(path: Path) -> str | None:
    """The commit checked out in ``path`` when it is itself a git clone (not a folder inside one)."""
    git = path / ".git"
    try:
        if git.is_file():  # worktree / submodule: "gitdir: …"
            target = git.read_text().strip().removeprefix("gitdir:").strip()
            git = (path / target).resolve()
        if not git.is_dir():
            return None
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head if _SNAPSHOT.match(head) else None
        ref = head.removeprefix("ref:").strip()
        if (git / ref).is_file():
            return (git / ref).read_text().strip() or None
        packed = git / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    except OSError:
        return None
    return None


def _local_revision(path: Path) -> str | None:
    """The commit of a local model folder: a Hub cache snapshot (``…/snapshots/<sha>``) or a git clone."""
    resolved = path.resolve()
    if resolved.parent.name == "snapshots" and _SNAPSHOT.match(resolved.name):
        return resolved.name
    return _git_head(resolved)


class HFBackend(Backend):
    name = "hf"

    def __init__(
        self,
        model: str,
        device: str | None = None,
        dtype: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
    ):
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise BackendError(f"the hf backend needs torch and transformers ({_one_line(exc)})") from None
        self._torch = torch
        self.model_name = str(model)
        self.trust_remote_code = trust_remote_code
        self.requested_revision = revision
        self.transformers_version = transformers.__version__

        path = Path(self.model_name).expanduser()
        self.local = path.exists()
        if not self.local and not looks_like_hub_id(self.model_name):
            raise BackendError(f"--model {self.model_name}: no such file or directory")

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.device == "auto" and not torch.cuda.is_available():
            self.device = "cpu"
        on_cuda = self.device.startswith("cuda") or self.device == "auto"
        if on_cuda and not torch.cuda.is_available():
            raise BackendError(f"--device {self.device}: CUDA is not available")
        if dtype is None:
            dtype = "bfloat16" if on_cuda and torch.cuda.is_bf16_supported() else ("float16" if on_cuda else "float32")
        if dtype.lower() not in DTYPES:
            raise BackendError(f"--dtype {dtype}: one of {', '.join(sorted(DTYPES))}")
        self.dtype_name = DTYPES[dtype.lower()]
        torch_dtype = "auto" if self.dtype_name == "auto" else getattr(torch, self.dtype_name)

        source = str(path) if self.local else self.model_name
        common = {"trust_remote_code": trust_remote_code, "revision": revision}
        if self.local:
            common["local_files_only"] = True
        try:
            self.processor = transformers.AutoProcessor.from_pretrained(source, **common)
        except Exception as exc:  # noqa: BLE001 - any loading failure is the user's to fix
            raise BackendError(f"--model {self.model_name}: cannot load the processor ({_one_line(exc)})") from None
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        if not (getattr(self.processor, "chat_template", None) or getattr(self.tokenizer, "chat_template", None)):
            raise BackendError(f"--model {self.model_name}: the processor has no chat template")
        self.tokenizer.padding_side = "left"

        self.attn_implementation = None
        self.model = self._load_model(transformers, source, common, torch_dtype, on_cuda)
        self.model.eval()
        self.dtype_name = str(self.model.dtype).removeprefix("torch.")
        self.input_device = self.model.device
        # a commit hash when one is known (the one asked for, the snapshot/clone loaded, the one the Hub
        # resolved), else the branch or tag asked for, else None
        known = [
            revision if revision and _SNAPSHOT.match(revision) else None,
            _local_revision(path) if self.local else None,
            getattr(self.model.config, "_commit_hash", None),
            revision,
        ]
        self.revision = next((r for r in known if r), None)
        self._take_generation_defaults(transformers)

    # -- loading -------------------------------------------------------------------------------------------

    def _load_model(self, transformers, source: str, common: dict, torch_dtype, on_cuda: bool):
        from transformers.utils import is_flash_attn_2_available

        attempts = ["sdpa", "eager"]
        if on_cuda and is_flash_attn_2_available() and self.dtype_name in ("bfloat16", "float16"):
            attempts.insert(0, "flash_attention_2")
        classes = [transformers.AutoModelForImageTextToText]
        if self.trust_remote_code:  # e.g. TinyLLaVA-Video registers only an AutoModelForCausalLM
            classes.append(transformers.AutoModelForCausalLM)
        kwargs = {**common, "dtype": torch_dtype}
        if self.device == "auto" or on_cuda:
            kwargs["device_map"] = self.device
        last: Exception | None = None
        for cls in classes:
            for attn in attempts:
                try:
                    model = cls.from_pretrained(source, attn_implementation=attn, **kwargs)
                except (ValueError, ImportError) as exc:
                    last = exc
                    msg = str(exc).lower()
                    if "attn" in msg or "attention" in msg or "flash" in msg or "sdpa" in msg:
                        continue  # this attention implementation is not supported: try the next
                    break  # e.g. an unrecognized configuration class: try the next model class
                except Exception as exc:  # noqa: BLE001
                    raise BackendError(f"--model {self.model_name}: cannot load the model ({_one_line(exc)})") from None
                self.attn_implementation = attn
                if "device_map" not in kwargs:
                    model = model.to(self.device)
                return model
        raise BackendError(f"--model {self.model_name}: cannot load the model ({_one_line(last)})")

    def _take_generation_defaults(self, transformers) -> None:
        """Keep the checkpoint's token ids, drop its sampling defaults (see the module docstring)."""
        shipped = self.model.generation_config
        self.dropped_generation_defaults = {
            k: v
            for k, v in shipped.to_diff_dict().items()
            if k not in KEEP_GENERATION_FIELDS and k != "transformers_version" and not k.startswith("_")
        }
        kept = {k: getattr(shipped, k, None) for k in KEEP_GENERATION_FIELDS}
        self.model.generation_config = transformers.GenerationConfig(**{k: v for k, v in kept.items() if v is not None})

        eos = kept["eos_token_id"]
        eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        if getattr(self.tokenizer, "eos_token_id", None) is not None:
            eos_ids.add(self.tokenizer.eos_token_id)
        self.eos_ids = sorted(eos_ids)
        pad = kept["pad_token_id"]
        if pad is None:
            pad = getattr(self.tokenizer, "pad_token_id", None)
        if pad is None and self.eos_ids:
            pad = self.eos_ids[0]
        self.pad_id = pad

    # -- generation ----------------------------------------------------------------------------------------

    def _messages(self, request: Request) -> list[dict]:
        content = [] if request.frames is None else [{"type": "video"}]
        content.append({"type": "text", "text": request.text})
        return [{"role": "user", "content": content}]

    @staticmethod
    def _frames_problem(frames) -> str | None:
        if frames is None:
            return None
        if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
            return f"frames must be a (T, H, W, 3) array, got {getattr(frames, 'shape', type(frames).__name__)}"
        return None

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        k = params.num_samples
        results: list[list[Completion] | None] = [None] * len(requests)
        todo = []
        for i, req in enumerate(requests):
            problem = self._frames_problem(req.frames)
            if problem:
                log.warning("request %s: %s", req.id, problem)
                results[i] = [Completion("", "error") for _ in range(k)]
            else:
                todo.append(i)
        if todo:
            try:
                for i, out in zip(todo, self._generate_batch([requests[i] for i in todo], params), strict=True):
                    results[i] = out
            except (OutOfMemory, BackendError):
                raise
            except Exception as exc:  # noqa: BLE001 - find which request fails, one at a time
                if len(todo) == 1:
                    raise BackendError(f"--model {self.model_name}: generation failed ({_one_line(exc)})") from None
                log.warning("batch of %d failed (%s); retrying one request at a time", len(todo), _one_line(exc))
                failures = []
                for i in todo:
                    try:
                        results[i] = self._generate_batch([requests[i]], params)[0]
                    except (OutOfMemory, BackendError):
                        raise
                    except Exception as one:  # noqa: BLE001
                        log.warning("request %s: %s", requests[i].id, _one_line(one))
                        failures.append(one)
                        results[i] = [Completion("", "error") for _ in range(k)]
                if len(failures) == len(todo):  # nothing works: the model, not the requests
                    raise BackendError(
                        f"--model {self.model_name}: generation failed ({_one_line(failures[0])})"
                    ) from None
        return results  # type: ignore[return-value]

    def _generate_batch(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        torch = self._torch
        k = params.num_samples
        texts = [
            self.processor.apply_chat_template(self._messages(r), tokenize=False, add_generation_prompt=True)
            for r in requests
        ]
        videos = [np.ascontiguousarray(r.frames, dtype=np.uint8) for r in requests if r.frames is not None]
        call = {"text": texts, "padding": True, "return_tensors": "pt"}
        if videos:
            if getattr(self.processor, "video_processor", None) is None:
                raise BackendError(f"--model {self.model_name}: the processor takes no video input")
            call["videos"] = videos
            call["do_sample_frames"] = False
        try:
            inputs = self.processor(**call)
            inputs = {
                key: (
                    value.to(self.input_device, dtype=self.model.dtype)
                    if value.is_floating_point()
                    else value.to(self.input_device)
                )
                if torch.is_tensor(value)
                else value
                for key, value in inputs.items()
            }
            # greedy decoding gives K identical samples: decode once, repeat it
            per_request = k if params.temperature > 0 else 1
            gen = {
                "max_new_tokens": params.max_new_tokens,
                "num_return_sequences": per_request,
                "pad_token_id": self.pad_id,
            }
            if self.eos_ids:
                gen["eos_token_id"] = self.eos_ids
            if params.temperature > 0:
                gen.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
            else:
                gen["do_sample"] = False
            torch.manual_seed(params.seed)
            with torch.inference_mode():
                out = self.model.generate(**inputs, **gen)
        except torch.cuda.OutOfMemoryError as exc:
            self._free()
            raise OutOfMemory(_one_line(exc)) from None
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                self._free()
                raise OutOfMemory(_one_line(exc)) from None
            raise

        prompt_len = inputs["input_ids"].shape[1]
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        new = out[:, prompt_len:].cpu()
        eos = torch.tensor(self.eos_ids, dtype=new.dtype) if self.eos_ids else None
        completions: list[list[Completion]] = []
        for i in range(len(requests)):
            row_completions = []
            for j in range(k):
                row = new[i * per_request + j % per_request]
                stop = None
                if eos is not None and row.numel():
                    hits = torch.isin(row, eos).nonzero()
                    stop = int(hits[0]) if hits.numel() else None
                tokens = row if stop is None else row[:stop]
                text = self.tokenizer.decode(tokens.tolist(), skip_special_tokens=True)
                row_completions.append(
                    Completion(
                        text=text,
                        finish_reason="length" if stop is None else "stop",
                        prompt_tokens=int(prompt_tokens[i]),
                        completion_tokens=int(row.numel() if stop is None else stop + 1),
                    )
                )
            completions.append(row_completions)
        return completions

    def _free(self) -> None:
        gc.collect()
        if self._torch.cuda.is_available():
            self._torch.cuda.empty_cache()

    # -- bookkeeping ---------------------------------------------------------------------------------------

    def info(self) -> dict:
        return {
            "backend": self.name,
            "model": self.model_name,
            "revision": self.revision,
            "dtype": self.dtype_name,
            "device": str(self.input_device) if self.device != "auto" else "auto",
            "attn_implementation": self.attn_implementation,
            "trust_remote_code": self.trust_remote_code,
            "transformers": self.transformers_version,
            "dropped_generation_defaults": self.dropped_generation_defaults,
        }

    def close(self) -> None:
        for attr in ("model", "processor", "tokenizer"):
            if hasattr(self, attr):
                delattr(self, attr)
        self._free()
