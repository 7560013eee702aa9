"""Helpers the tests import (``from helpers import …``): paths of the hand-written fixtures in the
published formats (``tests/fixtures/``) and of the real samples in ``../shared``, table writers, the
filter stage run with its outputs loaded (:func:`filter_files`), ``curate`` in-process
(:func:`run_cli`) and as a process (:func:`run_cli_subprocess`), and a tiny real video (:func:`make_video`).
The pytest fixtures built on them are in ``conftest.py``."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"

# The hand-written fixtures in the published formats (see tests/fixtures/README.md).
LLAVA_MC = FIXTURES / "0_30_s_academic_mc_v0_1_qa_processed.json"
LLAVA_OE = FIXTURES / "0_30_s_academic_oe_v0_1_qa_processed.json"
NEXTQA = FIXTURES / "nextqa_val.csv"
NEXTQA_MAP = FIXTURES / "map_vid_vidorID.json"
NEXTQA_OE = FIXTURES / "nextqa_oe_val.csv"
VIDEO_R1 = FIXTURES / "video_r1_sample.json"
TINYLLAVA = FIXTURES / "tinyllava_video_r1_train.jsonl"
MVBENCH = FIXTURES / "action_sequence.json"
PERCEPTION = FIXTURES / "mc_question_valid.json"
STAR = FIXTURES / "STAR_val.json"
TVQA = FIXTURES / "tvqa_val.jsonl"
GENERIC = FIXTURES / "generic_qa.csv"
SHARED = REPO_ROOT.parent / "shared" / "fixtures" / "videoqa"
SKIP_SHARED = "../shared not present: real samples not checked"

NEXTQA_HEADER = ["video", "frame_count", "width", "height", "question", "answer", "qid", "type",
                 "a0", "a1", "a2", "a3", "a4"]

VIDEOMME_ROWS = [
    {
        "video_id": "001", "duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
        "url": "https://www.youtube.com/watch?v=fFjv93ACGo8", "videoID": "fFjv93ACGo8", "question_id": "001-1",
        "task_type": "Counting Problem",
        "question": "When demonstrating the Germany modern Christmas tree is initially decorated with apples, "
                    "candles and berries, which kind of the decoration has the largest number?",
        "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The three kinds are of the same number."],
        "answer": "C",
    },
    {
        "video_id": "001", "duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
        "url": "https://www.youtube.com/watch?v=fFjv93ACGo8", "videoID": "fFjv93ACGo8", "question_id": "001-2",
        "task_type": "Information Synopsis", "question": "What is the genre of this video?",
        "options": ["A. It is a news report that introduces the history behind Christmas decorations.",
                    "B. It is a documentary on the evolution of Christmas holiday recipes.",
                    "C. It is a travel vlog exploring Christmas markets around the world.",
                    "D. It is a tutorial on DIY Christmas ornament crafting."],
        "answer": "A",
    },
    {
        "video_id": "301", "duration": "medium", "domain": "Sports Competition", "sub_category": "Basketball",
        "url": "https://www.youtube.com/watch?v=Zq3bTmE8r1c", "videoID": "Zq3bTmE8r1c", "question_id": "301-1",
        "task_type": "Action Recognition", "question": "What does the player in red do after the whistle?",
        "options": ["A. He shoots a free throw.", "B. He argues with the referee.", "C. He leaves the court.",
                    "D. He ties his shoes."],
        "answer": "B",
    },
]


# --------------------------------------------------------------------------------------------- helpers


def shared_dir() -> Path:
    """``<repo>/../shared/fixtures/videoqa``, or skip the calling test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(SKIP_SHARED)
    return SHARED


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def write_jsonl(path: Path, objs: list[Any]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


def write_videomme_parquet(path: Path, rows: list[dict] | None = None) -> Path:
    """Video-MME's Hub layout (``videomme/test-00000-of-00001.parquet``) written with pyarrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = VIDEOMME_ROWS if rows is None else rows
    schema = pa.schema([
        ("video_id", pa.string()), ("duration", pa.string()), ("domain", pa.string()),
        ("sub_category", pa.string()), ("url", pa.string()), ("videoID", pa.string()),
        ("question_id", pa.string()), ("task_type", pa.string()), ("question", pa.string()),
        ("options", pa.list_(pa.string())), ("answer", pa.string()),
    ])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


@dataclass
class Outcome:
    """A filter run and what it wrote."""

    result: Any
    out: Path
    kept: list[dict]
    rejects: list[dict]
    stats: dict
    manifest: dict

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rejects:
            counts[row["reason"]] = counts.get(row["reason"], 0) + 1
        return counts

    def by_id(self) -> dict[str, dict]:
        return {row["id"]: row for row in self.kept}

    def rejected_ids(self, reason: str) -> list[str]:
        return [row["id"] for row in self.rejects if row["reason"] == reason]


def load_outcome(result: Any, out: Path) -> Outcome:
    kept = pl.read_parquet(out / "mcq.parquet").to_dicts()
    rejects = pl.read_parquet(out / "rejects.parquet").to_dicts()
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return Outcome(result, out, kept, rejects, stats, manifest)


def filter_files(out: Path, inputs: list[Path] | Path, **options: Any) -> Outcome:
    """Run the filter stage in-process with ``FilterConfig(**options)`` and load its outputs."""
    from curate.filter import FilterConfig, run

    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    config = FilterConfig(inputs=[Path(p) for p in inputs], output=out, **options)
    result = run(config)
    return load_outcome(result, out)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def run_cli(*args: Any) -> CliResult:
    """Run ``curate ARGS`` in-process with typer's CliRunner (stdout and stderr kept apart)."""
    from typer.testing import CliRunner

    from curate.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an exception escaped the CLI: let the test show it
    return CliResult(result.exit_code, result.stdout, result.stderr)


def curate_command() -> list[str]:
    """The installed console script next to the interpreter, else ``python -m curate.cli``."""
    script = Path(sys.executable).with_name("curate")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "curate.cli"]


def run_cli_subprocess(*args: Any, cwd: Path | None = None) -> CliResult:
    """Run ``curate ARGS`` as its own process (no terminal: stdout/stderr are pipes)."""
    env = {k: v for k, v in os.environ.items() if k != "CURATE_DEBUG"}
    proc = subprocess.run(
        [*curate_command(), *[str(a) for a in args]], capture_output=True, text=True,
        cwd=cwd or REPO_ROOT, env=env, check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def make_table(path: Path, videos: list[str], per_video: int = 1, windows: dict | None = None) -> Path:
    """A filter-like output folder at ``path``: ``per_video`` two-option questions about each video (clip
    windows from ``windows``), in ``mcq.parquet``."""
    from schemas.mcq import write_mcq

    rows = []
    for v in videos:
        for q in range(per_video):
            start, end = (windows or {}).get(v, (None, None))
            rows.append(
                {
                    "id": f"t:{v}:{q}",
                    "source": "test",
                    "subset": None,
                    "video": v,
                    "question": f"q{q} about {v}?",
                    "options": ["yes", "no"],
                    "answer": q % 2,
                    "problem_type": "multiple choice",
                    "duration": None,
                    "start": start,
                    "end": end,
                    "meta": "{}",
                }
            )
    write_mcq(pa.Table.from_pylist(rows), path / "mcq.parquet")
    return path


def extract_config(mcq: Path, root: Path, out: Path, **kw) -> ExtractConfig:  # noqa: F821 - imported below
    """An extract-frames config with small frames by default (4 frames, 32 px, one worker); keyword
    arguments go to FrameSpec or ExtractConfig by name."""
    from curate.frames.extract import ExtractConfig
    from curate.frames.sampling import Sampling
    from curate.frames.work import FrameSpec

    shaping = {"sampling": Sampling(num_frames=4), "size": 32}
    shaping.update({k: kw.pop(k) for k in list(kw) if k in FrameSpec.__dataclass_fields__})
    kw.setdefault("workers", 1)
    return ExtractConfig(mcq_dir=mcq, video_root=root, output=out, shaping=FrameSpec(**shaping), **kw)


def llava_video_layout(root: Path) -> Path:
    """``root/LLaVA-Video-178K/0_30_s_nextqa/0_30_s_nextqa_mc_qa_processed.json`` (the bundled sample) plus
    a 2 s clip for each of its videos: the layout the TinyLLaVA recipe reads. Returns the dataset folder."""
    from media import make_clip

    sample = REPO_ROOT / "curate" / "samples" / "0_30_s_nextqa_mc_qa_processed.json"
    data = root / "LLaVA-Video-178K"
    (data / "0_30_s_nextqa").mkdir(parents=True)
    shutil.copy(sample, data / "0_30_s_nextqa" / sample.name)
    for video in sorted({r["video"] for r in json.loads(sample.read_text(encoding="utf-8"))}):
        make_clip(data / video, seconds=2.0)
    return data
