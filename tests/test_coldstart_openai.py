"""The ``openai`` coldstart backend against a scripted OpenAI-compatible server on 127.0.0.1 (started here).

Markers in a request's text choose the server's behaviour: ``[503-once]``, ``[429-once]`` (Retry-After: 3),
``[short-once]`` (fewer choices than ``n`` the first time), ``[one-choice]`` (ignores ``n``), ``[bad400]``,
``[always503]``, ``[echo-auth]`` (a 400 whose body repeats the Authorization header), ``[length]``,
``[reasoning]`` (``reasoning_content`` beside the content), ``[hold]`` (waits at a barrier of
``hold_parties`` requests).
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import numpy as np
import openai._base_client
import pytest

from curate.coldstart.backends import BackendError, Request, SamplingParams, make_backend
from curate.coldstart.backends.openai import OpenAIBackend
from curate.errors import UserError

KEY = "sk-test-SECRET-4242"
KEY_ENV = "VQA_TEST_TEACHER_KEY"
MODEL = "teacher-72b"


class ScriptedServer:
    """State shared by the handler threads: what was received, what has been seen, in-flight counts."""

    def __init__(self, hold_parties: int = 1, required_key: str | None = None) -> None:
        self.lock = threading.Lock()
        self.records: list[dict] = []
        self.model_checks = 0
        self.seen: dict[str, int] = {}
        self.inflight = 0
        self.max_inflight = 0
        self.required_key = required_key
        self.barrier = threading.Barrier(hold_parties, timeout=10) if hold_parties > 1 else None
        self.models = [MODEL]
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def chat_records(self, marker: str) -> list[dict]:
        return [r for r in self.records if marker in r["text"]]


def make_handler(state: ScriptedServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
            pass

        def send_json(self, status: int, body, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def authorised(self) -> bool:
            if state.required_key is None:
                return True
            if self.headers.get("Authorization") == f"Bearer {state.required_key}":
                return True
            self.send_json(401, {"error": {"message": "invalid api key"}})
            return False

        def do_GET(self):
            if self.path != "/v1/models":
                self.send_json(404, {"error": {"message": "not found"}})
                return
            with state.lock:
                state.model_checks += 1
            if self.authorised():
                self.send_json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in state.models]})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length))
            if self.path != "/v1/chat/completions":
                self.send_json(404, {"error": {"message": "not found"}})
                return
            if not self.authorised():
                return
            with state.lock:
                state.inflight += 1
                state.max_inflight = max(state.max_inflight, state.inflight)
            try:
                self.chat(payload)
            finally:
                with state.lock:
                    state.inflight -= 1

        def chat(self, payload: dict) -> None:
            content = payload["messages"][0]["content"]
            texts = [p["text"] for p in content if p["type"] == "text"]
            images = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
            jpeg = all(
                url.startswith("data:image/jpeg;base64,")
                and base64.b64decode(url.split(",", 1)[1])[:3] == b"\xff\xd8\xff"
                for url in images
            )
            text = texts[0]
            record = {
                "text": text,
                "n_text_parts": len(texts),
                "text_last": content[-1]["type"] == "text",
                "n_images": len(images),
                "jpeg": jpeg,
                "authorization": self.headers.get("Authorization"),
                **{k: payload.get(k) for k in ("model", "n", "temperature", "top_p", "max_tokens", "seed")},
            }
            with state.lock:
                state.records.append(record)
                state.seen[text] = state.seen.get(text, 0) + 1
                first = state.seen[text] == 1
            if "[hold]" in text and state.barrier is not None:
                try:
                    state.barrier.wait()
                except threading.BrokenBarrierError:
                    self.send_json(500, {"error": {"message": "barrier broken"}})
                    return
            if "[503-once]" in text and first or "[always503]" in text:
                self.send_json(503, {"error": {"message": "overloaded"}})
                return
            if "[429-once]" in text and first:
                self.send_json(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "3"})
                return
            if "[bad400]" in text:
                self.send_json(400, {"error": {"message": "bad request"}})
                return
            if "[echo-auth]" in text:
                self.send_json(400, {"error": {"message": f"rejected header {self.headers.get('Authorization')}"}})
                return
            n = payload.get("n", 1)
            if "[one-choice]" in text:
                n = 1
            elif "[short-once]" in text and first:
                n = max(n - 2, 1)
            seed = payload.get("seed", 0)
            choices = []
            for i in range(n):
                message = {"role": "assistant", "content": f"<think>seed={seed} i={i}</think><answer>A</answer>"}
                if "[reasoning]" in text:
                    message = {"role": "assistant", "content": "<answer>B</answer>", "reasoning_content": f"r{i}"}
                finish = "length" if "[length]" in text else "stop"
                choices.append({"index": i, "message": message, "finish_reason": finish})
            usage = {"prompt_tokens": 100, "completion_tokens": 10 * n + 1, "total_tokens": 100 + 10 * n + 1}
            self.send_json(200, {"id": "cmpl", "object": "chat.completion", "choices": choices, "usage": usage})

    return Handler


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """No proxy between the backend and 127.0.0.1; the key in the environment; the SDK's backoff sleeps
    recorded instead of slept (its retry loop calls ``time.sleep`` of its ``_base_client`` module)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv(KEY_ENV, KEY)
    delays: list[float] = []
    monkeypatch.setattr(openai._base_client, "time", SimpleNamespace(sleep=delays.append, time=time.time))
    return delays


def backoff(attempt: int) -> tuple[float, float]:
    """The SDK's delay before retry ``attempt + 1``: ``min(0.5 · 2**attempt, 8)`` less up to 25 % jitter."""
    delay = min(0.5 * 2**attempt, 8.0)
    return 0.75 * delay, delay


@pytest.fixture
def server_factory():
    started: list[ScriptedServer] = []

    def start(**options) -> ScriptedServer:
        state = ScriptedServer(**options)
        state.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
        state.httpd.daemon_threads = True
        state.thread = threading.Thread(target=state.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        state.thread.start()
        started.append(state)
        return state

    yield start
    for state in started:
        state.httpd.shutdown()
        state.httpd.server_close()
        state.thread.join(timeout=10)
        assert not state.thread.is_alive()


@pytest.fixture
def server(server_factory):
    return server_factory()


def backend_for(state: ScriptedServer, **options) -> OpenAIBackend:
    options = {"api_key_env": KEY_ENV, "max_retries": 3, "timeout": 30.0, **options}
    return OpenAIBackend(MODEL, base_url=state.base_url, **options)


def frames(t: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(t, 16, 24, 3), dtype=np.uint8)


PARAMS = SamplingParams(num_samples=4, temperature=0.7, top_p=0.95, max_new_tokens=256, seed=11)


def test_payload_frames_key_and_choices(server):
    backend = backend_for(server)
    requests = [
        Request("a", "q-a", frames(3)),
        Request("b", "q-b", None),
        Request("c", "q-c", frames(1)[0]),  # a single H×W×C frame
    ]
    out = backend.generate(requests, PARAMS)
    assert [len(c) for c in out] == [4, 4, 4]
    assert server.model_checks == 1
    by_text = {r["text"]: r for r in server.records}
    assert len(server.records) == 3
    assert [by_text[t]["n_images"] for t in ("q-a", "q-b", "q-c")] == [3, 0, 1]
    for record in server.records:
        assert record["jpeg"] and record["text_last"] and record["n_text_parts"] == 1
        assert record["authorization"] == f"Bearer {KEY}"
        assert record["model"] == MODEL
        assert (record["n"], record["temperature"], record["top_p"]) == (4, 0.7, 0.95)
        assert (record["max_tokens"], record["seed"]) == (256, 11)
    first = out[0]
    assert [c.text for c in first] == [f"<think>seed=11 i={i}</think><answer>A</answer>" for i in range(4)]
    assert all(c.finish_reason == "stop" for c in first)
    assert all(c.prompt_tokens == 100 for c in first)
    assert [c.completion_tokens for c in first] == [11, 10, 10, 10]  # 41 split over 4 choices


def test_no_key_sends_no_authorization(server, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    backend = backend_for(server)
    out = backend.generate([Request("a", "q", frames(1))], SamplingParams(num_samples=2))
    assert len(out[0]) == 2 and out[0][0].finish_reason == "stop"
    assert server.records[0]["authorization"] is None
    assert backend.info()["api_key_set"] is False


def test_503_retried_with_exponential_backoff(server, loopback_only):
    backend = backend_for(server)
    out = backend.generate([Request("a", "q [503-once]")], PARAMS)
    assert all(c.finish_reason == "stop" and c.text for c in out[0])
    assert len(server.chat_records("[503-once]")) == 2
    low, high = backoff(0)
    assert len(loopback_only) == 1 and low <= loopback_only[0] <= high


def test_429_respects_retry_after(server, loopback_only):
    backend = backend_for(server)
    out = backend.generate([Request("a", "q [429-once]")], PARAMS)
    assert all(c.finish_reason == "stop" for c in out[0])
    assert len(server.chat_records("[429-once]")) == 2
    assert loopback_only == [3.0]  # Retry-After: 3 replaces the first backoff (at most 0.5 s)


def test_retries_run_out_gives_error_completions(server, loopback_only):
    backend = backend_for(server, max_retries=2)
    out = backend.generate([Request("a", "q [always503]"), Request("b", "q-ok")], PARAMS)
    assert [(c.text, c.finish_reason) for c in out[0]] == [("", "error")] * 4
    assert all(c.finish_reason == "stop" for c in out[1])
    assert len(server.chat_records("[always503]")) == 3  # one try, two retries
    assert len(loopback_only) == 2
    for attempt, delay in enumerate(loopback_only):
        low, high = backoff(attempt)
        assert low <= delay <= high, loopback_only


def test_400_not_retried(server, loopback_only):
    backend = backend_for(server)
    out = backend.generate([Request("a", "q [bad400]"), Request("b", "q-fine")], PARAMS)
    assert [(c.text, c.finish_reason) for c in out[0]] == [("", "error")] * 4
    assert all(c.finish_reason == "stop" for c in out[1])
    assert len(server.chat_records("[bad400]")) == 1
    assert loopback_only == []


def test_fewer_choices_topped_up(server):
    backend = backend_for(server)
    out = backend.generate([Request("a", "q [short-once]")], PARAMS)
    records = server.chat_records("[short-once]")
    assert [(r["n"], r["seed"]) for r in records] == [(4, 11), (2, 13)]  # 2 came back, 2 asked for, seed moved on
    assert len(out[0]) == 4 and all(c.finish_reason == "stop" for c in out[0])
    assert len({c.text for c in out[0]}) == 4


def test_server_ignoring_n(server):
    backend = backend_for(server)
    out = backend.generate([Request("a", "q [one-choice]")], PARAMS)
    records = server.chat_records("[one-choice]")
    assert [r["n"] for r in records] == [4, 3, 2, 1]
    assert [r["seed"] for r in records] == [11, 12, 13, 14]
    assert len({c.text for c in out[0]}) == 4


def test_finish_reasons_and_reasoning_content(server):
    backend = backend_for(server)
    out = backend.generate([Request("a", "q [length]"), Request("b", "q [reasoning]")], PARAMS)
    assert all(c.finish_reason == "length" for c in out[0])
    assert [c.text for c in out[1]] == [f"<think>r{i}</think><answer>B</answer>" for i in range(4)]


def test_concurrency_limit(server_factory):
    limit = 3
    server = server_factory(hold_parties=limit)
    backend = backend_for(server, concurrency=limit)
    requests = [Request(str(i), f"q{i} [hold]", frames(1, seed=i)) for i in range(3 * limit)]
    out = backend.generate(requests, SamplingParams(num_samples=2))
    assert all(c.finish_reason == "stop" for row in out for c in row)  # the barrier of `limit` was reached
    assert server.max_inflight == limit
    assert [row[0].text for row in out] == ["<think>seed=0 i=0</think><answer>A</answer>"] * len(requests)
    assert len(server.records) == len(requests)


def test_results_in_request_order(server):
    backend = backend_for(server, concurrency=4)
    requests = [Request(str(i), f"q{i} [503-once]" if i % 3 == 0 else f"q{i}") for i in range(10)]
    out = backend.generate(requests, SamplingParams(num_samples=1, seed=5))
    assert len(out) == 10 and all(row[0].finish_reason == "stop" for row in out)
    assert sum(len(server.chat_records(f"q{i} ")) for i in range(0, 10, 3)) == 8  # 4 marked × 2 tries


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_one_line_error(caplog):
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{unused_port()}/v1"
    backend = OpenAIBackend(MODEL, base_url=url, api_key_env=KEY_ENV, max_retries=1, timeout=5.0)
    with pytest.raises(BackendError) as caught:
        backend.generate([Request("a", "q", frames(1))], PARAMS)
    message = str(caught.value)
    assert isinstance(caught.value, UserError)  # the CLI's one-line, exit-code-2 path
    assert "\n" not in message and url in message
    assert KEY not in message and KEY not in caplog.text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_wrong_model_and_rejected_key(server_factory):
    server = server_factory(required_key="another-key")
    with pytest.raises(BackendError) as caught:
        backend_for(server).check()
    assert "refused the API key" in str(caught.value) and KEY_ENV in str(caught.value)
    assert KEY not in str(caught.value) and "another-key" not in str(caught.value)

    server = server_factory()
    server.models = ["some-other-model"]
    with pytest.raises(BackendError, match="does not serve model 'teacher-72b'; it serves: some-other-model"):
        backend_for(server).generate([Request("a", "q")], PARAMS)
    assert server.records == []


def test_key_never_shown(server, caplog):
    caplog.set_level(logging.DEBUG)
    backend = backend_for(server)
    out = backend.generate([Request("a", "q [echo-auth]"), Request("b", "q [503-once]")], PARAMS)
    assert out[0][0].finish_reason == "error" and out[1][0].finish_reason == "stop"
    assert server.chat_records("[echo-auth]")[0]["authorization"] == f"Bearer {KEY}"
    assert "<redacted>" in caplog.text  # the echoed header was scrubbed from the warning
    for shown in (repr(backend), str(backend), str(backend.__dict__), json.dumps(backend.info()), caplog.text):
        assert KEY not in shown
    info = backend.info()
    assert info["backend"] == "openai" and info["model"] == MODEL
    assert info["base_url"] == server.base_url and info["concurrency"] == 8


def test_info_strips_credentials_from_url():
    backend = OpenAIBackend(MODEL, base_url="https://user:pw@example.invalid:8443/v1/?token=t")
    assert backend.info()["base_url"] == "https://example.invalid:8443/v1/"
    assert "pw" not in repr(backend) and "token" not in repr(backend)


def test_make_backend_and_option_validation(server):
    backend = make_backend("openai", MODEL, base_url=server.base_url, concurrency=2, api_key_env=KEY_ENV)
    assert isinstance(backend, OpenAIBackend) and backend.info()["concurrency"] == 2
    assert backend.generate([], PARAMS) == []
    for bad in ({"concurrency": 0}, {"max_retries": -1}, {"timeout": 0}, {"base_url": "127.0.0.1:8000"}):
        with pytest.raises(BackendError):
            OpenAIBackend(MODEL, **bad)
    with pytest.raises(BackendError):
        OpenAIBackend("")
