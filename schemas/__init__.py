"""Data contracts shared by every stage: Arrow schemas, validation and atomic writers.

This package depends on pyarrow only.
"""

from schemas.atomic import atomic_path, write_json_atomic, write_parquet_atomic
from schemas.errors import SchemaError

__all__ = ["SchemaError", "atomic_path", "write_json_atomic", "write_parquet_atomic"]
