"""curate export: field names per trainer format, round trips through the readers that exist."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.export import TARGETS, export
from curate.filter import FilterConfig, run
from schemas.mcq import read_mcq
from schemas.prompt import R1_INSTRUCTION

SAMPLES = Path(__file__).resolve().parents[1] / "curate" / "samples"


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mcq")
    run(FilterConfig(inputs=sorted(SAMPLES.glob("*.json")) + [SAMPLES / "nextqa_val.csv"], output=out))
    return out


def _rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    return json.loads(path.read_text())


def _core(table) -> list[tuple]:
    return sorted((r["video"], r["question"], tuple(r["options"]), r["answer"]) for r in table.to_pylist())


def test_sample_table_is_not_empty(table_dir):
    assert read_mcq(table_dir).num_rows == 5


@pytest.mark.parametrize(
    ("target", "suffix", "fields"),
    [
        ("tinyllava", "jsonl", {"id", "problem", "solution", "video_filename"}),
        ("video-r1", "json", {"problem_id", "id", "problem", "data_type", "problem_type", "options", "process",
                              "solution", "path", "data_source"}),
        ("verl", "parquet", {"data_source", "prompt", "videos", "ability", "reward_model", "extra_info"}),
        ("easyr1", "jsonl", {"id", "prompt", "answer", "videos"}),
        ("swift", "jsonl", {"id", "messages", "videos", "solution", "options", "answer", "problem_type"}),
        ("openrlhf", "jsonl", {"id", "prompt", "label", "video"}),
        ("trl", "jsonl", {"id", "prompt", "solution", "options", "answer", "problem_type", "video"}),
        ("llava", "json", {"id", "video", "data_source", "conversations"}),
    ],
)
def test_field_names(table_dir, tmp_path, target, suffix, fields):
    out = tmp_path / f"out.{suffix}"
    n = export(table_dir, target, out, video_root=str(tmp_path / "videos"))
    rows = _rows(out)
    assert n == len(rows) == 5
    assert all(set(r) == fields for r in rows)


def test_tinyllava_problem_has_options_but_no_instruction(table_dir, tmp_path):
    out = tmp_path / "t.jsonl"
    export(table_dir, "tinyllava", out)
    row = next(r for r in _rows(out) if "where is this place" in r["problem"])
    assert row["problem"] == "where is this place\nA. beach\nB. garden\nC. kitchen\nD. park\nE. office"
    assert row["solution"] == "<answer>B</answer>"
    assert row["video_filename"] == "./4164158586.mp4"
    assert "<think>" not in row["problem"]


def test_verl_reward_model_and_extra_info(table_dir, tmp_path, monkeypatch):
    out = tmp_path / "v.parquet"
    monkeypatch.chdir(tmp_path)
    export(table_dir, "verl", out, video_root="videos")  # a relative root is made absolute
    rows = _rows(out)
    table = read_mcq(table_dir).to_pylist()
    for row, item in zip(rows, table, strict=True):
        video = str(tmp_path / "videos" / item["video"])
        assert row["reward_model"] == {"style": "rule", "ground_truth": "ABCDE"[item["answer"]]}
        assert row["extra_info"]["options"] == item["options"]
        assert row["extra_info"]["video"] == video
        content = row["prompt"][0]["content"]
        assert content.startswith("<video>" + item["question"]) and content.endswith(R1_INSTRUCTION)
        assert row["videos"] == [{"video": video}]


@pytest.mark.parametrize("target", ["verl", "easyr1", "swift"])
def test_relative_video_paths_are_refused_where_the_trainer_would_drop_them(table_dir, tmp_path, target):
    """verl, EasyR1 and ms-swift open paths from their own working directory (verl drops a row whose
    video does not open, silently): a relative path is a one-line error, not a silent loss."""
    result = CliRunner().invoke(app, ["export", str(table_dir), "--to", target, "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "is relative" in result.output and "--video-root" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_packed_gold_for_trainers_that_pass_one_value(table_dir, tmp_path):
    from rewards.gold import unpack_gold

    export(table_dir, "easyr1", tmp_path / "e.jsonl", video_root="/v")
    export(table_dir, "openrlhf", tmp_path / "o.jsonl")
    table = read_mcq(table_dir).to_pylist()
    for easy, orl, item in zip(_rows(tmp_path / "e.jsonl"), _rows(tmp_path / "o.jsonl"), table, strict=True):
        expected = ("ABCDE"[item["answer"]], item["options"], item["problem_type"])
        assert unpack_gold(easy["answer"]) == unpack_gold(orl["label"]) == expected


def test_trl_prompt_is_conversational(table_dir, tmp_path):
    out = tmp_path / "t.parquet"
    export(table_dir, "trl", out)
    row = _rows(out)[0]
    assert row["prompt"][0]["role"] == "user"
    assert row["solution"] == f"<answer>{'ABCDE'[row['answer']]}</answer>"


@pytest.mark.parametrize(("target", "suffix"), [("tinyllava", "jsonl"), ("video-r1", "json"), ("llava", "json")])
def test_round_trip_through_reader(table_dir, tmp_path, target, suffix):
    exported = tmp_path / f"export.{suffix}"
    export(table_dir, target, exported)
    again = tmp_path / "again"
    result = run(FilterConfig(inputs=[exported], output=again))
    assert result.rejected == 0
    assert _core(read_mcq(again)) == _core(read_mcq(table_dir))


def test_instruction_override_and_video_root(table_dir, tmp_path):
    out = tmp_path / "t.jsonl"
    export(table_dir, "trl", out, instruction="", video_root="/data/videos")
    row = _rows(out)[0]
    assert not row["prompt"][0]["content"].endswith(R1_INSTRUCTION)
    assert row["video"].startswith("/data/videos/")


def test_cli_export_and_errors(table_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "x.json"
    ok = runner.invoke(app, ["export", str(table_dir), "--to", "llava", "-o", str(out), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout.strip().splitlines()[-1])["rows"] == 5
    bad = runner.invoke(app, ["export", str(table_dir), "--to", "nope", "-o", str(out)])
    assert bad.exit_code == 2 and "nope" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(app, ["export", str(tmp_path / "none"), "--to", "verl", "-o", str(out)])
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_export_refuses_a_table_that_breaks_the_contract(tmp_path):
    broken = tmp_path / "mcq.parquet"
    pl.DataFrame({"id": ["a"], "question": ["q"]}).write_parquet(broken)
    result = CliRunner().invoke(app, ["export", str(tmp_path), "--to", "trl", "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2
    assert "mcq.parquet" in result.output and "column" in result.output


def test_every_target_is_tested():
    assert set(TARGETS) == {"tinyllava", "video-r1", "verl", "easyr1", "swift", "openrlhf", "trl", "llava"}


# ------------------------------------------------------------------------------------------ stored frames


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory) -> Path:
    from curate.demo import run_demo

    out = tmp_path_factory.mktemp("stored") / "demo"
    run_demo(out, videos=2, coldstart=False)
    return out / "frames"


def _stored(frames_dir: Path) -> dict[str, list[bytes]]:
    rows = pq.read_table(sorted((frames_dir / "frames").glob("part-*.parquet"))[0]).to_pylist()
    return {r["video_key"]: [f["bytes"] for f in r["frames"]] for r in rows}


def _frame_paths(target: str, row: dict) -> list[str]:
    if target == "verl":
        return row["videos"][0]["video"]
    if target == "easyr1":
        return row["videos"][0]
    return row["images"]


@pytest.mark.parametrize(("target", "name"), [("verl", "t.parquet"), ("easyr1", "t.jsonl"), ("swift", "t.jsonl"),
                                              ("trl", "t.jsonl"), ("openrlhf", "t.jsonl")])
def test_stored_frames_reach_every_frame_target(frames_dir, tmp_path, target, name):
    out = tmp_path / name
    n = export(frames_dir, target, out)
    stored = _stored(frames_dir)
    keys = {r["id"]: r["video_key"] for r in read_mcq(frames_dir).to_pylist()}
    rows = _rows(out)
    assert n == len(rows) == len(keys)
    for row in rows:
        paths = _frame_paths(target, row)
        assert all(Path(p).is_absolute() for p in paths)
        row_id = row["extra_info"]["id"] if target == "verl" else row["id"]
        assert [Path(p).read_bytes() for p in paths] == stored[keys[row_id]]  # the stored bytes, in order
        assert all(str(tmp_path / "t_frames") in p for p in paths)
        assert ".mp4" not in json.dumps(_frame_paths(target, row))
    if target == "swift":
        assert all(r["messages"][0]["content"].startswith("<image>" * 8) and "videos" not in r for r in rows)
    if target == "openrlhf":
        assert all(r["prompt"][0]["content"].startswith("<image>" * 8) for r in rows)
    if target == "verl":
        video = rows[0]["videos"][0]
        assert video["sample_fps"] == video["raw_fps"] > 0


def test_frame_files_are_not_rewritten_by_a_rerun(frames_dir, tmp_path):
    export(frames_dir, "easyr1", tmp_path / "t.jsonl")
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / "t_frames").rglob("*.jpg")}
    export(frames_dir, "easyr1", tmp_path / "t.jsonl")
    assert files and {p: p.stat().st_mtime_ns for p in (tmp_path / "t_frames").rglob("*.jpg")} == files


def test_no_stored_frames_exports_the_mp4(frames_dir, tmp_path):
    export(frames_dir, "verl", tmp_path / "v.parquet", stored_frames=False, video_root="/videos")
    assert all(r["videos"][0]["video"].startswith("/videos/") for r in _rows(tmp_path / "v.parquet"))
    assert not (tmp_path / "v_frames").exists()


def test_frame_dir_option_and_missing_frame_rows(frames_dir, tmp_path):
    import shutil

    export(frames_dir, "trl", tmp_path / "t.parquet", frames_dir=tmp_path / "elsewhere")
    assert list((tmp_path / "elsewhere").rglob("*.jpg"))
    broken = tmp_path / "broken"
    shutil.copytree(frames_dir, broken)
    for shard in (broken / "frames").glob("part-*.parquet"):
        table = pq.read_table(shard)
        pq.write_table(table.slice(0, 1), shard)
    result = CliRunner().invoke(app, ["export", str(broken), "--to", "verl", "-o", str(tmp_path / "b.parquet")])
    assert result.exit_code == 2 and "no frame row" in result.output


def test_an_export_records_a_manifest_and_its_rerun_writes_nothing(table_dir, tmp_path):
    """Like every stage: a manifest beside the file (the completion rule of curate.manifest); the same
    export again is a no-op (the file keeps its inode and mtime); another option, or a changed input,
    writes it again."""
    from curate.export import ExportConfig, manifest_name, run

    out = tmp_path / "t.jsonl"
    first = run(ExportConfig(input=table_dir, to="trl", output=out))
    recorded = json.loads((tmp_path / manifest_name(out)).read_text())
    assert first.rows == 5 and not first.up_to_date and recorded["rows"] == 5
    assert recorded["command"].startswith(f"curate export {table_dir} --to trl --output ")
    before = out.stat()
    again = run(ExportConfig(input=table_dir, to="trl", output=out))
    assert again.up_to_date and again.rows == 5
    assert (out.stat().st_ino, out.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    other = run(ExportConfig(input=table_dir, to="trl", output=out, instruction=""))
    assert not other.up_to_date and not _rows(out)[0]["prompt"][0]["content"].endswith(R1_INSTRUCTION)
    out.write_text("tampered\n")  # an output that no longer matches its manifest is rewritten
    assert not run(ExportConfig(input=table_dir, to="trl", output=out, instruction="")).up_to_date
    assert len(_rows(out)) == 5
