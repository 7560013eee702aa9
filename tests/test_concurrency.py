"""One writer per output folder (curate/lock.py): real concurrent `curate extract-frames` processes on
one folder, every stage refused while another process holds its folder, and the lock's own contract
(re-entrant in a thread, refused to other threads and processes, not inherited by forked workers,
released by the kernel on kill -9, writes nothing, the lock-file fallback)."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import make_table
from interrupt import CURATE, SCRIPT, kill_group, manifest_matches, snapshot, start, temporaries, wait_for
from media import make_clip

import curate.lock as lock
from curate.errors import FolderBusy, UserError
from curate.lock import is_held, output_lock
from pipelines.reader import iter_samples

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

SAMPLES = Path(__file__).resolve().parents[1] / "curate" / "samples"
VIDEOS = [f"v{i:02d}.mp4" for i in range(12)]


def busy_message(folder: Path, pid: int | None = None) -> str:
    return f"curate: error: {folder}: another curate run is writing this folder" + (f" (pid {pid})" if pid else "")


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, Path]:
    """12 clips (4 s, 320x240, 25 fps) and a table with two questions each; every frame is stored (below),
    so a run holds its folder for seconds: long enough for two runs started together to overlap."""
    base = tmp_path_factory.mktemp("concurrent")
    for name in VIDEOS:
        make_clip(base / "videos" / name, seconds=4.0, size="320x240", rate=25)
    return make_table(base / "in", VIDEOS, per_video=2), base / "videos"


def extract_cmd(mcq: Path, root: Path, out: Path) -> list[str]:
    return [*CURATE, "extract-frames", str(mcq), "--video-root", str(root), "-o", str(out), "--workers", "1",
            "--shard-rows", "1", "--sampling", "fps", "--fps", "25", "--size", "256", "-q"]


def check_one_row_per_video(out: Path, questions: int) -> None:
    keys = [k for p in sorted((out / "frames").glob("part-*.parquet"))
            for k in pq.read_table(p, columns=["video_key"]).column("video_key").to_pylist()]
    assert len(keys) == len(set(keys)) == len(VIDEOS)
    assert manifest_matches(out) and not temporaries(out)
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {e["file"] for e in manifest["outputs"] if e["file"].startswith("frames/")}
    assert listed == {f"frames/{p.name}" for p in (out / "frames").glob("part-*.parquet")}
    assert sum(1 for _ in iter_samples(out)) == questions  # the reader: one sample per question


@pytest.mark.parametrize("trial", range(4))
def test_two_extract_frames_at_once_one_refused(tmp_path, clips, trial):
    """Both processes started together: exactly one writes (exit 0), the other is refused at once (exit 2)
    with a one-line error naming the folder; the folder ends with exactly one row per video."""
    mcq, root = clips
    out = tmp_path / "out"
    procs = [start(extract_cmd(mcq, root, out)) for _ in range(2)]
    results = [(p.wait(timeout=300), p.communicate()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], [(code, err) for code, (_, err) in results]
    winner, loser = (procs[0], procs[1]) if results[0][0] == 0 else (procs[1], procs[0])
    (line,) = [r for c, r in results if c == 2][0][1].strip().splitlines()
    assert line == busy_message(out, winner.pid), line
    check_one_row_per_video(out, 2 * len(VIDEOS))


def test_second_extract_frames_started_while_first_holds_the_folder(tmp_path, clips):
    """The second run starts once the first holds the lock (its _work/config.json exists): refused,
    while the first goes on to a complete folder."""
    mcq, root = clips
    out = tmp_path / "out"
    first = start(extract_cmd(mcq, root, out))
    wait_for(lambda: (out / "_work" / "config.json").exists(), first, what="the first run to start")
    second = subprocess.run(extract_cmd(mcq, root, out), capture_output=True, text=True)
    assert second.returncode == 2 and second.stderr.strip() == busy_message(out, first.pid), second.stderr
    assert first.wait(timeout=300) == 0, first.communicate()
    check_one_row_per_video(out, 2 * len(VIDEOS))


# --------------------------------------------------------------------- every stage, against a holder


@pytest.fixture
def holder(tmp_path):
    """A separate process holding a folder's lock: yields hold(folder) -> its pid."""
    procs = []

    def hold(folder: Path) -> int:
        flag = tmp_path / f"held-{len(procs)}"
        proc = start([*SCRIPT, "hold", str(folder), str(flag)])
        procs.append(proc)
        wait_for(flag.exists, proc, what="the lock to be held")
        return proc.pid

    yield hold
    for proc in procs:
        kill_group(proc)


def test_every_stage_is_refused_while_another_process_writes_its_folder(tmp_path, holder, clips):
    mcq, root = clips
    filtered, frames, cold, run_out = (tmp_path / n for n in ("filter", "frames", "cold", "run"))
    # filter ran once, so the later stages have their input
    first = subprocess.run([*CURATE, "filter", str(SAMPLES / "nextqa_val.csv"), "-o", str(filtered), "-q"])
    assert first.returncode == 0
    commands = {
        "filter": [*CURATE, "filter", str(SAMPLES / "nextqa_val.csv"), "-o", str(filtered)],
        "extract-frames": extract_cmd(mcq, root, frames),
        "coldstart": [*CURATE, "coldstart", str(filtered), "--model", "m", "--blind", "-o", str(cold)],
        "publish": [*CURATE, "publish", str(filtered), "--repo-id", "me/x"],  # stages into filter/_publish
    }
    folders = {"filter": filtered, "extract-frames": frames, "coldstart": cold, "publish": filtered / "_publish"}
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"stages:\n  - name: filter\n    stage: filter\n    options: "
                      f"{{inputs: [{SAMPLES / 'nextqa_val.csv'}], output: {run_out}}}\n")
    commands["run"], folders["run"] = [*CURATE, "run", str(recipe)], run_out
    env = {**os.environ, "HF_TOKEN": "hf_" + "x" * 30, "HF_HUB_OFFLINE": "1"}
    for stage, cmd in commands.items():
        before = snapshot(folders[stage]) if folders[stage].exists() else None
        pid = holder(folders[stage])
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert done.returncode == 2, (stage, done.stderr)
        lines = done.stderr.strip().splitlines()
        if stage == "run":  # after the step's heading
            lines = lines[-1:]
        assert lines == [busy_message(folders[stage], pid)], (stage, done.stderr)
        if before is not None and stage != "publish":
            assert snapshot(folders[stage]) == before, stage  # refused before writing anything


# ----------------------------------------------------------------------------------- the lock itself


def test_lock_is_reentrant_in_a_thread_and_refused_elsewhere(tmp_path):
    folder = tmp_path / "out"
    with output_lock(folder) as held:
        assert held == folder and folder.is_dir() and is_held(folder)
        with output_lock(folder):  # curate run holds a step's folder while the stage takes it again
            assert is_held(folder)
        assert is_held(folder)
        refused = []

        def other_thread():
            try:
                with output_lock(folder):
                    refused.append(False)
            except FolderBusy as exc:
                refused.append(exc.pid == os.getpid())

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert refused == [True]
        code = f"from curate.lock import output_lock\nwith output_lock({str(folder)!r}): pass"
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert other.returncode == 1
        assert f"another curate run is writing this folder (pid {os.getpid()})" in other.stderr
    assert not is_held(folder)
    assert os.listdir(folder) == []  # no lock file: the lock is the folder's own flock


def test_forked_child_does_not_keep_the_lock(tmp_path):
    folder = tmp_path / "out"
    read, write = os.pipe()
    with output_lock(folder):
        pid = os.fork()
        if pid == 0:  # the child: it neither holds the lock nor keeps it alive
            os.close(read)
            try:
                with output_lock(folder):
                    os.write(write, b"got")
            except FolderBusy:
                os.write(write, b"busy")
            time.sleep(30)  # still alive when the parent releases
            os._exit(0)
        os.close(write)
        assert os.read(read, 4) == b"busy"
    try:
        with output_lock(folder):  # released although the child still runs
            pass
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_kill_minus_9_releases_the_lock(tmp_path):
    """The kernel drops the flock when its holder dies: no stale lock to clean up after kill -9."""
    folder, flag = tmp_path / "out", tmp_path / "held"
    proc = start([*SCRIPT, "hold", str(folder), str(flag)])
    wait_for(flag.exists, proc, what="the lock to be held")
    with pytest.raises(FolderBusy) as refused:
        with output_lock(folder):
            pass
    assert refused.value.pid == proc.pid
    kill_group(proc)
    with output_lock(folder):
        assert is_held(folder)


def test_lock_writes_nothing_and_works_on_a_read_only_folder(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a").write_text("x")
    before = snapshot(folder)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with output_lock(folder, clean={"": ("*",)}):
            pass
    finally:
        folder.chmod(0o755)
    assert snapshot(folder) == before


def test_lock_file_fallback_where_directories_cannot_be_locked(tmp_path, monkeypatch):
    """On a file system that refuses flock on a directory (NFS), a file .curate.lock is locked instead."""
    real = lock.fcntl.flock

    def no_directories(fd, operation):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, operation)

    monkeypatch.setattr(lock.fcntl, "flock", no_directories)
    folder = tmp_path / "out"
    with output_lock(folder):
        assert (folder / lock.LOCK_FILE).is_file()
        code = (
            "import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\n"
            "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)\n"
        )
        other = subprocess.run([sys.executable, "-c", code, str(folder / lock.LOCK_FILE)])
        assert other.returncode == 3  # another process is refused


def test_lock_errors_are_user_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        with output_lock(tmp_path / "file"):
            pass


def test_failed_run_leaves_no_folder_it_created(tmp_path):
    folder = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with output_lock(folder):
            raise RuntimeError("bad input")
    assert not folder.exists()
