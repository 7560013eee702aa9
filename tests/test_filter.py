"""curate/filter.py: every reject reason, selection, duplicates, videos, shuffling, outputs and invariants."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from helpers import (
    FIXTURES,
    LLAVA_MC,
    LLAVA_OE,
    MVBENCH,
    NEXTQA,
    NEXTQA_HEADER,
    NEXTQA_MAP,
    PERCEPTION,
    STAR,
    TINYLLAVA,
    TVQA,
    VIDEO_R1,
    filter_files,
    write_csv,
    write_json,
    write_jsonl,
)

import curate.filter
import schemas.atomic
from curate.errors import UserError
from curate.filter import FilterConfig, run
from schemas.mcq import read_mcq

ALL_OWN = [LLAVA_MC, LLAVA_OE, NEXTQA, FIXTURES / "nextqa_oe_val.csv", VIDEO_R1, TINYLLAVA, MVBENCH, PERCEPTION,
           STAR, TVQA]

GEN_HEADER = ["id", "video", "question", "o1", "o2", "o3", "o4", "answer", "duration", "subset"]
GEN_MAP = ["id=id", "video=video", "question=question", "options=o1,o2,o3,o4", "answer=answer",
           "duration=duration", "subset=subset"]


def gen_rows(n: int, *, answer: str = "A", video: str = "v{i}.mp4", duration: object = "",
             subset: str = "s") -> list[list]:
    return [[f"q{i}", video.format(i=i), f"question number {i}?", f"red {i}", f"green {i}", f"blue {i}",
             f"white {i}", answer, duration, subset] for i in range(n)]


def gen_csv(tmp_path: Path, rows: list[list], name: str = "qa.csv") -> Path:
    return write_csv(tmp_path / name, GEN_HEADER, rows)


def check_invariants(o) -> None:
    """What holds for every run: counts add up, in stats and in the files; ids unique; rejects parse."""
    s = o.stats
    assert s["kept"] + s["rejected"] == s["read"]
    assert s["kept_plus_rejected_equals_read"] is True
    assert len(o.kept) == s["kept"] and len(o.rejects) == s["rejected"]
    assert pq.ParquetFile(o.out / "mcq.parquet").metadata.num_rows + \
        pq.ParquetFile(o.out / "rejects.parquet").metadata.num_rows == s["read"]
    assert sum(s["reasons"].values()) == s["rejected"]
    assert s["reasons"] == o.reasons()
    assert read_mcq(o.out).num_rows == s["kept"]
    ids = [r["id"] for r in o.kept]
    assert len(ids) == len(set(ids))
    for row in o.rejects:
        assert row["reason"]
        json.loads(row["record"])
    for src in s["by_source"].values():
        assert src["kept"] + src["rejected"] == src["read"]
    assert sum(src["read"] for src in s["by_source"].values()) == s["read"]
    assert sum(sub["read"] for sub in s["by_subset"].values()) == s["read"]
    assert o.result.read == s["read"] and o.result.kept == s["kept"] and o.result.rejected == s["rejected"]


# ------------------------------------------------------------------------------------------ whole fixtures


def test_all_own_fixtures_together(run_filter, videomme_parquet):
    o = run_filter([*ALL_OWN, videomme_parquet])
    check_invariants(o)
    assert o.stats["read"] == 3 + 2 + 8 + 3 + 5 + 4 + 4 + 3 + 2 + 2 + 3
    assert o.reasons() == {
        "open_ended": 5, "duplicate_options": 1, "duplicate": 1, "free-form": 1, "numerical": 1,
        "not_video": 1, "answer_not_in_options": 2, "unparseable_options": 1, "too_few_options": 1,
        "no_answer": 1,
    }
    assert set(o.stats["formats"].values()) == {"llava-video-178k", "nextqa", "video-r1", "tinyllava-video-r1",
                                                 "mvbench", "perceptiontest", "star", "tvqa", "videomme"}
    assert set(o.stats["by_source"]) == {"llava_video_178k", "nextqa", "video_r1", "tinyllava_video_r1",
                                         "mvbench", "perceptiontest", "star", "tvqa", "videomme"}
    for row in o.kept:
        assert row["problem_type"] == "multiple choice"
        assert 0 <= row["answer"] < len(row["options"])
        assert "<image>" not in row["question"]
        assert not any(opt[:3] in ("A. ", "B. ") for opt in row["options"])


def test_kept_rows_carry_reader_fields(run_filter):
    o = run_filter([STAR, TVQA, PERCEPTION])
    rows = o.by_id()
    star = rows["star:Interaction_T1_13"]
    assert star["start"] == pytest.approx(11.1) and star["end"] == pytest.approx(19.6)
    assert rows["perceptiontest:video_10909:0"]["duration"] == pytest.approx(30.0)
    tv = rows["tvqa:7"]
    assert (tv["start"], tv["end"]) == (pytest.approx(1.21), pytest.approx(8.49))
    assert json.loads(tv["meta"])["ts"] == "1.21-8.49"
    check_invariants(o)


# ------------------------------------------------------------------------------------------ reject reasons


def test_not_multiple_choice_and_open_ended(run_filter, tmp_path):
    path = write_csv(tmp_path / "pt.csv", ["q", "o1", "o2", "a", "pt", "v"], [
        ["how many?", "1", "2", "0", "numerical", "a.mp4"],
        ["which?", "x", "y", "1", "multiple choice", "b.mp4"],
    ])
    o = run_filter(path, format="generic",
                   mapping=["question=q", "options=o1,o2", "answer=a", "problem_type=pt", "video=v"])
    assert o.reasons() == {"not_multiple_choice": 1}
    assert o.stats["read"] == 2


def test_open_ended_from_llava_and_nextqa(run_filter):
    o = run_filter([LLAVA_OE, FIXTURES / "nextqa_oe_val.csv"])
    assert o.reasons() == {"open_ended": 5}
    assert o.kept == []
    check_invariants(o)


def test_too_few_options(run_filter):
    o = run_filter(MVBENCH)
    assert o.rejected_ids("too_few_options") == ["mvbench:action_sequence:3"]


def test_too_many_options_generic(run_filter, tmp_path):
    path = write_jsonl(tmp_path / "many.jsonl", [
        {"q": "Pick one?", "opts": [f"option {i}" for i in range(27)], "a": 3, "v": "x.mp4"},
        {"q": "Pick two?", "opts": [f"option {i}" for i in range(26)], "a": 25, "v": "x.mp4"},
    ])
    o = run_filter(path, format="generic", mapping=["question=q", "options=opts", "answer=a", "video=v"])
    assert o.reasons() == {"too_many_options": 1}
    assert len(o.kept) == 1 and len(o.kept[0]["options"]) == 26 and o.kept[0]["answer"] == 25


def test_too_many_options_video_r1(run_filter, tmp_path):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    rec = json.loads(VIDEO_R1.read_text())[0]
    rec["options"] = [f"{letters[i]}. choice {i}" for i in range(26)] + ["A. choice 26"]
    o = run_filter(write_json(tmp_path / "vr1.json", [rec]))
    assert o.reasons() == {"too_many_options": 1}


def test_answer_not_in_options(run_filter, tmp_path):
    csv_path = write_csv(tmp_path / "val.csv", NEXTQA_HEADER,
                         [["1", "9", "640", "480", "what", "5", "1", "CW", "a", "b", "c", "d", "e"]])
    o = run_filter([csv_path, TINYLLAVA, MVBENCH])
    assert sorted(o.rejected_ids("answer_not_in_options")) == sorted(
        ["nextqa:val:1:1", "tinyllava_video_r1:2", "mvbench:action_sequence:2"])


def test_duplicate_options_case_and_whitespace_insensitive(run_filter):
    o = run_filter(NEXTQA)
    assert o.rejected_ids("duplicate_options") == ["nextqa:nextqa_val:5256928210:7"]  # "scarf" / "Scarf"


def test_empty_option_and_empty_question(run_filter, tmp_path):
    path = write_json(tmp_path / "fine_grained_action.json", [
        {"video": "a.mp4", "question": "What?", "candidates": ["run", " ", "walk"], "answer": "run"},
        {"video": "b.mp4", "question": "  ", "candidates": ["run", "walk"], "answer": "run"},
    ])
    o = run_filter(path)
    assert o.reasons() == {"empty_option": 1, "empty_question": 1}


def test_no_video(run_filter, tmp_path):
    path = gen_csv(tmp_path, gen_rows(2))
    o = run_filter(path, format="generic", mapping=["question=question", "options=o1,o2,o3,o4", "answer=answer"])
    assert o.reasons() == {"no_video": 2}


def test_duplicate_later_copy_rejected(run_filter):
    o = run_filter(NEXTQA)
    assert o.rejected_ids("duplicate") == ["nextqa:nextqa_val:3851961428:0"]
    assert "nextqa:nextqa_val:3851961428:9" in o.by_id()
    (dup,) = [r for r in o.rejects if r["reason"] == "duplicate"]
    assert "nextqa:nextqa_val:3851961428:9" in dup["detail"]


def test_duplicate_with_reordered_options_and_case(run_filter, tmp_path):
    rows = gen_rows(1)
    copy = list(rows[0])
    copy[0] = "q-copy"
    copy[2] = "  QUESTION number 0? "
    copy[3:7] = [copy[6], copy[5], copy[4], copy[3]]  # reversed option order
    copy[7] = "D"  # still "red 0"
    o = run_filter(gen_csv(tmp_path, [rows[0], copy]), format="generic", mapping=GEN_MAP)
    assert o.rejected_ids("duplicate") == ["generic:q-copy"]


def test_conflicting_duplicate_rejects_all_copies(run_filter, tmp_path):
    rows = gen_rows(3)
    conflicting = list(rows[0])
    conflicting[0], conflicting[7] = "q-conflict", "B"
    o = run_filter(gen_csv(tmp_path, [*rows, conflicting]), format="generic", mapping=GEN_MAP)
    assert sorted(o.rejected_ids("conflicting_duplicate")) == ["generic:q-conflict", "generic:q0"]
    assert sorted(o.by_id()) == ["generic:q1", "generic:q2"]
    check_invariants(o)


def test_same_question_different_option_set_kept_and_counted(run_filter):
    o = run_filter(NEXTQA)
    kept = o.by_id()
    assert "nextqa:nextqa_val:3046900922:9" in kept and "nextqa:nextqa_val:3046900922:0" in kept
    assert o.stats["same_question_different_options"] == 1


def test_duplicates_are_only_among_valid_items(run_filter, tmp_path):
    """A rejected first copy does not make a valid later copy a duplicate."""
    bad, good = gen_rows(1), gen_rows(1)
    bad[0][7] = "Z"  # answer not in options
    good[0][0] = "q-good"
    o = run_filter(gen_csv(tmp_path, [bad[0], good[0]]), format="generic", mapping=GEN_MAP)
    assert o.reasons() == {"answer_not_in_options": 1}
    assert list(o.by_id()) == ["generic:q-good"]


def test_video_not_in_map(run_filter):
    o = run_filter(NEXTQA, nextqa_map=NEXTQA_MAP)
    assert o.rejected_ids("video_not_in_map") == ["nextqa:nextqa_val:2834146886:8"]
    assert o.by_id()["nextqa:nextqa_val:4010069381:6"]["video"] == "1106/4010069381.mp4"


def test_malformed_record_inside_good_file(run_filter, tmp_path):
    records = json.loads(VIDEO_R1.read_text())
    records.insert(2, {"problem_id": 999, "options": ["A. x", "B. y"]})  # no problem, no solution
    records.insert(0, 17)
    o = run_filter(write_json(tmp_path / "vr1.json", records))
    bad = [r for r in o.rejects if r["reason"] == "malformed_record"]
    assert sorted(r["index"] for r in bad) == [0, 3]
    assert all(r["input"] == str(tmp_path / "vr1.json") for r in bad)
    assert json.loads(bad[0]["record"]) == 17
    assert len(o.kept) == 2
    check_invariants(o)


def test_no_answer(run_filter, tmp_path):
    tv = [json.loads(line) for line in TVQA.read_text().splitlines()]
    del tv[1]["answer_idx"]
    o = run_filter([write_jsonl(tmp_path / "tvqa_test.jsonl", tv), PERCEPTION])
    assert sorted(o.rejected_ids("no_answer")) == ["perceptiontest:video_2273:0", "tvqa:12"]


def test_unparseable_options_and_answer(run_filter, tmp_path):
    path = write_json(tmp_path / "llava_qa_processed.json", [{
        "id": "r", "data_source": "0_30_s_x", "video": "a.mp4",
        "conversations": [
            {"from": "human", "value": "<image>\nQ1?\nA. x\nC. y"}, {"from": "gpt", "value": "A."},
            {"from": "human", "value": "Q2?\nA. x\nB. y"}, {"from": "gpt", "value": "yes"},
            {"from": "human", "value": "Q3?\nA. Red\nB. Blue"}, {"from": "gpt", "value": "B. Red."},
        ],
    }])
    o = run_filter(path)
    assert o.reasons() == {"unparseable_options": 1, "unparseable_answer": 1, "answer_text_mismatch": 1}
    assert [r["id"] for r in o.rejects] == ["llava_video_178k:r:0", "llava_video_178k:r:1", "llava_video_178k:r:2"]


def test_reader_rejects_take_precedence(run_filter, tmp_path):
    """One reason per item: the first that applies (a free-form Video-R1 row is not also too_few_options)."""
    o = run_filter(VIDEO_R1)
    assert sorted(r["reason"] for r in o.rejects) == ["free-form", "not_video", "numerical"]


# ------------------------------------------------------------------------------------------------ subsets


def test_include_subset_glob(run_filter):
    o = run_filter(NEXTQA, include_subset=["C*"])
    assert {r["subset"] for r in o.kept} == {"CH", "CW"}
    assert sorted(r["subset"] for r in o.rejects if r["reason"] == "subset_excluded") == ["TN"]
    check_invariants(o)


def test_exclude_subset_glob(run_filter):
    o = run_filter(NEXTQA, exclude_subset=["CW", "T?"])
    assert {r["subset"] for r in o.kept} == {"CH"}
    assert o.reasons()["subset_excluded"] == 4  # 3 CW + TN (the TC row already has duplicate_options)


def test_include_and_exclude_together(run_filter):
    o = run_filter(LLAVA_MC, include_subset=["*_v0_1"], exclude_subset=["1_2_m*"])
    assert {r["subset"] for r in o.kept} == {"0_30_s_academic_v0_1"}
    assert len(o.kept) == 2
    assert o.rejected_ids("subset_excluded") == ["llava_video_178k:ytb_4FqVtCx9cEw:0"]


def test_include_subset_drops_items_without_subset(run_filter):
    """A null subset matches no pattern (filter.select_subsets docstring), so --include-subset drops it."""
    o = run_filter([LLAVA_MC, TINYLLAVA], include_subset=["*_academic_*"])
    assert {r["subset"] for r in o.kept} == {"0_30_s_academic_v0_1"}
    assert {r["source"] for r in o.rejects if r["reason"] == "subset_excluded"} == {"llava_video_178k",
                                                                                    "tinyllava_video_r1"}


def test_exclude_only_keeps_null_subsets(run_filter):
    o = run_filter(TINYLLAVA, exclude_subset=["*"])
    assert "subset_excluded" not in o.reasons()


# ---------------------------------------------------------------------------------------------- durations


def test_duration_from_record(run_filter, tmp_path):
    rows = gen_rows(4)
    for row, d in zip(rows, ["5", "50", "500", ""], strict=True):
        row[8] = d
    o = run_filter(gen_csv(tmp_path, rows), format="generic", mapping=GEN_MAP, min_duration=10, max_duration=100)
    assert o.rejected_ids("too_short") == ["generic:q0"]
    assert o.rejected_ids("too_long") == ["generic:q2"]
    assert sorted(o.by_id()) == ["generic:q1", "generic:q3"]
    assert o.stats["duration_unknown"] == 1
    assert o.stats["duration_histogram"] == {"30-60": 1, "unknown": 1}
    check_invariants(o)


def test_duration_from_llava_bucket_min(run_filter):
    o = run_filter(LLAVA_MC, min_duration=40)
    assert sorted(o.rejected_ids("too_short")) == ["llava_video_178k:v_Xq1JmWrz3Qc-split_0:0",
                                                   "llava_video_178k:v_Xq1JmWrz3Qc-split_0:1"]
    assert list(o.by_id()) == ["llava_video_178k:ytb_4FqVtCx9cEw:0"]  # 1_2_m: 60..120 s
    assert o.stats["duration_unknown"] == 0


def test_duration_from_llava_bucket_max(run_filter):
    o = run_filter(LLAVA_MC, max_duration=45)
    assert o.rejected_ids("too_long") == ["llava_video_178k:ytb_4FqVtCx9cEw:0"]
    assert len(o.kept) == 2


def test_bucket_straddling_the_bound_is_unknown(run_filter):
    o = run_filter(LLAVA_MC, min_duration=20)  # 0_30_s: cannot tell
    assert len(o.kept) == 3
    assert o.stats["duration_unknown"] == 2


def test_duration_from_videomme_bucket(run_filter, videomme_parquet):
    o = run_filter(videomme_parquet, max_duration=180)
    assert o.rejected_ids("too_long") == ["videomme:301-1"]


def test_no_duration_bounds_counts_nothing_unknown(run_filter):
    o = run_filter(LLAVA_MC)
    assert o.stats["duration_unknown"] == 0
    assert o.stats["duration_histogram"] == {"unknown": 3}


# ------------------------------------------------------------------------------------------------- videos


def video_csv(tmp_path: Path) -> Path:
    rows = gen_rows(4)
    for row, video in zip(rows, ["good.mp4", "missing.mp4", "garbage.mp4", "good.mp4"], strict=True):
        row[1] = video
    return gen_csv(tmp_path, rows)


def test_check_videos(run_filter, tmp_path, videos):
    o = run_filter(video_csv(tmp_path), format="generic", mapping=GEN_MAP, check_videos=True, video_root=videos)
    assert o.rejected_ids("video_missing") == ["generic:q1"]
    assert o.rejected_ids("video_unreadable") == ["generic:q2"]
    missing = next(r for r in o.rejects if r["reason"] == "video_missing")
    assert "missing.mp4" in missing["detail"]
    assert sorted(o.by_id()) == ["generic:q0", "generic:q3"]
    for row in o.kept:
        assert row["video"] == "good.mp4"  # stored as published, not resolved
        assert row["duration"] == pytest.approx(2.0, abs=0.25)
    assert o.stats["videos_probed"] == 3  # each distinct video once
    check_invariants(o)


def test_without_check_videos_nothing_is_opened(run_filter, tmp_path, videos):
    o = run_filter(video_csv(tmp_path), format="generic", mapping=GEN_MAP, video_root=videos)
    assert o.reasons() == {}
    assert o.stats["videos_probed"] == 0


def test_probe_fills_unknown_duration(run_filter, tmp_path, videos):
    rows = gen_rows(2)
    rows[0][1], rows[1][1] = "good.mp4", "other.mp4"
    rows[1][8] = "30"  # known: not probed, so its missing file goes unnoticed
    path = gen_csv(tmp_path, rows)
    o = run_filter(path, format="generic", mapping=GEN_MAP, probe=True, video_root=videos, min_duration=1)
    assert o.by_id()["generic:q0"]["duration"] == pytest.approx(2.0, abs=0.25)
    assert o.by_id()["generic:q1"]["duration"] == 30.0
    assert o.stats["videos_probed"] == 1
    assert o.stats["duration_unknown"] == 0
    o = run_filter(path, name="out2", format="generic", mapping=GEN_MAP, probe=True, video_root=videos,
                   max_duration=1)
    assert o.rejected_ids("too_long") == ["generic:q0", "generic:q1"]


def test_probe_skips_items_the_bucket_decides(run_filter, tmp_path, videos):
    """0_30_s with --max-duration 60 is decided by the bucket: no need to open the video."""
    records = json.loads(LLAVA_MC.read_text())[:1]
    o = run_filter(write_json(tmp_path / "x_qa_processed.json", records), probe=True, video_root=videos,
                   max_duration=60)
    assert o.stats["videos_probed"] == 0
    assert len(o.kept) == 2


def test_video_root_must_be_a_folder(tmp_path):
    with pytest.raises(UserError, match="video-root"):
        run(FilterConfig(inputs=[NEXTQA], output=tmp_path / "o", video_root=tmp_path / "nope"))


# ---------------------------------------------------------------------------------------- limit and sample


def test_limit_keeps_first_n_in_input_order(run_filter, tmp_path):
    o = run_filter(gen_csv(tmp_path, gen_rows(10)), format="generic", mapping=GEN_MAP, limit=3)
    assert [r["id"] for r in o.kept] == ["generic:q0", "generic:q1", "generic:q2"]
    assert o.reasons() == {"limit": 7}
    check_invariants(o)


def test_limit_counts_only_valid_items(run_filter):
    o = run_filter(NEXTQA, limit=2)
    assert [r["id"] for r in o.kept] == ["nextqa:nextqa_val:4010069381:6", "nextqa:nextqa_val:4882821564:1"]
    assert o.reasons()["limit"] == 4
    assert o.reasons()["duplicate_options"] == 1


def test_sample_deterministic_per_seed(run_filter, tmp_path):
    path = gen_csv(tmp_path, gen_rows(40))
    a = run_filter(path, name="a", format="generic", mapping=GEN_MAP, sample=10, seed=1)
    b = run_filter(path, name="b", format="generic", mapping=GEN_MAP, sample=10, seed=1)
    c = run_filter(path, name="c", format="generic", mapping=GEN_MAP, sample=10, seed=2)
    ids_a, ids_b, ids_c = ({r["id"] for r in o.kept} for o in (a, b, c))
    assert len(ids_a) == 10 and ids_a == ids_b
    assert ids_a != ids_c and len(ids_c) == 10
    assert a.reasons() == {"sample": 30}
    kept_rows = [r["id"] for r in a.kept]
    assert kept_rows == sorted(kept_rows, key=lambda i: int(i.split("q")[1]))  # input order is kept
    check_invariants(a)


def test_sample_larger_than_input_keeps_all(run_filter, tmp_path):
    o = run_filter(gen_csv(tmp_path, gen_rows(5)), format="generic", mapping=GEN_MAP, sample=50)
    assert len(o.kept) == 5 and o.rejects == []


def test_negative_limit_is_refused_by_the_config(tmp_path):
    """Bounds are checked when the config is built, before run() can start any work."""
    with pytest.raises(ValueError, match="limit"):
        FilterConfig(inputs=[NEXTQA], output=tmp_path / "o", limit=-1)
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------- shuffling


def test_shuffle_options_debiases_letters(run_filter, tmp_path):
    path = gen_csv(tmp_path, gen_rows(400, answer="A"))
    plain = run_filter(path, name="plain", format="generic", mapping=GEN_MAP)
    o = run_filter(path, name="shuf", format="generic", mapping=GEN_MAP, shuffle_options=7)
    hist = o.stats["answer_letter_histogram"]
    assert hist["before_shuffle"] == {"A": 400}
    after = hist["after_shuffle"]
    assert sum(after.values()) == 400 and set(after) == {"A", "B", "C", "D"}
    for letter, n in after.items():
        assert 0.15 * 400 <= n <= 0.35 * 400, (letter, after)
    assert Counter("ABCD"[r["answer"]] for r in o.kept) == Counter(after)
    before = plain.by_id()
    for row in o.kept:
        old = before[row["id"]]
        assert row["options"][row["answer"]] == old["options"][old["answer"]]
        assert sorted(row["options"]) == sorted(old["options"])
    check_invariants(o)


def test_shuffle_options_deterministic_per_seed(run_filter, tmp_path):
    path = gen_csv(tmp_path, gen_rows(30, answer="B"))
    a = run_filter(path, name="a", format="generic", mapping=GEN_MAP, shuffle_options=3)
    b = run_filter(path, name="b", format="generic", mapping=GEN_MAP, shuffle_options=3)
    c = run_filter(path, name="c", format="generic", mapping=GEN_MAP, shuffle_options=4)
    assert a.kept == b.kept
    assert [r["options"] for r in a.kept] != [r["options"] for r in c.kept]


def test_without_shuffle_histogram_is_flat(run_filter):
    o = run_filter(NEXTQA)
    hist = o.stats["answer_letter_histogram"]
    assert "before_shuffle" not in hist
    assert {k: v for k, v in hist.items() if v} == dict(Counter("ABCDE"[r["answer"]] for r in o.kept))
    assert sum(hist.values()) == len(o.kept) == 6


# ------------------------------------------------------------------------------------------------ outputs


def test_outputs_and_manifest(run_filter):
    o = run_filter(NEXTQA)
    assert sorted(p.name for p in o.out.iterdir()) == ["manifest.json", "mcq.parquet", "rejects.parquet",
                                                        "stats.json"]
    m = o.manifest
    assert m["stage"] == "filter"
    assert m["config"]["inputs"] == [str(NEXTQA)]
    outputs = {e["file"]: e for e in m["outputs"]}
    assert set(outputs) == {"mcq.parquet", "rejects.parquet", "stats.json"}
    assert outputs["mcq.parquet"]["rows"] == len(o.kept)
    assert outputs["rejects.parquet"]["rows"] == len(o.rejects)
    import hashlib

    for name, entry in outputs.items():
        data = (o.out / name).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert m["inputs"] == [{"path": str(NEXTQA), "bytes": NEXTQA.stat().st_size}]


def test_stats_breakdowns(run_filter):
    o = run_filter(NEXTQA)
    s = o.stats
    assert s["read"] == 8 and s["kept"] == 6 and s["rejected"] == 2
    assert s["by_source"]["nextqa"] == {"read": 8, "kept": 6, "rejected": 2,
                                        "reasons": {"duplicate": 1, "duplicate_options": 1}}
    assert s["by_subset"]["nextqa/TC"] == {"read": 1, "kept": 0, "rejected": 1,
                                           "reasons": {"duplicate_options": 1}}
    assert s["option_count_histogram"] == {"5": 6}
    assert s["formats"] == {str(NEXTQA): "nextqa"}


def test_rejects_locate_their_input(run_filter):
    o = run_filter([NEXTQA, TINYLLAVA])
    for row in o.rejects:
        assert row["input"] in (str(NEXTQA), str(TINYLLAVA))
        assert row["index"] >= 0
    dup = next(r for r in o.rejects if r["reason"] == "duplicate_options")
    original = list(csv.DictReader(NEXTQA.open()))[dup["index"]]
    assert json.loads(dup["record"]) == original


def test_empty_result_still_writes_valid_tables(run_filter):
    o = run_filter(LLAVA_OE)
    assert o.kept == [] and len(o.rejects) == 2
    assert read_mcq(o.out).num_rows == 0
    check_invariants(o)


def test_ids_unique_when_inputs_collide(run_filter, tmp_path):
    """Two Video-R1 files without problem_id both give video_r1:0; kept ids are still unique and valid."""
    rec = json.loads(VIDEO_R1.read_text())[0]
    del rec["problem_id"]
    other = dict(rec, problem="A different question?", path="./other.mp4")
    a = write_json(tmp_path / "a.json", [rec])
    b = write_json(tmp_path / "b.json", [other])
    o = run_filter([a, b])
    ids = [r["id"] for r in o.kept]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(i.startswith("video_r1:0") for i in ids)
    again = run_filter([a, b], name="again")
    assert [r["id"] for r in again.kept] == ids


def test_ids_stable_across_runs(run_filter, videomme_parquet):
    a = run_filter([*ALL_OWN, videomme_parquet], name="a", shuffle_options=1)
    b = run_filter([*ALL_OWN, videomme_parquet], name="b", shuffle_options=1)
    assert [r["id"] for r in a.kept] == [r["id"] for r in b.kept]
    assert a.kept == b.kept
    assert [r["id"] for r in a.rejects] == [r["id"] for r in b.rejects]
    assert pl.read_parquet(a.out / "mcq.parquet").equals(pl.read_parquet(b.out / "mcq.parquet"))


# ----------------------------------------------------------------------------------------- rerun / resume


def test_rerun_is_a_noop_and_force_reruns(tmp_path):
    out = tmp_path / "out"
    first = filter_files(out, NEXTQA)
    assert first.result.skipped is False
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    second = filter_files(out, NEXTQA)
    assert second.result.skipped is True
    assert (second.result.read, second.result.kept, second.result.rejected) == (8, 6, 2)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    forced = filter_files(out, NEXTQA, force=True)
    assert forced.result.skipped is False
    assert forced.kept == first.kept


def test_changed_config_or_input_reruns(tmp_path):
    out = tmp_path / "out"
    filter_files(out, NEXTQA)
    assert filter_files(out, NEXTQA, limit=1).result.skipped is False
    assert len(filter_files(out, NEXTQA, limit=1).kept) == 1
    copy = tmp_path / "nextqa_val.csv"
    copy.write_text(NEXTQA.read_text())
    filter_files(out, copy)
    with open(copy, "a") as fh:
        fh.write("4010069381,369,640,480,what else,1,99,CH,a,b,c,d,e\n")
    o = filter_files(out, copy)
    assert o.result.skipped is False and o.stats["read"] == 9


def test_tampered_output_reruns(tmp_path):
    out = tmp_path / "out"
    filter_files(out, NEXTQA)
    (out / "mcq.parquet").unlink()
    o = filter_files(out, NEXTQA)
    assert o.result.skipped is False and (out / "mcq.parquet").is_file()


# ---------------------------------------------------------------------------------------- interrupted run


def _no_leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) if out.exists() else []


def test_crash_while_writing_mcq_leaves_no_mcq(tmp_path, monkeypatch):
    real = schemas.atomic.pq.write_table

    def failing(table, where, **kwargs):
        if ".mcq.parquet." in str(where):
            Path(where).write_bytes(b"PAR1 partial")
            raise KeyboardInterrupt
        return real(table, where, **kwargs)

    monkeypatch.setattr(schemas.atomic.pq, "write_table", failing)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(FilterConfig(inputs=[NEXTQA], output=out))
    assert not (out / "mcq.parquet").exists()
    assert not (out / "manifest.json").exists()
    assert _no_leftovers(out) == []


@pytest.mark.parametrize("step", ["filter_stats", "manifest.write"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupted_late_step_leaves_no_mcq(tmp_path, monkeypatch, step, exc):
    """A run that stops before it completes (stats/manifest not written) must not leave an mcq.parquet."""

    def boom(*args, **kwargs):
        raise exc("interrupted (simulated)")

    if step == "filter_stats":
        monkeypatch.setattr(curate.filter, "filter_stats", boom)
    else:
        monkeypatch.setattr(curate.filter.manifest, "write", boom)
    out = tmp_path / "out"
    with pytest.raises(exc):
        run(FilterConfig(inputs=[NEXTQA], output=out))
    assert not (out / "manifest.json").exists()
    assert _no_leftovers(out) == []
    assert not (out / "mcq.parquet").exists()


def test_interrupted_rerun_does_not_count_as_done(tmp_path, monkeypatch):
    out = tmp_path / "out"

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted (simulated)")

    monkeypatch.setattr(curate.filter.manifest, "write", boom)
    with pytest.raises(RuntimeError):
        run(FilterConfig(inputs=[NEXTQA], output=out))
    monkeypatch.undo()
    o = filter_files(out, NEXTQA)
    assert o.result.skipped is False
    check_invariants(o)


# --------------------------------------------------------------------------------- acceptance: real NExT-QA


def _quality_rows(shared: Path) -> list[dict]:
    return list(csv.DictReader((shared / "nextqa_mc_val_quality_cases.csv").open(encoding="utf-8")))


def test_acceptance_nextqa_val_full(shared_fixtures, run_filter):
    o = run_filter(shared_fixtures / "nextqa_mc_val_full.csv")
    s = o.stats
    assert (s["read"], s["kept"], s["rejected"]) == (4996, 4992, 4)
    assert s["reasons"] == {"duplicate_options": 3, "duplicate": 1}
    check_invariants(o)

    quality = _quality_rows(shared_fixtures)
    dup_opts = [r for r in quality if len({r[f"a{i}"] for i in range(5)}) < 5]
    assert len(dup_opts) == 3
    expected = sorted(f"nextqa:nextqa_mc_val_full:{r['video']}:{r['qid']}" for r in dup_opts)
    assert sorted(o.rejected_ids("duplicate_options")) == expected
    rejected_questions = {json.loads(r["record"])["question"] for r in o.rejects
                          if r["reason"] == "duplicate_options"}
    assert rejected_questions == {"what does the man wear on his head",
                                  "why is the lady in purple bending over the table",
                                  "what is the color of the nearest sailboat"}

    (dup,) = [r for r in o.rejects if r["reason"] == "duplicate"]
    record = json.loads(dup["record"])
    assert record["video"] == "3851961428" and record["question"] == "how are the people breathing in the video"
    assert dup["id"] == "nextqa:nextqa_mc_val_full:3851961428:0"
    assert "nextqa:nextqa_mc_val_full:3851961428:9" in o.by_id()
    # the same question with another option set is kept on both rows and counted
    assert "nextqa:nextqa_mc_val_full:3046900922:9" in o.by_id()
    assert "nextqa:nextqa_mc_val_full:3046900922:0" in o.by_id()
    assert s["same_question_different_options"] >= 1
    assert s["option_count_histogram"] == {"5": 4992}


def test_acceptance_nextqa_test_full(shared_fixtures, run_filter):
    o = run_filter(shared_fixtures / "nextqa_mc_test_full.csv")
    s = o.stats
    assert s["read"] == 8564
    assert s["kept"] + s["rejected"] == s["read"]
    check_invariants(o)
    quality = _quality_rows_test(shared_fixtures)
    for r in quality:
        key = f"nextqa:nextqa_mc_test_full:{r['video']}:{r['qid']}"
        if len({r[f"a{i}"] for i in range(5)}) < 5:
            assert key in o.rejected_ids("duplicate_options")
        else:
            assert key in o.by_id()


def _quality_rows_test(shared: Path) -> list[dict]:
    return list(csv.DictReader((shared / "nextqa_mc_test_quality_cases.csv").open(encoding="utf-8")))


def test_nextqa_val_quality_cases(shared_fixtures, run_filter):
    o = run_filter(shared_fixtures / "nextqa_mc_val_quality_cases.csv")
    assert o.reasons() == {"duplicate_options": 3, "duplicate": 1}
    assert sorted(r["index"] for r in o.rejects) == [0, 1, 2, 5]
    assert o.stats["same_question_different_options"] == 1


def test_shared_samples_all_together(shared_fixtures, run_filter):
    names = ["llava_video_178k_mc_academic.json", "nextqa_mc_val.csv", "nextqa_mc_test.csv", "nextqa_oe_val.csv",
             "video_r1_cot_165k.json", "video_r1_derived_dataflow_sample.json", "videomme.jsonl",
             "tvqa_test_public.jsonl", "tvqa_train_readme_sample.json",
             "derived_flashvstream_mvbench_degenerate_and_5opt_items.json",
             "derived_flashvstream_videomme_duplicate_option_items.json"]
    o = run_filter([shared_fixtures / n for n in names])
    check_invariants(o)
    assert o.stats["read"] == 2 + 5 + 5 + 5 + 1 + 2 + 2 + 3 + 1 + 8 + 10
    r = o.reasons()
    assert r["open_ended"] == 5 and r["no_answer"] == 3 and r["too_few_options"] == 5
    assert r["duplicate_options"] == 10 and r["free-form"] == 1
    # the Video-R1 copy and the derived copy share a question but not a video path: both kept
    assert "video_r1:2" in o.by_id()
