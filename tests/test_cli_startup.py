"""What a ``curate`` process imports before its work: only the invoked command's stage (curate.options
.LazyTyper), no rich under ``--quiet``, and extract-frames' workers import the decoders when they start
(curate.frames.executors.start_worker), not on their first video. Checked through ``sys.modules`` in fresh
processes — no timing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import typer.main
from helpers import REPO_ROOT
from typer.testing import CliRunner

from curate.cli import app

COMMANDS = [
    "filter",
    "export",
    "extract-frames",
    "coldstart",
    "demo",
    "run",
    "publish",
    "report",
    "verify",
    "decontaminate",
    "dedup",
]
STAGES = [
    "curate.filter",
    "curate.export",
    "curate.frames.extract",
    "curate.coldstart.stage",
    "curate.demo",
    "curate.recipe",
    "curate.publish",
    "curate.report",
    "curate.frames.verify",
    "curate.decontaminate.config",
]
HEAVY = ["pyarrow", "polars", "pandas", "torch", "av", "numpy", "PIL", "rich", "pebble", "ray", "huggingface_hub"]


def loaded_after(code: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    script = (
        textwrap.dedent(code) + f"\nimport json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_stage_and_nothing_heavy():
    assert loaded_after("import curate.cli", STAGES + HEAVY) == []


def test_a_command_imports_its_own_stage_only():
    code = """
        import sys
        from curate.cli import app
        sys.argv = ["curate", "extract-frames", "--help"]
        try:
            app()
        except SystemExit:
            pass
    """
    assert loaded_after(code, STAGES + ["polars", "pandas", "torch", "av", "ray"]) == ["curate.frames.extract"]


def test_a_quiet_run_imports_no_rich(tmp_path):
    """An option error in a quiet run: the one-line error, exit 2, and rich never imported."""
    code = f"""
        import sys
        from curate.cli import app
        sys.argv = ["curate", "extract-frames", "{tmp_path}", "--video-root", "{tmp_path}", "-o", "{tmp_path / "o"}",
                    "--fps", "0", "-q"]
        try:
            app()
        except SystemExit as exc:
            assert exc.code == 2, exc.code
    """
    assert loaded_after(code, ["rich", "curate.frames.extract"]) == ["curate.frames.extract"]


def test_help_lists_every_command_in_order():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    positions = [result.stdout.find(f" {name} ") for name in COMMANDS]
    assert -1 not in positions and positions == sorted(positions), result.stdout
    group = typer.main.get_command(app)
    assert list(group.commands) == COMMANDS


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(app, ["extract-framez"])
    assert result.exit_code == 2
    assert "No such command" in result.stderr


def test_pool_workers_import_the_decoders_when_they_start():
    """The worker has PyAV, the decoders and Pillow's JPEG plugin before its first task, though the driver
    never imported them; its one worker's videos may use every CPU (``threads``), as may a lone video in a
    pool of more workers."""
    code = """
        import os, sys
        from curate.frames import executors

        WANTED = ("av", "curate.frames.decoders", "curate.probe", "PIL.JpegImagePlugin")

        def probe(task, shaping, threads):
            found = [m for m in WANTED if m in sys.modules]
            return {"reason": "probe", "detail": ",".join(found), "threads": threads}

        assert not [m for m in WANTED if m in sys.modules]
        seen = []
        executors.process = probe
        with executors.local_pool(1) as pool:
            executors.run_local([executors.Task("k", "v", "p")], None, lambda t, r: seen.append(r), 1, 60.0, pool)
        assert seen == [{"reason": "probe", "detail": ",".join(WANTED), "threads": executors.usable_cpus()}], seen
        # a pool of more workers than videos: the one video still gets every CPU; a stream of unknown length
        # gets each worker's share
        seen.clear()
        one = executors.Task("k", "v", "p")
        for tasks in ([one], iter([one])):  # (run_local stops its pool when done)
            with executors.local_pool(2) as pool:
                executors.run_local(tasks, None, lambda t, r: seen.append(r), 2, 60.0, pool)
        cpus = executors.usable_cpus()
        assert [r["threads"] for r in seen] == [cpus, max(1, cpus // 2)], seen
    """
    assert loaded_after(code, ["curate.frames.decoders"]) == []


def test_the_program_exits_with_the_commands_status_after_the_atexit_handlers():
    """``curate.cli.program`` ends the process itself (no interpreter teardown): the command's output, exit
    status and the atexit handlers are those of a normal exit."""
    code = """
        import atexit, sys
        atexit.register(lambda: print("atexit ran", flush=True))
        from curate.cli import program
        sys.argv = ["curate", *sys.argv[1:]]
        program()
    """
    run = [sys.executable, "-c", textwrap.dedent(code)]
    done = subprocess.run([*run, "--version"], capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    assert (done.returncode, done.stdout.splitlines()) == (0, [done.stdout.splitlines()[0], "atexit ran"])
    assert done.stdout.startswith("videoqa-rl ")
    bad = subprocess.run(
        [*run, "extract-frames", "x", "--video-root", ".", "-o", "o", "--fps", "0", "-q"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert (bad.returncode, bad.stdout, bad.stderr.strip().count("\n")) == (2, "atexit ran\n", 0), bad.stderr
    assert bad.stderr.startswith("curate: error: --fps:")


def test_a_failing_run_stops_the_videos_in_flight(tmp_path):
    """When the driver fails (an interrupt, a full disk while writing a shard), the pool's workers are stopped
    at once: a video still being decoded is not finished for no one (pebble's close() would wait for it)."""
    code = f"""
        import time
        from pathlib import Path
        from curate.frames import executors

        def slow(task, shaping):
            if task.video == "slow":
                time.sleep(20)
                Path("{tmp_path / "finished"}").write_text("the slow video ran to its end")
            return {{"reason": "x"}}

        def fail(task, result):
            raise RuntimeError("disk full")

        executors.process = slow
        tasks = [executors.Task("a", "fast", "p"), executors.Task("b", "slow", "p")]
        try:
            executors.run_local(tasks, None, fail, 2, 60.0)
        except RuntimeError:
            pass
    """
    assert loaded_after(code, []) == []
    assert not (tmp_path / "finished").exists()
