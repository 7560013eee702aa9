"""curate extract-frames end to end: outputs, rejects, timeouts and crashes, resume after kill -9,
config pinning, verify, and the Ray executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import extract_config as config
from helpers import make_table
from media import make_clip
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import UserError
from curate.frames import executors
from curate.frames.extract import run
from schemas.frames import validate_frames
from schemas.mcq import read_mcq, write_mcq
from schemas.rejects import REJECTS_SCHEMA

CURATE = [sys.executable, "-m", "curate.cli"]


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    for name in ("a.mp4", "b.mp4", "sub/c.mp4"):
        make_clip(root / name)
    (root / "broken.mp4").write_bytes(os.urandom(4096))
    return root


def shard_rows(out: Path) -> list[dict]:
    rows = []
    for shard in sorted((out / "frames").glob("part-*.parquet")):
        rows += validate_frames(pq.read_table(shard)).to_pylist()
    return rows


@pytest.mark.slow
def test_end_to_end_outputs_and_rejects(tmp_path, library):
    mcq = make_table(tmp_path / "in", ["a.mp4", "b.mp4", "sub/c.mp4", "missing.mp4", "broken.mp4"], per_video=2)
    out = tmp_path / "out"
    result = run(config(mcq, library, out))
    assert (result.videos, result.decoded, result.rejected_videos) == (5, 3, 2)
    assert result.decoders == {"pyav": 3}  # auto on the CPU: PyAV; rejected videos are not counted
    assert (result.questions, result.kept, result.rejected) == (10, 6, 4)
    rows = shard_rows(out)
    assert sorted(r["video"] for r in rows) == ["a.mp4", "b.mp4", "sub/c.mp4"]  # each distinct video once
    for r in rows:
        assert len(r["frames"]) == 4 and r["frame_indices"] == [0, 3, 6, 9]
        assert r["num_frames_decoded"] == 10 and (r["height"], r["width"]) == (32, 32) and r["encoding"] == "jpeg"
        assert r["frames"][0]["path"].startswith(r["video_key"] + "/")
    kept = read_mcq(out)
    assert kept.num_rows == 6 and set(kept.column("video_key").to_pylist()) == {r["video_key"] for r in rows}
    rejects = pq.read_table(out / "rejects.parquet")
    assert rejects.schema.names == REJECTS_SCHEMA.names
    reasons = {(r["video"], r["reason"]) for r in rejects.to_pylist()}
    assert reasons == {("missing.mp4", "missing"), ("broken.mp4", "unreadable")}
    assert all(json.loads(r["record"])["video"] == r["video"] for r in rejects.to_pylist())
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["file"] for e in manifest["outputs"]} >= {"mcq.parquet", "rejects.parquet", "frames/part-00000.parquet"}


def test_clip_windows_are_distinct_videos(tmp_path, library):
    mcq = make_table(tmp_path / "in", ["a.mp4"], per_video=2)
    table = read_mcq(mcq).to_pylist()
    table[1]["start"], table[1]["end"] = 0.5, 0.9
    write_mcq(pa.Table.from_pylist(table), mcq / "mcq.parquet")
    out = tmp_path / "out"
    run(config(mcq, library, out))
    rows = sorted(shard_rows(out), key=lambda r: r["frame_indices"][0])
    assert len(rows) == 2
    assert all(0.5 - 1e-6 <= t <= 0.9 + 1e-6 for t in rows[1]["timestamps"])


def test_rerun_skips_finished_videos_and_other_config_is_refused(tmp_path, library):
    mcq = make_table(tmp_path / "in", ["a.mp4", "b.mp4"])
    out = tmp_path / "out"
    run(config(mcq, library, out))
    again = run(config(mcq, library, out))
    assert again.skipped == 2 and len(shard_rows(out)) == 2
    with pytest.raises(UserError, match="other shaping options"):
        run(config(mcq, library, out, size=48))
    replaced = run(config(mcq, library, out, size=48), replace=True)  # a recipe's own folder: emptied first
    assert replaced.skipped == 0 and replaced.decoded == 2
    rows = shard_rows(out)
    assert len(rows) == 2 and {max(r["height"], r["width"]) for r in rows} == {48}  # only the new frames


MISBEHAVE = {"how": None}  # set by the test before the worker pool forks


def _misbehaving(task, shaping, threads=1):
    """Stands in for curate.frames.work.process: a.mp4 hangs or kills its worker, others decode."""
    if task.video == "a.mp4" and MISBEHAVE["how"] == "hang":
        time.sleep(60)
    if task.video == "a.mp4" and MISBEHAVE["how"] == "crash":
        os._exit(3)
    return REAL_PROCESS(task, shaping, threads)


REAL_PROCESS = executors.process


@pytest.mark.slow
@pytest.mark.parametrize(("how", "reason"), [("hang", "timeout"), ("crash", "crashed")])
def test_hung_or_crashed_worker_is_rejected_and_the_run_goes_on(tmp_path, library, monkeypatch, how, reason):
    monkeypatch.setitem(MISBEHAVE, "how", how)
    monkeypatch.setattr(executors, "process", _misbehaving)
    mcq = make_table(tmp_path / "in", ["a.mp4", "b.mp4", "sub/c.mp4"])
    result = run(config(mcq, library, tmp_path / "out", timeout=2.0))
    assert result.decoded == 2
    rejects = pq.read_table(tmp_path / "out" / "rejects.parquet").to_pylist()
    assert [(r["video"], r["reason"]) for r in rejects] == [("a.mp4", reason)]


@pytest.mark.slow
def test_resume_after_kill_minus_9_is_exactly_once(tmp_path):
    root = tmp_path / "videos"
    names = [f"v{i:02d}.mp4" for i in range(10)]
    for name in names:
        make_clip(root / name, seconds=2.0, size="320x240", rate=25)
    mcq = make_table(tmp_path / "in", names)
    out = tmp_path / "out"
    cmd = CURATE + [
        "extract-frames",
        str(mcq),
        "--video-root",
        str(root),
        "-o",
        str(out),
        "--workers",
        "1",
        "--shard-rows",
        "1",
        "--num-frames",
        "8",
        "--size",
        "64",
        "-q",
    ]
    proc = subprocess.Popen(cmd, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "frames").glob("part-*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(list((out / "frames").glob("part-*.parquet")))
    assert 3 <= partial < len(names), "the kill should land mid-run"
    assert not (out / "manifest.json").exists()
    done = subprocess.run(cmd + ["--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["skipped"] >= partial and summary["decoded"] == len(names)
    assert summary["decoders"] == {"pyav": len(names) - summary["skipped"]}  # this run's videos only
    keys = [r["video_key"] for r in shard_rows(out)]
    assert len(keys) == len(set(keys)) == len(names)
    assert not list(out.rglob(".*.tmp"))


def test_verify_passes_then_catches_a_flipped_byte(tmp_path, library):
    mcq = make_table(tmp_path / "in", ["a.mp4", "b.mp4"])
    out = tmp_path / "out"
    run(config(mcq, library, out))
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", str(out), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout.strip().splitlines()[-1])["frames_decoded"] >= 2
    shard = out / "frames" / "part-00000.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    bad = runner.invoke(app, ["verify", str(out)])
    assert bad.exit_code == 1 and "part-00000.parquet" in bad.output


def test_cli_bad_input_is_one_line_exit_2(tmp_path, library):
    runner = CliRunner()
    missing = runner.invoke(
        app, ["extract-frames", str(tmp_path / "nope"), "--video-root", str(library), "-o", str(tmp_path / "o")]
    )
    assert missing.exit_code == 2 and "no such file" in missing.output and "Traceback" not in missing.output
    mcq = make_table(tmp_path / "in", ["a.mp4"])
    bad = runner.invoke(
        app, ["extract-frames", str(mcq), "--video-root", str(library), "-o", str(tmp_path / "o"), "--encoding", "gif"]
    )
    assert bad.exit_code == 2 and "--encoding" in bad.output
    nodir = runner.invoke(app, ["verify", str(tmp_path / "empty")])
    assert nodir.exit_code == 2


@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path, library):
    pytest.importorskip("ray")
    mcq = make_table(tmp_path / "in", ["a.mp4", "b.mp4", "broken.mp4"])
    local = run(config(mcq, library, tmp_path / "local", encoding="png"))
    remote = run(config(mcq, library, tmp_path / "ray", encoding="png", executor="ray", workers=2))
    assert (remote.decoded, remote.rejected_videos) == (local.decoded, local.rejected_videos) == (2, 1)
    by_key = {r["video_key"]: r for r in shard_rows(tmp_path / "local")}
    for row in shard_rows(tmp_path / "ray"):
        assert row["frames"] == by_key[row["video_key"]]["frames"]
    assert read_mcq(tmp_path / "ray").to_pylist() == read_mcq(tmp_path / "local").to_pylist()


@pytest.mark.parametrize(
    ("cpus", "workers", "videos", "threads"),
    [(2, 2, None, 1), (2, 1, None, 2), (2, 2, 1, 2), (16, 16, 3, 5), (16, 4, 100, 4), (16, 32, None, 1), (1, 1, 0, 1)],
)
def test_a_video_gets_the_cpus_of_workers_with_nothing_to_do(cpus, workers, videos, threads):
    assert executors.video_threads(cpus, workers, videos) == threads
