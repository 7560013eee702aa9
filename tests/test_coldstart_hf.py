"""The ``hf`` backend end to end on CPU with a tiny random Qwen2-VL built on disk (tests/tiny_vlm.py):
loaded by path, no Hub access."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

pytest.importorskip("transformers")
pytest.importorskip("torchvision")  # transformers' video processors need it

import torch  # noqa: E402
from tiny_vlm import build_tiny_qwen2vl  # noqa: E402

from curate.coldstart.backends import make_backend  # noqa: E402
from curate.coldstart.backends.base import BackendError, OutOfMemory, Request, SamplingParams  # noqa: E402
from curate.coldstart.backends.hf import HFBackend, looks_like_hub_id  # noqa: E402

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

SHORT = SamplingParams(num_samples=3, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=7)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny-qwen2vl") / "model")


@pytest.fixture(scope="module")
def backend(tiny_model) -> HFBackend:
    b = HFBackend(tiny_model, device="cpu")
    yield b
    b.close()


def _offline(monkeypatch) -> None:
    """No Hub requests from here on (huggingface_hub reads HF_HUB_OFFLINE once, at import)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)


def _frames(seed: int, t: int = 4, h: int = 56, w: int = 56) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3), dtype=np.uint8)


@pytest.fixture
def requests_() -> list[Request]:
    return [
        Request("v1", "What is the man doing? A. running B. reading", _frames(0)),
        Request("blind", "What is the man doing? A. running B. reading", None),
        Request("v2", "Why did the girl laugh?", _frames(1, t=5, h=64, w=48)),
    ]


def test_generate_k_samples_per_request(backend, requests_):
    out = backend.generate(requests_, SHORT)
    assert len(out) == 3
    for completions in out:
        assert len(completions) == 3
        for c in completions:
            assert isinstance(c.text, str)
            assert c.finish_reason in {"stop", "length"}
            assert c.prompt_tokens > 0
            assert 0 < c.completion_tokens <= SHORT.max_new_tokens
    # the video placeholder expands to the video's tokens: same text, longer prompt
    assert out[0][0].prompt_tokens > out[1][0].prompt_tokens
    # sampling, not one sample repeated K times
    assert len({c.text for c in out[0]}) > 1


def test_same_seed_same_samples(backend, requests_):
    a = backend.generate(requests_, SHORT)
    b = backend.generate(requests_, SHORT)
    assert [[c.text for c in cs] for cs in a] == [[c.text for c in cs] for cs in b]
    other = backend.generate(requests_, SamplingParams(**{**SHORT.__dict__, "seed": 8}))
    assert [[c.text for c in cs] for cs in a] != [[c.text for c in cs] for cs in other]


@pytest.mark.parametrize("temperature", [0.0, 1e-6])
def test_batched_matches_one_at_a_time(backend, requests_, temperature):
    """Left padding, video/blind mixing and the K-fold expansion keep each row with its request: near-greedy
    decoding of the batch equals greedy decoding of each request alone."""
    params = SamplingParams(num_samples=2, temperature=temperature, max_new_tokens=6)
    batched = backend.generate(requests_, params)
    for req, completions in zip(requests_, batched, strict=True):
        alone = backend.generate([req], SamplingParams(num_samples=1, temperature=0.0, max_new_tokens=6))[0][0]
        assert [c.text for c in completions] == [alone.text] * 2
        assert completions[0].prompt_tokens == alone.prompt_tokens


def test_stop_reason_and_token_counts(backend, requests_, monkeypatch):
    """A row that produced EOS is "stop", counts its tokens up to and including EOS, and its text stops
    there; a row without EOS is "length" with max_new_tokens tokens."""
    real = backend.model.generate
    eos, pad = backend.eos_ids[0], backend.pad_id
    seen = {}

    def fake(**kwargs):
        out = real(**kwargs)
        start = kwargs["input_ids"].shape[1]
        out[0, start + 2] = eos  # first request, first sample: EOS as its third token
        out[0, start + 3:] = pad
        seen["new"] = out[:, start:].clone()
        return out

    monkeypatch.setattr(backend.model, "generate", fake)
    out = backend.generate(requests_, SHORT)
    first = out[0][0]
    assert first.finish_reason == "stop"
    assert first.completion_tokens == 3
    assert first.text == backend.tokenizer.decode(seen["new"][0, :2].tolist(), skip_special_tokens=True)
    rows = [c for cs in out for c in cs]
    for row, c in zip(seen["new"].tolist(), rows, strict=True):
        hits = [i for i, t in enumerate(row) if t in backend.eos_ids]
        if hits:
            assert (c.finish_reason, c.completion_tokens) == ("stop", hits[0] + 1)
        else:
            assert (c.finish_reason, c.completion_tokens) == ("length", SHORT.max_new_tokens)


def test_out_of_memory_is_reported_for_the_stage(backend, requests_, monkeypatch):
    def oom(**kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(backend.model, "generate", oom)
    with pytest.raises(OutOfMemory):
        backend.generate(requests_, SHORT)


def test_bad_frames_become_error_completions(backend, requests_):
    bad = Request("bad", "gray frames", np.zeros((4, 56, 56), dtype=np.uint8))
    out = backend.generate([requests_[0], bad], SHORT)
    assert [c.finish_reason for c in out[1]] == ["error"] * 3
    assert all(c.finish_reason in {"stop", "length"} for c in out[0])


def test_info(backend, tiny_model):
    info = backend.info()
    assert info["backend"] == "hf"
    assert info["model"] == tiny_model
    assert info["revision"] is None  # a plain folder: no snapshot, no git clone
    assert info["dtype"] == "float32"
    assert info["device"] == "cpu"
    assert info["attn_implementation"] == "sdpa"
    import transformers

    assert info["transformers"] == transformers.__version__
    json.dumps(info)  # goes to run.json


def test_make_backend_hf(tiny_model):
    b = make_backend("hf", tiny_model, device="cpu", dtype="fp32")
    try:
        assert isinstance(b, HFBackend)
        assert b.generate([Request("x", "hi", None)], SamplingParams(num_samples=2, max_new_tokens=3))[0][1].text
    finally:
        b.close()
    assert b.info()["backend"] == "hf"  # the stage records info() after close()


def test_snapshot_revision_and_shipped_sampling_defaults_dropped(tiny_model, tmp_path):
    """A Hub-cache snapshot reports its commit; a checkpoint's top_k=1 (as Qwen2-VL-Instruct ships) does not
    collapse the K samples into one."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    snap = tmp_path / "models--tiny--qwen2vl" / "snapshots" / sha
    shutil.copytree(tiny_model, snap)
    gen_path = snap / "generation_config.json"
    gen = json.loads(gen_path.read_text())
    gen.update(do_sample=True, top_k=1, top_p=0.001, temperature=0.01, repetition_penalty=1.05)
    gen_path.write_text(json.dumps(gen))

    b = HFBackend(str(snap), device="cpu")
    try:
        info = b.info()
        assert info["revision"] == sha
        assert info["dropped_generation_defaults"]["top_k"] == 1
        out = b.generate([Request("x", "hi", _frames(3))], SamplingParams(num_samples=4, max_new_tokens=6))
        assert len({c.text for c in out[0]}) > 1
    finally:
        b.close()


@pytest.mark.parametrize("name", ["/nonexistent/models/qwen", "./models/qwen-missing", "~/no/such/model"])
def test_missing_local_model_is_a_one_line_error(name, monkeypatch):
    # a spelled-out path is never looked up on the Hub (this would fail loudly otherwise)
    _offline(monkeypatch)
    with pytest.raises(BackendError) as err:
        HFBackend(name, device="cpu")
    message = str(err.value)
    assert "\n" not in message
    assert name in message


def test_folder_that_is_not_a_model_is_a_one_line_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(BackendError) as err:
        HFBackend(str(tmp_path), device="cpu")
    assert "\n" not in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_unknown_hub_id_offline_is_a_one_line_error(monkeypatch):
    _offline(monkeypatch)
    with pytest.raises(BackendError) as err:
        HFBackend("no-such-org/no-such-model-xyz", device="cpu")
    assert "\n" not in str(err.value)
    assert "no-such-org/no-such-model-xyz" in str(err.value)


def test_bad_dtype(tiny_model):
    with pytest.raises(BackendError, match="--dtype"):
        HFBackend(tiny_model, device="cpu", dtype="int3")


def test_looks_like_hub_id():
    assert looks_like_hub_id("Qwen/Qwen2.5-VL-3B-Instruct")
    assert looks_like_hub_id("gpt2")
    for path in ["/models/qwen", "./qwen", "../qwen", "~/qwen", "a/b/c", "models/"]:
        assert not looks_like_hub_id(path)


def test_cli_end_to_end_with_frames(tmp_path, tiny_model):
    """filter → extract-frames → ``curate coldstart --backend hf`` with the tiny model on CPU."""
    from helpers import extract_config as frames_config
    from media import make_clip
    from typer.testing import CliRunner

    from curate.cli import app
    from curate.filter import FilterConfig
    from curate.filter import run as run_filter
    from curate.frames.extract import run as run_extract

    samples = Path(__file__).resolve().parents[1] / "curate" / "samples"
    table = tmp_path / "filter"
    run_filter(FilterConfig(inputs=[samples / "nextqa_val.csv"], output=table))
    root = tmp_path / "videos"
    for video in pl.read_parquet(table / "mcq.parquet")["video"].unique():
        make_clip(root / video)
    frames = tmp_path / "frames"
    run_extract(frames_config(table, root, frames))

    out = tmp_path / "coldstart"
    args = ["coldstart", str(frames), "--model", tiny_model, "-o", str(out), "--device", "cpu",
            "--num-samples", "2", "--max-new-tokens", "6", "--batch-size", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run_info = json.loads((out / "run.json").read_text())
    assert run_info["backend_info"]["backend"] == "hf" and run_info["backend_info"]["device"] == "cpu"
    assert run_info["backend_info"]["model"] == tiny_model and run_info["counts"]["samples"] == 2 * \
        pl.read_parquet(table / "mcq.parquet").height
    for name in ("samples.parquet", "exemplars.parquet", "passrate.parquet"):
        assert (out / name).is_file()
    questions = pl.read_parquet(table / "mcq.parquet").height
    assert questions > 0
    assert sum(pl.read_parquet(p).height for p in (out / "_work").glob("samples-*.parquet")) == 2 * questions
