"""Errors that are the user's to fix: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input (missing file, malformed JSON/CSV, unknown format, bad option).

    The message names the file and, where it applies, the line or record index.
    """


class FolderBusy(UserError):
    """Another run holds the output folder's lock (:mod:`curate.lock`); ``pid`` is its process when known."""

    def __init__(self, folder, pid: int | None = None) -> None:
        self.folder, self.pid = folder, pid
        holder = f" (pid {pid})" if pid else ""
        super().__init__(f"{folder}: another curate run is writing this folder{holder}")


class NotWritable(UserError):
    """An output could not be written: no space, a quota or file-size limit, a read-only or not-writable
    folder. The message names the real output path (never a hidden temporary) and the OS reason."""
