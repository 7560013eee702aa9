"""Errors raised by the contracts."""

import errno
import os

# What the user must fix when a write fails: no space, quota, a file-size limit, a read-only or
# not-writable folder. Other OS errors (EIO …) are not the user's and propagate as they are.
WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
)


class SchemaError(ValueError):
    """A table does not satisfy its contract. The message names the column and, where known, the row."""


class WriteError(OSError):
    """An output could not be written for a reason in :data:`WRITE_ERRNOS`.

    ``filename`` is the output's real path — never the hidden temporary it was being written under — and
    the message is ``PATH: cannot write: <OS reason> (<ERRNO NAME>)``. ``errno`` is the OS error's.
    """

    def __init__(self, path: str | os.PathLike, code: int) -> None:
        super().__init__(code, os.strerror(code), os.fspath(path))

    def __str__(self) -> str:
        return f"{self.filename}: cannot write: {self.strerror} ({errno.errorcode.get(self.errno, self.errno)})"
