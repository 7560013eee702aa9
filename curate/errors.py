"""Errors that are the user's to fix: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input (missing file, malformed JSON/CSV, unknown format, bad option).

    The message names the file and, where it applies, the line or record index.
    """
