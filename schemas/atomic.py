"""Atomic writes: every output is written under a temporary name in its folder, then renamed.

An interrupted run therefore leaves either the previous file or none, never a half-written one.
The temporary file is created with mode ``0o666`` so the process umask decides the final mode, as for
any ordinary file (0644 under umask 022, 0664 under 002): a folder prepared by one user stays readable
by the training job's user or group. (``tempfile.mkstemp`` would force 0600.)

A run killed with SIGKILL cannot remove its temporary: :func:`remove_temporaries` removes them on the
next run, called by a stage once it holds its output folder's lock (:mod:`curate.lock`), so it never
removes the temporary of a run still writing.

A write that fails because of the file system — no space left, a quota, a file-size limit, a read-only or
not-writable folder (:data:`schemas.errors.WRITE_ERRNOS`) — raises :class:`schemas.errors.WriteError`
naming the final path and the OS reason, never the hidden temporary; the temporary is removed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.errors import WRITE_ERRNOS, WriteError

TEMPORARY = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{12}\.tmp$")  # .NAME.<12 hex>.tmp, as below


def _create_temporary(final: Path) -> Path:
    """Create an empty, new hidden file beside ``final`` whose mode the umask decides."""
    while True:
        tmp = final.parent / f".{final.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        return tmp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, on error remove it.

    An OS error in :data:`~schemas.errors.WRITE_ERRNOS` — making the folder, creating the temporary,
    writing it (inside the ``with`` block) or renaming it — becomes a :class:`~schemas.errors.WriteError`
    naming ``path``.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = _create_temporary(final)
    except OSError as exc:
        _raise_named(exc, final)
        raise
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            _raise_named(exc, final)
        raise


def _raise_named(exc: OSError, final: Path) -> None:
    """Raise ``exc`` as a :class:`WriteError` on ``final`` when the user must fix it; else return."""
    if not isinstance(exc, WriteError) and exc.errno in WRITE_ERRNOS:
        raise WriteError(final, exc.errno) from exc


def write_parquet_atomic(table: pa.Table, path: str | os.PathLike, **kwargs: Any) -> None:
    """Write ``table`` as Parquet (zstd by default) to ``path`` atomically."""
    kwargs.setdefault("compression", "zstd")
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


def write_json_atomic(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")


def remove_temporaries(folder: str | os.PathLike, names: tuple[str, ...] = ("*",)) -> list[Path]:
    """Remove the temporaries :func:`atomic_path` left in ``folder`` (not its subfolders) for final
    names matching one of the glob patterns ``names``; return what was removed. Best effort: a file
    that cannot be removed (a read-only folder) is left where it is.

    Only for a folder whose writer holds its lock: a temporary being written by a live run looks the same.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = TEMPORARY.match(entry.name)
        if not match or not any(fnmatch.fnmatchcase(match["final"], n) for n in names):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed
