"""``curate filter --check-videos/--probe --executor ray``: the distinct videos probed on Ray workers.

The same function as locally: each Ray task runs :func:`curate.probe.probe_many` (threads, each path once)
over a batch of ``BATCH`` distinct paths, so the reasons (``video_missing``, ``video_not_a_file``,
``video_unreadable`` …), details and durations are the local ones, and so are the rejects. The paths must
name the same files on every node (a shared filesystem mounted at the same place). No per-video timeout
either way: the local prober has none, and the Ray path keeps its behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict

from curate.probe import Probe, probe_many
from curate.ray_cluster import session

BATCH = 16  # paths per Ray task: enough to amortise a task's start, few enough to spread a small run


def _probe_batch(batch: dict, threads: int | None) -> dict:
    probes = probe_many([str(p) for p in batch["path"]], workers=threads)
    return {"probe": [json.dumps(asdict(p)) for p in probes.values()]}


def probe_on_ray(
    paths: Iterable[str], workers: int | None = None, on_done: Callable[[], None] | None = None
) -> dict[str, Probe]:
    """:func:`curate.probe.probe_many` on the Ray cluster (the current connection, else ``RAY_ADDRESS``,
    else a local instance); ``workers``: probing threads per Ray task (default: the task's CPU count)."""
    unique = list(dict.fromkeys(paths))
    if not unique:
        return {}
    import ray

    results: dict[str, Probe] = {}
    with session():  # a connection this call makes is closed when it is done
        ray.data.DataContext.get_current().enable_progress_bars = False
        dataset = ray.data.from_items([{"path": p} for p in unique]).map_batches(
            _probe_batch, fn_kwargs={"threads": workers}, batch_size=BATCH, batch_format="numpy"
        )
        for row in dataset.iter_rows():
            probe = Probe(**json.loads(str(row["probe"])))
            results[probe.path] = probe
            if on_done is not None:
                on_done()
    return results
