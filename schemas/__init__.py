"""Data contracts shared by every stage: Arrow schemas, validation, atomic writers and the prompt contract.

The Arrow parts depend on pyarrow only; :mod:`schemas.prompt` and :mod:`schemas.errors` on nothing, so
the reward library can import the prompt contract without pulling pyarrow in (the names below are
loaded on first use).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SchemaError": "schemas.errors",
    "atomic_path": "schemas.atomic",
    "write_json_atomic": "schemas.atomic",
    "write_parquet_atomic": "schemas.atomic",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'schemas' has no attribute {name!r}")
