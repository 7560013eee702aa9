"""``openai`` backend: any OpenAI-compatible chat endpoint (a vLLM or SGLang server hosting a large teacher),
through the ``openai`` SDK (``pip install 'videoqa-rl[coldstart-openai]'``).

One ``client.chat.completions.create`` per request on one shared, thread-safe :class:`openai.OpenAI` client:

- the user message carries one ``image_url`` part per frame (``data:image/jpeg;base64,…``, encoded with
  :func:`curate.frames.encode.encode_frame`), then the text part; ``n``, ``temperature``, ``top_p``,
  ``max_tokens`` and ``seed`` come from :class:`SamplingParams`;
- requests run on a thread pool of ``concurrency`` workers, so at most ``concurrency`` HTTP requests are
  in flight (top-up requests run on the same worker as the request they complete);
- retries are the SDK's (``max_retries`` of them): connection errors, timeouts, 408, 409, 429 and 5xx are
  retried after ``min(0.5 · 2**attempt, 8)`` seconds less up to 25 % jitter; a ``Retry-After`` (or
  ``retry-after-ms``) header between 0 and 120 seconds replaces that delay, a longer one stops the retries.
  Any other 4xx is not retried;
- a server that returns fewer than ``n`` choices (some ignore ``n``) is asked again for the rest, with the
  seed moved on by the number of completions already collected, so the extra samples differ;
- a request that still fails yields ``num_samples`` completions with ``finish_reason="error"`` and empty
  text: to the rewards it is just a sample that scored nothing.

Reachability rule: the first :meth:`OpenAIBackend.generate` call (or an explicit :meth:`OpenAIBackend.check`)
lists the endpoint's models (``GET {base_url}/models``) with the same retries. If the endpoint cannot be
reached, rejects the key (401/403), or lists models that do not include ``model``, it raises
:class:`BackendError` with a one-line message naming the URL (the CLI prints it and exits with code 2). A
server without ``/models`` (404) is accepted. After that check, failures only turn into error completions.

The API key is read from the environment variable ``api_key_env`` (if set) and sent as
``Authorization: Bearer …`` (no header at all without a key); it is held in a wrapper whose ``repr`` is
redacted and handed to the SDK as a callable, and never appears in :meth:`info`, log records or error
messages (a server that echoes it back has it scrubbed from the warning).
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from curate.coldstart.backends.base import Backend, BackendError, Completion, Request, SamplingParams
from curate.extras import require

openai = require("coldstart-openai", "openai")

log = logging.getLogger(__name__)

JPEG_QUALITY = 90
MODELS_TIMEOUT = 60.0  # seconds: cap on the reachability check's timeout

_STOP_REASONS = frozenset({"stop", "eos", "eos_token", "end_turn", "stop_sequence", "tool_calls", "function_call"})
_LENGTH_REASONS = frozenset({"length", "max_tokens", "max_length", "model_length"})


class _Secret:
    """A string that never shows itself in ``repr``/``str`` (so not in ``__dict__`` dumps or tracebacks);
    calling it returns the value (the SDK's ``api_key`` provider)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


def _safe_url(url: str) -> str:
    """``url`` without user-info, query or fragment (nothing secret reaches info() or messages)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _normalise_finish_reason(reason) -> str:
    if reason is None:
        return "stop"
    reason = str(reason).lower()
    if reason in _STOP_REASONS:
        return "stop"
    if reason in _LENGTH_REASONS:
        return "length"
    return "error"  # content_filter, abort, error, …


def _message_text(message) -> str:
    """The choice's text; content given as parts is joined; a separate ``reasoning_content`` (vLLM/SGLang
    reasoning parsers) is put back in front as ``<think>…</think>`` so the format reward sees it."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    content = content if isinstance(content, str) else ""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning.strip() and "<think>" not in content:
        content = f"<think>{reasoning}</think>{content}"
    return content


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(max(int(total), 0), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _error_completions(k: int) -> list[Completion]:
    return [Completion(text="", finish_reason="error") for _ in range(k)]


def _one_line(text: str, limit: int = 200) -> str:
    return " ".join(str(text).split())[:limit]


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str = "http://127.0.0.1:8000/v1",
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 600.0,
    ) -> None:
        if not model:
            raise BackendError("--model: the endpoint's model name is required for the openai backend")
        parts = urllib.parse.urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendError(f"--base-url {_safe_url(base_url or '')!r}: expected an http(s) URL")
        if int(concurrency) < 1:
            raise BackendError(f"--concurrency {concurrency}: must be at least 1")
        if int(max_retries) < 0:
            raise BackendError(f"--max-retries {max_retries}: must be 0 or more")
        if not float(timeout) > 0:
            raise BackendError(f"--timeout {timeout}: must be positive")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.concurrency = int(concurrency)
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        key = os.environ.get(api_key_env) if api_key_env else None
        self._key = _Secret(key) if key else None
        # Without a key the SDK would refuse to send; an explicitly omitted header is its way to send none.
        self._headers = {} if self._key is not None else {"Authorization": openai.Omit()}
        self._client = openai.OpenAI(
            api_key=self._key or _Secret(""),
            base_url=self.base_url,
            max_retries=self.max_retries,
            timeout=self.timeout,
        )
        self._checked = False
        self._check_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={_safe_url(self.base_url)!r})"

    # -- public -------------------------------------------------------------------------------------

    def info(self) -> dict:
        return {
            "backend": self.name,
            "model": self.model,
            "base_url": _safe_url(self.base_url),
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "api_key_env": self.api_key_env,
            "api_key_set": self._key is not None,
        }

    def close(self) -> None:
        self._client.close()

    def check(self) -> None:
        """List the endpoint's models; :class:`BackendError` (one line, naming the URL) when the endpoint
        cannot be used. Runs once; :meth:`generate` calls it before its first request."""
        with self._check_lock:
            if self._checked:
                return
            where = _safe_url(f"{self.base_url}/models")
            base = _safe_url(self.base_url)
            try:
                page = self._client.models.list(extra_headers=self._headers, timeout=min(self.timeout, MODELS_TIMEOUT))
            except (openai.NotFoundError, openai.APIResponseValidationError):
                # no /models, or an answer that is not a model list: the chat calls will tell
                self._checked = True
                return
            except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
                hint = f"set {self.api_key_env}" if self._key is None else f"check {self.api_key_env}"
                raise BackendError(
                    f"openai endpoint {where} refused the API key (HTTP {error.status_code}): {hint}"
                ) from None
            except openai.APIConnectionError as error:
                raise BackendError(f"openai endpoint {base} is unreachable: {self._describe(error, where)}") from None
            except openai.APIError as error:
                raise BackendError(f"openai endpoint {base} cannot be used: {self._describe(error, where)}") from None
            data = getattr(page, "data", None)
            ids = [m.id for m in data or [] if isinstance(getattr(m, "id", None), str)]
            if ids and self.model not in ids:
                raise BackendError(
                    f"openai endpoint {where} does not serve model {self.model!r}; it serves: {', '.join(ids)}"
                )
            self._checked = True

    def generate(self, requests: list[Request], params: SamplingParams) -> list[list[Completion]]:
        if not requests:
            return []
        self.check()
        if params.num_samples < 1:
            return [[] for _ in requests]
        if len(requests) == 1 or self.concurrency == 1:
            return [self._one(request, params) for request in requests]
        executor = ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests)), thread_name_prefix="openai")
        try:
            futures = [executor.submit(self._one, request, params) for request in requests]
            return [future.result() for future in futures]
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    # -- one request --------------------------------------------------------------------------------

    def _content(self, request: Request) -> list[dict]:
        from curate.frames.encode import encode_frame

        parts = []
        frames = request.frames
        if frames is not None:
            frames = np.asarray(frames)
            if frames.ndim == 3:  # a single H×W×C frame
                frames = frames[None]
            for frame in frames:
                data = base64.b64encode(encode_frame(frame, "jpeg", JPEG_QUALITY)).decode("ascii")
                parts.append({"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}})
        parts.append({"type": "text", "text": request.text})
        return parts

    def _one(self, request: Request, params: SamplingParams) -> list[Completion]:
        k = params.num_samples
        messages = [{"role": "user", "content": self._content(request)}]
        where = _safe_url(f"{self.base_url}/chat/completions")
        collected: list[Completion] = []
        # Bounded: each round either adds at least one completion or ends the loop.
        while len(collected) < k:
            want = k - len(collected)
            try:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    n=want,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    max_tokens=params.max_new_tokens,
                    seed=params.seed + len(collected),
                    extra_headers=self._headers,
                )
            except openai.APIError as error:
                log.warning("openai: request %r failed: %s", request.id, self._describe(error, where))
                break
            got = self._completions(response.to_dict() if hasattr(response, "to_dict") else None)
            if not got:
                log.warning("openai: request %r: response had no usable choices", request.id)
                break
            collected.extend(got[:want])
        return collected + _error_completions(k - len(collected))

    @staticmethod
    def _completions(body) -> list[Completion]:
        """The choices of a chat completion as a plain dict (the SDK's model with the server's extra
        fields, such as ``reasoning_content``); fields a server leaves out get safe defaults."""
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
            return []
        choices = [c for c in body["choices"] if isinstance(c, dict)]
        if not choices:
            return []
        if all(isinstance(c.get("index"), int) for c in choices):
            choices.sort(key=lambda c: c["index"])
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        prompt_tokens = usage.get("prompt_tokens") if isinstance(usage.get("prompt_tokens"), int) else 0
        completion_tokens = usage.get("completion_tokens") if isinstance(usage.get("completion_tokens"), int) else 0
        shares = _split(completion_tokens, len(choices))
        return [
            Completion(
                text=_message_text(choice.get("message")),
                finish_reason=_normalise_finish_reason(choice.get("finish_reason")),
                prompt_tokens=prompt_tokens,
                completion_tokens=share,
            )
            for choice, share in zip(choices, shares, strict=True)
        ]

    # -- messages -----------------------------------------------------------------------------------

    def _describe(self, error: Exception, where: str) -> str:
        """One line for an SDK error, with the key scrubbed should a server echo it back."""
        if isinstance(error, openai.APIStatusError):
            detail = _one_line(getattr(error.response, "text", "") or "")
            text = f"HTTP {error.status_code} from {where}" + (f": {detail}" if detail else "")
        elif isinstance(error, openai.APITimeoutError):
            text = f"connection to {where} timed out"
        elif isinstance(error, openai.APIConnectionError):
            cause = error.__cause__
            text = f"cannot connect to {where} ({_one_line(cause or error) or type(cause).__name__})"
        else:
            text = f"{where}: {_one_line(error)}"
        return text.replace(self._key(), "<redacted>") if self._key is not None else text
