"""Shared fixtures and helpers for the test suite.

- ``fixtures_dir``: small files written by hand in the published formats (``tests/fixtures/``), so the
  suite passes in a fresh clone.
- ``shared_fixtures``: the real samples in ``<repo>/../shared/fixtures/videoqa`` (see PROVENANCE.md there);
  tests that use it are skipped when that folder is absent.
- ``cli`` runs ``curate`` in-process (typer's CliRunner); ``cli_subprocess`` runs it as a separate process.
- ``run_filter`` calls the filter stage directly and loads its four outputs.
- ``videos``: a folder with a real tiny mp4 and a garbage ``.mp4``, generated here (ffmpeg, else PyAV).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import (
    FIXTURES,
    filter_files,
    run_cli,
    run_cli_subprocess,
    shared_dir,
    write_videomme_parquet,
)
from media import make_clip

# -------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def shared_fixtures() -> Path:
    """The real published samples (``<repo>/../shared/fixtures/videoqa``); skips the test when absent."""
    return shared_dir()


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def cli_subprocess():
    return run_cli_subprocess


@pytest.fixture
def run_filter(tmp_path):
    """``run_filter(inputs, name="out", **FilterConfig options) -> Outcome`` writing under tmp_path."""

    def _run(inputs, name: str = "out", **options):
        return filter_files(tmp_path / name, inputs, **options)

    return _run


@pytest.fixture(scope="session")
def videomme_parquet(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("videomme")
    return write_videomme_parquet(folder / "test-00000-of-00001.parquet")


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> Path:
    """``good.mp4`` (2 s, decodes), ``garbage.mp4`` (random bytes); ``missing.mp4`` does not exist."""
    folder = tmp_path_factory.mktemp("videos")
    make_clip(folder / "good.mp4", seconds=2.0, size="64x48", codec="mpeg4")
    (folder / "garbage.mp4").write_bytes(b"\x00\x01not a video at all\xff" * 64)
    return folder
