"""kill -9 at chosen points, then rerun: filter, extract-frames, coldstart and `curate run` remove the
temporaries the killed run left and end with complete, correct outputs, each item exactly once; an
extract-frames worker whose parent is killed stops instead of finishing its video.

The kill points are exact: the child (tests/interrupt.py) stops inside the Nth atomic write of a given
file, after the temporary is written and before it is renamed, and the test kills its whole process
group there with SIGKILL (nothing of the child runs after it). Other kills land after a shard appears."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from helpers import extract_config, make_table
from interrupt import (
    CURATE,
    SCRIPT,
    _Scripted,
    alive,
    kill_group,
    manifest_matches,
    paused,
    start,
    temporaries,
    wait_for,
)
from media import make_clip

from curate.coldstart.backends import SamplingParams
from curate.coldstart.stage import ColdstartConfig
from curate.coldstart.stage import run as run_coldstart
from curate.frames.extract import run as run_extract

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

SAMPLES = Path(__file__).resolve().parents[1] / "curate" / "samples"
NEXTQA = SAMPLES / "nextqa_val.csv"
VIDEOS = [f"v{i}.mp4" for i in range(8)]


def kill_inside(flag: Path, args: list[str], pause_at: str, nth: int = 1, *extra: str) -> Path:
    """Run ``curate args`` until it is inside the ``nth`` write of ``pause_at``; kill -9 it there; return
    the temporary it left (asserted to be on disk)."""
    proc = paused(flag, args, pause_at, nth, *extra)
    wait_for(flag.exists, proc, what=f"write {nth} of {pause_at}")
    tmp = Path(flag.read_text())
    assert tmp.is_file() and tmp.name.startswith(".") and tmp.name.endswith(".tmp")
    kill_group(proc)
    return tmp


def rerun(args: list[str], *extra: str) -> dict:
    """Rerun to completion (through tests/interrupt.py when ``extra`` asks for a scripted backend)."""
    cmd = [*SCRIPT, "cli", *extra, "unused", "--", *args] if extra else [*CURATE, *args]
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def same_table(a: Path, b: Path, drop: tuple[str, ...] = ()) -> bool:
    left, right = pl.read_parquet(a).drop(drop), pl.read_parquet(b).drop(drop)
    return left.equals(right)


# ------------------------------------------------------------------------------------------------ filter


@pytest.fixture(scope="module")
def filter_reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "filter"
    rerun(["filter", str(NEXTQA), "-o", str(out)])
    return out


def check_filter(out: Path, ref: Path) -> None:
    assert temporaries(out) == []
    assert manifest_matches(out)
    for name in ("mcq.parquet", "rejects.parquet"):
        assert same_table(out / name, ref / name, drop=("input",) if name == "rejects.parquet" else ())
    assert json.loads((out / "stats.json").read_text()) == json.loads((ref / "stats.json").read_text())


@pytest.mark.parametrize(("pause_at", "nth"), [("rejects.parquet", 1), ("mcq.parquet", 1), ("manifest.json", 1)])
def test_filter_killed_inside_a_write_then_rerun(tmp_path, filter_reference, pause_at, nth):
    out = tmp_path / "out"
    args = ["filter", str(NEXTQA), "-o", str(out)]
    kill_inside(tmp_path / "flag", args, pause_at, nth)
    assert not (out / "manifest.json").exists()  # not a finished run
    summary = rerun(args)
    assert summary["skipped"] is False
    check_filter(out, filter_reference)


def test_filter_killed_after_a_short_delay_then_rerun(tmp_path, filter_reference):
    out = tmp_path / "out"
    args = ["filter", str(NEXTQA), "-o", str(out)]
    for delay in (0.3, 1.0, 2.0):
        proc = start([*CURATE, *args])
        time.sleep(delay)
        kill_group(proc)
    rerun(args)
    check_filter(out, filter_reference)


# ---------------------------------------------------------------------------------------- extract-frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path, Path]:
    """8 clips plus a missing one (a rejected video), 2 questions each, and a reference run."""
    base = tmp_path_factory.mktemp("kill-frames")
    for name in VIDEOS:
        make_clip(base / "videos" / name, seconds=1.0, size="160x120", rate=25)
    mcq = make_table(base / "in", [*VIDEOS, "missing.mp4"], per_video=2)
    ref = base / "ref"
    run_extract(extract_config(mcq, base / "videos", ref))  # 4 frames of 32x32, as frames_args
    return mcq, base / "videos", ref


def frames_args(mcq: Path, root: Path, out: Path) -> list[str]:
    return ["extract-frames", str(mcq), "--video-root", str(root), "-o", str(out), "--workers", "1",
            "--shard-rows", "1", "--num-frames", "4", "--size", "32", "-q"]


def rows_by_key(out: Path) -> dict[str, list]:
    rows: dict[str, list] = {}
    for shard in sorted((out / "frames").glob("part-*.parquet")):
        for row in pq.read_table(shard, columns=["video_key", "frames"]).to_pylist():
            rows.setdefault(row["video_key"], []).append(row["frames"])
    return rows


def check_frames(out: Path, ref: Path) -> None:
    assert temporaries(out) == []
    assert manifest_matches(out)
    got, want = rows_by_key(out), rows_by_key(ref)
    assert all(len(v) == 1 for v in got.values())  # exactly once
    assert got == want and len(got) == len(VIDEOS)
    assert same_table(out / "mcq.parquet", ref / "mcq.parquet")
    assert same_table(out / "rejects.parquet", ref / "rejects.parquet")


@pytest.mark.parametrize(
    ("pause_at", "nth"),
    [("part-*.parquet", 3), ("rejects-*.parquet", 1), ("mcq.parquet", 1), ("manifest.json", 1)],
)
def test_extract_frames_killed_inside_a_write_then_rerun(tmp_path, clips, pause_at, nth):
    mcq, root, ref = clips
    out = tmp_path / "out"
    args = frames_args(mcq, root, out)
    kill_inside(tmp_path / "flag", args, pause_at, nth)
    assert not (out / "manifest.json").exists()
    rerun(args)
    check_frames(out, ref)


def test_extract_frames_killed_after_shards_appear_then_rerun(tmp_path, clips):
    mcq, root, ref = clips
    out = tmp_path / "out"
    args = frames_args(mcq, root, out)
    for shards in (1, 3):
        proc = start([*CURATE, *args])
        wait_for(lambda n=shards: len(list((out / "frames").glob("part-*.parquet"))) >= n, proc,
                 what=f"{shards} shards")
        kill_group(proc)
    summary = rerun(args)
    assert summary["skipped"] >= 3
    check_frames(out, ref)


def test_orphaned_workers_stop_when_the_parent_is_killed(tmp_path, clips):
    """SIGKILL the driver only (not its process group): its pebble workers, each stuck on a slow video,
    are gone within a bounded poll, and the folder's lock went with the driver."""
    mcq, root, ref = clips
    out, pids = tmp_path / "out", tmp_path / "pids"
    pids.mkdir()
    args = frames_args(mcq, root, out)
    args[args.index("--workers") + 1] = "2"
    with open(tmp_path / "log", "w") as log:  # not a pipe: an orphan holding it open must not block us
        proc = subprocess.Popen([*SCRIPT, "cli", "--slow-worker", str(pids), "unused", "--", *args],
                                start_new_session=True, stdout=log, stderr=log)
    wait_for(lambda: len(list(pids.iterdir())) >= 2, proc, what="both workers to start a video")
    workers = [int(p.name) for p in pids.iterdir()]
    assert all(alive(pid) for pid in workers)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    try:
        wait_for(lambda: not any(alive(pid) for pid in workers), timeout=30, what="the orphaned workers to stop")
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    rerun(args)  # the lock was released: the rerun is not refused
    check_frames(out, ref)


# --------------------------------------------------------------------------------------------- coldstart


@pytest.fixture(scope="module")
def cold_input(tmp_path_factory) -> tuple[Path, Path]:
    """A filter output and a reference coldstart run of it (the same scripted backend as the child's)."""
    base = tmp_path_factory.mktemp("kill-cold")
    rerun(["filter", str(NEXTQA), str(SAMPLES / "0_30_s_nextqa_mc_qa_processed.json"), "-o", str(base / "filter")])
    ref = base / "ref"
    cfg = ColdstartConfig(input=base / "filter", output=ref, model="scripted", blind=True,
                          sampling=SamplingParams(num_samples=3, max_new_tokens=8), batch_size=2)
    run_coldstart(cfg, backend=_Scripted(0.0))
    return base / "filter", ref


def cold_args(table: Path, out: Path) -> list[str]:
    return ["coldstart", str(table), "--model", "scripted", "--blind", "-o", str(out), "--num-samples", "3",
            "--max-new-tokens", "8", "--batch-size", "2", "-q"]


def check_cold(out: Path, ref: Path) -> None:
    assert temporaries(out) == []
    assert manifest_matches(out)
    samples = pl.read_parquet(out / "samples.parquet")
    questions = pl.read_parquet(ref / "passrate.parquet").height
    per_id = samples.group_by("id").len()
    assert per_id.height == questions and per_id["len"].to_list() == [3] * questions  # exactly once each
    for name in ("samples.parquet", "passrate.parquet", "exemplars.parquet"):
        assert same_table(out / name, ref / name), name


@pytest.mark.parametrize(
    ("pause_at", "nth"), [("samples-*.parquet", 2), ("samples.parquet", 1), ("exemplars.parquet", 1),
                          ("manifest.json", 1)]
)
def test_coldstart_killed_inside_a_write_then_rerun(tmp_path, cold_input, pause_at, nth):
    table, ref = cold_input
    out = tmp_path / "out"
    args = cold_args(table, out)
    kill_inside(tmp_path / "flag", args, pause_at, nth, "--scripted")
    assert not (out / "manifest.json").exists()
    rerun(args, "--scripted")
    check_cold(out, ref)


def test_coldstart_killed_after_a_batch_then_rerun(tmp_path, cold_input):
    table, ref = cold_input
    out = tmp_path / "out"
    args = cold_args(table, out)
    proc = start([*SCRIPT, "cli", "--scripted", "--delay", "0.3", "unused", "--", *args])
    wait_for(lambda: any((out / "_work").glob("samples-*.parquet")), proc, what="a first batch")
    kill_group(proc)
    summary = rerun(args, "--scripted")
    assert summary["skipped_done"] >= 2
    check_cold(out, ref)


# ------------------------------------------------------------------------------------------- curate run


@pytest.fixture(scope="module")
def recipe(tmp_path_factory, clips) -> Path:
    """filter (generic CSV) → extract-frames → coldstart (scripted) → export trl with stored frames."""
    _, root, _ = clips
    base = tmp_path_factory.mktemp("kill-run")
    rows = ["id,video,question,a,b,answer"] + [f"q{i},{v},What is shown in {v}?,yes,no,{i % 2}"
                                                for i, v in enumerate(VIDEOS)]
    (base / "qa.csv").write_text("\n".join(rows) + "\n")
    text = f"""
vars: {{out: ./out}}
stages:
  - name: filter
    stage: filter
    options: {{inputs: [qa.csv], format: generic, map: ["question=question", "options=a,b", "answer=answer",
               "video=video", "id=id"], output: "${{out}}/filter"}}
  - name: frames
    stage: extract-frames
    options: {{video-root: {root}, output: "${{out}}/frames", num-frames: 4, size: 32, workers: 1, shard-rows: 1}}
  - name: coldstart
    stage: coldstart
    options: {{model: scripted, num-samples: 2, max-new-tokens: 8, batch-size: 2, output: "${{out}}/coldstart"}}
  - name: export
    stage: export
    options: {{input: "${{stages.frames.output}}", to: trl, output: "${{out}}/export/train.jsonl"}}
"""
    (base / "recipe.yaml").write_text(text)
    return base / "recipe.yaml"


def check_run(out: Path, summary: dict) -> None:
    assert temporaries(out) == [] and not [p for p in out.rglob("*.tmp")]
    for stage in ("filter", "frames", "coldstart"):
        assert manifest_matches(out / stage), stage
    keys = rows_by_key(out / "frames")
    assert len(keys) == len(VIDEOS) and all(len(v) == 1 for v in keys.values())
    samples = pl.read_parquet(out / "coldstart" / "samples.parquet").group_by("id").len()
    assert samples.height == len(VIDEOS) and samples["len"].to_list() == [2] * len(VIDEOS)
    lines = (out / "export" / "train.jsonl").read_text().splitlines()
    assert len(lines) == len(VIDEOS)
    for line in lines:
        for image in json.loads(line)["images"]:
            assert Path(image).is_file()
    assert all(s["status"] in ("ran", "skipped") for s in summary["steps"])


@pytest.mark.parametrize(
    ("pause_at", "nth"),
    [
        ("part-*.parquet", 3),  # extract-frames, mid-run
        ("samples-*.parquet", 2),  # coldstart, mid-run
        ("run.json", 1),  # coldstart's run summary, just before its manifest
        ("0000*.jpg", 5),  # export's frame files
        ("train.jsonl", 1),  # export's file
        ("train.jsonl.manifest.json", 1),  # export's manifest, written after its file
    ],
)
def test_curate_run_killed_inside_a_step_then_rerun(tmp_path, recipe, pause_at, nth):
    out = tmp_path / "out"
    args = ["run", str(recipe), "--base-dir", str(recipe.parent), "--set", f"out={out}", "-q"]
    kill_inside(tmp_path / "flag", args, pause_at, nth, "--scripted")
    summary = rerun(args, "--scripted")
    check_run(out, summary)
    again = rerun(args, "--scripted")
    assert [s["status"] for s in again["steps"]] == ["skipped"] * 4  # the rerun finished every step


# ----------------------------------------------------------------------------------------------- publish


def test_publish_staging_drops_a_killed_runs_temporaries(tmp_path, filter_reference):
    """They would be uploaded with the folder: the next staging removes them."""
    from curate.publish import lay_out

    staging = tmp_path / "staging"
    lay_out(filter_reference, staging)
    leftovers = [staging / ".README.md.0123456789ab.tmp", staging / "data" / "mcq" / "mcq.parquet.tmp"]
    for path in leftovers:
        path.write_text("partial")
    lay_out(filter_reference, staging)
    assert not any(p.exists() for p in leftovers) and (staging / "data" / "mcq" / "mcq.parquet").is_file()
