"""Where a table's ``video`` lies on disk, and whether it is a file a decoder may open: the one rule that
``curate filter`` (``--check-videos``/``--probe``), ``extract-frames``, ``coldstart --video-root`` and
``verify --decode`` apply before any decoder sees a path.

:func:`locate` answers with a :class:`Located` whose ``reason`` is None for a usable path, else:

- ``outside_video_root`` — with a root, the path is ``normpath(join(root, video))``: ``..`` components
  are folded *lexically* (before any symlink is followed) and the result must be the root or lie under
  it, compared as absolute paths. So ``../x.mp4``, ``a/../../x.mp4`` and an absolute path elsewhere are
  refused, and an absolute path under the root is accepted. Symlinks are *not* checked: a symlink inside
  the root that points elsewhere (datasets often link videos from a shared store) is followed. The rule
  is about the paths a table names, which the user may not have written, not about what the folder's
  owner linked in.
- ``symlink_loop`` — resolving the path meets a symlink loop (``ELOOP``);
- ``missing`` — no such file (``ENOENT``, or a path component that is a file, ``ENOTDIR``);
- ``not_a_file`` — it exists but is not a regular file: a directory, a FIFO, a socket, a device;
- ``unreadable`` — ``stat`` fails otherwise (e.g. ``EACCES`` on a folder on the way).

Only ``os.stat`` is called (following symlinks): nothing is opened, so a FIFO never blocks a run.
:func:`resolve` is the lexical part alone (no disk access), :func:`classify` the file part alone.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

REASONS = ("outside_video_root", "symlink_loop", "missing", "not_a_file", "unreadable")


@dataclass(frozen=True)
class Located:
    """``path``: the file to open (lexically normalized, joined to the root); ``reason``/``detail``: why it
    cannot be used (one of :data:`REASONS`), or None."""

    path: str
    reason: str | None = None
    detail: str | None = None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def classify(path: str) -> Located:
    """The file checks of :func:`locate` on ``path`` as given (no root)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Located(path, "symlink_loop", f"too many levels of symbolic links: {path}")
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return Located(path, "missing", f"no such file: {path}")
        return Located(path, "unreadable", f"{exc.strerror or exc}: {path}")
    except ValueError as exc:  # an embedded NUL byte
        return Located(path, "missing", f"invalid path ({exc}): {path!r}")
    if not stat.S_ISREG(st.st_mode):
        return Located(path, "not_a_file", f"{_kind(st.st_mode)}, not a video file: {path}")
    return Located(path)


def resolve(video: str, root: str | os.PathLike | None) -> Located:
    """The lexical part of :func:`locate`: the path of ``video`` under ``root`` and, when it leaves the
    root, ``outside_video_root``. Touches no disk."""
    if root is None:
        return Located(video)
    root = os.fspath(root)
    path = os.path.normpath(os.path.join(root, video))
    base = os.path.abspath(root)
    full = os.path.abspath(path)
    if full != base and not full.startswith(base.rstrip(os.sep) + os.sep):
        return Located(path, "outside_video_root", f"{video!r} resolves to {full}, outside {base}")
    return Located(path)


def locate(video: str, root: str | os.PathLike | None) -> Located:
    """Where ``video`` (as the table names it) is under ``root`` (None: as given), and whether it can be
    used; see the module docstring."""
    where = resolve(video, root)
    return where if where.reason else classify(where.path)
