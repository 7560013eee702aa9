"""Console output shared by the commands: progress bars (rich, on stderr), one-line errors, --json."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator

import typer

from curate.errors import UserError
from schemas.errors import SchemaError, WriteError


@functools.cache
def console():
    """The rich console on stderr, made on first use: importing rich costs start-up that a ``--quiet``
    run never needs."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)  # long paths stay on one line


def __getattr__(name: str):
    if name == "stderr":  # ``from curate.console import stderr``: the same console
        return console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _rate_column():
    """A rich column: items per second of a task."""
    from rich.progress import TextColumn
    from rich.text import Text

    class RateColumn(TextColumn):
        def __init__(self) -> None:
            super().__init__("")

        def render(self, task):  # noqa: D102 - rich API
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:.1f}/s")

    return RateColumn()


def fail(message: str, code: int = 2) -> None:
    """Print ``curate: error: message`` on one line to stderr and exit with ``code``."""
    print(f"curate: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the user's mistakes into one-line errors with exit code 2; anything else into exit 1."""
    try:
        yield
    except (UserError, SchemaError, WriteError) as exc:  # WriteError: full disk, read-only … naming the file
        fail(str(exc))
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:
        if os.environ.get("CURATE_DEBUG"):
            traceback.print_exc()
        fail(f"internal error: {type(exc).__name__}: {exc} (set CURATE_DEBUG=1 for the traceback)", 1)


@contextlib.contextmanager
def progress(description: str, quiet: bool) -> Iterator[Callable[[int], Callable[[], None]]]:
    """Yield ``start(total) -> tick``: a bar with rate and ETA, shown only once work starts (never when
    ``quiet``), so a run that fails early prints its one-line error and nothing else."""
    if quiet:
        yield lambda total: lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _rate_column(),
        TimeRemainingColumn(),
        console=console(),
        transient=True,
    )

    started = []

    def start(total: int) -> Callable[[], None]:
        if not started:
            bar.start()
            started.append(True)
        task = bar.add_task(description, total=total)
        return lambda: bar.advance(task)

    try:
        yield start
    finally:
        if started:
            bar.stop()


def emit(summary: dict, as_json: bool, quiet: bool, lines: list[str]) -> None:
    """Print the run's summary: JSON on stdout with ``--json``, else ``lines`` unless ``--quiet``."""
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    elif not quiet:
        for line in lines:
            console().print(line)
