"""curate decontaminate / dedup: ids across layouts, content matching of transformed copies, false matches over
many unrelated pairs, question paraphrases, the stage's outputs (kept + rejected = read) and exit code 2."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from helpers import LLAVA_MC, MVBENCH, NEXTQA, PERCEPTION, STAR, TINYLLAVA, VIDEO_R1, run_cli, shared_dir

from curate.decontaminate.fingerprint import fingerprint_frames, fingerprint_video
from curate.decontaminate.ids import video_identity
from curate.decontaminate.match import MatchParams, candidate_pairs, frames_table, match, popcount
from curate.decontaminate.questions import question_matches
from tests.decontam_media import TRANSFORMS, mcq_folder, scene_clip, scene_frames, transformed

# ------------------------------------------------------------------------------------------------ ids


@pytest.mark.parametrize(
    ("source", "subset", "video", "expected"),
    [
        ("llava_video_178k", None, "academic_source/activitynet/v_Xq1JmWrz3Qc-split_0.mp4", "youtube:Xq1JmWrz3Qc"),
        ("llava_video_178k", None, "academic_source/youcook2/101/zukEQgbWdsY/split_2.mp4", "youtube:zukEQgbWdsY"),
        (
            "llava_video_178k",
            None,
            "liwei_youtube_videos/videos/youtube_video_2024/ytb_4FqVtCx9cEw.mp4",
            "youtube:4FqVtCx9cEw",
        ),
        ("videomme", "short", "fFjv93ACGo8.mp4", "youtube:fFjv93ACGo8"),
        ("generic", None, "kinetics400/abseiling/0wR5jVB-WPk_000417_000427.mp4", "youtube:0wR5jVB-WPk"),
        ("nextqa", "CH", "1106/4010069381.mp4", "vidor:4010069381"),
        ("tinyllava_video_r1", None, "NextQA/1106/4010069381.mp4", "vidor:4010069381"),
        ("star", "Interaction", "6H78U.mp4", "charades:6H78U"),
        ("video_r1", "STAR", "./STAR/Charades_v1_480/6H78U.mp4", "charades:6H78U"),
        ("mvbench", "action_sequence", "6H78U.mp4", "charades:6H78U"),
        ("inline_mc", "action_localization", "sta/sta_video_segment/RPY8D_0.0_15.2", "charades:RPY8D"),
        ("perceptiontest", "physics", "video_10909.mp4", "perception:video_10909"),
        ("mvbench", "object_shuffle", "video_10909.mp4", "perception:video_10909"),
        ("mvbench", "moving_count", "video_10909.mp4", "clevrer:video_10909"),  # same name, another dataset
        ("tvqa", None, "met_s06e22_seg01_clip_02", "tvqa:met_s06e22_seg01_clip_02"),
        ("inline_mc", None, "0074f737-11cb-497d-8d07-77c3a8127391", "uuid:0074f737-11cb-497d-8d07-77c3a8127391"),
        ("generic", None, "clips/video_100.mp4", None),  # no convention says which dataset: no identity
    ],
)
def test_identity_per_source(source, subset, video, expected):
    assert video_identity(source, subset, video) == expected


def _read(path, **options):
    from curate.normalize import normalize
    from curate.readers import read

    return normalize(read(path, **options)[1])


def _idents(df: pl.DataFrame) -> set[str]:
    return {video_identity(s, b, v) for s, b, v in df.select("source", "subset", "video").iter_rows()} - {None}


def test_ids_across_fixture_layouts():
    """STAR's and MVBench's Charades ids, Video-R1's STAR path and TinyLLaVA's NExT-QA path meet their
    benchmark's own layout."""
    from helpers import NEXTQA_MAP

    from curate.readers import load_nextqa_map

    star, video_r1 = _idents(_read(STAR)), _idents(_read(VIDEO_R1))
    assert "charades:6H78U" in star & video_r1
    nextqa = _idents(_read(NEXTQA, nextqa_map=load_nextqa_map(NEXTQA_MAP)))
    tiny = _idents(_read(TINYLLAVA))
    assert all(i.startswith("vidor:") for i in nextqa) and all(i.startswith("vidor:") for i in tiny)
    assert all(i.startswith("charades:") for i in _idents(_read(MVBENCH)))
    assert all(i.startswith("perception:") for i in _idents(_read(PERCEPTION)))
    assert all(i.startswith("youtube:") for i in _idents(_read(LLAVA_MC)))


def test_ids_on_real_samples():
    shared = shared_dir()
    val, test = _idents(_read(shared / "nextqa_mc_val.csv")), _idents(_read(shared / "nextqa_mc_test.csv"))
    assert val and all(i.startswith("vidor:") for i in val | test)
    assert _idents(_read(shared / "videomme.jsonl")) == {"youtube:fFjv93ACGo8"}
    assert _idents(_read(shared / "llava_video_178k_mc_academic.json")) == {"youtube:zukEQgbWdsY"}
    mvbench = _idents(_read(shared / "derived_flashvstream_mvbench_test_qa.json"))
    assert mvbench and all(i.startswith("charades:") for i in mvbench)


# -------------------------------------------------------------------------------------------- content


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict:
    """Three source clips and each one's transformed copies, fingerprinted (sources at 4 fps like a
    benchmark, copies with 8 uniform frames like stored training frames)."""
    root = tmp_path_factory.mktemp("copies")
    sources, found = [], {}
    for seed in range(3):
        src = scene_clip(root / f"src{seed}.mp4", seed)
        sources.append(fingerprint_video(str(src), 4, 64))
        for name in TRANSFORMS:
            copy = transformed(src, name, root / f"src{seed}_{name}.mp4")
            found[(seed, name)] = fingerprint_video(str(copy), 0, 8)
    return {"sources": sources, "copies": found}


def _matched(copies: dict, mirror: bool = True) -> dict:
    keys = list(copies["copies"])
    reference = frames_table(range(len(copies["sources"])), copies["sources"], mirrored=mirror)
    query = frames_table(range(len(keys)), [copies["copies"][k] for k in keys])
    result = match(query, reference, MatchParams())
    return {keys[q]: (r, m) for q, r, m in result.select("qid", "rid", "mirrored").iter_rows()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transformed_copy_matches_its_source(copies, name):
    found = _matched(copies)
    for seed in range(3):
        assert found.get((seed, name), (None,))[0] == seed, (seed, name)
    mirrored = {found[(seed, name)][1] for seed in range(3)}
    assert mirrored == {name == "mirror"}


@pytest.mark.slow
def test_mirror_is_caught_only_with_mirrored_hashes(copies):
    found = _matched(copies, mirror=False)
    assert not any((seed, "mirror") in found for seed in range(3))


def test_false_match_rate_over_unrelated_pairs():
    """40 unrelated clips from the same generator, every pair in both roles: none may match."""
    n = 40
    fps = [fingerprint_frames(scene_frames(100 + i, seconds=3.0), np.arange(24) / 8) for i in range(n)]
    table = frames_table(range(n), fps)
    found = match(table, frames_table(range(n), fps, mirrored=True), MatchParams())
    cross = found.filter(pl.col("qid") != pl.col("rid"))
    assert found.filter(pl.col("qid") == pl.col("rid")).height == n  # each clip matches itself
    assert cross.height == 0, cross  # 0 of n·(n−1) = 1,560 ordered pairs


@pytest.mark.parametrize("bands", [2, 3, 4, 8])
def test_candidate_pairs_are_the_brute_force_pairs(bands):
    """The bucketed search finds exactly the pairs that an all-pairs check finds: sharing a band, within the
    threshold, each pair once (near copies planted so that there are some)."""
    rng = np.random.default_rng(bands)
    r = rng.integers(0, 2**63, 600, dtype=np.int64).astype(np.uint64) * 2 + 1
    q = rng.integers(0, 2**63, 400, dtype=np.int64).astype(np.uint64) * 2 + 1
    for i in range(150):  # query i: reference 2i with up to 10 bits flipped
        bits = rng.integers(0, 64, rng.integers(0, 11)).astype(np.uint64)
        q[i] = r[2 * i] ^ np.bitwise_or.reduce(np.uint64(1) << bits, initial=np.uint64(0))
    params = MatchParams(bands=bands, pair_budget=1000)  # many small steps
    qf, rf, d = candidate_pairs(q, r, params)
    width = 64 // bands
    x = q[:, None] ^ r[None, :]
    mask = np.uint64((1 << width) - 1)
    share = np.zeros(x.shape, bool)
    for b in range(bands):
        share |= ((x >> np.uint64(b * width)) & mask) == 0
    expected = share & (popcount(x) <= params.threshold)
    assert len(qf) == len(set(zip(qf.tolist(), rf.tolist(), strict=True)))  # each pair once
    assert set(zip(qf.tolist(), rf.tolist(), strict=True)) == set(zip(*np.nonzero(expected), strict=True))
    assert (d == popcount(q[qf] ^ r[rf])).all()
    assert len(qf) >= 30


def test_degenerate_bucket_is_skipped():
    """A hash shared by more reference frames than ``max_bucket`` (a title card in every video) forms no pairs;
    the same hash in a small bucket does."""
    r = np.full(50, 0x0123456789ABCDEF, np.uint64)
    q = r[:1].copy()
    assert len(candidate_pairs(q, r, MatchParams(max_bucket=49))[0]) == 0
    assert len(candidate_pairs(q, r, MatchParams(max_bucket=50))[0]) == 50


def test_stored_jpeg_frames_hash_like_the_decoded_video(monkeypatch):
    """Stored JPEG frames (decoded at reduced scale, with simplejpeg or without it through Pillow's draft)
    hash within two bits of the same frames' pixels."""
    import io

    from PIL import Image

    from curate.decontaminate.fingerprint import fingerprint_stored

    frames = scene_frames(3, seconds=2.0, width=384, height=384)[::2]
    encoded = []
    for f in frames:
        buffer = io.BytesIO()
        Image.fromarray(f).save(buffer, format="JPEG", quality=90)
        encoded.append({"bytes": buffer.getvalue(), "path": None})
    row = {"frames": encoded, "timestamps": list(range(len(frames))), "encoding": "jpeg", "height": 384, "width": 384}
    pixels = fingerprint_frames(frames, row["timestamps"]).hashes
    fast = fingerprint_stored(row).hashes
    monkeypatch.setitem(__import__("sys").modules, "simplejpeg", None)  # import fails: the Pillow path
    pillow = fingerprint_stored(row).hashes
    assert popcount(fast ^ pixels).max() <= 2 and popcount(pillow ^ pixels).max() <= 2  # other frames: ~24


def test_blank_frames_never_match():
    black = np.zeros((8, 48, 64, 3), np.uint8)
    fp = fingerprint_frames(black, np.arange(8) / 4)
    assert fp.blank.all()
    assert match(frames_table([0], [fp]), frames_table([1], [fp]), MatchParams()).is_empty()


# ------------------------------------------------------------------------------------------- questions


def _items(rows):
    return pl.DataFrame(
        rows, schema={"question": pl.String, "options": pl.List(pl.String)}, orient="row"
    ).with_row_index("id")


def test_question_paraphrases():
    bench = _items(
        [
            ("What did the man in the red shirt do after he picked up the cup?", ["drank", "threw it", "sat", "ran"]),
            ("How many people are there in the video?", ["one", "two", "three", "four"]),
        ]
    )
    train = _items(
        [
            ("what did the man in the red shirt do after he picked up the cup", ["ran", "sat", "threw it", "drank"]),
            ("What did the man in the red shirt do after he picked up the mug?", ["drank", "threw it", "sat", "ran"]),
            ("What did the man in the red shirt do after picking up the cup?", ["drank.", "threw it", "sat", "ran"]),
            ("How many dogs are there in the video?", ["two", "five", "six", "seven"]),
            ("Why is the baby crying at the start?", ["hungry", "fell", "tired", "scared"]),
        ]
    )
    found = {q: (h, s) for q, _, h, s in question_matches(train, bench).iter_rows()}
    assert found[0] == ("exact", 1.0)  # case, punctuation and option order
    assert found[1][0] == "near" and found[2][0] == "near"
    assert 3 not in found and 4 not in found  # a generic question with other options; an unrelated one


# ----------------------------------------------------------------------------------------------- stage


def test_stage_outputs_and_report_only(tmp_path):
    videos = tmp_path / "bench_videos"
    videos.mkdir()
    scene_clip(videos / "ZS9XR.mp4", 7)
    train_videos = tmp_path / "train_videos"
    train_videos.mkdir()
    transformed(videos / "ZS9XR.mp4", "letterbox", train_videos / "copy.mp4")
    scene_clip(train_videos / "other.mp4", 8)
    train = mcq_folder(
        tmp_path / "train",
        [
            {"id": "t0", "source": "star", "video": "6H78U.mp4", "question": "q zero", "options": ["a", "b"]},
            {"id": "t1", "source": "x", "video": "copy.mp4", "question": "q one", "options": ["a", "b"]},
            {
                "id": "t2",
                "source": "x",
                "video": "other.mp4",
                "question": "What is the man doing at the end?",
                "options": ["Dancing", "Sleeping", "Eating"],
            },
            {"id": "t3", "source": "x", "video": "other.mp4", "question": "q three", "options": ["a", "b"]},
        ],
    )
    bench = tmp_path / "bench.json"
    bench.write_text(
        json.dumps(
            [
                {"video": "6H78U.mp4", "question": "b0", "candidates": ["c", "d"], "answer": "c"},
                {"video": "ZS9XR.mp4", "question": "b1", "candidates": ["c", "d"], "answer": "c"},
                {
                    "video": "Q7RT1.mp4",
                    "question": "what is the man doing at the end",
                    "candidates": ["eating", "dancing", "sleeping"],
                    "answer": "eating",
                },
            ]
        )
    )
    # the MVBench reader names the task after the file: rename to a Charades task
    task = tmp_path / "action_sequence.json"
    bench.rename(task)
    out = tmp_path / "out"
    result = run_cli(
        "decontaminate",
        train,
        "--against",
        task,
        "--against-video-root",
        videos,
        "--train-video-root",
        train_videos,
        "-o",
        out,
        "--workers",
        "1",
        "--bench-fps",
        "4",
    )
    assert result.exit_code == 0, result.output
    kept = pl.read_parquet(out / "mcq.parquet")
    rejects = pl.read_parquet(out / "rejects.parquet")
    assert kept.height + rejects.height == 4
    assert kept.get_column("id").to_list() == ["t3"]
    reasons = {r["id"]: (r["reason"], json.loads(r["detail"])) for r in rejects.to_dicts()}
    assert reasons["t0"][0] == "contaminated_video" and reasons["t0"][1]["how"] == "id"
    assert reasons["t1"][0] == "contaminated_video" and reasons["t1"][1]["how"] == "content"
    assert reasons["t1"][1]["item"] == "mvbench:action_sequence:1"
    assert reasons["t2"][0] == "contaminated_question" and reasons["t2"][1]["how"] == "exact"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["by_benchmark"]["mvbench"] == {"content": 1, "exact": 1, "id": 1}
    pairs = pl.read_parquet(out / "pairs.parquet").to_dicts()  # the report's side-by-side frames
    assert [(p["train_row"], p["how"]) for p in pairs] == [(1, "content")]
    assert_same_picture(pairs[0]["train_image"], pairs[0]["bench_image"])

    report = tmp_path / "report"
    result = run_cli("decontaminate", train, "--against", task, "-o", report, "--report-only", "--no-content")
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(report / "mcq.parquet").height == 4
    assert pl.read_parquet(report / "rejects.parquet").height == 0
    assert pl.read_parquet(report / "matches.parquet").height == 2  # t0 by id, t2 by question


def assert_same_picture(a: bytes, b: bytes) -> None:
    """Two JPEG thumbnails show the same frame: their hashes lie within the matching threshold."""
    import io

    from PIL import Image

    frames = [np.asarray(Image.open(io.BytesIO(x)).convert("RGB")) for x in (a, b)]
    hashes = [fingerprint_frames([f], [0.0]).hashes[0] for f in frames]
    assert int(popcount(hashes[0] ^ hashes[1])) <= MatchParams().threshold


def test_bad_input_exit_2(tmp_path):
    result = run_cli("decontaminate", tmp_path / "nope", "--against", tmp_path / "also-nope", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "nope" in result.stderr
    train = mcq_folder(
        tmp_path / "t", [{"id": "a", "source": "x", "video": "v.mp4", "question": "q", "options": ["a", "b"]}]
    )
    result = run_cli("decontaminate", train, "--against", tmp_path / "missing.json", "-o", tmp_path / "o")
    assert result.exit_code == 2 and "missing.json" in result.stderr
    result = run_cli("decontaminate", train, "--against", STAR, "-o", tmp_path / "o", "--threshold", "65")
    assert result.exit_code == 2 and "threshold" in result.stderr


def test_dedup_keeps_a_shared_videos_questions_once(tmp_path):
    a = mcq_folder(
        tmp_path / "a",
        [
            {"id": "a0", "source": "star", "video": "6H78U.mp4", "question": "q", "options": ["a", "b"]},
            {"id": "a1", "source": "star", "video": "AAAAA.mp4", "question": "q", "options": ["a", "b"]},
        ],
    )
    b = mcq_folder(
        tmp_path / "b",
        [
            {
                "id": "b0",
                "source": "video_r1",
                "video": "./STAR/Charades_v1_480/6H78U.mp4",
                "question": "r",
                "options": ["a", "b"],
            },
            {
                "id": "b1",
                "source": "video_r1",
                "video": "./STAR/Charades_v1_480/BBBBB.mp4",
                "question": "r",
                "options": ["a", "b"],
            },
        ],
    )
    out = tmp_path / "out"
    result = run_cli("dedup", a, b, "-o", out)
    assert result.exit_code == 0, result.output
    kept = sorted(pl.read_parquet(out / "mcq.parquet").get_column("id").to_list())
    rejects = pl.read_parquet(out / "rejects.parquet")
    assert kept == ["a0", "a1", "b1"]
    assert rejects.get_column("id").to_list() == ["b0"] and rejects.get_column("reason").to_list() == [
        "duplicate_video"
    ]
