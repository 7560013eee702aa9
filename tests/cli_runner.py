"""``curate`` run through the real Typer app, for tests that need a stage's output as a user makes it."""

from __future__ import annotations

from typer.testing import CliRunner

from curate.cli import app


def curate(*args: object) -> str:
    """``curate ARGS`` through the real Typer app; the test fails on a non-zero exit."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output
