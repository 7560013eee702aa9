"""Every file curate writes takes its mode from the umask, as an ordinary file would: a folder made by
one user is readable by the training job's user (0644 under umask 022) or group (0640 under 027)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.atomic import write_json_atomic

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

REPO_ROOT = Path(__file__).resolve().parents[1]


def modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_atomic_write_follows_the_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        write_json_atomic({"a": 1}, tmp_path / "x.json")
    finally:
        os.umask(old)
    assert modes(tmp_path) == {"x.json": expected}


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640)])
def test_every_stage_output_follows_the_umask(tmp_path, umask, expected):
    """filter, extract-frames and export, run as the user would (the demo's filter + extract-frames, then
    exports to every trainer format), under two umasks."""
    out = tmp_path / "demo"
    script = (
        "import sys; from curate.cli import app; sys.argv = ['curate'] + sys.argv[1:]; app()"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def curate(*args: str) -> None:
        proc = subprocess.run(
            [sys.executable, "-c", script, *args],
            env=env, capture_output=True, text=True, preexec_fn=lambda: os.umask(umask), check=False,
        )
        assert proc.returncode == 0, proc.stderr

    curate("demo", "-o", str(out), "--videos", "2", "--no-coldstart")
    for target, name in [("trl", "train.jsonl"), ("verl", "train.parquet"), ("tinyllava", "train.jsonl")]:
        curate("export", str(out / "frames"), "--to", target, "-o", str(tmp_path / "exports" / target / name), "-q")
    written = {**modes(out / "filter"), **modes(out / "frames"), **modes(tmp_path / "exports")}
    assert any(name.startswith("frames/part-") for name in written)
    assert {name: mode for name, mode in written.items() if mode != expected} == {}
