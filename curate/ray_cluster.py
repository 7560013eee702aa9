"""The Ray connection of a run: one per process, shared by every stage that has a Ray path.

:func:`connect` joins the cluster at ``address`` (``auto``, ``HOST:6379``, or a Ray Client
``ray://HOST:10001``), else the one ``RAY_ADDRESS`` names, else starts a local instance of ``num_cpus``
CPUs (all of them when ``None``). Already connected (a recipe's connection, or a test's local instance):
nothing happens, so ``curate run --executor ray`` connects once and each step reuses it.
:func:`session` is the same as a context: it disconnects at the end only if it connected.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from curate.errors import UserError
from curate.extras import require


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect unless already connected (see the module docstring); returns whether this call connected."""
    ray = require("ray", "ray")
    if ray.is_initialized():
        return False
    kwargs: dict = {"include_dashboard": False, "log_to_driver": False}
    if address is None and not os.environ.get("RAY_ADDRESS"):
        kwargs["num_cpus"] = num_cpus
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or os.environ.get("RAY_ADDRESS") or "a local instance"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"--address {where}: cannot connect to Ray ({first})") from None
    return True


@contextlib.contextmanager
def session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """:func:`connect` for the duration of the block; disconnects only a connection it made."""
    started = connect(address, num_cpus)
    try:
        yield
    finally:
        if started:
            import ray

            ray.shutdown()


def error_cause(exc: BaseException) -> BaseException:
    """The user's error inside a Ray exception (Ray wraps what a task raised in its own types): the first
    :class:`~curate.errors.UserError` in its cause chain, else ``exc``."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "cause", None)  # RayTaskError: the task's own exception
        if isinstance(inner, BaseException):
            current = inner
            continue
        if isinstance(current, UserError):
            return current
        current = current.__cause__
    return exc
