"""curate/readers: every published format, on the real samples (../shared) and on tests/fixtures.

``normalized(path)`` = reader + :func:`curate.normalize.normalize`: the rows as the filter sees them before
its structural checks, so question/options/answer are asserted exactly as they will be stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import (
    FIXTURES,
    GENERIC,
    LLAVA_MC,
    LLAVA_OE,
    MVBENCH,
    NEXTQA,
    NEXTQA_HEADER,
    NEXTQA_MAP,
    NEXTQA_OE,
    PERCEPTION,
    STAR,
    TINYLLAVA,
    TVQA,
    VIDEO_R1,
    write_csv,
    write_json,
    write_jsonl,
    write_videomme_parquet,
)

from curate.errors import UserError
from curate.normalize import normalize
from curate.readers import READERS, detect, fill_records, load_nextqa_map, read
from curate.readers.base import RAW_SCHEMA


def normalized(path: Path, fmt: str = "auto", **options) -> list[dict]:
    _, raw = read(path, fmt, **options)
    assert list(raw.columns) == list(RAW_SCHEMA)
    return normalize(raw).to_dicts()


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in rows}


def open_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["reject"] is None]


# ------------------------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0_30_s_academic_mc_v0_1_qa_processed.json", "llava-video-178k"),
        ("0_30_s_academic_oe_v0_1_qa_processed.json", "llava-video-178k"),
        ("nextqa_val.csv", "nextqa"),
        ("nextqa_oe_val.csv", "nextqa"),
        ("video_r1_sample.json", "video-r1"),
        ("tinyllava_video_r1_train.jsonl", "tinyllava-video-r1"),
        ("action_sequence.json", "mvbench"),
        ("mc_question_valid.json", "perceptiontest"),
        ("STAR_val.json", "star"),
        ("tvqa_val.jsonl", "tvqa"),
    ],
)
def test_detect_own_fixtures(name, expected):
    assert detect(FIXTURES / name) == expected


def test_detect_videomme_parquet(videomme_parquet):
    assert detect(videomme_parquet) == "videomme"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("llava_video_178k_mc_academic.json", "llava-video-178k"),
        ("nextqa_mc_val.csv", "nextqa"),
        ("nextqa_mc_test.csv", "nextqa"),
        ("nextqa_mc_val_full.csv", "nextqa"),
        ("nextqa_mc_val_quality_cases.csv", "nextqa"),
        ("nextqa_oe_train.csv", "nextqa"),
        ("nextqa_oe_val.csv", "nextqa"),
        ("nextqa_oe_test.csv", "nextqa"),
        ("video_r1_cot_165k.json", "video-r1"),
        ("video_r1_derived_dataflow_sample.json", "video-r1"),
        ("videomme.jsonl", "videomme"),
        ("videomme_official_output_test_template.json.txt", "videomme"),
        ("tvqa_test_public.jsonl", "tvqa"),
        ("tvqa_train_readme_sample.json", "tvqa"),
        ("derived_flashvstream_mvbench_test_qa.json", "inline-mc"),
        ("derived_flashvstream_videomme_test_qa.json", "inline-mc"),
        ("derived_flashvstream_egoschema_test_qa.json", "inline-mc"),
    ],
)
def test_detect_shared_samples(shared_fixtures, name, expected):
    assert detect(shared_fixtures / name) == expected


def test_detect_unknown_layout_is_a_user_error(tmp_path):
    path = write_json(tmp_path / "x.json", [{"foo": 1, "bar": 2}])
    with pytest.raises(UserError) as err:
        detect(path)
    assert str(path) in str(err.value) and "--format" in str(err.value)


def test_detect_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        detect(tmp_path / "nope.json")


def test_read_unknown_format_names_file():
    with pytest.raises(UserError) as err:
        read(NEXTQA, "no-such-format")
    assert str(NEXTQA) in str(err.value)


def test_every_format_has_a_reader():
    assert set(READERS) >= {"llava-video-178k", "nextqa", "video-r1", "tinyllava-video-r1", "mvbench",
                            "videomme", "perceptiontest", "star", "tvqa", "inline-mc", "generic"}


# -------------------------------------------------------------------------------------- LLaVA-Video-178K


def test_llava_mc_own_fixture_every_turn_is_a_question():
    rows = normalized(LLAVA_MC)
    assert len(rows) == 3
    assert all(r["reject"] is None for r in rows)
    a, b, c = rows
    assert a["id"] == "llava_video_178k:v_Xq1JmWrz3Qc-split_0:0"
    assert a["question"] == "What color is the car parked by the road?"  # Options: header and instruction gone
    assert a["options"] == ["Red", "Blue", "Green", "White"]
    assert a["answer"] == 0  # "A."
    assert b["id"] == "llava_video_178k:v_Xq1JmWrz3Qc-split_0:1"
    assert b["question"] == "How many people cross the street in the video?"
    assert b["options"] == ["One", "Two", "Three", "Four"]
    assert b["answer"] == 1  # "B. Two."
    assert a["video"] == b["video"] == "academic_source/activitynet/v_Xq1JmWrz3Qc-split_0.mp4"
    assert a["subset"] == "0_30_s_academic_v0_1"
    assert (a["duration_lo"], a["duration_hi"]) == (0.0, 30.0)
    assert c["subset"] == "1_2_m_youtube_v0_1"
    assert (c["duration_lo"], c["duration_hi"]) == (60.0, 120.0)  # minutes bucket
    assert c["question"] == "What is the man holding when he enters the kitchen?"
    assert c["options"] == ["A cup", "A phone", "A book", "A bag"]
    assert c["answer"] == 2
    assert all(r["source"] == "llava_video_178k" for r in rows)
    assert b["record"] is None  # rebuilt only for rejects (below)


def test_llava_record_rebuilt_for_a_rejected_question():
    df = fill_records(normalize(read(LLAVA_MC)[1]))
    b = df.row(1, named=True)
    record = json.loads(b["record"])
    assert record["id"] == "v_Xq1JmWrz3Qc-split_0" and record["turn"] == 1
    assert record["video"] == "academic_source/activitynet/v_Xq1JmWrz3Qc-split_0.mp4"
    assert record["data_source"] == "0_30_s_academic_v0_1"
    assert [t["from"] for t in record["conversations"]] == ["human", "gpt"]
    assert record["conversations"][0]["value"].startswith("How many people cross the street")
    assert record["conversations"][1]["value"] == "B. Two."


def test_llava_open_ended_file_is_all_open_ended():
    rows = normalized(LLAVA_OE)
    assert len(rows) == 2
    assert [r["reject"] for r in rows] == ["open_ended", "open_ended"]
    assert rows[0]["question"] == "What is the person doing at the beginning of the video?"


def test_llava_shared_sample(shared_fixtures):
    rows = normalized(shared_fixtures / "llava_video_178k_mc_academic.json")
    assert len(rows) == 2
    a, b = rows
    assert a["question"] == "What is visible on the person's arm in the video?"
    assert a["options"] == ["A tattoo", "A watch", "A bracelet", "A scar"]
    assert a["answer"] == 0
    assert b["question"] == "What is the color of the skillet in the video?"
    assert b["options"] == ["Black", "Silver", "Red", "Blue"]
    assert b["answer"] == 0  # "A. Black."
    for r in rows:
        assert r["reject"] is None
        assert r["video"] == "academic_source/youcook2/101/zukEQgbWdsY/split_2.mp4"
        assert r["subset"] == "0_30_s_academic_v0_1"
        assert (r["duration_lo"], r["duration_hi"]) == (0.0, 30.0)
    assert [r["id"] for r in rows] == ["llava_video_178k:101-zukEQgbWdsY-split_2:0",
                                       "llava_video_178k:101-zukEQgbWdsY-split_2:1"]


def test_llava_parquet_variant(tmp_path):
    import polars as pl

    records = json.loads(LLAVA_MC.read_text())
    path = tmp_path / "0_30_s_academic_mc_v0_1_qa_processed.parquet"
    pl.DataFrame(records).write_parquet(path)
    assert detect(path) == "llava-video-178k"
    rows = normalized(path)
    assert [r["answer"] for r in rows] == [0, 1, 2]
    assert rows[0]["question"] == "What color is the car parked by the road?"


def test_llava_bad_record_is_malformed_and_rest_is_read(tmp_path):
    records = json.loads(LLAVA_MC.read_text())
    records.insert(1, {"id": "bad", "conversations": "not a list", "data_source": "0_30_s_x", "video": "b.mp4"})
    records.append({"id": "odd", "conversations": [{"from": "human", "value": "Q?\nA. x\nB. y"}],
                    "data_source": "0_30_s_x", "video": "c.mp4"})
    path = write_json(tmp_path / "mixed_qa_processed.json", records)
    rows = normalized(path)
    assert len(rows) == 5
    bad = [r for r in rows if r["reject"] == "malformed_record"]
    assert sorted(r["index"] for r in bad) == [1, 3]
    assert all(r["detail"] for r in bad)
    assert json.loads(bad[0]["record"])["conversations"] == "not a list"
    assert len(open_rows(rows)) == 3


# ----------------------------------------------------------------------------------------------- NExT-QA


def test_nextqa_own_fixture():
    rows = normalized(NEXTQA)
    assert len(rows) == 8
    first = rows[0]
    assert first["id"] == "nextqa:nextqa_val:4010069381:6"
    assert first["question"] == "how do the two man play the instrument"
    assert first["options"] == ["roll the handle", "tap their feet", "strum the string", "hit with sticks",
                                "pat with hand"]
    assert first["answer"] == 0
    assert first["video"] == "4010069381.mp4"
    assert first["subset"] == "CH"
    assert json.loads(first["meta"]) == {"frame_count": "369", "width": "640", "height": "480", "qid": "6",
                                         "type": "CH", "split": "nextqa_val"}
    assert [r["answer"] for r in rows] == [0, 2, 1, 0, 0, 3, 4, 2]
    assert [r["subset"] for r in rows] == ["CH", "CW", "TC", "CH", "CH", "CW", "CW", "TN"]
    assert all(r["reject"] is None for r in rows)


def test_nextqa_map_gives_folder_paths_and_rejects_unmapped():
    rows = normalized(NEXTQA, nextqa_map=load_nextqa_map(NEXTQA_MAP))
    assert rows[0]["video"] == "1106/4010069381.mp4"
    assert rows[5]["video"] == "0071/3046900922.mp4"
    assert rows[7]["reject"] == "video_not_in_map"
    assert [r["reject"] for r in rows[:7]] == [None] * 7


def test_nextqa_open_ended_csv():
    rows = normalized(NEXTQA_OE)
    assert len(rows) == 3
    assert {r["reject"] for r in rows} == {"open_ended"}
    assert rows[0]["question"] == "how is the bulldozer controlled"


def test_nextqa_non_integer_answer_is_malformed_record(tmp_path):
    path = write_csv(tmp_path / "val.csv", NEXTQA_HEADER, [
        ["1", "10", "640", "480", "what is it", "x", "1", "CW", "a", "b", "c", "d", "e"],
        ["2", "10", "640", "480", "what is that", "3", "1", "CW", "a", "b", "c", "d", "e"],
    ])
    rows = normalized(path)
    assert rows[0]["reject"] == "malformed_record" and rows[0]["detail"]
    assert rows[1]["reject"] is None and rows[1]["answer"] == 3


def test_nextqa_map_helper_rejects_non_object(tmp_path):
    path = write_json(tmp_path / "map.json", ["a", "b"])
    with pytest.raises(UserError, match="map.json"):
        load_nextqa_map(path)
    with pytest.raises(UserError, match="no such file"):
        load_nextqa_map(tmp_path / "absent.json")


def test_nextqa_shared_val_head(shared_fixtures):
    rows = normalized(shared_fixtures / "nextqa_mc_val.csv")
    assert len(rows) == 5
    r = rows[4]
    assert r["id"] == "nextqa:nextqa_mc_val:8132842161:2"
    assert r["question"] == "why did the man in white hold tightly to the boy in white"
    assert r["options"] == ["forcing boy to look straight", "dancing with boy", "posing for camera",
                            "prevent falling off", "boy keeps moving around"]
    assert r["answer"] == 3
    assert r["video"] == "8132842161.mp4"
    assert r["subset"] == "CW"
    assert [x["answer"] for x in rows] == [0, 2, 2, 2, 3]


def test_nextqa_shared_test_head_with_subset_map(shared_fixtures):
    mapping = load_nextqa_map(shared_fixtures / "nextqa_map_vid_vidorID_subset.json")
    assert len(mapping) == 10
    rows = normalized(shared_fixtures / "nextqa_mc_test.csv", nextqa_map=mapping)
    assert len(rows) == 5
    assert rows[0]["video"] == "1101/2574374895.mp4"
    assert rows[1]["video"] == "0031/2925959064.mp4"
    assert rows[1]["question"] == "where is this place"
    assert rows[1]["options"] == ["mall", "river", "swimming pool", "living room", "mountain"]
    assert rows[1]["answer"] == 1 and rows[1]["subset"] == "DL"
    assert [r["reject"] for r in rows] == [None, None, "video_not_in_map", "video_not_in_map",
                                           "video_not_in_map"]


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_nextqa_shared_open_ended(shared_fixtures, split):
    rows = normalized(shared_fixtures / f"nextqa_oe_{split}.csv")
    assert len(rows) == 5
    assert {r["reject"] for r in rows} == {"open_ended"}


# ----------------------------------------------------------------------------------------------- Video-R1


def test_video_r1_own_fixture():
    rows = by_id(normalized(VIDEO_R1))
    assert len(rows) == 5
    mc = rows["video_r1:101"]
    assert mc["reject"] is None
    assert mc["question"] == "What does the chef add to the pan first?"
    assert mc["options"] == ["Oil", "Butter", "Garlic", "Onions"]
    assert mc["answer"] == 1
    assert mc["video"] == "./LLaVA-Video-178K/academic_source/youcook2/201/Vk3xPjK2mLs/split_3.mp4"
    assert mc["subset"] == "LLaVA-Video-178K/0_30_s_academic_v0_1"
    assert "process" in json.loads(mc["meta"])
    assert rows["video_r1:102"]["reject"] == "free-form"
    assert rows["video_r1:103"]["reject"] == "numerical"
    assert rows["video_r1:104"]["reject"] == "not_video"
    assert rows["video_r1:105"]["reject"] is None and rows["video_r1:105"]["answer"] == 0


def test_video_r1_shared_cot(shared_fixtures):
    rows = normalized(shared_fixtures / "video_r1_cot_165k.json")
    assert len(rows) == 1
    r = rows[0]
    assert r["id"] == "video_r1:2"
    assert r["question"] == "What appears on the screen in Russian during the missile's ascent?"
    assert r["options"] == ["A YouTube subscription notification", "A military command", "A warning message",
                            "A weather update"]
    assert r["answer"] == 0
    assert r["video"] == "./LLaVA-Video-178K/liwei_youtube_videos/videos/youtube_video_2024/ytb_7nRmsEw7nsE.mp4"
    assert r["subset"] == "LLaVA-Video-178K/30_60_s_youtube_v0_1"
    assert r["reject"] is None


def test_video_r1_shared_derived_video_list(shared_fixtures):
    rows = normalized(shared_fixtures / "video_r1_derived_dataflow_sample.json")
    assert len(rows) == 2
    assert rows[0]["video"] == "./dataflow/example/video_cot_qa/ytb_7nRmsEw7nsE.mp4"
    assert rows[0]["answer"] == 0 and rows[0]["reject"] is None
    assert rows[1]["reject"] == "free-form"


def test_video_r1_bad_records_inside_good_file(tmp_path):
    records = json.loads(VIDEO_R1.read_text())
    records[1] = "just a string"
    del records[2]["problem"]
    path = write_json(tmp_path / "vr1.json", records)
    rows = normalized(path)
    assert len(rows) == 5
    assert rows[1]["reject"] == "malformed_record" and "str" in rows[1]["detail"]
    assert rows[2]["reject"] == "malformed_record" and "problem" in rows[2]["detail"]
    assert json.loads(rows[1]["record"]) == "just a string"
    assert rows[0]["reject"] is None


# ------------------------------------------------------------------------------------- TinyLLaVA-Video-R1


def test_tinyllava_own_fixture():
    rows = normalized(TINYLLAVA)
    assert len(rows) == 4
    r = rows[0]
    assert r["id"] == "tinyllava_video_r1:0"
    assert r["question"] == "What is the action performed by the person in the video?"
    assert r["options"] == ["drop", "sit down", "pick up", "squat down"]
    assert r["answer"] == 2
    assert r["video"] == "NextQA/0000/2440175990.mp4"
    assert rows[1]["answer"] == 1
    assert rows[2]["answer"] == 4  # <answer>E</answer> with 4 options: out of range, rejected downstream
    assert rows[3]["reject"] == "unparseable_options"  # A, C, D: a gap


def test_tinyllava_shared_prompt_parses(shared_fixtures, tmp_path):
    prompt = (shared_fixtures / "tinyllava_video_r1_eval_example_prompt.txt").read_text().rstrip("\n")
    path = write_jsonl(tmp_path / "train.jsonl",
                       [{"problem": prompt, "solution": "<answer>C</answer>", "video_filename": "x.mp4"}])
    (r,) = normalized(path)
    assert r["question"] == "What is the action performed by the person in the video?"
    assert r["options"] == ["drop", "sit down", "pick up", "squat down"]
    assert r["answer"] == 2


# ------------------------------------------------------------------------------------------------ MVBench


def test_mvbench_own_fixture():
    rows = normalized(MVBENCH)
    assert len(rows) == 4
    a = rows[0]
    assert a["id"] == "mvbench:action_sequence:0"
    assert a["subset"] == "action_sequence"
    assert a["video"] == "ZS9XR.mp4"
    assert a["question"] == "What happened after the person took the food?"
    assert a["options"] == ["Ate the medicine.", "Tidied up the blanket.", "Put down the cup/glass/bottle.",
                            "Took the box."]
    assert a["answer"] == 0
    assert (a["start"], a["end"]) == (11.1, 19.6)
    assert rows[1]["answer"] == 2 and rows[1]["start"] is None and rows[1]["end"] is None
    assert rows[2]["answer"] is None  # the answer text is no candidate
    assert rows[3]["options"] == ["The pillow."]


def test_mvbench_shared_rendered_prompt_matches_inline_parse(shared_fixtures, tmp_path):
    """The official notebook's rendering of action_sequence[0], read back as inline options."""
    text = (shared_fixtures / "mvbench_official_notebook_rendered_prompt.txt").read_text()
    block = text[text.index("Question:"): text.index("###Assistant")].strip()
    path = write_json(tmp_path / "inline.json", [{"id": 0, "video_id": "ZS9XR", "question": block, "answer": 0}])
    (r,) = normalized(path, "inline-mc")
    assert r["question"] == "What happened after the person took the food?"
    assert r["options"] == ["Ate the medicine.", "Tidied up the blanket.", "Put down the cup/glass/bottle.",
                            "Took the box."]


# ---------------------------------------------------------------------------------------------- Video-MME


def test_videomme_parquet(videomme_parquet):
    rows = normalized(videomme_parquet)
    assert len(rows) == 3
    a, b, c = rows
    assert a["id"] == "videomme:001-1"
    assert a["question"] == ("When demonstrating the Germany modern Christmas tree is initially decorated with "
                             "apples, candles and berries, which kind of the decoration has the largest number?")
    assert a["options"] == ["Apples.", "Candles.", "Berries.", "The three kinds are of the same number."]
    assert a["answer"] == 2
    assert a["video"] == "fFjv93ACGo8.mp4"
    assert a["subset"] == "short"
    assert (a["duration_lo"], a["duration_hi"]) == (0.0, 120.0)
    assert b["answer"] == 0
    assert c["subset"] == "medium" and (c["duration_lo"], c["duration_hi"]) == (240.0, 900.0)
    assert c["answer"] == 1 and c["video"] == "Zq3bTmE8r1c.mp4"
    meta = json.loads(a["meta"])
    assert meta["task_type"] == "Counting Problem" and meta["domain"] == "Knowledge"


def test_videomme_shared_jsonl_rows(shared_fixtures):
    rows = normalized(shared_fixtures / "videomme.jsonl")
    assert len(rows) == 2
    assert rows[0]["id"] == "videomme:001-1"
    assert rows[0]["options"] == ["Apples.", "Candles.", "Berries.", "The three kinds are of the same number."]
    assert rows[0]["answer"] == 2
    assert rows[1]["question"] == "What is the genre of this video?"
    assert rows[1]["answer"] == 0
    assert {r["video"] for r in rows} == {"fFjv93ACGo8.mp4"}
    assert {r["subset"] for r in rows} == {"short"}


def test_videomme_parquet_equals_jsonl_dump(shared_fixtures, tmp_path):
    """The same rows as Parquet (the Hub layout) and as their JSON-lines dump read identically."""
    dumped = [json.loads(line) for line in (shared_fixtures / "videomme.jsonl").read_text().splitlines()]
    path = write_videomme_parquet(tmp_path / "test-00000-of-00001.parquet", dumped)
    keys = ("id", "question", "options", "answer", "video", "subset")
    from_parquet = [{k: r[k] for k in keys} for r in normalized(path)]
    from_jsonl = [{k: r[k] for k in keys} for r in normalized(shared_fixtures / "videomme.jsonl")]
    assert from_parquet == from_jsonl


def test_videomme_official_grouped_layout(tmp_path):
    grouped = [{"video_id": "001", "duration": "long", "domain": "Knowledge", "sub_category": "History",
                "videoID": "abcd", "questions": [
                    {"question_id": "001-1", "task_type": "Counting Problem", "question": "How many?",
                     "options": ["A. 1.", "B. 2."], "answer": "B"},
                    {"question_id": "001-2", "task_type": "OCR", "question": "What is written?",
                     "options": ["A. yes.", "B. no."], "answer": "A"}]}]
    path = write_json(tmp_path / "grouped.json", grouped)
    rows = normalized(path, "videomme")
    assert [r["id"] for r in rows] == ["videomme:001-1", "videomme:001-2"]
    assert [r["answer"] for r in rows] == [1, 0]
    assert rows[0]["options"] == ["1.", "2."]
    assert rows[0]["video"] == "abcd.mp4" and rows[0]["subset"] == "long"
    assert (rows[0]["duration_lo"], rows[0]["duration_hi"]) == (1800.0, 3600.0)


# ---------------------------------------------------------------------------------------- Perception Test


def test_perceptiontest_own_fixture():
    rows = normalized(PERCEPTION)
    assert len(rows) == 3
    a, b, c = rows
    assert a["id"] == "perceptiontest:video_10909:0"
    assert a["question"] == "Is the camera moving or static?"
    assert a["options"] == ["I don't know", "moving", "static or shaking"]
    assert a["answer"] == 2
    assert a["video"] == "video_10909.mp4"
    assert a["subset"] == "physics"
    assert a["duration"] == 30.0  # 900 frames at 30 fps
    assert b["subset"] == "memory" and b["answer"] == 1
    assert c["id"] == "perceptiontest:video_2273:0"
    assert c["reject"] == "no_answer"
    assert c["duration"] == 20.0
    meta = json.loads(a["meta"])
    assert meta["reasoning"] == "descriptive" and meta["tag"] == ["motion"]


def test_perceptiontest_top_level_must_be_object(tmp_path):
    path = write_json(tmp_path / "mc_question_valid.json", [{"mc_question": []}])
    with pytest.raises(UserError, match="mc_question_valid.json"):
        read(path, "perceptiontest")


# --------------------------------------------------------------------------------------------------- STAR


def test_star_own_fixture():
    rows = normalized(STAR)
    assert len(rows) == 2
    a, b = rows
    assert a["id"] == "star:Interaction_T1_13"
    assert a["subset"] == "Interaction"
    assert a["video"] == "6H78U.mp4"
    assert a["question"] == "Which object was tidied up by the person?"
    assert a["options"] == ["The closet/cabinet.", "The blanket.", "The clothes.", "The table."]
    assert a["answer"] == 0
    assert (a["start"], a["end"]) == (11.1, 19.6)
    assert "situations" not in json.loads(a["meta"])
    assert "situations" in json.loads(a["record"])
    # choices are put in choice_id order, the answer follows its text
    assert b["options"] == ["The paper/notebook.", "The box.", "The cup/glass/bottle.", "The sandwich."]
    assert b["answer"] == 2
    assert b["subset"] == "Sequence"
    assert (b["start"], b["end"]) == (5.0, 14.8)


def test_star_without_answer_is_no_answer(tmp_path):
    records = json.loads(STAR.read_text())
    del records[0]["answer"]
    rows = normalized(write_json(tmp_path / "STAR_test.json", records))
    assert rows[0]["reject"] == "no_answer"
    assert rows[1]["reject"] is None


# --------------------------------------------------------------------------------------------------- TVQA


def test_tvqa_own_fixture():
    rows = normalized(TVQA)
    assert len(rows) == 2
    a, b = rows
    assert a["id"] == "tvqa:7"
    assert a["question"] == "What is Robin holding in her hand when she is talking to Ted about Zoey?"
    assert a["options"] == ["A martini glass", "Nachos", "Her purse", "Marshall's book", "A beer bottle"]
    assert a["answer"] == 4
    assert a["video"] == "met_s06e22_seg01_clip_02"
    assert a["subset"] == "How I Met You Mother"
    assert (a["start"], a["end"]) == (1.21, 8.49)
    assert (b["start"], b["end"]) == (None, None)  # "NaN-NaN"
    assert b["answer"] == 2


def test_tvqa_shared_train_sample(shared_fixtures):
    (r,) = normalized(shared_fixtures / "tvqa_train_readme_sample.json")
    assert r["id"] == "tvqa:7"
    assert r["options"] == ["A martini glass", "Nachos", "Her purse", "Marshall's book", "A beer bottle"]
    assert r["answer"] == 4
    assert (r["start"], r["end"]) == (1.21, 8.49)
    assert r["subset"] is None
    assert r["reject"] is None


def test_tvqa_shared_test_public_has_no_answers(shared_fixtures):
    rows = normalized(shared_fixtures / "tvqa_test_public.jsonl")
    assert len(rows) == 3
    assert {r["reject"] for r in rows} == {"no_answer"}
    assert rows[0]["options"][0] == "The yogurt manufacturer."  # trailing space stripped
    assert (rows[0]["start"], rows[0]["end"]) == (48.62, 60.02)
    assert rows[1]["subset"] == "Castle"


# ----------------------------------------------------------------------------------------------- inline-mc


def test_inline_mc_shared_egoschema_drops_instructions(shared_fixtures):
    rows = normalized(shared_fixtures / "derived_flashvstream_egoschema_test_qa.json")
    assert len(rows) == 3
    r = rows[0]
    assert r["id"] == "inline_mc:6"
    assert r["question"] == ("Taking into account all the actions performed by c, what can you deduce about the "
                             "primary objective and focus within the video content?")
    assert r["options"] == ["C is cooking.", "C is doing laundry.", "C is cleaning the kitchen.",
                            "C is cleaning dishes.", "C is cleaning the bathroom."]
    assert r["answer"] == 3
    assert r["duration"] == 180.0
    assert r["video"] == "0074f737-11cb-497d-8d07-77c3a8127391"


def test_inline_mc_shared_videomme_duration_words_are_buckets(shared_fixtures):
    rows = normalized(shared_fixtures / "derived_flashvstream_videomme_test_qa.json")
    assert [r["answer"] for r in rows] == [2, 0, 3]
    assert rows[2]["options"] == ["1.", "4.", "2.", "3."]
    assert rows[0]["duration"] is None
    assert (rows[0]["duration_lo"], rows[0]["duration_hi"]) == (0.0, 120.0)
    assert rows[0]["subset"] == "Counting Problem"


def test_inline_mc_shared_mvbench(shared_fixtures):
    rows = normalized(shared_fixtures / "derived_flashvstream_mvbench_test_qa.json")
    assert len(rows) == 3
    assert rows[0]["question"] == "During which part of the video does the action 'person sitting on a couch' occur?"
    assert rows[0]["options"] == ["In the middle of the video.", "At the end of the video.",
                                  "Throughout the entire video.", "At the beginning of the video."]
    assert [r["answer"] for r in rows] == [2, 0, 1]
    assert rows[0]["subset"] == "action_localization"


def test_inline_mc_non_integer_answer_is_malformed(tmp_path):
    path = write_json(tmp_path / "qa.json", [
        {"id": 1, "video_id": "v", "question": "Q?\n(A) x\n(B) y", "answer": "B"},
        {"id": 2, "video_id": "v", "question": "Q2?\n(A) x\n(B) y", "answer": 1},
    ])
    rows = normalized(path, "inline-mc")
    assert rows[0]["reject"] == "malformed_record"
    assert rows[1]["reject"] is None and rows[1]["answer"] == 1


# ------------------------------------------------------------------------------------------------ generic


GENERIC_MAP = {"id": ["item"], "video": ["clip"], "question": ["prompt"], "options": ["c1", "c2", "c3", "c4"],
               "answer": ["gold"], "duration": ["seconds"], "subset": ["category"]}


def test_generic_csv_answer_as_letter_text_and_index():
    rows = normalized(GENERIC, "generic", mapping=GENERIC_MAP, source="mycorpus")
    assert [r["id"] for r in rows] == ["mycorpus:g1", "mycorpus:g2", "mycorpus:g3"]
    assert [r["answer"] for r in rows] == [1, 2, 0]  # "B", "the child", "0"
    assert rows[0]["options"] == ["a cup", "a plate", "a knife", "a fork"]
    assert rows[0]["question"] == "What is on the table?"
    assert rows[0]["video"] == "clips/a.mp4"
    assert rows[0]["subset"] == "objects"
    assert [r["duration"] for r in rows] == [12.5, 48.0, None]
    assert all(r["source"] == "mycorpus" for r in rows)


def test_generic_jsonl_with_list_options_and_inline_options(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [
        {"q": "Which?", "opts": ["x", "y", "z"], "a": 2, "v": "1.mp4"},
        {"q": "Inline?\nA. p\nB. q", "opts": None, "a": "B", "v": "2.mp4"},
    ])
    rows = normalized(path, "generic", mapping={"question": ["q"], "answer": ["a"], "video": ["v"]})
    assert rows[1]["options"] == ["p", "q"] and rows[1]["answer"] == 1
    rows = normalized(path, "generic", mapping={"question": ["q"], "answer": ["a"], "options": ["opts"],
                                                "video": ["v"]})
    assert rows[0]["options"] == ["x", "y", "z"] and rows[0]["answer"] == 2
    assert rows[1]["reject"] == "malformed_record"  # options column is not a list


def test_generic_missing_column_is_a_user_error():
    with pytest.raises(UserError) as err:
        read(GENERIC, "generic", mapping={"question": ["prompt"], "answer": ["nope"]})
    assert str(GENERIC) in str(err.value) and "'nope'" in str(err.value)


def test_generic_without_mapping_is_a_user_error():
    with pytest.raises(UserError, match="--map"):
        read(GENERIC, "generic")


def test_generic_parse_mapping_errors():
    from curate.readers.generic import parse_mapping

    assert parse_mapping(["question=q", "answer=a", "options=a0,a1"])["options"] == ["a0", "a1"]
    with pytest.raises(UserError):
        parse_mapping(["question"])
    with pytest.raises(UserError, match="unknown field"):
        parse_mapping(["quest=q", "answer=a"])
    with pytest.raises(UserError):
        parse_mapping(["question=q"])


def test_generic_empty_middle_option_keeps_answer_on_its_text(tmp_path):
    """a1 is empty: dropping it must not move the gold answer onto another option."""
    path = write_csv(tmp_path / "qa.csv", ["q", "vid", "a0", "a1", "a2", "a3", "ans"],
                     [["what is it", "v1.mp4", "x", "", "y", "z", "2"]])
    (r,) = normalized(path, "generic", mapping={"question": ["q"], "video": ["vid"],
                                                "options": ["a0", "a1", "a2", "a3"], "answer": ["ans"]})
    if r["reject"] is None and r["answer"] is not None and 0 <= r["answer"] < len(r["options"]):
        assert r["options"][r["answer"]] == "y", (r["options"], r["answer"])


def test_detect_csv_with_utf8_bom(tmp_path):
    """A NExT-QA CSV re-saved with a UTF-8 byte-order mark (as spreadsheet tools do) is still NExT-QA."""
    path = tmp_path / "val.csv"
    path.write_bytes(b"\xef\xbb\xbf" + NEXTQA.read_bytes())
    assert detect(path) == "nextqa"
    assert len(normalized(path)) == 8


def test_the_cli_format_list_names_every_reader():
    from curate.formats import READER_FORMATS

    assert tuple(READERS) == READER_FORMATS
