"""The embedded demo: synthetic answerable videos through every stage."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.demo import run_demo

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)


def test_demo_runs_every_stage(tmp_path):
    summary = run_demo(tmp_path / "demo", videos=3)
    assert summary["filter"] == {
        "read": 3 * 2 + 2 + 1,
        "kept": 6,
        "rejected": 3,
        "reasons": {"duplicate": 2, "open_ended": 1},
    }
    assert summary["extract-frames"] == {"videos": 3, "decoded": 3, "questions": 6}
    scores = summary["rewards (accuracy, format, tinyllava)"]
    assert scores["right"][:2] == (1.0, 1.0) and scores["wrong"][0] == 0.0 and scores["malformed"] == (0.0, 0.0, -2.0)
    assert summary["coldstart"]["questions"] == 6
    assert (tmp_path / "demo" / "coldstart" / "passrate.parquet").is_file()


def test_demo_cli_without_coldstart(tmp_path):
    result = CliRunner().invoke(app, ["demo", "-o", str(tmp_path / "d"), "--videos", "2", "--no-coldstart", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["extract-frames"]["decoded"] == 2
