"""schemas/: the mcq and rejects contracts, their validation errors, and atomic writes."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import schemas.atomic
from schemas import SchemaError, write_json_atomic, write_parquet_atomic
from schemas.mcq import MCQ_SCHEMA, conform, read_mcq, validate, write_mcq
from schemas.rejects import REJECTS_SCHEMA, write_rejects


def mcq_rows(n: int = 3) -> list[dict]:
    return [
        {
            "id": f"src:{i}", "source": "src", "subset": "s", "video": f"v{i}.mp4", "question": f"q{i}?",
            "options": ["a", "b", "c"], "answer": i % 3, "problem_type": "multiple choice",
            "duration": 10.0, "start": 1.0, "end": 2.0, "meta": "{}",
        }
        for i in range(n)
    ]


def table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=MCQ_SCHEMA)


def loose_table(rows: list[dict]) -> pa.Table:
    """Without the contract's nullability, so a null can reach validation."""
    return pa.Table.from_pylist(rows)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------------------------------- validate


def test_valid_table_passes_and_is_conformed():
    out = validate(table(mcq_rows()))
    assert out.schema.equals(MCQ_SCHEMA)
    assert out.num_rows == 3


def test_conform_casts_types_and_orders_columns():
    rows = mcq_rows(2)
    t = pa.Table.from_pylist(rows)  # answer int64, duration double
    t = t.select(list(reversed(t.column_names)))
    out = conform(t)
    assert out.column_names == MCQ_SCHEMA.names
    assert out.schema.field("answer").type == pa.int8()
    assert out.schema.field("duration").type == pa.float32()


def test_empty_table_is_valid():
    assert validate(MCQ_SCHEMA.empty_table()).num_rows == 0


def test_null_in_non_null_column_names_column_and_row():
    rows = mcq_rows()
    rows[1]["question"] = None
    with pytest.raises(SchemaError) as err:
        validate(loose_table(rows))
    msg = str(err.value)
    assert "'question'" in msg and "row 1" in msg and "src:1" in msg and "null" in msg


def test_duplicate_id_names_column_and_both_rows():
    rows = mcq_rows(4)
    rows[3]["id"] = "src:1"
    with pytest.raises(SchemaError) as err:
        validate(table(rows))
    msg = str(err.value)
    assert "'id'" in msg and "row 3" in msg and "row 1" in msg and "duplicate" in msg


def test_answer_out_of_range_names_column_and_row():
    rows = mcq_rows()
    rows[2]["answer"] = 3
    with pytest.raises(SchemaError) as err:
        validate(table(rows))
    assert "'answer'" in str(err.value) and "row 2" in str(err.value)


def test_negative_answer_is_rejected():
    rows = mcq_rows()
    rows[0]["answer"] = -1
    with pytest.raises(SchemaError, match=r"'answer'.*row 0"):
        validate(table(rows))


def test_one_option_names_column_and_row():
    rows = mcq_rows()
    rows[1]["options"] = ["only"]
    rows[1]["answer"] = 0
    with pytest.raises(SchemaError) as err:
        validate(table(rows))
    assert "'options'" in str(err.value) and "row 1" in str(err.value)


def test_27_options_is_too_many():
    rows = mcq_rows()
    rows[0]["options"] = [f"o{i}" for i in range(27)]
    with pytest.raises(SchemaError, match=r"'options'.*row 0"):
        validate(table(rows))


def test_26_options_is_allowed():
    rows = mcq_rows()
    rows[0]["options"] = [f"o{i}" for i in range(26)]
    rows[0]["answer"] = 25
    assert validate(table(rows)).num_rows == 3


def test_null_option_is_rejected():
    rows = mcq_rows()
    rows[2]["options"] = ["a", None, "c"]
    with pytest.raises(SchemaError, match=r"'options'.*row 2"):
        validate(table(rows))


def test_bad_problem_type_names_column_and_row():
    rows = mcq_rows()
    rows[1]["problem_type"] = "free-form"
    with pytest.raises(SchemaError) as err:
        validate(table(rows))
    assert "'problem_type'" in str(err.value) and "row 1" in str(err.value)


def test_start_after_end_names_column_and_row():
    rows = mcq_rows()
    rows[2]["start"], rows[2]["end"] = 5.0, 4.0
    with pytest.raises(SchemaError) as err:
        validate(table(rows))
    assert "'start'" in str(err.value) and "row 2" in str(err.value)


def test_negative_duration_is_rejected():
    rows = mcq_rows()
    rows[0]["duration"] = -1.0
    with pytest.raises(SchemaError, match=r"'duration'.*row 0"):
        validate(table(rows))


def test_meta_must_be_a_json_object():
    rows = mcq_rows()
    rows[1]["meta"] = "[1, 2]"
    with pytest.raises(SchemaError, match=r"'meta'.*row 1"):
        validate(table(rows))


def test_unknown_column_is_named():
    t = table(mcq_rows()).append_column("extra", pa.array([1, 2, 3]))
    with pytest.raises(SchemaError, match="'extra'"):
        validate(t)


def test_missing_column_is_named():
    t = table(mcq_rows()).drop_columns(["meta"])
    with pytest.raises(SchemaError) as err:
        validate(t)
    assert "'meta'" in str(err.value) and "missing" in str(err.value)


def test_uncastable_column_is_named():
    t = table(mcq_rows()).set_column(6, "answer", pa.array(["x", "y", "z"]))
    with pytest.raises(SchemaError, match="'answer'"):
        validate(t)


def test_video_key_is_an_optional_column():
    t = table(mcq_rows()).append_column("video_key", pa.array(["k0", "k1", "k2"]))
    out = validate(t)
    assert out.column_names[-1] == "video_key"


# ---------------------------------------------------------------------------------------- read / write


def test_write_and_read_mcq_roundtrip(tmp_path):
    write_mcq(table(mcq_rows()), tmp_path / "mcq.parquet")
    assert read_mcq(tmp_path / "mcq.parquet").to_pylist() == validate(table(mcq_rows())).to_pylist()
    assert read_mcq(tmp_path).num_rows == 3  # a folder holding mcq.parquet
    assert leftovers(tmp_path) == []


def test_write_mcq_refuses_invalid_table_and_writes_nothing(tmp_path):
    rows = mcq_rows()
    rows[0]["answer"] = 7
    with pytest.raises(SchemaError):
        write_mcq(table(rows), tmp_path / "mcq.parquet")
    assert list(tmp_path.iterdir()) == []


def test_read_mcq_error_names_the_file(tmp_path):
    rows = mcq_rows()
    rows[1]["problem_type"] = "numerical"
    pq.write_table(table(rows), tmp_path / "mcq.parquet")
    with pytest.raises(SchemaError) as err:
        read_mcq(tmp_path / "mcq.parquet")
    assert str(tmp_path / "mcq.parquet") in str(err.value)
    assert "'problem_type'" in str(err.value)


def _failing_write_table(table_, where, **kwargs):
    """Write a few bytes, then fail: a crash in the middle of a Parquet write."""
    with open(where, "wb") as fh:
        fh.write(b"PAR1 half a file")
    raise OSError("disk full (simulated)")


def test_atomic_write_failure_leaves_no_file_and_no_temp(tmp_path, monkeypatch):
    monkeypatch.setattr(schemas.atomic.pq, "write_table", _failing_write_table)
    with pytest.raises(OSError, match="simulated"):
        write_mcq(table(mcq_rows()), tmp_path / "mcq.parquet")
    assert not (tmp_path / "mcq.parquet").exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_failure_keeps_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "mcq.parquet"
    write_mcq(table(mcq_rows(2)), path)
    before = path.read_bytes()
    monkeypatch.setattr(schemas.atomic.pq, "write_table", _failing_write_table)
    with pytest.raises(OSError):
        write_mcq(table(mcq_rows(3)), path)
    assert path.read_bytes() == before
    assert read_mcq(path).num_rows == 2
    assert leftovers(tmp_path) == []


def test_atomic_write_interrupted_by_keyboard_interrupt(tmp_path, monkeypatch):
    def interrupted(table_, where, **kwargs):
        with open(where, "wb") as fh:
            fh.write(b"PAR1")
        raise KeyboardInterrupt

    monkeypatch.setattr(schemas.atomic.pq, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_parquet_atomic(table(mcq_rows()), tmp_path / "x.parquet")
    assert list(tmp_path.iterdir()) == []


def test_write_json_atomic(tmp_path, monkeypatch):
    path = tmp_path / "stats.json"
    write_json_atomic({"a": "é", "n": 1}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": "é", "n": 1}
    assert "é" in path.read_text(encoding="utf-8")

    def boom(obj, **kwargs):
        raise RuntimeError("serialization failed")

    monkeypatch.setattr(schemas.atomic.json, "dumps", boom)
    with pytest.raises(RuntimeError):
        write_json_atomic({"b": 2}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": "é", "n": 1}
    assert leftovers(tmp_path) == []


def test_atomic_write_creates_parent_folder(tmp_path):
    write_parquet_atomic(table(mcq_rows()), tmp_path / "a" / "b" / "mcq.parquet")
    assert (tmp_path / "a" / "b" / "mcq.parquet").is_file()


# --------------------------------------------------------------------------------------------- rejects


def rejects_rows() -> list[dict]:
    return [{"id": "x:1", "source": "x", "subset": None, "video": "v.mp4", "input": "f.json", "index": 0,
             "reason": "open_ended", "detail": None, "record": '{"q": 1}'}]


def test_write_rejects_casts_to_contract(tmp_path):
    t = pa.Table.from_pylist(rejects_rows())
    t = t.select(list(reversed(t.column_names)))
    out = write_rejects(t, tmp_path / "rejects.parquet")
    assert out.schema.equals(REJECTS_SCHEMA)
    assert pq.read_table(tmp_path / "rejects.parquet").schema.equals(REJECTS_SCHEMA)


def test_write_rejects_missing_column(tmp_path):
    t = pa.Table.from_pylist(rejects_rows()).drop_columns(["reason"])
    with pytest.raises(ValueError, match="'reason'"):
        write_rejects(t, tmp_path / "rejects.parquet")
    assert not (tmp_path / "rejects.parquet").exists()
