"""Helpers for the tests of runs that are killed, run twice at once, or rerun (test_concurrency.py,
test_kill_resume.py, test_noop_rerun.py), and the script they run as a separate process:

    python tests/interrupt.py cli [--pause-at GLOB [--nth N]] [--slow-worker DIR] [--scripted] [--delay S] \
        FLAG -- CURATE_ARGS...
    python tests/interrupt.py hold FOLDER FLAG

``cli`` runs ``curate CURATE_ARGS`` with, optionally: ``--pause-at``: the Nth atomic write whose final
name matches GLOB stops after its temporary is written and before it is renamed (FLAG gets the
temporary's path), so a kill lands exactly there; ``--slow-worker``: every extract-frames worker writes
its pid into DIR and sleeps (an orphan candidate); ``--scripted``: coldstart's backend is a scripted
one (no model; ``--delay`` seconds per batch). ``hold`` holds FOLDER's lock (FLAG says when) until killed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SCRIPT = [sys.executable, str(HERE)]
CURATE = [sys.executable, "-m", "curate.cli"]


# ------------------------------------------------------------------------------------------ in the tests


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file and folder under ``folder`` (itself included): inode, mtime_ns, size, mode. Any write
    (a file rewritten or renamed over, a temporary created and removed) changes it."""
    out = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        st = path.lstat()
        out[str(path.relative_to(folder))] = (st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode)
    return out


def temporaries(folder: Path) -> list[str]:
    """Leftover temporaries under ``folder`` (and its parent, where sidecars live): any ``*.tmp``."""
    found = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    found += [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]
    return sorted(str(p) for p in found)


def manifest_matches(folder: Path) -> bool:
    """Whether every output ``folder/manifest.json`` lists has its recorded sha256 and size."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["outputs"]:
        data = (folder / entry["file"]).read_bytes()
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return False
    return True


def wait_for(predicate, proc: subprocess.Popen | None = None, timeout: float = 120.0, what: str = "") -> None:
    """Poll ``predicate`` until true; fail if ``proc`` ends first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the process ended (rc {proc.returncode}) before {what}: {out}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start(args: list[str], **kw) -> subprocess.Popen:
    """Start a process in its own session (so ``kill_group`` reaches its workers)."""
    return subprocess.Popen(
        args, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def paused(flag: Path, curate_args: list[str], pause_at: str, nth: int = 1, *extra: str) -> subprocess.Popen:
    """Start ``curate curate_args`` that stops inside its ``nth`` atomic write matching ``pause_at``."""
    cmd = [*SCRIPT, "cli", "--pause-at", pause_at, "--nth", str(nth), *extra, str(flag), "--", *curate_args]
    return start(cmd)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# ------------------------------------------------------------------------------- in the child process


def _pause_writes(pattern: str, nth: int, flag: Path) -> None:
    import schemas.atomic as atomic

    real = atomic.atomic_path
    seen = [0]

    @contextlib.contextmanager
    def pausing(path):
        with real(path) as tmp:
            yield tmp
            if fnmatch.fnmatchcase(Path(path).name, pattern):
                seen[0] += 1
                if seen[0] == nth:
                    _signal(flag, str(tmp))
                    time.sleep(3600)

    import curate.export
    import curate.frames.files
    import curate.publish  # noqa: F401 - imported so their own atomic_path names are patched too

    for module in list(sys.modules.values()):
        if getattr(module, "atomic_path", None) is real:
            module.atomic_path = pausing


def _slow(task, shaping, threads=1):  # replaces curate.frames.work.process in the workers
    folder = Path(os.environ["SLOW_WORKER_DIR"])
    (folder / str(os.getpid())).write_text(task.video)
    time.sleep(600)
    return {"reason": "timeout", "detail": "slow"}


class _Scripted:
    """A coldstart backend without a model: sample k answers the gold letter when k is even."""

    name = "scripted"

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def generate(self, requests, params):
        from curate.coldstart.backends import Completion

        time.sleep(self.delay)
        out = []
        for r in requests:
            letter = "A"  # deterministic: the same completions on every run
            out.append(
                [
                    Completion(f"<think>k{k} {r.id}</think><answer>{letter}</answer>", "stop", 10, 5)
                    for k in range(params.num_samples)
                ]
            )
        return out

    def info(self):
        return {"backend": "scripted"}

    def close(self):
        pass


def _cli(argv: list[str]) -> None:
    split = argv.index("--")
    opts, curate_args = argv[:split], argv[split + 1 :]
    flag = Path(opts[-1])
    if "--pause-at" in opts:
        i = opts.index("--pause-at")
        nth = int(opts[opts.index("--nth") + 1]) if "--nth" in opts else 1
        _pause_writes(opts[i + 1], nth, flag)
    if "--slow-worker" in opts:
        from curate.frames import executors

        os.environ["SLOW_WORKER_DIR"] = opts[opts.index("--slow-worker") + 1]
        executors.process = _slow
    if "--scripted" in opts:
        import curate.coldstart.backends as backends

        delay = float(opts[opts.index("--delay") + 1]) if "--delay" in opts else 0.0
        backends.make_backend = lambda *a, **k: _Scripted(delay)
    from curate.cli import app

    sys.argv = ["curate", *curate_args]
    app()


def _signal(flag: Path, text: str) -> None:
    """Write ``flag`` whole at once (a rename): the test polls for it to exist and then reads it, so a flag
    created empty and filled afterwards could be read empty."""
    part = flag.with_name(flag.name + ".part")
    part.write_text(text)
    os.replace(part, flag)


def _hold(folder: str, flag: str) -> None:
    from curate.lock import output_lock

    with output_lock(folder):
        _signal(Path(flag), str(os.getpid()))
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "cli":
        _cli(sys.argv[2:])
    elif sys.argv[1] == "hold":
        _hold(sys.argv[2], sys.argv[3])
