"""Issue 10's bad-input table for files, records and paths: each case with its exit code, its one-line
message (naming the file, folder or record) and its rejects.

Option values (bounds, choices) are tested with the options themselves (tests/test_options.py).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from helpers import LLAVA_MC, MVBENCH, STAR, TVQA, VIDEO_R1, filter_files, run_cli, write_csv, write_json

from curate.lock import output_lock

RUN_LIMITED = """\
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from curate.cli import app
sys.argv = ["curate", *sys.argv[2:]]
app()
"""


def one_line(result) -> str:
    """The single stderr line of a failed run (and nothing on stdout that looks like a traceback)."""
    lines = result.stderr_lines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return lines[0]


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*.tmp")] if folder.is_dir() else []


@pytest.fixture(scope="module")
def filtered(tmp_path_factory) -> Path:
    """A filter output folder (the input of extract-frames, coldstart and export)."""
    out = tmp_path_factory.mktemp("filtered")
    filter_files(out, LLAVA_MC)
    return out


# ------------------------------------------------------------------------------- 1. output path kind


def _stage_args(stage: str, filtered: Path, videos: Path, target: Path) -> list:
    return {
        "filter": ["filter", LLAVA_MC, "-o", target],
        "extract-frames": ["extract-frames", filtered, "--video-root", videos, "-o", target],
        "coldstart": ["coldstart", filtered, "--model", "m", "--blind", "-o", target],
        "export": ["export", filtered, "--to", "trl", "-o", target],
    }[stage]


@pytest.mark.parametrize(
    "stage, kind, message",
    [
        ("filter", "file", "exists and is not a folder"),
        ("extract-frames", "file", "exists and is not a folder"),
        ("coldstart", "file", "exists and is not a folder"),
        ("filter", "file-parent", "cannot create the output folder"),
        ("export", "folder", "is a folder; --output takes a file path"),
    ],
)
def test_output_path_of_the_wrong_kind(tmp_path, filtered, stage, kind, message):
    videos = tmp_path / "videos"
    videos.mkdir()
    existing = tmp_path / "existing"
    if kind == "folder":
        existing.mkdir()
        (existing / "keep.txt").write_text("mine")
        target = existing
    else:
        existing.write_text("mine")
        target = existing / "out" if kind == "file-parent" else existing
    result = run_cli(*_stage_args(stage, filtered, videos, target))
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"curate: error: {target}") and message in line
    if kind == "folder":
        assert os.listdir(existing) == ["keep.txt"]
    else:
        assert existing.read_text() == "mine"


# -------------------------------------------------------------------- 2. full disk, read-only folder


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES])
def test_write_failure_names_the_real_output_and_the_os_reason(tmp_path, monkeypatch, code):
    """The rename that finishes an atomic write fails as the file system says; simulated, so that it also
    runs as root (where a chmod does not deny)."""

    def failing(src, dst, *args, **kwargs):
        raise OSError(code, os.strerror(code), os.fspath(src), os.fspath(dst))

    monkeypatch.setattr(os, "replace", failing)
    out = tmp_path / "out"
    result = run_cli("filter", LLAVA_MC, "-o", out)
    monkeypatch.undo()
    assert result.exit_code == 2
    line = one_line(result)
    name = errno.errorcode[code]
    assert line == f"curate: error: {out / 'rejects.parquet'}: cannot write: {os.strerror(code)} ({name})"
    assert ".tmp" not in line
    assert not out.exists()  # the run made the folder and removed it again, temporary included


@pytest.mark.slow
@pytest.mark.parametrize(
    "stage, written",
    [("filter", "rejects.parquet"), ("export", "train.jsonl"), ("extract-frames", "_work/rejects-00000.parquet")],
)
def test_file_size_limit_is_a_real_full_disk(tmp_path, filtered, stage, written):
    """RLIMIT_FSIZE makes the kernel refuse a write past N bytes with EFBIG: a full disk for this process
    (and its workers), also as root. The message names the output (not its temporary); no temporary is
    left. (extract-frames finds no video here: its first file is the rejects of its videos.)"""
    out = tmp_path / "out"
    target = out / "train.jsonl" if stage == "export" else out
    args = _stage_args(stage, filtered, tmp_path, target)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_LIMITED, "300", *map(str, args)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"curate: error: {out / written}: cannot write: File too large (EFBIG)"], done.stderr
    assert temporaries(tmp_path) == []


def chmod_denies(tmp_path: Path) -> bool:
    """Whether a 0o555 folder refuses this process a new file (not for root with CAP_DAC_OVERRIDE)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "x").touch()
    except PermissionError:
        return True
    finally:
        probe.chmod(0o755)
    return False


@pytest.mark.parametrize("existing", [True, False])
def test_read_only_folder(tmp_path, existing):
    """A real read-only folder (run as root, ``setpriv --bounding-set=-dac_override,-dac_read_search``
    makes chmod deny as it does for a user)."""
    if not chmod_denies(tmp_path):
        pytest.skip("this process may write into a 0o555 folder (root with CAP_DAC_OVERRIDE)")
    parent = tmp_path / "ro"
    parent.mkdir()
    out = parent / "out"
    if existing:
        out.mkdir()
    locked = out if existing else parent
    locked.chmod(0o555)
    try:
        result = run_cli("filter", LLAVA_MC, "-o", out)
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 2
    line = one_line(result)
    if existing:
        assert line == f"curate: error: {out / 'rejects.parquet'}: cannot write: Permission denied (EACCES)"
        assert os.listdir(out) == []
    else:
        assert line == f"curate: error: {out}: cannot create the output folder: Permission denied"


# ------------------------------------------------------------------ 3. one bad value in one record

BIG = 99999999999999999999999  # beyond int64 (and exactly representable by no float)


def _records(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


def _write_records(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        path.write_text(json.dumps(records).replace('"__INF__"', "1e400"))
    return path


@pytest.mark.parametrize(
    "source, field, value, reason, detail",
    [
        (VIDEO_R1, "problem", BIG, "malformed_record", "question should be text, not int"),
        (VIDEO_R1, "solution", "__INF__", "malformed_record", "should be text, not float Infinity"),
        (TVQA, "answer_idx", BIG, "malformed_record", f"answer_index {BIG} does not fit a 64-bit integer"),
        (STAR, "start", "__INF__", "malformed_record", "start Infinity is not a finite number"),
        (STAR, "end", -BIG, "bad_clip_window", None),
        (MVBENCH, "start", BIG, "bad_clip_window", None),
    ],
)
def test_one_bad_value_rejects_its_record_only(tmp_path, source, field, value, reason, detail):
    records = _records(source)
    rest = _write_records(tmp_path / "rest" / source.name, records[1:])
    records[0][field] = value
    path = _write_records(tmp_path / source.name, records)
    outcome = filter_files(tmp_path / "out", path)
    bad = [r for r in outcome.rejects if r["index"] == 0]
    assert [r["reason"] for r in bad] and {r["reason"] for r in bad} == {reason}, outcome.rejects
    if detail is not None:
        assert detail in bad[0]["detail"]
    assert json.loads(bad[0]["record"])[field] == (float("inf") if value == "__INF__" else value)
    # the other records are kept exactly as they are without the bad one
    alone = filter_files(tmp_path / "alone", rest)

    def questions(rows):
        return [(r["video"], r["question"], r["options"], r["answer"]) for r in rows]

    assert alone.kept and questions(outcome.kept) == questions(alone.kept)
    assert outcome.result.read == outcome.result.kept + outcome.result.rejected


def test_a_huge_numeric_id_is_kept_as_text(tmp_path):
    records = _records(LLAVA_MC)
    records[0]["id"] = BIG
    outcome = filter_files(tmp_path / "out", _write_records(tmp_path / LLAVA_MC.name, records))
    assert f"llava_video_178k:{BIG}:0" in outcome.by_id()
    assert outcome.rejects == []


def test_an_infinite_duration_in_a_generic_csv(tmp_path):
    rows = [["q0?", "x", "y", "0", "1e400", "a.mp4"], ["q1?", "x", "y", "1", "12.5", "b.mp4"]]
    path = write_csv(tmp_path / "t.csv", ["q", "a0", "a1", "ans", "dur", "v"], rows)
    mapping = ["question=q", "options=a0,a1", "answer=ans", "duration=dur", "video=v"]
    outcome = filter_files(tmp_path / "out", path, format="generic", mapping=mapping)
    assert [(r["index"], r["reason"]) for r in outcome.rejects] == [(0, "malformed_record")]
    assert "duration Infinity is not a finite number" in outcome.rejects[0]["detail"]
    assert [r["duration"] for r in outcome.kept] == [12.5]


# --------------------------------------------------------- 4, 5. the wrong format, a JSON object


@pytest.mark.parametrize(
    "fmt, source, needs, looks_like",
    [
        ("videomme", LLAVA_MC, "videomme needs the fields answer, options, question_id", "llava-video-178k"),
        ("llava-video-178k", VIDEO_R1, "llava-video-178k needs the fields conversations", "video-r1"),
        ("tvqa", LLAVA_MC, "tvqa needs the fields a0, q, vid_name", "llava-video-178k"),
    ],
)
def test_forced_format_that_reads_no_record(tmp_path, fmt, source, needs, looks_like):
    out = tmp_path / "out"
    result = run_cli("filter", source, "--format", fmt, "-o", out)
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"curate: error: {source}: not a {fmt} file: none of its")
    assert needs in line and f"its fields look like {looks_like}, try --format auto" in line
    assert not out.exists()


def test_forced_format_with_one_good_record_rejects_the_others(tmp_path):
    records = _records(VIDEO_R1)
    for record in records[1:]:
        del record["problem"]
    outcome = filter_files(tmp_path / "out", _write_records(tmp_path / "v.json", records), format="video-r1")
    assert outcome.result.kept == 1 and set(outcome.reasons()) == {"malformed_record"}


@pytest.mark.parametrize("fmt, read_as", [("auto", "video-r1"), ("video-r1", "video-r1"), ("llava-video-178k", None)])
def test_a_json_object_that_is_not_a_record(tmp_path, fmt, read_as):
    """``{"data": [records]}``: auto-detection sees the records' fields inside and reads it as their format."""
    path = write_json(tmp_path / "wrapped.json", {"data": _records(VIDEO_R1)})
    args = ["filter", path, "-o", tmp_path / "out"] + ([] if fmt == "auto" else ["--format", fmt])
    result = run_cli(*args)
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"curate: error: {path}: one JSON object that is not a {read_as or fmt} record (")
    assert line.endswith("expected a JSON array of records ([{…}, …])")


@pytest.mark.parametrize("source", [LLAVA_MC, VIDEO_R1])
def test_a_json_object_that_is_one_record_is_read(tmp_path, source):
    """A file holding one record as an object (a README's sample) is that record."""
    path = write_json(tmp_path / "one.json", _records(source)[0])
    outcome = filter_files(tmp_path / "out", path)
    assert outcome.result.read >= 1 and outcome.result.kept == outcome.result.read


# ------------------------------------------------------------- 6, 7. special files, paths that leave the root


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, Path, dict[str, tuple[str, str | None]]]:
    """A video root with every kind of path, a store outside it, and per video name the reason that
    (filter --check-videos, extract-frames) give it (None: kept)."""
    from media import clean_cfr

    base = tmp_path_factory.mktemp("tree")
    root, store = base / "videos", base / "store"
    (root / "sub").mkdir(parents=True)
    store.mkdir()
    clean_cfr(root / "good.mp4", frames=10)
    clean_cfr(store / "shared.mp4", frames=10)
    clean_cfr(base / "escaped.mp4", frames=10)
    os.mkfifo(root / "fifo.mp4")
    (root / "folder.mp4").mkdir()
    os.symlink("loop.mp4", root / "loop.mp4")
    os.symlink(store / "shared.mp4", root / "linked.mp4")  # a link to a shared store is followed
    expected = {
        "good.mp4": (None, None),
        "sub/../good.mp4": (None, None),
        str(root / "good.mp4"): (None, None),  # absolute, under the root
        "linked.mp4": (None, None),
        "fifo.mp4": ("video_not_a_file", "not_a_file"),
        "folder.mp4": ("video_not_a_file", "not_a_file"),
        "loop.mp4": ("video_symlink_loop", "symlink_loop"),
        "nope.mp4": ("video_missing", "missing"),
        "good.mp4/x.mp4": ("video_missing", "missing"),
        "../escaped.mp4": ("outside_video_root", "outside_video_root"),
        "sub/../../escaped.mp4": ("outside_video_root", "outside_video_root"),
        str(base / "escaped.mp4"): ("outside_video_root", "outside_video_root"),
    }
    return root, base, expected


def _table(tmp_path: Path, videos: list[str]) -> Path:
    rows = [[f"q{i}?", "yes", "no", "0", v] for i, v in enumerate(videos)]
    return write_csv(tmp_path / "t.csv", ["q", "a0", "a1", "ans", "video"], rows)


MAPPING = ["question=q", "options=a0,a1", "answer=ans", "video=video"]


def test_video_paths_in_filter(tmp_path, tree):
    root, _, expected = tree
    outcome = filter_files(
        tmp_path / "out",
        _table(tmp_path, list(expected)),
        format="generic",
        mapping=MAPPING,
        video_root=root,
        check_videos=True,
    )
    got = {r["video"]: r["reason"] for r in outcome.rejects}
    got.update({r["video"]: None for r in outcome.kept})
    assert got == {video: reasons[0] for video, reasons in expected.items()}
    details = {r["video"]: r["detail"] for r in outcome.rejects}
    assert "FIFO" in details["fifo.mp4"] and "directory" in details["folder.mp4"]
    assert f"outside {root}" in details["../escaped.mp4"]


def test_outside_root_is_rejected_without_checking_videos(tmp_path, tree):
    root, _, _ = tree
    outcome = filter_files(
        tmp_path / "out",
        _table(tmp_path, ["good.mp4", "../escaped.mp4", "nope.mp4"]),
        format="generic",
        mapping=MAPPING,
        video_root=root,
    )
    assert {r["video"]: r["reason"] for r in outcome.rejects} == {"../escaped.mp4": "outside_video_root"}
    assert {r["video"] for r in outcome.kept} == {"good.mp4", "nope.mp4"}  # not probed: not known missing


def test_video_paths_in_extract_frames(tmp_path, tree):
    root, _, expected = tree
    filtered = tmp_path / "filtered"
    filter_files(filtered, _table(tmp_path, list(expected)), format="generic", mapping=MAPPING)
    out = tmp_path / "frames"
    result = run_cli("extract-frames", filtered, "--video-root", root, "-o", out, "--workers", "1", "--num-frames", "2")
    assert result.exit_code == 0, result.output
    rejects = pl.read_parquet(out / "rejects.parquet")
    got = dict(zip(rejects["video"], rejects["reason"], strict=True))
    got.update({v: None for v in pl.read_parquet(out / "mcq.parquet")["video"]})
    assert got == {video: reasons[1] for video, reasons in expected.items()}


def test_a_cuda_device_torch_does_not_see(tmp_path, filtered, monkeypatch):
    """``extract-frames --device cuda`` where torch sees no GPU: refused before any video is read (else
    ``auto`` would decode every video with PyAV on the CPU)."""
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "frames"
    result = run_cli("extract-frames", filtered, "--video-root", tmp_path, "-o", out, "--device", "cuda")
    assert result.exit_code == 2
    assert one_line(result) == "curate: error: --device: device 'cuda': torch sees no CUDA device"
    assert not out.exists()


def test_coldstart_on_the_fly_applies_the_same_rule(tree):
    from curate.coldstart.inputs import from_videos
    from curate.frames.work import FrameSpec

    root, _, _ = tree
    counts: dict = {}
    questions = [{"video": v} for v in ("fifo.mp4", "../escaped.mp4", "loop.mp4")]
    assert list(from_videos(root, questions, FrameSpec(), counts)) == []
    assert counts == {"video_errors": 3}


# ------------------------------------------------------------------------ 8. export takes the lock


@pytest.mark.slow
def test_export_takes_the_lock_of_its_folder_and_clears_a_killed_export(tmp_path, filtered):
    folder = tmp_path / "exports"
    folder.mkdir()
    code = (
        "import sys\nfrom curate.lock import output_lock\n"
        "with output_lock(sys.argv[1]):\n    print('held', flush=True)\n    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        busy = run_cli("export", filtered, "--to", "trl", "-o", folder / "train.jsonl")
    finally:
        holder.communicate("")
    assert busy.exit_code == 2
    assert one_line(busy) == f"curate: error: {folder}: another curate run is writing this folder (pid {holder.pid})"
    assert os.listdir(folder) == []
    leftover = folder / ".train.jsonl.0123456789ab.tmp"  # what a kill -9 during a write leaves
    leftover.write_text("half")
    done = run_cli("export", filtered, "--to", "trl", "-o", folder / "train.jsonl")
    assert done.exit_code == 0, done.output
    assert (folder / "train.jsonl").is_file() and temporaries(folder) == []
    with output_lock(folder):  # released at the end
        pass


@pytest.mark.slow
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_write_outside_a_stage_lock_is_answered_the_same(tmp_path, monkeypatch, filtered, code):
    """``curate report`` writes its page without an output-folder lock: the failed write is still one line
    naming the page, exit 2 (curate.console maps the WriteError of schemas.atomic), not an internal error."""

    def failing(src, dst, *args, **kwargs):
        raise OSError(code, os.strerror(code), os.fspath(src), os.fspath(dst))

    page = tmp_path / "page.html"
    monkeypatch.setattr(os, "replace", failing)
    result = run_cli("report", filtered, "-o", page)
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert one_line(result) == f"curate: error: {page}: cannot write: {os.strerror(code)} ({errno.errorcode[code]})"
