"""curate/cli.py: the ``curate filter`` command, in-process (CliRunner) and as a real process.

A user's mistake is exit code 2 with exactly one line on stderr, ``curate: error: …`` naming the file, and
never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from helpers import FIXTURES, NEXTQA_HEADER, write_csv, write_json

import schemas.atomic
from schemas.mcq import read_mcq

NEXTQA = FIXTURES / "nextqa_val.csv"
TVQA = FIXTURES / "tvqa_val.jsonl"
GENERIC = FIXTURES / "generic_qa.csv"
LLAVA_MC = FIXTURES / "0_30_s_academic_mc_v0_1_qa_processed.json"
GEN_MAP_ARGS = ["--map", "id=item", "--map", "video=clip", "--map", "question=prompt",
                "--map", "options=c1,c2,c3,c4", "--map", "answer=gold", "--map", "subset=category"]


def flat(text: str) -> str:
    """Text with runs of whitespace as one space (rich wraps long summary lines)."""
    return " ".join(text.split())


def assert_user_error(result, *names: str) -> str:
    """Exit 2, one non-blank stderr line ``curate: error: …`` naming each of ``names``, no traceback."""
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    lines = result.stderr_lines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("curate: error: "), line
    for name in names:
        assert name in line, (name, line)
    return line


# ------------------------------------------------------------------------------------------------ success


def test_filter_summary_on_stderr(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("filter", NEXTQA, "-o", out)
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    err = flat(r.stderr)
    assert "format nextqa" in err
    assert "read 8, kept 6, rejected 2" in err
    assert "duplicate_options 1" in err and "duplicate 1" in err
    assert read_mcq(out).num_rows == 6


def test_filter_json_is_one_line_on_stdout(cli, tmp_path):
    r = cli("filter", NEXTQA, "-o", tmp_path / "out", "--json")
    assert r.exit_code == 0
    (line,) = r.stdout.splitlines()
    summary = json.loads(line)
    assert summary["read"] == 8 and summary["kept"] == 6 and summary["rejected"] == 2
    assert summary["skipped"] is False
    assert summary["reasons"] == {"duplicate": 1, "duplicate_options": 1}
    assert summary["formats"] == {str(NEXTQA): "nextqa"}


def test_filter_quiet_prints_nothing(cli, tmp_path):
    r = cli("filter", NEXTQA, "-o", tmp_path / "out", "--quiet")
    assert r.exit_code == 0
    assert r.stdout == "" and r.stderr == ""
    assert (tmp_path / "out" / "manifest.json").is_file()


@pytest.mark.slow
def test_rerun_is_noop_and_force_reruns(cli, tmp_path):
    out = tmp_path / "out"
    assert cli("filter", NEXTQA, "-o", out).exit_code == 0
    stamp = (out / "mcq.parquet").stat().st_mtime_ns
    again = cli("filter", NEXTQA, "-o", out, "--json")
    assert json.loads(again.stdout)["skipped"] is True
    assert (out / "mcq.parquet").stat().st_mtime_ns == stamp
    text = cli("filter", NEXTQA, "-o", out)
    assert "already complete" in flat(text.stderr) and "--force" in text.stderr
    forced = cli("filter", NEXTQA, "-o", out, "--force", "--json")
    assert json.loads(forced.stdout)["skipped"] is False
    assert json.loads(forced.stdout)["kept"] == 6


def test_options_reach_the_stage(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("filter", NEXTQA, "-o", out, "--nextqa-map", FIXTURES / "map_vid_vidorID.json",
            "--include-subset", "C*", "--exclude-subset", "CH", "--shuffle-options", "5", "--limit", "2", "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["kept"] == 2
    assert summary["reasons"]["video_not_in_map"] == 1
    assert summary["reasons"]["subset_excluded"] >= 1
    stats = json.loads((out / "stats.json").read_text())
    assert set(stats["answer_letter_histogram"]) == {"before_shuffle", "after_shuffle"}
    kept = pl.read_parquet(out / "mcq.parquet")
    assert set(kept["subset"].to_list()) == {"CW"}
    assert all(v.startswith(("1104/", "0071/")) for v in kept["video"].to_list())


def test_generic_format_with_maps(cli, tmp_path):
    r = cli("filter", GENERIC, "-o", tmp_path / "out", "--format", "generic", *GEN_MAP_ARGS,
            "--source", "mine", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["kept"] == 3
    ids = pl.read_parquet(tmp_path / "out" / "mcq.parquet")["id"].to_list()
    assert ids == ["mine:g1", "mine:g2", "mine:g3"]


@pytest.mark.slow
def test_duration_and_sample_options(cli, tmp_path):
    out = tmp_path / "out"
    r = cli("filter", LLAVA_MC, "-o", out, "--min-duration", "40", "--json")
    assert json.loads(r.stdout)["reasons"] == {"too_short": 2}
    r = cli("filter", NEXTQA, "-o", tmp_path / "s", "--sample", "3", "--seed", "9", "--json")
    assert json.loads(r.stdout)["kept"] == 3


@pytest.mark.slow
def test_check_videos_option(cli, tmp_path, videos):
    path = write_csv(tmp_path / "qa.csv", ["q", "v", "o1", "o2", "a"], [
        ["one?", "good.mp4", "x", "y", "0"], ["two?", "missing.mp4", "x", "y", "1"],
        ["three?", "garbage.mp4", "x", "y", "1"],
    ])
    r = cli("filter", path, "-o", tmp_path / "out", "--format", "generic", "--map", "question=q",
            "--map", "video=v", "--map", "options=o1,o2", "--map", "answer=a", "--check-videos",
            "--video-root", videos, "--workers", "2", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["reasons"] == {"video_missing": 1, "video_unreadable": 1}


def test_version(cli):
    r = cli("--version")
    assert r.exit_code == 0
    assert r.stdout.startswith("videoqa-rl ")


def test_help_lists_filter(cli):
    r = cli("--help")
    assert r.exit_code == 0
    assert "filter" in r.stdout


# -------------------------------------------------------------------------------------------- user errors


def test_malformed_json_own(cli, tmp_path):
    path = tmp_path / "video_r1.json"
    path.write_text('[{"problem": "What?", "solution": "<answer>A</answer>", "options": ["A. x",]}]\n')
    line = assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))
    assert "line 1" in line
    assert not (tmp_path / "out" / "mcq.parquet").exists()


def test_malformed_json_with_explicit_format(cli, tmp_path):
    path = tmp_path / "qa.json"
    path.write_text('[{"video": "a.mp4", "question": "q", "candidates": ["a", "b"], "answer": "a"}\n')
    assert_user_error(cli("filter", path, "-o", tmp_path / "out", "--format", "mvbench"), str(path))


def test_malformed_json_shared_videomme_template(cli, shared_fixtures, tmp_path):
    path = shared_fixtures / "videomme_official_output_test_template.json.txt"
    line = assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))
    assert "line 20" in line


def test_malformed_llava_json(cli, tmp_path):
    path = tmp_path / "0_30_s_x_qa_processed.json"
    path.write_text(LLAVA_MC.read_text()[:-20])
    assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))


def test_malformed_jsonl_line_names_line_number(cli, tmp_path):
    lines = TVQA.read_text().splitlines()
    path = tmp_path / "tvqa_val.jsonl"
    path.write_text(lines[0] + "\n" + lines[1][:-5] + "\n" + lines[0] + "\n")
    line = assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))
    assert f"{path}:2" in line


def test_missing_file(cli, tmp_path):
    path = tmp_path / "nope.json"
    line = assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))
    assert "no such file" in line


def test_missing_file_among_good_ones(cli, tmp_path):
    path = tmp_path / "absent.csv"
    assert_user_error(cli("filter", NEXTQA, path, "-o", tmp_path / "out"), str(path))
    assert not (tmp_path / "out" / "mcq.parquet").exists()


def test_unknown_format_name(cli, tmp_path):
    """An unknown format is the option's mistake, answered before any file is read."""
    line = assert_user_error(cli("filter", NEXTQA, "-o", tmp_path / "out", "--format", "nextqa2"),
                             "--format", "nextqa2", "videomme")
    assert not (tmp_path / "out").exists(), line


def test_undetectable_format_own(cli, tmp_path):
    path = write_json(tmp_path / "answers.json", {"0074f737": 3, "00b9a0de": 4})
    line = assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))
    assert "--format" in line


def test_undetectable_generic_csv(cli, tmp_path):
    line = assert_user_error(cli("filter", GENERIC, "-o", tmp_path / "out"), str(GENERIC))
    assert "--format" in line


def test_undetectable_format_shared_egoschema_answers(cli, shared_fixtures, tmp_path):
    path = shared_fixtures / "egoschema_subset_answers_head.json"
    assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))


def test_generic_map_names_missing_column(cli, tmp_path):
    r = cli("filter", GENERIC, "-o", tmp_path / "out", "--format", "generic", "--map", "question=prompt",
            "--map", "answer=gold", "--map", "video=no_such_col")
    line = assert_user_error(r, str(GENERIC))
    assert "no_such_col" in line


def test_generic_without_map(cli, tmp_path):
    r = cli("filter", GENERIC, "-o", tmp_path / "out", "--format", "generic")
    assert_user_error(r, "--map")


def test_generic_bad_map_syntax(cli, tmp_path):
    r = cli("filter", GENERIC, "-o", tmp_path / "out", "--format", "generic", "--map", "question")
    assert_user_error(r, "--map")


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_non_utf8_file(cli, tmp_path, suffix):
    if suffix == ".csv":
        body = (",".join(NEXTQA_HEADER) + "\n1,2,3,4,caf\xe9 au lait,0,1,CW,a,b,c,d,e\n").encode("latin-1")
    elif suffix == ".json":
        body = '[{"problem": "caf\xe9?", "solution": "<answer>A</answer>", "options": ["A. x", "B. y"]}]'.encode(
            "latin-1")
    else:
        body = ('{"a0": "x", "a1": "y", "a2": "z", "a3": "w", "a4": "v", "answer_idx": 0, "q": "ok?", "qid": 1, '
                '"ts": "1-2", "vid_name": "c1"}\n'
                '{"a0": "caf\xe9", "a1": "y", "a2": "z", "a3": "w", "a4": "v", "answer_idx": 0, "q": "q?", '
                '"qid": 2, "ts": "1-2", "vid_name": "c2"}\n').encode("latin-1")
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(body)
    assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))


def test_corrupt_parquet(cli, tmp_path):
    path = tmp_path / "test-00000-of-00001.parquet"
    path.write_bytes(b"not parquet at all")
    assert_user_error(cli("filter", path, "-o", tmp_path / "out"), str(path))


def test_missing_nextqa_map(cli, tmp_path):
    path = tmp_path / "map.json"
    assert_user_error(cli("filter", NEXTQA, "-o", tmp_path / "out", "--nextqa-map", path), str(path))


def test_video_root_not_a_folder(cli, tmp_path):
    root = tmp_path / "videos"
    assert_user_error(cli("filter", NEXTQA, "-o", tmp_path / "out", "--video-root", root), str(root))


def test_negative_limit(cli, tmp_path):
    assert_user_error(cli("filter", NEXTQA, "-o", tmp_path / "out", "--limit", "-3"), "--limit")


def test_error_output_is_exactly_one_line(cli, tmp_path):
    """stderr holds the error line and nothing else (no blank line left by the progress bar)."""
    path = tmp_path / "nope.json"
    r = cli("filter", path, "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert r.stderr == f"curate: error: {path}: no such file\n"


# ----------------------------------------------------------------------------------------- interruptions


@pytest.mark.parametrize(("exc", "code"), [(KeyboardInterrupt, 130), (RuntimeError, 1)])
def test_interrupted_write_leaves_no_mcq(cli, tmp_path, monkeypatch, exc, code):
    real = schemas.atomic.pq.write_table

    def failing(table, where, **kwargs):
        if ".mcq.parquet." in str(where):
            Path(where).write_bytes(b"PAR1 partial")
            raise exc("simulated")
        return real(table, where, **kwargs)

    monkeypatch.setattr(schemas.atomic.pq, "write_table", failing)
    monkeypatch.delenv("CURATE_DEBUG", raising=False)
    out = tmp_path / "out"
    r = cli("filter", NEXTQA, "-o", out)
    assert r.exit_code == code
    assert "Traceback" not in r.output
    (line,) = r.stderr_lines()
    assert line.startswith("curate: error: ")
    assert not (out / "mcq.parquet").exists()
    assert not (out / "manifest.json").exists()
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


# -------------------------------------------------------------------------------------- as a real process


@pytest.mark.slow
def test_subprocess_success(cli_subprocess, tmp_path):
    r = cli_subprocess("filter", NEXTQA, "-o", tmp_path / "out", "--json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout.strip())
    assert (summary["read"], summary["kept"], summary["rejected"]) == (8, 6, 2)
    assert read_mcq(tmp_path / "out").num_rows == 6


@pytest.mark.slow
def test_subprocess_user_error(cli_subprocess, tmp_path):
    path = tmp_path / "nope.json"
    r = cli_subprocess("filter", path, "-o", tmp_path / "out")
    assert_user_error(r, str(path))


@pytest.mark.slow
def test_subprocess_malformed_jsonl(cli_subprocess, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"vid_name": "x", "q": "?", "a0": "a"}\n{"vid_name": \n')
    line = assert_user_error(cli_subprocess("filter", path, "-o", tmp_path / "out"), str(path))
    assert f"{path}:2" in line


@pytest.mark.slow
def test_subprocess_non_utf8_jsonl(cli_subprocess, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"problem": "caf\xe9\\nA. x\\nB. y", "solution": "A", "video_filename": "v"}\n'
                     .encode("latin-1"))
    assert_user_error(cli_subprocess("filter", path, "-o", tmp_path / "out"), str(path))


@pytest.mark.slow
def test_subprocess_error_has_no_blank_line(cli_subprocess, tmp_path):
    path = tmp_path / "nope.json"
    r = cli_subprocess("filter", path, "-o", tmp_path / "out")
    assert r.stderr == f"curate: error: {path}: no such file\n"
