"""How many CPUs this process may use — the one rule for worker pools and thread counts."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on: its CPU affinity where the OS tells (a cgroup cpuset, ``taskset``,
    a Slurm allocation), else ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
