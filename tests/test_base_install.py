"""The base install (``pip install videoqa-rl``, no extras) runs the core commands, and every optional part
it lacks fails with a one-line error naming the extra to install.

The environment is ``.venv-base/``, built by ``scripts/setup.sh`` (CI's install step; tests use no network)
from this working tree as a wheel. Outside CI the test skips when it was never built; under ``CI=true`` a
missing or stale ``.venv-base`` fails. The videos are generated here with ffmpeg, laid out like
LLaVA-Video-178K around the bundled sample, as tests/test_recipe.py does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import llava_video_layout

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

from curate.errors import UserError
from curate.extras import MissingExtra, require

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

REPO = Path(__file__).resolve().parents[1]
BASE = REPO / ".venv-base"
SAMPLE = REPO / "curate" / "samples" / "0_30_s_nextqa_mc_qa_processed.json"
RECIPE = REPO / "recipes" / "tinyllava-video-r1.yaml"
PACKAGES = ("curate", "pipelines", "schemas", "rewards")
EXTRAS_ONLY = ("matplotlib", "jinja2", "huggingface_hub", "datasets", "openai", "torch", "transformers", "ray")


def _python() -> Path:
    python = BASE / "bin" / "python"
    if not python.exists():
        why = f"{BASE} is missing: run `bash scripts/setup.sh` (it builds the base-install environment)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return python


def _digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for package in PACKAGES
        for p in sorted((root / package).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".j2")
    }


@pytest.fixture(scope="module")
def base() -> Path:
    """``.venv-base``, checked to hold this working tree's code (else scripts/setup.sh must run again)."""
    python = _python()
    site = subprocess.run(
        [python, "-c", "import curate, pathlib; print(pathlib.Path(curate.__file__).parents[1])"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env=_env(),
    ).stdout.strip()
    assert Path(site) != REPO, "videoqa-rl must be installed in .venv-base as a wheel, not editable"
    assert _digest(Path(site)) == _digest(REPO), f"{BASE} holds other code than this tree: rerun scripts/setup.sh"
    return python


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{BASE / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def curate(cwd: Path, *args: object) -> subprocess.CompletedProcess:
    """``curate ARGS`` from .venv-base, run in ``cwd`` (not the repository: its sources are not importable)."""
    return subprocess.run(
        [BASE / "bin" / "curate", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=_env(), timeout=600
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_extras_are_absent_from_the_base_install(base):
    found = subprocess.run(
        [
            base,
            "-c",
            f"import importlib.util as u, json; print(json.dumps([n for n in {EXTRAS_ONLY!r} if u.find_spec(n)]))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env=_env(),
    )
    assert json.loads(found.stdout) == []  # else the missing-extra checks below test nothing


def test_help_and_version(base, tmp_path):
    out = ok(curate(tmp_path, "--help"))
    for command in ("filter", "extract-frames", "coldstart", "export", "run", "verify", "publish", "report"):
        assert command in out
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert ok(curate(tmp_path, "--version")).strip() == f"videoqa-rl {version}"


@pytest.fixture(scope="module")
def llava_video(tmp_path_factory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required (scripts/setup.sh installs it)")
    return llava_video_layout(tmp_path_factory.mktemp("data"))


def test_core_commands_run(base, llava_video, tmp_path):
    filtered = tmp_path / "filtered"
    ok(curate(tmp_path, "filter", SAMPLE, "--output", filtered, "--video-root", llava_video, "--check-videos"))
    assert (filtered / "mcq.parquet").is_file() and (filtered / "manifest.json").is_file()

    out = tmp_path / "out"
    sets = ["--set", f"root={llava_video}", "--set", f"out={out}", "--set", "extract-frames.workers=1"]
    ok(curate(tmp_path, "run", RECIPE, *sets, "--until", "extract-frames"))
    assert sorted(p.name for p in (out / "frames" / "frames").glob("part-*.parquet"))
    ok(curate(tmp_path, "run", RECIPE, *sets, "--from", "export-tinyllava", "--until", "export-tinyllava"))
    assert (out / "export" / "tinyllava-video-r1.jsonl").stat().st_size > 0
    verified = json.loads(ok(curate(tmp_path, "verify", out / "frames", "--json")))
    assert verified["ok"] and verified["rows"] > 0

    # the optional parts: one line, exit code 2, naming the extra
    for args, extra in (
        (["report", filtered], "report"),
        (["publish", out / "frames", "--repo-id", "me/x", "--dry-run"], "publish"),
        (
            ["coldstart", out / "frames", "--model", "m", "--backend", "openai", "--output", tmp_path / "c"],
            "coldstart-openai",
        ),
    ):
        result = curate(tmp_path, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert f"pip install 'videoqa-rl[{extra}]'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_require_names_the_extra():
    with pytest.raises(MissingExtra, match=r"curate report needs no_such_module_0x1, .*videoqa-rl\[report\]"):
        require("report", "no_such_module_0x1")
    assert issubclass(MissingExtra, UserError)  # the CLI's one-line, exit-code-2 path
    assert require("report", "json") is json
