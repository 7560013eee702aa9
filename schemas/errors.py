"""Errors raised by the contracts."""


class SchemaError(ValueError):
    """A table does not satisfy its contract. The message names the column and, where known, the row."""
