"""curate coldstart with a scripted backend: outputs and their schemas, scoring, pass rates, exemplar
selection, resume, out-of-memory halving, blind prompts, templates, exports and filter --passrate."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from helpers import extract_config as frames_config
from media import make_clip
from typer.testing import CliRunner

from curate.cli import app
from curate.coldstart.backends import Backend, Completion, OutOfMemory, SamplingParams
from curate.coldstart.scoring import pass_rates, score_completion, select_exemplars
from curate.coldstart.stage import ColdstartConfig, run
from curate.coldstart.templates import render
from curate.errors import UserError
from curate.export import export
from curate.filter import FilterConfig
from curate.filter import run as run_filter
from curate.frames.extract import run as run_extract

SAMPLES = Path(__file__).resolve().parents[1] / "curate" / "samples"


class Scripted(Backend):
    """Answers by a script: sample k of a question answers ``script(question_index, k)``; records calls."""

    name = "scripted"

    def __init__(self, script, fail_after: int | None = None, max_batch: int | None = None):
        self.script, self.fail_after, self.max_batch = script, fail_after, max_batch
        self.calls: list[list[str]] = []
        self.frames_seen: list[tuple | None] = []

    def generate(self, requests, params):
        if self.max_batch is not None and len(requests) > self.max_batch:
            raise OutOfMemory("too big")
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt
        self.calls.append([r.id for r in requests])
        self.frames_seen += [None if r.frames is None else r.frames.shape for r in requests]
        return [[Completion(self.script(r, k), "stop", 10, 5) for k in range(params.num_samples)] for r in requests]

    def info(self):
        return {"backend": "scripted"}


def right_then_wrong(request, k):
    """k = 0, 1: right with long think; 2: right, short think; 3: wrong; 4: no format."""
    if k == 4:
        return "I think it is A"
    think = "x" * (700 if k < 2 else 50)
    return f"<think>{think}</think><answer>{'ZZ' if k == 3 else 'RIGHT'}</answer>"


def answer_key(table_dir: Path) -> dict:
    rows = pl.read_parquet(table_dir / "mcq.parquet").to_dicts()
    return {r["id"]: "ABCDE"[r["answer"]] for r in rows}


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("filter")
    run_filter(
        FilterConfig(inputs=[SAMPLES / "nextqa_val.csv", SAMPLES / "0_30_s_nextqa_mc_qa_processed.json"], output=out)
    )
    return out


def scripted(table: Path, **kw) -> Scripted:
    key = answer_key(table)
    return Scripted(lambda r, k: right_then_wrong(r, k).replace("RIGHT", key[r.id]), **kw)


def blind_config(table: Path, out: Path, **kw) -> ColdstartConfig:
    kw.setdefault("sampling", SamplingParams(num_samples=5, max_new_tokens=16))
    kw.setdefault("batch_size", 2)
    return ColdstartConfig(input=table, output=out, model="scripted", blind=True, **kw)


def test_scoring_columns():
    s = score_completion("<think>abc</think><answer>B</answer>", 1, ["x", "y"])
    assert s == {
        "think": "abc",
        "predicted": "B",
        "format": 1.0,
        "format_length": 0.5 + 0.5 * 3 / 1200,
        "accuracy": 1.0,
        "length": 3,
        "total": 1.0 + 0.5 + 0.5 * 3 / 1200,
    }
    bad = score_completion("B", 1, ["x", "y"])
    assert bad["predicted"] is None and bad["total"] == -2.0 and bad["think"] is None


def test_outputs_schemas_and_counts(tmp_path, table):
    backend = scripted(table)
    result = run(blind_config(table, tmp_path / "cs"), backend=backend)
    out = tmp_path / "cs"
    questions = pl.read_parquet(table / "mcq.parquet").height
    samples = pl.read_parquet(out / "samples.parquet")
    assert samples.height == questions * 5 and result.sampled == questions
    assert set(samples.columns) >= {
        "id",
        "sample_index",
        "prompt",
        "completion",
        "think",
        "predicted",
        "format",
        "format_length",
        "accuracy",
        "length",
        "total",
        "finish_reason",
        "prompt_tokens",
        "completion_tokens",
    }
    rates = pl.read_parquet(out / "passrate.parquet")
    assert rates.height == questions
    assert rates.select(pl.col("k").unique()).to_series().to_list() == [5]
    assert rates.select(pl.col("correct").unique(), pl.col("format_ok").unique()).row(0) == (3, 4)
    assert rates["pass_rate"].to_list() == pytest.approx([0.6] * questions)
    exemplars = pl.read_parquet(out / "exemplars.parquet")
    assert exemplars.height == questions and exemplars["sample_index"].to_list() == [0] * questions
    assert {"question", "options", "answer", "video"} <= set(exemplars.columns)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["template"] == "tinyllava-r1" and run_json["blind"] is True
    assert run_json["backend_info"] == {"backend": "scripted"}
    assert run_json["counts"]["samples"] == questions * 5 and run_json["throughput"]["questions_per_s"] > 0
    assert all(f is None for f in backend.frames_seen)  # blind: no frames sent
    assert all(len(c) <= 2 for c in backend.calls)


def test_selection_best_and_all_correct():
    samples = pl.DataFrame(
        {
            "id": ["q"] * 4,
            "sample_index": [0, 1, 2, 3],
            "accuracy": [1.0, 1.0, 1.0, 0.0],
            "format": [1.0, 1.0, 1.0, 1.0],
            "total": [1.9, 1.9, 1.5, -1.0],
            "length": [1000, 650, 100, 600],
        }
    )
    best = select_exemplars(samples, "best", 1, target_think_chars=600)
    assert best["sample_index"].to_list() == [1]  # tie on total, closer to 600 chars
    every = select_exemplars(samples, "all-correct", None)
    assert sorted(every["sample_index"].to_list()) == [0, 1, 2]
    assert pass_rates(samples.with_columns(pl.lit(1.0).alias("format")))["pass_rate"].to_list() == [0.75]


def test_resume_skips_sampled_questions(tmp_path, table):
    cfg = blind_config(table, tmp_path / "cs")
    with pytest.raises(KeyboardInterrupt):
        run(cfg, backend=scripted(table, fail_after=1))
    again = scripted(table)
    result = run(cfg, backend=again)
    first_batch = 2
    assert result.skipped == first_batch and result.sampled == result.questions - first_batch
    samples = pl.read_parquet(tmp_path / "cs" / "samples.parquet")
    assert samples.group_by("id").len()["len"].to_list() == [5] * result.questions  # exactly once each
    with pytest.raises(UserError, match="another model"):
        run(blind_config(table, tmp_path / "cs", template="video-r1"), backend=scripted(table))


def test_out_of_memory_halves_the_batch(tmp_path, table):
    backend = scripted(table, max_batch=1)
    result = run(blind_config(table, tmp_path / "cs", batch_size=4), backend=backend)
    assert result.sampled == result.questions and all(len(c) == 1 for c in backend.calls)


@pytest.mark.slow
def test_frames_come_from_the_shards(tmp_path, table):
    root = tmp_path / "videos"
    for v in pl.read_parquet(table / "mcq.parquet")["video"].unique():
        make_clip(root / v)
    frames_out = tmp_path / "frames"
    run_extract(frames_config(table, root, frames_out))
    backend = scripted(table)
    cfg = ColdstartConfig(
        input=frames_out,
        output=tmp_path / "cs",
        model="scripted",
        sampling=SamplingParams(num_samples=2, max_new_tokens=8),
    )
    result = run(cfg, backend=backend)
    assert result.sampled == result.questions
    assert set(backend.frames_seen) == {(4, 32, 32, 3)}


def test_templates():
    assert render("tinyllava-r1", "Q?", ["a", "b"]) == (
        "Q?\nA. a\nB. b Output the thinking process in <think> </think> and final answer (option) in <answer> "
        "</answer> tags."
    )
    assert render("video-r1", "Q?", ["a", "b"]).startswith("Q?Options:\nA. a\nB. b\n\nPlease think about")
    with pytest.raises(UserError):
        render("nope", "Q?", ["a"])


def test_jinja_template(tmp_path):
    path = tmp_path / "t.jinja"
    path.write_text("{{ question }} | {% for o in options %}{{ letters[loop.index0] }}={{ o }} {% endfor %}")
    assert render(str(path), "Q?", ["a", "b"]) == "Q? | A=a B=b "


def test_exports_and_filter_by_pass_rate(tmp_path, table):
    out = tmp_path / "cs"
    run(blind_config(table, out, keep="all-correct"), backend=scripted(table))
    n = export(out, "llava", tmp_path / "sft.json")
    rows = json.loads((tmp_path / "sft.json").read_text())
    assert n == len(rows) == pl.read_parquet(table / "mcq.parquet").height * 3
    assert rows[0]["conversations"][0]["value"].startswith("<image>\n")
    assert rows[0]["conversations"][1]["value"].startswith("<think>")
    export(out, "trl-sft", tmp_path / "sft.jsonl")
    line = json.loads((tmp_path / "sft.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in line["messages"]] == ["user", "assistant"]
    with pytest.raises(UserError):
        export(out, "verl", tmp_path / "x.parquet")

    rates = pl.read_parquet(out / "passrate.parquet")
    changed = rates.with_columns(
        pass_rate=pl.when(pl.int_range(pl.len()) == 0).then(1.0).otherwise(pl.col("pass_rate"))
    )
    changed.write_parquet(tmp_path / "rates.parquet")
    filtered = run_filter(
        FilterConfig(
            inputs=[SAMPLES / "nextqa_val.csv", SAMPLES / "0_30_s_nextqa_mc_qa_processed.json"],
            output=tmp_path / "f",
            passrate=tmp_path / "rates.parquet",
            max_pass_rate=0.9,
        )
    )
    assert filtered.stats["reasons"].get("pass_rate") == 1
    assert filtered.kept == rates.height - 1 and filtered.stats["pass_rate_unknown"] == 0


def test_cli_errors_are_one_line(tmp_path, table):
    runner = CliRunner()
    missing = runner.invoke(app, ["coldstart", str(tmp_path / "nope"), "--model", "m", "-o", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "no such file" in missing.output and "Traceback" not in missing.output
    no_frames = runner.invoke(app, ["coldstart", str(table), "--model", "m", "-o", str(tmp_path / "o")])
    assert no_frames.exit_code == 2 and "video_key" in no_frames.output
    bad_backend = runner.invoke(
        app, ["coldstart", str(table), "--model", "m", "-o", str(tmp_path / "o2"), "--blind", "--backend", "nope"]
    )
    assert bad_backend.exit_code == 2 and "--backend" in bad_backend.output
