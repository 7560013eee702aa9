"""A finished stage's rerun writes nothing: filter, extract-frames and coldstart find their manifest and
return before touching a table (every file's and folder's inode, mtime_ns and size unchanged; the
atomic writers, the decoder pool and the model are never reached), and the same rerun succeeds on a
read-only folder: run as root without CAP_DAC_OVERRIDE (setpriv), so the permission bits hold."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import extract_config, make_table
from interrupt import CURATE, snapshot
from media import make_clip

import schemas.atomic
from curate.coldstart.backends import SamplingParams
from curate.coldstart.stage import ColdstartConfig
from curate.coldstart.stage import run as run_coldstart
from curate.filter import FilterConfig
from curate.filter import run as run_filter
from curate.frames import executors
from curate.frames.extract import run as run_extract

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

SAMPLES = Path(__file__).resolve().parents[1] / "curate" / "samples"
INPUTS = [SAMPLES / "nextqa_val.csv", SAMPLES / "0_30_s_nextqa_mc_qa_processed.json"]


def read_only_run(folder: Path, cmd: list[str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` with ``folder`` (recursively) read-only, as a process that cannot override that."""
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for path in modes:
        path.chmod(stat.S_IMODE(modes[path]) & ~0o222)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root ignores permission bits unless it lacks CAP_DAC_OVERRIDE
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a folder read-only to ourselves")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"]
    try:
        probe = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True)
        assert probe.returncode != 0, "the folder should be read-only to the rerun"
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True)
    finally:
        for path, mode in modes.items():
            path.chmod(stat.S_IMODE(mode))


# ------------------------------------------------------------------------------------------------ filter


def test_filter_rerun_writes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = run_filter(FilterConfig(inputs=INPUTS, output=out))
    before = snapshot(out)
    monkeypatch.setattr(schemas.atomic, "atomic_path", lambda *a, **k: pytest.fail("wrote"))
    again = run_filter(FilterConfig(inputs=INPUTS, output=out))
    assert again.skipped and (again.read, again.kept, again.rejected) == (first.read, first.kept, first.rejected)
    assert snapshot(out) == before


def test_filter_rerun_on_a_read_only_folder(tmp_path):
    out = tmp_path / "out"
    run_filter(FilterConfig(inputs=INPUTS, output=out))
    before = snapshot(out)
    done = read_only_run(out, [*CURATE, "filter", *map(str, INPUTS), "-o", str(out), "--json"])
    assert done.returncode == 0, done.stderr
    assert '"skipped": true' in done.stdout
    assert {k: v[:3] for k, v in snapshot(out).items()} == {k: v[:3] for k, v in before.items()}


# ---------------------------------------------------------------------------------------- extract-frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("noop-frames")
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        make_clip(base / "videos" / name)
    return make_table(base / "in", ["a.mp4", "b.mp4", "c.mp4", "missing.mp4"], per_video=2), base / "videos"


def test_extract_frames_rerun_writes_nothing(tmp_path, clips, monkeypatch):
    mcq, root = clips
    out = tmp_path / "out"
    first = run_extract(extract_config(mcq, root, out, shard_rows=1))
    before = snapshot(out)
    assert first.up_to_date is False
    monkeypatch.setattr(schemas.atomic, "_create_temporary", lambda *a: pytest.fail("wrote"))
    monkeypatch.setattr(schemas.atomic, "atomic_path", lambda *a: pytest.fail("wrote"))
    monkeypatch.setitem(executors.RUNNERS, "local", lambda *a: pytest.fail("decoded"))
    again = run_extract(extract_config(mcq, root, out, shard_rows=1))
    assert again.up_to_date is True and again.skipped == first.videos == 4
    same = ("videos", "decoded", "rejected_videos", "questions", "kept", "rejected", "shards")
    assert {k: getattr(again, k) for k in same} == {k: getattr(first, k) for k in same}
    assert snapshot(out) == before


def test_extract_frames_rerun_on_a_read_only_folder(tmp_path, clips):
    mcq, root = clips
    out = tmp_path / "out"
    args = ["extract-frames", str(mcq), "--video-root", str(root), "-o", str(out), "--num-frames", "4",
            "--size", "32", "--workers", "1"]
    assert subprocess.run([*CURATE, *args, "-q"]).returncode == 0
    before = snapshot(out)
    done = read_only_run(out, [*CURATE, *args, "--json"])
    assert done.returncode == 0, done.stderr
    assert '"up_to_date": true' in done.stdout
    assert {k: v[:3] for k, v in snapshot(out).items()} == {k: v[:3] for k, v in before.items()}


def test_extract_frames_changed_input_is_not_a_noop(tmp_path, clips):
    """The no-op is exact: a newer input table (or another config) runs again, resuming what is done."""
    mcq, root = clips
    out = tmp_path / "out"
    run_extract(extract_config(mcq, root, out))
    os.utime(mcq / "mcq.parquet")  # the table was rewritten
    again = run_extract(extract_config(mcq, root, out))
    assert again.up_to_date is False and again.skipped == 4 and again.decoded == 3


# --------------------------------------------------------------------------------------------- coldstart


class Scripted:
    name = "scripted"

    def __init__(self):
        self.calls = 0
        self.closed = False

    def generate(self, requests, params):
        from curate.coldstart.backends import Completion

        self.calls += 1
        return [[Completion("<think>x</think><answer>A</answer>", "stop", 3, 2)] * params.num_samples
                for _ in requests]

    def info(self):
        return {"backend": "scripted"}

    def close(self):
        self.closed = True


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("noop-filter")
    run_filter(FilterConfig(inputs=INPUTS, output=out))
    return out


def cold_config(table: Path, out: Path) -> ColdstartConfig:
    return ColdstartConfig(input=table, output=out, model="scripted", blind=True,
                           sampling=SamplingParams(num_samples=3, max_new_tokens=8), batch_size=2)


def test_coldstart_rerun_writes_nothing_and_loads_no_model(tmp_path, table, monkeypatch):
    out = tmp_path / "out"
    first = run_coldstart(cold_config(table, out), backend=Scripted())
    assert (out / "manifest.json").is_file()
    before = snapshot(out)
    monkeypatch.setattr(schemas.atomic, "atomic_path", lambda *a: pytest.fail("wrote"))
    backend = Scripted()
    again = run_coldstart(cold_config(table, out), backend=backend)
    assert again.up_to_date and backend.calls == 0 and backend.closed
    assert (again.questions, again.exemplars, again.sampled, again.skipped) == (first.questions, first.exemplars,
                                                                                 0, first.questions)
    assert snapshot(out) == before


def test_coldstart_rerun_on_a_read_only_folder(tmp_path, table):
    """Through the CLI: the model 'scripted' does not exist, so reaching the backend would fail."""
    out = tmp_path / "out"
    run_coldstart(cold_config(table, out), backend=Scripted())
    before = snapshot(out)
    args = ["coldstart", str(table), "--model", "scripted", "--blind", "-o", str(out), "--num-samples", "3",
            "--max-new-tokens", "8", "--batch-size", "2", "--json"]
    done = read_only_run(out, [*CURATE, *args])
    assert done.returncode == 0, done.stderr
    assert {k: v[:3] for k, v in snapshot(out).items()} == {k: v[:3] for k, v in before.items()}
