"""When a stage's output folder is done, and what it is pinned to: the rules every stage uses.

``manifest.json`` next to every output: config, tool version, input fingerprints and, per output
file, rows, bytes and sha256. It is written last, so it doubles as the completion marker: a stage whose
manifest matches its config and inputs (and whose outputs still match their sha256) is done, and
rerunning it is a no-op (:func:`completed`).

A resumable stage (extract-frames, coldstart) also **pins** its folder to the part of its config that
decides what is already in it (:func:`pin`, ``_work/config.json``): a run with another such config is
refused, or, when the caller owns the folder (a recipe step), the stage's files are removed first.

An input's fingerprint is its size and modification time (hashing gigabytes of annotations on every
run would cost more than the work it guards).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curate import __version__
from curate.errors import UserError
from schemas.atomic import write_json_atomic

NAME = "manifest.json"
PIN = Path("_work") / "config.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(stage: str, config: dict, inputs: list[Path]) -> str:
    """Hash of stage, tool version, config and each input's (path, size, mtime)."""
    described = []
    for path in inputs:
        st = Path(path).stat() if Path(path).exists() else None
        described.append([str(path), st.st_size if st else None, st.st_mtime_ns if st else None])
    blob = json.dumps([stage, __version__, config, described], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _describe(out: Path, name: str) -> dict:
    path = out / name
    entry = {"file": name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    if name.endswith(".parquet"):
        entry["rows"] = pq.ParquetFile(path).metadata.num_rows
    return entry


def write(
    out: Path,
    stage: str,
    fp: str,
    config: dict,
    inputs: list[Path],
    files: list[str],
    surface: Any = None,
    resolved: Any = None,
    name: str = NAME,
    extra: dict | None = None,
) -> None:
    """Write the manifest describing the output ``files`` of a finished run. With the stage's
    :class:`~curate.options.Surface` and its ``resolved`` config, it also records every option's value
    (``options``) and the ``curate`` command line that gives exactly that config (``command``), which
    the dataset card quotes. ``name``: the manifest's file name in ``out`` (an export, whose output is a
    file in a shared folder, has one per file); ``extra``: more fields for the stage's own use."""
    manifest = {
        "stage": stage,
        "tool": "videoqa-rl",
        "version": __version__,
        "fingerprint": fp,
        "config": config,
        **(
            {"options": surface.values(resolved), "command": surface.command_line(stage, resolved)}
            if surface is not None
            else {}
        ),
        "inputs": [{"path": str(p), "bytes": Path(p).stat().st_size} for p in inputs],
        "outputs": [_describe(out, file) for file in files],
        **(extra or {}),
    }
    write_json_atomic(manifest, out / name)


def completed(out: Path, fp: str, check: str = "sha256", name: str = NAME) -> dict | None:
    """The manifest when ``out`` holds a finished run with fingerprint ``fp``, else None. Every output
    it lists must still match: by sha256 (``check="sha256"``) or, for outputs too large to hash on
    every rerun (frame shards), by size (``check="size"``; ``curate verify`` hashes them). When
    ``stats.json`` is one of the outputs it is loaded as ``stats``. Reads only: a finished stage's
    rerun returns before writing anything."""
    path = out / name
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest.get("fingerprint") != fp:
            return None
        for entry in manifest["outputs"]:
            target = out / entry["file"]
            if target.stat().st_size != entry["bytes"]:
                return None
            if check == "sha256" and sha256_file(target) != entry["sha256"]:
                return None
        if any(entry["file"] == "stats.json" for entry in manifest["outputs"]):
            manifest["stats"] = json.loads((out / "stats.json").read_text(encoding="utf-8"))
        return manifest
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pinned(out: Path) -> dict | None:
    """The config ``out`` is pinned to, or None (not pinned, or an unreadable pin)."""
    try:
        return json.loads((out / PIN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _holds(path: Path) -> bool:
    """A file, or a folder with anything in it."""
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def pin(out: Path, config: dict, what: str, stage_files: tuple[str, ...], replace: bool = False) -> None:
    """Pin ``out`` to ``config`` (JSON-able). A folder pinned to another config, or holding files of the
    stage without a pin, is refused with one line naming it and saying it holds ``what`` — unless
    ``replace``, which removes the ``stage_files`` (names in ``out``) first. Call it holding the lock."""
    config = json.loads(json.dumps(config))
    previous = pinned(out)
    if previous == config:
        return
    other = previous is not None or (out / PIN).exists() or any(_holds(out / name) for name in stage_files)
    if other and not replace:
        raise UserError(f"{out}: holds {what}; use a new --output")
    if other:
        for name in stage_files:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    (out / PIN).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(config, out / PIN)
