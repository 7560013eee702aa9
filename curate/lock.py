"""One writer per output folder: every stage that writes a folder holds :func:`output_lock` on it for
its whole run, and a second run on the same folder is refused at once (:class:`~curate.errors.FolderBusy`,
which the CLI prints as ``curate: error: OUT: another curate run is writing this folder (pid N)`` with
exit code 2).

The lock is an exclusive ``flock`` on the folder itself (an ``O_RDONLY`` descriptor of the directory),
not on a lock file, so:

- taking it writes nothing: a finished stage's no-op rerun leaves every file (and the folder's mtime)
  as it was, and it works on a read-only copy;
- the kernel drops it when the holder dies, kill -9 included: there is no stale lock to clean up;
- nothing appears in the folder for ``curate publish`` to upload.

(This is what the ``filelock`` package does on Unix, minus the lock file.) The holder's pid is read
from ``/proc/locks`` on Linux; elsewhere the message has no pid. A file system that cannot lock a
directory (NFS) gets the same lock on a file ``.curate.lock`` in the folder instead; one that cannot
lock at all (Lustre without ``-o flock``), or a folder we may not write in, runs unlocked.

The lock is re-entrant within a thread (``curate run`` holds a step's folder while the stage takes it
again) and is not inherited: a forked child (a pebble worker) closes its copy at once, so a worker that
outlives its parent cannot keep the folder locked.

Holding the lock makes it safe to delete temporaries: ``clean`` names the temporaries
(:data:`schemas.atomic.TEMPORARY`) a killed run of the stage may have left, removed once the lock is held.

It is also the one place where a stage's file-system failures become the user's: an ``OSError`` in
:data:`schemas.errors.WRITE_ERRNOS` (full disk, quota, file-size limit, read-only or not-writable folder)
raised while the lock is held leaves as :class:`~curate.errors.NotWritable`, one line naming the real path
(an atomic write's final name, never its temporary) and the OS reason, which the CLI prints with exit 2.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from curate.errors import FolderBusy, NotWritable, UserError
from schemas.atomic import TEMPORARY, remove_temporaries
from schemas.errors import WRITE_ERRNOS, WriteError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs are not locked there
    fcntl = None

LOCK_FILE = ".curate.lock"  # only where the file system cannot lock a directory
_UNSUPPORTED = {errno.ENOLCK, errno.EBADF, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


@dataclass
class _Held:
    fd: int | None  # None: held without an OS lock (no flock here, or a folder we may not write)
    thread: int
    count: int = 1


_held: dict[tuple[int, int], _Held] = {}
_guard = threading.Lock()


def _forget_in_child() -> None:
    """After fork: the child neither holds nor keeps open its parent's locks."""
    global _guard
    _guard = threading.Lock()
    for held in _held.values():
        if held.fd is not None:
            with contextlib.suppress(OSError):
                os.close(held.fd)
    _held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def holder_pid(st: os.stat_result) -> int | None:
    """The pid holding a flock/POSIX lock on the file ``st`` describes (Linux ``/proc/locks``), if any."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in text.splitlines():
        parts = line.split()
        # "3: FLOCK  ADVISORY  WRITE 4242 fe:00:5308450 0 EOF"; waiters are listed with "->"
        if len(parts) >= 6 and "->" not in parts[:2] and parts[5] == want:
            with contextlib.suppress(ValueError):
                return int(parts[4]) or None
    return None


def _flock(fd: int, folder: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise FolderBusy(folder, holder_pid(os.fstat(fd))) from None


def _lock_file(folder: Path) -> int | None:
    """The fallback: flock ``folder/.curate.lock``; None where the folder cannot be written or locked."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno in _READ_ONLY:
            return None
        raise
    try:
        _flock(fd, folder)
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError) and exc.errno in _UNSUPPORTED:
            return None
        raise
    return fd


def _lock(dir_fd: int, folder: Path) -> int | None:
    """Lock ``folder`` (open as ``dir_fd``); return the descriptor that holds the lock, if any."""
    if fcntl is None:  # pragma: no cover
        return None
    try:
        _flock(dir_fd, folder)
        return dir_fd
    except FolderBusy:
        raise
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
    return _lock_file(folder)


def _acquire(folder: Path) -> tuple[tuple[int, int], int | None, bool]:
    """Create ``folder`` if needed and lock it; return (its identity, the lock's descriptor, created)."""
    created = False
    for _ in range(20):
        if not folder.is_dir():
            try:
                folder.mkdir(parents=True)
                created = True
            except FileExistsError:
                pass
            except OSError as exc:
                raise UserError(f"{folder}: cannot create the output folder: {exc.strerror or exc}") from None
        try:
            dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            continue  # removed in between: make it again
        except NotADirectoryError:
            raise UserError(f"{folder}: exists and is not a folder (the output must be a folder)") from None
        except OSError as exc:
            raise UserError(f"{folder}: cannot open the output folder: {exc.strerror or exc}") from None
        st = os.fstat(dir_fd)
        key = (st.st_dev, st.st_ino)
        with _guard:
            held = _held.get(key)
            if held is not None:
                os.close(dir_fd)
                if held.thread != threading.get_ident():
                    raise FolderBusy(folder, os.getpid())
                held.count += 1
                return key, held.fd, False
        try:
            fd = _lock(dir_fd, folder)
        except BaseException:
            os.close(dir_fd)
            raise
        if fd != dir_fd:
            os.close(dir_fd)
        try:  # the folder may have been removed (and made again) while we locked it
            same = os.path.samestat(st, os.stat(folder))
        except OSError:
            same = False
        if not same:
            if fd is not None:
                os.close(fd)
            continue
        with _guard:
            _held[key] = _Held(fd, threading.get_ident())
        return key, fd, created
    raise UserError(f"{folder}: cannot lock the output folder (it keeps being removed)")


def _release(key: tuple[int, int]) -> None:
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held.count -= 1
        if held.count:
            return
        del _held[key]
    if held.fd is not None:
        os.close(held.fd)  # closing the only descriptor of the open file releases the flock


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike, clean: Mapping[str, tuple[str, ...]] | None = None) -> Iterator[Path]:
    """Hold the exclusive lock of ``folder`` (created if missing) for the ``with`` block; raise
    :class:`~curate.errors.FolderBusy` at once when another run holds it.

    ``clean`` maps a subfolder (``""`` for ``folder`` itself) to the glob patterns of the final names
    whose leftover temporaries are removed once the lock is held. A run that fails leaves no folder it
    created and left empty.
    """
    folder = Path(folder)
    key, _, created = _acquire(folder)
    try:
        for sub, names in (clean or {}).items():
            remove_temporaries(folder / sub if sub else folder, names)
        yield folder
    except BaseException as exc:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty; still locked, so nobody is writing in it
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
            raise not_writable(exc, folder) from exc
        raise
    finally:
        _release(key)


def not_writable(exc: OSError, folder: Path) -> NotWritable:
    """The one-line error for ``exc`` (an errno in :data:`~schemas.errors.WRITE_ERRNOS`): a
    :class:`~schemas.errors.WriteError`'s own message, else ``PATH: <OS reason> (<ERRNO>)`` where PATH is
    the error's file (a temporary named by its final name) or, when it names none, ``folder``."""
    if isinstance(exc, WriteError):
        return NotWritable(str(exc))
    path = Path(os.fsdecode(exc.filename)) if exc.filename is not None else folder
    match = TEMPORARY.match(path.name)
    if match:
        path = path.with_name(match["final"])
    reason = exc.strerror or os.strerror(exc.errno)
    return NotWritable(f"{path}: {reason} ({errno.errorcode.get(exc.errno, exc.errno)})")


def is_held(folder: str | os.PathLike) -> bool:
    """Whether this process holds ``folder``'s lock (for tests and assertions)."""
    try:
        st = os.stat(folder)
    except OSError:
        return False
    with _guard:
        return (st.st_dev, st.st_ino) in _held
