"""``openai`` backend: any OpenAI-compatible chat endpoint (a vLLM or SGLang server hosting a large teacher).

One ``POST {base_url}/chat/completions`` per request, standard library only (``urllib.request``):

- the user message carries one ``image_url`` part per frame (``data:image/jpeg;base64,…``, encoded with
  :func:`curate.frames.encode.encode_frame`), then the text part; ``n``, ``temperature``, ``top_p``,
  ``max_tokens`` and ``seed`` come from :class:`SamplingParams`;
- requests run on a thread pool of ``concurrency`` workers, so at most ``concurrency`` HTTP requests are
  in flight (top-up requests run on the same worker as the request they complete);
- connection errors, timeouts, 408, 429 and 5xx are retried up to ``max_retries`` times with exponential
  backoff (``backoff · 2**attempt`` seconds, capped, plus up to 10 % jitter); a ``Retry-After`` header
  (seconds or an HTTP date) replaces the computed delay. Any other 4xx is not retried;
- a server that returns fewer than ``n`` choices (some ignore ``n``) is asked again for the rest, with the
  seed moved on by the number of completions already collected, so the extra samples differ;
- a request that still fails yields ``num_samples`` completions with ``finish_reason="error"`` and empty
  text: to the rewards it is just a sample that scored nothing.

Reachability rule: the first :meth:`OpenAIBackend.generate` call (or an explicit :meth:`OpenAIBackend.check`)
does ``GET {base_url}/models`` with the same retry policy. If the endpoint cannot be reached, rejects the
key (401/403), or lists models that do not include ``model``, it raises :class:`BackendError` with a
one-line message naming the URL (the CLI prints it and exits with code 2). A server without ``/models``
(404) is accepted. After that check, failures only turn into error completions.

The API key is read from the environment variable ``api_key_env`` (if set) and sent as
``Authorization: Bearer …``; it is held in a wrapper whose ``repr`` is redacted and never appears in
:meth:`info`, log records or error messages.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import numpy as np

from curate.coldstart.backends.base import Backend, BackendError, Completion, Request, SamplingParams

log = logging.getLogger(__name__)

JPEG_QUALITY = 90
MAX_DELAY = 120.0  # seconds: cap on one backoff / Retry-After wait
RETRY_STATUSES = frozenset({408, 429})  # plus every 5xx
_sleep = time.sleep  # tests replace it to record the backoff delays

_STOP_REASONS = frozenset({"stop", "eos", "eos_token", "end_turn", "stop_sequence", "tool_calls", "function_call"})
_LENGTH_REASONS = frozenset({"length", "max_tokens", "max_length", "model_length"})


class _Secret:
    """A string that never shows itself in ``repr``/``str`` (so not in ``__dict__`` dumps or tracebacks)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


class _HTTPFailure(Exception):
    """One HTTP attempt failed; ``status`` is None for connection-level errors."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in RETRY_STATUSES or self.status >= 500


def _safe_url(url: str) -> str:
    """``url`` without user-info, query or fragment (nothing secret reaches info() or messages)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return min(max(seconds, 0.0), MAX_DELAY)


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
        backoff: float = 1.0,
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
        if float(backoff) < 0:
            raise BackendError(f"--backoff {backoff}: must be 0 or more")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.concurrency = int(concurrency)
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        self.backoff = float(backoff)
        key = os.environ.get(api_key_env) if api_key_env else None
        self._key = _Secret(key) if key else None
        self._checked = False
        self._check_lock = threading.Lock()
        self._random = random.Random()

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

    def check(self) -> None:
        """``GET {base_url}/models``; :class:`BackendError` (one line, naming the URL) when the endpoint cannot
        be used. Runs once; :meth:`generate` calls it before its first request."""
        with self._check_lock:
            if self._checked:
                return
            url = f"{self.base_url}/models"
            where = _safe_url(url)
            try:
                body = self._with_retries(lambda: self._http("GET", url, None, min(self.timeout, 60.0)), where)
            except _HTTPFailure as failure:
                # 404: the server has no /models; 200: it answered, though not with JSON. The chat calls will tell.
                if failure.status in (200, 404):
                    self._checked = True
                    return
                if failure.status in (401, 403):
                    hint = f"set {self.api_key_env}" if self._key is None else f"check {self.api_key_env}"
                    raise BackendError(
                        f"openai endpoint {where} refused the API key (HTTP {failure.status}): {hint}"
                    ) from None
                base = _safe_url(self.base_url)
                if failure.status is None:
                    raise BackendError(f"openai endpoint {base} is unreachable: {failure}") from None
                raise BackendError(f"openai endpoint {base} cannot be used: {failure}") from None
            ids = []
            if isinstance(body, dict) and isinstance(body.get("data"), list):
                ids = [m.get("id") for m in body["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
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
        url = f"{self.base_url}/chat/completions"
        collected: list[Completion] = []
        # Bounded: each round either adds at least one completion or ends the loop.
        while len(collected) < k:
            want = k - len(collected)
            payload = {
                "model": self.model,
                "messages": messages,
                "n": want,
                "temperature": params.temperature,
                "top_p": params.top_p,
                "max_tokens": params.max_new_tokens,
                "seed": params.seed + len(collected),
            }
            try:
                body = self._with_retries(
                    lambda payload=payload: self._http("POST", url, payload, self.timeout), f"request {request.id!r}"
                )
            except _HTTPFailure as failure:
                log.warning("openai: request %r failed: %s", request.id, failure)
                break
            got = self._completions(body)
            if not got:
                log.warning("openai: request %r: response had no usable choices", request.id)
                break
            collected.extend(got[:want])
        return collected + _error_completions(k - len(collected))

    @staticmethod
    def _completions(body) -> list[Completion]:
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

    # -- HTTP ---------------------------------------------------------------------------------------

    def _with_retries(self, attempt, what: str):
        """``attempt()`` until it succeeds, fails with a non-retryable error, or retries run out."""
        for number in range(self.max_retries + 1):
            try:
                return attempt()
            except _HTTPFailure as failure:
                if not failure.retryable or number == self.max_retries:
                    raise
                delay = failure.retry_after
                if delay is None:
                    delay = min(self.backoff * 2**number, MAX_DELAY)
                    delay += self._random.uniform(0, 0.1 * delay)
                log.info("openai: %s: %s; retry %d/%d in %.2fs", what, failure, number + 1, self.max_retries, delay)
                _sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _scrub(self, text: str) -> str:
        """``text`` with the key removed, should a server echo it back."""
        return text.replace(self._key.reveal(), "<redacted>") if self._key is not None else text

    def _http(self, method: str, url: str, payload: dict | None, timeout: float):
        headers = {"Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._key is not None:
            headers["Authorization"] = f"Bearer {self._key.reveal()}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        where = _safe_url(url)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            retry_after = _parse_retry_after(error.headers.get("Retry-After") if error.headers else None)
            detail = ""
            try:
                detail = error.read(500).decode("utf-8", "replace")
            except Exception:  # noqa: BLE001 - the body is only for the message
                pass
            finally:
                error.close()
            detail = " ".join(detail.split())[:200]
            message = f"HTTP {error.code} from {where}" + (f": {self._scrub(detail)}" if detail else "")
            raise _HTTPFailure(message, status=error.code, retry_after=retry_after) from None
        except urllib.error.URLError as error:
            raise _HTTPFailure(f"cannot connect to {where} ({_reason(error.reason)})") from None
        except (OSError, http.client.HTTPException) as error:  # resets, timeouts, truncated responses
            raise _HTTPFailure(f"connection to {where} failed ({_reason(error)})") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise _HTTPFailure(f"malformed JSON from {where}", status=200) from None


def _reason(error) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]
