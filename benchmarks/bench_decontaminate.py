"""Decontamination costs and quality, measured side by side in one run.

1. Fingerprint cost per video when frames are stored, relative to extract-frames' own cost on the same clips
   (goal: ≤ 10 % extra): ``curate extract-frames`` on N synthetic clips, then fingerprinting its shards; CPU
   seconds (this process and extract-frames' worker processes) as well as wall seconds, since the shared
   machine's load moves wall time.
2. Matching at scale: 100,000 query fingerprints (16 frames) against 20,000 reference videos (32 frames,
   mirrored hashes too), random 64-bit hashes, with 2,000 planted copies (a few bits flipped per frame);
   goal: under a minute. Prints the planted copies found.
3. Recall and false matches on the transformed-copy set (tests/decontam_media.py) and on all pairs of
   unrelated clips.
4. Questions: datasketch MinHash LSH on NExT-QA val × test (when ../shared is present); with
   ``--compare-polars`` also a polars-native exact-shingle join (minutes).

Run: ``.venv/bin/python -m benchmarks.bench_decontaminate``; the ratios are printed last.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from curate.decontaminate.fingerprint import fingerprint_frames, fingerprint_video
from curate.decontaminate.match import MatchParams, frames_table, match
from curate.decontaminate.sources import stored_fingerprints
from tests.decontam_media import TRANSFORMS, mcq_folder, scene_clip, scene_frames, transformed


def _cpu() -> float:
    """CPU seconds of this process and its finished children (extract-frames' workers): load-independent."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def fingerprint_overhead(root: Path, clips: int = 24) -> dict:
    """Wall and CPU seconds of ``curate extract-frames`` (one worker) and of fingerprinting its stored frames."""
    from tests.cli_runner import curate

    videos = root / "videos"
    videos.mkdir(parents=True)
    rows = []
    for i in range(clips):
        scene_clip(videos / f"c{i}.mp4", 1000 + i, seconds=8.0)
        rows.append({"id": f"c{i}", "source": "x", "video": f"c{i}.mp4", "question": "q", "options": ["a", "b"]})
    mcq_folder(root / "mcq", rows)
    wall, cpu = time.perf_counter(), _cpu()
    curate("extract-frames", root / "mcq", "--video-root", videos, "-o", root / "frames", "--workers", "1", "-q")
    out = {"extract_wall": time.perf_counter() - wall, "extract_cpu": _cpu() - cpu}
    wall, cpu = time.perf_counter(), _cpu()
    found, _ = stored_fingerprints(root / "frames")
    out.update(fingerprint_wall=time.perf_counter() - wall, fingerprint_cpu=_cpu() - cpu)
    assert len(found) == clips
    return out


def scale(queries: int = 100_000, references: int = 20_000, planted: int = 2_000) -> tuple[float, int, int]:
    from curate.decontaminate.fingerprint import Fingerprint

    rng = np.random.default_rng(0)

    def random_fps(count: int, n: int) -> list[Fingerprint]:
        hashes = rng.integers(0, 2**63, (count, n), dtype=np.int64).astype(np.uint64) * 2 + 1
        times, blank = np.arange(n, dtype=np.float32), np.zeros(n, bool)
        return [Fingerprint(times, h, h[::-1].copy(), blank) for h in hashes]

    refs = random_fps(references, 32)
    qs = random_fps(queries, 16)
    for i in range(planted):  # query i is frames 8..23 of reference i with 3 bits flipped per frame
        src = refs[i]
        flips = np.zeros(16, np.uint64)
        for _ in range(3):
            flips |= np.left_shift(np.uint64(1), rng.integers(0, 64, 16).astype(np.uint64))
        qs[i] = Fingerprint(np.arange(16, dtype=np.float32), src.hashes[8:24] ^ flips, src.hashes[8:24], qs[i].blank)
    start = time.perf_counter()
    found = match(frames_table(range(queries), qs), frames_table(range(references), refs, mirrored=True), MatchParams())
    seconds = time.perf_counter() - start
    true = found.filter(pl.col("qid") == pl.col("rid")).height
    return seconds, true, found.height - true


def transformed_recall(root: Path, sources: int = 6) -> tuple[dict, int, int]:
    fps, copies = [], {}
    for seed in range(sources):
        src = scene_clip(root / f"s{seed}.mp4", seed)
        fps.append(fingerprint_video(str(src), 4, 64))
        for name in TRANSFORMS:
            copies[(seed, name)] = fingerprint_video(str(transformed(src, name, root / f"s{seed}_{name}.mp4")), 0, 8)
    keys = list(copies)
    found = match(
        frames_table(range(len(keys)), [copies[k] for k in keys]),
        frames_table(range(sources), fps, mirrored=True),
        MatchParams(),
    )
    hits = {(keys[q], r) for q, r in found.select("qid", "rid").iter_rows()}
    recall = {name: sum(((s, name), s) in hits for s in range(sources)) / sources for name in TRANSFORMS}
    wrong = sum(1 for (k, r) in hits if k[0] != r)
    return recall, wrong, len(keys) * (sources - 1)


def unrelated(n: int = 120) -> tuple[int, int]:
    fps = [fingerprint_frames(scene_frames(5000 + i, seconds=3.0), np.arange(24) / 8) for i in range(n)]
    found = match(frames_table(range(n), fps), frames_table(range(n), fps, mirrored=True), MatchParams())
    return found.filter(pl.col("qid") != pl.col("rid")).height, n * (n - 1)


def questions(compare_polars: bool = False) -> dict | None:
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "videoqa"
    if not (shared / "nextqa_mc_val_full.csv").is_file():
        return None
    from curate.decontaminate.questions import normal_form, question_matches
    from curate.normalize import normalize
    from curate.readers import read

    val = normalize(read(shared / "nextqa_mc_val_full.csv")[1]).filter(pl.col("reject").is_null())
    test = normalize(read(shared / "nextqa_mc_test_full.csv")[1]).filter(pl.col("reject").is_null())
    q = test.select("question", "options").with_row_index("id")
    r = val.select("question", "options").with_row_index("id")
    start = time.perf_counter()
    found = question_matches(q, r, threshold=0.7)  # the stage's default
    datasketch_s = time.perf_counter() - start
    if not compare_polars:
        return {
            "items": (q.height, r.height),
            "flagged": found.group_by("how").len().rows(),
            "datasketch_s": datasketch_s,
        }
    # polars-native: exact shingle join + per-pair Jaccard (no sketch), the same similarity rule (minutes)
    start = time.perf_counter()
    nq, nr = normal_form(q), normal_form(r)

    def shingled(df):
        words = pl.col("_q").str.split(" ")
        return df.select(
            "id",
            s=pl.concat_list(words, pl.col("_o").list.eval(pl.lit("o:") + pl.element())),
        ).explode("s")

    a, b = shingled(nq), shingled(nr)
    pairs = a.join(b, on="s", suffix="_r").group_by("id", "id_r").len()
    polars_pairs = pairs.height
    polars_s = time.perf_counter() - start
    return {
        "items": (q.height, r.height),
        "flagged": found.group_by("how").len().rows(),
        "datasketch_s": datasketch_s,
        "polars_candidate_pairs": polars_pairs,
        "polars_s": polars_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare-polars", action="store_true", help="Also time the polars shingle join (minutes).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cost = fingerprint_overhead(root / "cost")
        (root / "copies").mkdir()
        recall, wrong, wrong_pairs = transformed_recall(root / "copies")
    false_matches, pairs = unrelated()
    seconds, true, spurious = scale()
    text = questions(args.compare_polars)
    print(f"transformed-copy recall per transform: {recall}")
    print(f"transformed copies matched to the wrong source: {wrong} of {wrong_pairs} pairs")
    print(f"unrelated clips: {false_matches} false matches of {pairs} ordered pairs")
    if text:
        print(f"questions NExT-QA test × val {text['items']}: flagged {text['flagged']}")
        print(f"  datasketch MinHash LSH {text['datasketch_s']:.2f} s")
        if "polars_s" in text:
            print(
                f"  polars-native shingle join {text['polars_s']:.2f} s "
                f"({text['polars_candidate_pairs']:,} candidate pairs before any threshold)"
            )
    print(f"scale: 100,000 × 20,000 videos matched in {seconds:.1f} s; planted 2,000 found {true}, spurious {spurious}")
    print(
        f"fingerprint from stored frames / extract-frames: wall {cost['fingerprint_wall']:.2f} s / "
        f"{cost['extract_wall']:.2f} s, CPU {cost['fingerprint_cpu']:.2f} s / {cost['extract_cpu']:.2f} s"
    )
    print(
        f"RATIO fingerprint/extract CPU = {cost['fingerprint_cpu'] / cost['extract_cpu']:.3f}, "
        f"wall = {cost['fingerprint_wall'] / cost['extract_wall']:.3f} (goal ≤ 0.10); "
        f"scale time/60 s = {seconds / 60:.2f} (goal < 1)"
    )


if __name__ == "__main__":
    main()
