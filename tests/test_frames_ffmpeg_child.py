"""The ffmpeg CLI decoder's child process never outlives the worker that started it.

A worker stopped by its timeout (pebble terminates it) or killed with the run (kill -9) cannot run a
``finally``; the kernel kills the child instead (``PR_SET_PDEATHSIG``). The ffmpeg here reads a real-time
endless source and writes to the null muxer, so nothing (no broken pipe) would ever stop it otherwise.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import media
import pytest
from interrupt import alive

CHILD = """
import subprocess
from curate.frames.decoders.ffmpeg import run_ffmpeg
command = ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5",
           "-f", "null", "-"]
print("started", flush=True)
run_ffmpeg(command, None, 64 * 48 * 3, subprocess.DEVNULL)
"""


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "terminate"])
def test_ffmpeg_child_dies_with_its_worker(how):
    media.need_ffmpeg()
    worker = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    ffmpeg = None
    try:
        assert worker.stdout.readline().strip() == "started"
        for _ in range(600):  # until the worker's child has exec'd ffmpeg (a forked child is python at first)
            ffmpeg = next((pid for pid in children(worker.pid) if "ffmpeg" in cmdline(pid)), None)
            if ffmpeg is not None:
                break
            time.sleep(0.05)
        assert ffmpeg is not None, "the worker started no ffmpeg"
        os.kill(worker.pid, how)
        worker.wait()
        for _ in range(600):  # the kernel's SIGKILL is immediate; allow a loaded machine to get to it
            if not alive(ffmpeg):
                break
            time.sleep(0.05)
        assert not alive(ffmpeg), "ffmpeg outlived its worker"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if ffmpeg is not None and alive(ffmpeg):  # the failure case: do not leave it running
            os.kill(ffmpeg, signal.SIGKILL)
