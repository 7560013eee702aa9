"""Executors that run :func:`curate.frames.work.process` over many videos.

- ``local``: a pebble process pool. Each video gets ``timeout`` seconds; pebble kills a worker that
  overruns (``timeout``) or dies (``crashed``) and starts a new one, and the run goes on.
- ``ray``: the same function as a Ray Data job (``map_batches`` over the task list); inside each Ray
  task every video still runs in a pebble worker with the same timeout, so a hung decoder cannot stall
  the cluster.

Both call ``on_result(task, result)`` in the driver as results arrive; results are dicts as
:func:`~curate.frames.work.process` returns them. A pebble worker never outlives the process that
started it (:func:`die_with_parent`): killed with the driver (kill -9 included), it stops at once
instead of finishing its video with no one to hand it to and no timeout to stop it. They live beside
the stage (not in ``pipelines/``) because the stage chooses them and ``curate`` must not depend on
``pipelines``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from curate.cpus import usable_cpus
from curate.frames.work import FrameSpec, Task, process, warm

OnResult = Callable[[Task, dict], None]
EXECUTORS = ("local", "ray")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a killed one nobody has reaped yet, a zombie, counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def die_with_parent(driver: int) -> None:
    """Pebble worker initializer: SIGKILL this worker when the run's process ``driver`` dies.

    On Linux, when the worker's parent is the driver (the ``fork`` and ``spawn`` start methods), the
    kernel does it: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, which also stops a worker stuck in a decoder's C
    code. (It fires when the *thread* that forked the worker ends: pebble forks from the caller's thread
    and from its pool-manager thread, both of which outlive the pool's work.) A driver that died before
    this ran is caught by checking it once armed. Otherwise (the ``forkserver`` start method, Python
    3.14's default, whose server outlives the driver; or not Linux) a daemon thread polls the driver
    every 0.5 s.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            armed = False
    if _gone(driver):
        os.kill(os.getpid(), signal.SIGKILL)
    if armed and os.getppid() == driver:
        return

    def watch() -> None:
        while not _gone(driver):
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="die-with-driver", daemon=True).start()


def start_worker(driver: int) -> None:
    """Pebble worker initializer: :func:`die_with_parent`, then import the decoders (:func:`work.warm`)."""
    die_with_parent(driver)
    warm()


def _pool(workers: int):
    from pebble import ProcessPool

    return ProcessPool(max_workers=workers, initializer=start_worker, initargs=(os.getpid(),))


@contextlib.contextmanager
def local_pool(workers: int | None = None) -> Iterator:
    """A pebble pool of ``workers`` processes (default: :func:`usable_cpus`), started now — so its workers
    import the decoders (:func:`start_worker`) while the driver still reads its table — and stopped on
    exit. Hand it to :func:`run_local`."""
    pool = _pool(workers or usable_cpus())
    pool.active  # noqa: B018 - pebble starts a pool's workers when its state is first read
    try:
        yield pool
    finally:
        # every result was taken (run_local waits for each), or the run is failing: what is left is not
        # wanted, so the workers stop now instead of finishing their videos (pebble's close() would wait)
        pool.stop()
        pool.join()


def _outcome(future, timeout: float) -> dict:
    from pebble import ProcessExpired

    try:
        return future.result()
    except FutureTimeout:
        return {"reason": "timeout", "detail": f"no result within {timeout:g} s"}
    except ProcessExpired as exc:
        return {"reason": "crashed", "detail": f"worker died (exit code {exc.exitcode})"}
    except Exception as exc:
        return {"reason": "crashed", "detail": f"{type(exc).__name__}: {exc}"}


def video_threads(cpus: int, workers: int, videos: int | None = None) -> int:
    """Threads one video may use: ``cpus // min(workers, videos)``, at least 1 (``videos`` unknown: the
    workers alone). The workers that have no video to take leave their CPUs to those that do."""
    busy = workers if videos is None else min(workers, videos)
    return max(1, cpus // max(1, busy))


def run_local(
    tasks: Iterable[Task],
    shaping: FrameSpec,
    on_result: OnResult,
    workers: int | None = None,
    timeout: float = 120.0,
    pool=None,
) -> None:
    """Process ``tasks`` on ``workers`` processes (default: :func:`usable_cpus`), at most 4 per worker in
    flight; in ``pool`` (from :func:`local_pool` with as many workers) when given, else in a pool of its
    own. Each video may use :func:`video_threads` threads, fixed for the run: the CPUs that fewer workers
    (or fewer videos) than CPUs leave idle. (:func:`run_ray` gives each video one: Ray schedules a CPU per
    task.)"""
    cpus = usable_cpus()
    workers = workers or cpus
    threads = video_threads(cpus, workers, len(tasks) if isinstance(tasks, Sized) else None)
    window = workers * 4
    pending: list[tuple[Task, object]] = []
    with contextlib.nullcontext(pool) if pool is not None else local_pool(workers) as pool:
        for task in tasks:
            pending.append((task, pool.schedule(process, args=(task, shaping, threads), timeout=timeout)))
            if len(pending) >= window:
                done, pending = pending[0], pending[1:]
                on_result(done[0], _outcome(done[1], timeout))
        for task, future in pending:
            on_result(task, _outcome(future, timeout))
        pool.stop()  # no task left: pebble's threads wind down while the caller writes its outputs


def _process_batch(batch: dict, shaping: FrameSpec, timeout: float) -> dict:
    """Ray ``map_batches`` body: each video in its own pebble worker with ``timeout``."""
    results = []
    with _pool(1) as pool:
        for key, video, path, start, end in zip(
            batch["video_key"], batch["video"], batch["path"], batch["start"], batch["end"], strict=True
        ):
            task = Task(str(key), str(video), str(path), _num(start), _num(end))
            results.append(_outcome(pool.schedule(process, args=(task, shaping), timeout=timeout), timeout))
    # pickled, so Ray carries the nested row (lists of frame bytes) through its blocks unchanged
    return {"video_key": list(batch["video_key"]), "result": [pickle.dumps(r) for r in results]}


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if value != value else value  # NaN → None


def run_ray(
    tasks: Iterable[Task],
    shaping: FrameSpec,
    on_result: OnResult,
    workers: int | None = None,
    timeout: float = 120.0,
    pool=None,
) -> None:
    """Process ``tasks`` as a Ray Data job on the running (or a new local) Ray instance (``pool``: unused,
    each Ray task starts its own)."""
    import ray

    tasks = list(tasks)
    if not tasks:
        return
    from curate.ray_cluster import session

    by_key = {t.video_key: t for t in tasks}
    items = [
        {"video_key": t.video_key, "video": t.video, "path": t.path, "start": t.start, "end": t.end} for t in tasks
    ]
    # the run's connection (a recipe's, RAY_ADDRESS), else a local instance this stage closes when done
    with session(num_cpus=workers):
        dataset = ray.data.from_items(items).map_batches(
            _process_batch, fn_kwargs={"shaping": shaping, "timeout": timeout}, batch_size=4, batch_format="numpy"
        )
        for batch in dataset.iter_batches(batch_size=1, batch_format="numpy"):
            for key, result in zip(batch["video_key"], batch["result"], strict=True):
                on_result(by_key[str(key)], pickle.loads(result))


RUNNERS = {"local": run_local, "ray": run_ray}
