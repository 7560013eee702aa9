"""Trainer-side readers (pipelines.reader, pipelines.torch_dataset, pipelines.hf) over a hand-built
extract-frames folder: mcq.parquet with video_key + frames/part-*.parquet in several files and row groups."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curate.errors import UserError
from pipelines.reader import MissingFramesWarning, VideoQAReader, iter_samples, render_prompt
from schemas.frames import FRAMES_SCHEMA, validate_frames
from schemas.mcq import write_mcq
from schemas.prompt import R1_INSTRUCTION

REPO_ROOT = Path(__file__).resolve().parents[1]
H, W = 16, 24
N_VIDEOS = 7  # frame rows with questions
MISSING_IDS = ["q-missing-0", "q-missing-1"]  # questions whose video_key has no frame row
FRAMES_TYPE = FRAMES_SCHEMA.field("frames").type


def video_frames(v: int) -> np.ndarray:
    """Smooth, distinct uint8 frames (T, H, W, 3) for video ``v`` (smooth so jpeg stays close)."""
    t = 2 + v % 3
    yy, xx = np.mgrid[0:H, 0:W]
    out = np.empty((t, H, W, 3), dtype=np.uint8)
    for i in range(t):
        out[i, ..., 0] = 20 + 25 * v + xx
        out[i, ..., 1] = 30 + 40 * i + yy
        out[i, ..., 2] = 200 - 10 * v
    return out


def encode(frame: np.ndarray, encoding: str) -> bytes:
    if encoding == "raw":
        return np.ascontiguousarray(frame).tobytes()
    buf = io.BytesIO()
    if encoding == "jpeg":
        Image.fromarray(frame).save(buf, format="JPEG", quality=95)
    else:
        Image.fromarray(frame).save(buf, format="PNG")
    return buf.getvalue()


def frame_row(key: str, video: str, frames: np.ndarray, encoding: str) -> dict:
    ext = {"raw": "rgb", "jpeg": "jpg", "png": "png"}[encoding]
    t = len(frames)
    return {
        "video_key": key,
        "video": video,
        "frames": [{"bytes": encode(f, encoding), "path": f"{key}/{i:06d}.{ext}"} for i, f in enumerate(frames)],
        "frame_indices": list(range(0, 3 * t, 3)),
        "timestamps": [0.5 * i for i in range(t)],
        "num_frames_decoded": 3 * t,
        "fps": 6.0,
        "duration": t / 2,
        "orig_height": 2 * H,
        "orig_width": 2 * W,
        "height": H,
        "width": W,
        "encoding": encoding,
    }


def question(qid: str, v: int, j: int, key: str) -> dict:
    options = [f"option {k} of {qid}" for k in range(2 + (v + j) % 3)]
    return {
        "id": qid,
        "source": "test",
        "subset": None,
        "video": f"videos/v{v}.mp4",
        "question": f"What happens in video {v}, question {j}?",
        "options": options,
        "answer": (v + j) % len(options),
        "problem_type": "multiple choice",
        "duration": None,
        "start": None,
        "end": None,
        "meta": json.dumps({"v": v}),
        "video_key": key,
    }


def build_folder(root: Path, encoding: str) -> dict[str, dict]:
    """Write DIR/mcq.parquet and DIR/frames/part-0000{0,1}.parquet; return the expected samples by id."""
    rows, questions, expected = [], [], {}
    for v in range(N_VIDEOS):
        key = f"key{v:02d}"
        rows.append(frame_row(key, f"videos/v{v}.mp4", video_frames(v), encoding))
        for j in range(1 + v % 3):
            q = question(f"q{v}-{j}", v, j, key)
            questions.append(q)
            expected[q["id"]] = {**q, "v": v}
    # a decoded video no question refers to, and questions whose video never got a frame row
    rows.insert(3, frame_row("key-orphan", "videos/orphan.mp4", video_frames(9), encoding))
    for j, qid in enumerate(MISSING_IDS):
        questions.append(question(qid, 8, j, "key-not-extracted"))
    write_mcq(pa.Table.from_pylist(questions), root / "mcq.parquet")
    (root / "frames").mkdir(parents=True)
    for part, chunk in enumerate((rows[:5], rows[5:])):
        table = validate_frames(pa.Table.from_pylist(chunk))
        pq.write_table(table, root / "frames" / f"part-{part:05d}.parquet", row_group_size=2)
    (root / "rejects.parquet").write_bytes(b"")  # present in real outputs; never read here
    (root / "manifest.json").write_text("{}")
    return expected


@pytest.fixture(scope="module", params=["raw", "png", "jpeg"])
def folder(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"frames_{request.param}")
    return root, request.param, build_folder(root, request.param)


@pytest.fixture(scope="module")
def raw_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames_raw_only")
    return root, build_folder(root, "raw")


def read_all(root, **kwargs) -> list[dict]:
    with pytest.warns(MissingFramesWarning):
        return list(iter_samples(root, **kwargs))


def assert_frames(got: np.ndarray, want: np.ndarray, encoding: str) -> None:
    assert got.dtype == np.uint8 and got.shape == want.shape
    if encoding == "jpeg":
        diff = np.abs(got.astype(int) - want.astype(int))
        assert diff.mean() < 3 and diff.max() < 24
    else:
        np.testing.assert_array_equal(got, want)


def test_join_every_question_once_with_its_frames(folder):
    root, encoding, expected = folder
    samples = read_all(root)
    ids = [s["id"] for s in samples]
    assert Counter(ids) == Counter(list(expected))  # each once; the missing-frame questions are skipped
    for s in samples:
        want = expected[s["id"]]
        v = want["v"]
        assert s["video_key"] == f"key{v:02d}" and s["video"] == want["video"]
        assert s["frames"].shape == (2 + v % 3, H, W, 3)  # (T, H, W, C)
        assert_frames(s["frames"], video_frames(v), encoding)
        assert s["timestamps"].dtype == np.float32
        np.testing.assert_allclose(s["timestamps"], [0.5 * i for i in range(2 + v % 3)])
        assert s["question"] == want["question"] and s["options"] == want["options"]
        assert s["answer"] == want["answer"]
        assert s["answer_letter"] == "ABCDEFGH"[want["answer"]]
        assert s["solution"] == f"<answer>{s['answer_letter']}</answer>"


def test_prompt_has_question_lettered_options_and_instruction(raw_folder):
    root, expected = raw_folder
    sample = read_all(root)[0]
    prompt = sample["prompt"]
    assert prompt.startswith(sample["question"] + "\n")
    for letter, text in zip("ABCDEFGH", sample["options"], strict=False):
        assert f"\n{letter}. {text}\n" in prompt
    assert prompt.endswith("\n" + R1_INSTRUCTION)
    bare = read_all(root, instruction=None)[0]
    assert R1_INSTRUCTION not in bare["prompt"] and bare["prompt"] == render_prompt(
        bare["question"], bare["options"], None
    )


def test_missing_frames_are_counted_and_warned(raw_folder):
    root, expected = raw_folder
    with pytest.warns(MissingFramesWarning, match="2 question"):
        reader = VideoQAReader(root)
    assert sorted(reader.missing) == MISSING_IDS
    assert len(reader) == len(expected)
    assert reader.num_videos == N_VIDEOS + 1  # the orphan frame row counts as a video
    quiet = VideoQAReader(root, warn_missing=False)
    assert sorted(quiet.missing) == MISSING_IDS


@pytest.mark.slow
@pytest.mark.parametrize("num_shards", [1, 2, 3, 5, 11])
@pytest.mark.parametrize("batch_rows", [1, 16])
def test_shards_cover_every_question_exactly_once(raw_folder, num_shards, batch_rows):
    root, expected = raw_folder
    reader = VideoQAReader(root, warn_missing=False, batch_rows=batch_rows)
    seen: list[str] = []
    for k in range(num_shards):
        part = [s["id"] for s in reader.iter(shard_index=k, num_shards=num_shards)]
        assert len(part) == reader.num_samples(k, num_shards)
        seen += part
    assert Counter(seen) == Counter(list(expected))


def test_videos_are_not_split_across_shards(raw_folder):
    root, _ = raw_folder
    reader = VideoQAReader(root, warn_missing=False)
    owner: dict[str, int] = {}
    for k in range(3):
        for s in reader.iter(shard_index=k, num_shards=3):
            assert owner.setdefault(s["video_key"], k) == k


def test_shuffle_is_deterministic_and_complete(raw_folder):
    root, expected = raw_folder
    reader = VideoQAReader(root, warn_missing=False, batch_rows=4)
    plain = [s["id"] for s in reader.iter()]
    first = [s["id"] for s in reader.iter(shuffle_seed=1)]
    assert first == [s["id"] for s in reader.iter(shuffle_seed=1)]
    assert Counter(first) == Counter(plain) == Counter(list(expected))
    orders = {tuple(s["id"] for s in reader.iter(shuffle_seed=seed)) for seed in range(6)}
    assert len(orders) > 1


def test_bad_arguments(raw_folder, tmp_path):
    root, _ = raw_folder
    reader = VideoQAReader(root, warn_missing=False)
    with pytest.raises(ValueError):
        next(reader.iter(shard_index=2, num_shards=2))
    with pytest.raises(ValueError):
        next(reader.iter(as_="torch"))
    table = pq.read_table(root / "mcq.parquet").drop_columns(["video_key"])
    write_mcq(table, tmp_path / "mcq.parquet")
    with pytest.raises(Exception, match="video_key"):
        VideoQAReader(tmp_path)
    write_mcq(pq.read_table(root / "mcq.parquet"), tmp_path / "mcq.parquet")
    with pytest.raises(UserError, match="no part-"):
        VideoQAReader(tmp_path)


def test_pil_output(raw_folder):
    root, _ = raw_folder
    sample = next(iter(VideoQAReader(root, warn_missing=False).iter(as_="pil")))
    assert all(isinstance(im, Image.Image) and im.size == (W, H) and im.mode == "RGB" for im in sample["frames"])


# --- the numpy decode paths: raw as a view of the Arrow buffer, jpeg through simplejpeg ----------------


def pil_decoded(folder_root: Path, encoding: str) -> dict[str, np.ndarray]:
    """Every video's frames decoded the way the reader did before: Pillow, through the frames as Python."""
    from curate.frames.encode import decode_frames

    out = {}
    for path in sorted((folder_root / "frames").glob("part-*.parquet")):
        for row in pq.read_table(path).to_pylist():
            out[row["video_key"]] = decode_frames(row["frames"], encoding, row["height"], row["width"])
    return out


def test_numpy_frames_equal_pillows_decode(folder):
    root, encoding, _ = folder
    want = pil_decoded(root, encoding)
    samples = read_all(root, batch_rows=3)  # batches sliced inside row groups: offsets into shared buffers
    for s in samples:
        np.testing.assert_array_equal(s["frames"], want[s["video_key"]])  # bit-identical, jpeg included
    if encoding == "raw":  # a view of the shard's buffer, not a copy
        assert all(not s["frames"].flags.owndata and s["frames"].base is not None for s in samples)


def test_raw_frames_of_the_wrong_size_are_refused(tmp_path):
    from pipelines.reader import raw_frames

    good, short = bytes(H * W * 3), bytes(H * W * 3 - 1)
    column = pa.array([[{"bytes": good, "path": "a"}, {"bytes": short, "path": "b"}]], type=FRAMES_TYPE)
    with pytest.raises(ValueError, match=f"raw frame 1 has {H * W * 3 - 1} bytes"):
        raw_frames(column, 0, H, W)
    empty = pa.array([[]], type=FRAMES_TYPE)
    assert raw_frames(empty, 0, H, W).shape == (0, H, W, 3)


def textured_frames(seed: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Noisy, coloured frames: every DCT coefficient and chroma sample matters, so decoders that round
    differently would disagree."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([(3 * xx + 5 * yy) % 256, (7 * xx) % 256, (11 * yy + xx) % 256], axis=-1)
    return np.stack([np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8) for _ in range(4)])


@pytest.mark.parametrize(
    ("quality", "subsampling", "mode"), [(90, 2, "RGB"), (75, 2, "RGB"), (95, 0, "RGB"), (90, 1, "RGB"), (90, 2, "L")]
)
def test_jpeg_frames_are_pillows_pixels(quality, subsampling, mode):
    from curate.frames.encode import decode_frame
    from pipelines.reader import jpeg_frames

    frames = textured_frames(quality + subsampling)
    data = []
    for f in frames:
        buffer = io.BytesIO()
        Image.fromarray(f).convert(mode).save(buffer, format="JPEG", quality=quality, subsampling=subsampling)
        data.append(buffer.getvalue())
    column = pa.array([[{"bytes": b, "path": str(i)} for i, b in enumerate(data)]], type=FRAMES_TYPE)
    got = jpeg_frames(column, 0, 48, 64)
    np.testing.assert_array_equal(got, np.stack([decode_frame(b, "jpeg", 48, 64) for b in data]))


def test_jpeg_frames_without_simplejpeg_or_refused_by_it(monkeypatch):
    from curate.frames.encode import decode_frame
    from pipelines.reader import jpeg_frames

    frames = textured_frames(1)
    data = [encode(f, "jpeg") for f in frames]
    column = pa.array([[{"bytes": b, "path": str(i)} for i, b in enumerate(data)]], type=FRAMES_TYPE)
    want = np.stack([decode_frame(b, "jpeg", 48, 64) for b in data])
    monkeypatch.setitem(sys.modules, "simplejpeg", None)  # not installed: Pillow
    np.testing.assert_array_equal(jpeg_frames(column, 0, 48, 64), want)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="jpeg frame is 48x64, expected 24x64"):  # another size: Pillow's error
        jpeg_frames(column, 0, 24, 64)


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_jpeg_frames_on_threads_are_the_same_pixels(threads):
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.reader import jpeg_frames

    data = [encode(f, "jpeg") for f in np.concatenate([textured_frames(2), textured_frames(3)])[:7]]
    column = pa.array([[{"bytes": b, "path": str(i)} for i, b in enumerate(data)]], type=FRAMES_TYPE)
    want = jpeg_frames(column, 0, 48, 64)
    with ThreadPoolExecutor(threads - 1) as pool:
        np.testing.assert_array_equal(jpeg_frames(column, 0, 48, 64, pool, threads), want)
        with pytest.raises(ValueError, match="jpeg frame is 48x64, expected 24x64"):  # a worker's error is raised
            jpeg_frames(column, 0, 24, 64, pool, threads)


def test_decode_threads_give_the_same_samples(folder):
    root, encoding, _ = folder
    reader = VideoQAReader(root, warn_missing=False, batch_rows=3, decode_threads=1)
    one = {s["id"]: s["frames"] for s in reader.iter()}
    for threads in (2, 5):
        many = {s["id"]: s["frames"] for s in reader.iter(decode_threads=threads)}
        assert many.keys() == one.keys()
        for qid, frames in many.items():
            np.testing.assert_array_equal(frames, one[qid])
    assert VideoQAReader(root, warn_missing=False).decode_threads == min(4, len(os.sched_getaffinity(0)))
    with pytest.raises(ValueError, match="decode_threads=0"):
        reader.iter(decode_threads=0)


@pytest.mark.parametrize("encoding", ["raw", "jpeg"])
def test_shards_of_extract_frames_and_older_shards_read_the_same(tmp_path, encoding):
    """ShardWriter's shards (no dictionary and no statistics for the frames, 64 MiB pages) and shards
    written with Parquet's defaults, as before, give the same samples; small columns keep statistics."""
    from curate.frames.extract import ShardWriter

    new, old = tmp_path / "new", tmp_path / "old"
    build_folder(old, encoding)
    new.mkdir()
    (new / "mcq.parquet").write_bytes((old / "mcq.parquet").read_bytes())
    writer = ShardWriter(new)
    for path in sorted((old / "frames").glob("part-*.parquet")):
        for row in pq.read_table(path).to_pylist():
            writer.add(row)
    writer.flush()
    [shard] = sorted((new / "frames").glob("part-*.parquet"))
    columns = pq.ParquetFile(shard).metadata.row_group(0).to_dict()["columns"]
    by_path = {c["path_in_schema"]: c for c in columns}
    frames = by_path["frames.list.element.bytes"]
    assert frames["statistics"] is None and not any("DICTIONARY" in e for e in frames["encodings"])
    assert by_path["video_key"]["statistics"] is not None
    old_columns = pq.ParquetFile(sorted((old / "frames").glob("part-*.parquet"))[0]).metadata.row_group(0).to_dict()
    old_frames = {c["path_in_schema"]: c for c in old_columns["columns"]}["frames.list.element.bytes"]
    assert any("DICTIONARY" in e for e in old_frames["encodings"])  # the older layout really is another one

    def samples(root):
        return {s["id"]: s for s in VideoQAReader(root, warn_missing=False, batch_rows=2).iter()}

    got, want = samples(new), samples(old)
    assert got.keys() == want.keys() and len(got) > 0
    for qid, sample in got.items():
        np.testing.assert_array_equal(sample["frames"], want[qid]["frames"])
        np.testing.assert_array_equal(sample["timestamps"], want[qid]["timestamps"])
        assert sample["prompt"] == want[qid]["prompt"]


@pytest.mark.slow
def test_importing_pipelines_reader_does_not_import_torch():
    code = "import sys, pipelines, pipelines.reader; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


# --- torch ---------------------------------------------------------------------------------------


def test_torch_dataset_yields_uint8_tchw(folder):
    torch = pytest.importorskip("torch")
    from pipelines.torch_dataset import VideoQAIterableDataset

    root, encoding, expected = folder
    with pytest.warns(MissingFramesWarning):
        ds = VideoQAIterableDataset(root, output="torch")
    samples = list(ds)
    assert Counter(s["id"] for s in samples) == Counter(list(expected))
    for s in samples:
        v = expected[s["id"]]["v"]
        frames = s["frames"]
        assert isinstance(frames, torch.Tensor) and frames.dtype == torch.uint8
        assert tuple(frames.shape) == (2 + v % 3, 3, H, W)  # (T, C, H, W)
        frames[0, 0, 0, 0] = frames[0, 0, 0, 0]  # writable
        assert_frames(frames.permute(0, 2, 3, 1).numpy(), video_frames(v), encoding)
        assert s["timestamps"].dtype == torch.float32


@pytest.mark.slow
def test_torch_dataloader_workers_split_without_duplicates(raw_folder):
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    from pipelines.torch_dataset import VideoQAIterableDataset

    root, expected = raw_folder
    with pytest.warns(MissingFramesWarning):
        ds = VideoQAIterableDataset(root, output="torch", shuffle_seed=3)
    loader = DataLoader(ds, batch_size=2, num_workers=2, collate_fn=list)
    ids = []
    for batch in loader:
        for s in batch:
            ids.append(s["id"])
            assert s["frames"].dtype == torch.uint8 and s["frames"].shape[1] == 3
    assert Counter(ids) == Counter(list(expected))
    # default collate stacks same-shape tensors; one video per batch keeps shapes equal
    with pytest.warns(MissingFramesWarning):
        single = DataLoader(VideoQAIterableDataset(root, output="numpy", split_by_rank=False), batch_size=None)
    assert sum(1 for _ in single) == len(expected)


def test_torch_dataset_splits_across_ranks_and_workers(raw_folder, monkeypatch):
    pytest.importorskip("torch")
    import pipelines.torch_dataset as td

    root, expected = raw_folder
    with pytest.warns(MissingFramesWarning):
        ds = td.VideoQAIterableDataset(root, output="numpy")

    class Info:
        def __init__(self, wid, n):
            self.id, self.num_workers = wid, n

    seen: list[str] = []
    world, workers = 2, 3
    for rank in range(world):
        monkeypatch.setattr(td, "_rank_world", lambda split, r=rank: (r, world) if split else (0, 1))
        per_rank = []
        for wid in range(workers):
            monkeypatch.setattr(td, "get_worker_info", lambda w=wid: Info(w, workers))
            assert ds.shard() == (rank * workers + wid, world * workers)
            per_rank += [s["id"] for s in ds]
        assert len(per_rank) == ds.num_samples()
        seen += per_rank
    assert Counter(seen) == Counter(list(expected))
    # split_by_rank=False: every rank sees the whole stream (accelerate shards it itself)
    ds.split_by_rank = False
    monkeypatch.setattr(td, "get_worker_info", lambda: None)
    assert Counter(s["id"] for s in ds) == Counter(list(expected))


def test_torch_dataset_decodes_on_one_thread_in_a_dataloader_worker(raw_folder, monkeypatch):
    pytest.importorskip("torch")
    import pipelines.torch_dataset as td

    root, _ = raw_folder
    asked: list[int | None] = []

    def iter_spy(real):
        def spy(**kwargs):
            asked.append(kwargs["decode_threads"])
            return real(**kwargs)

        return spy

    for threads in (None, 3):
        with pytest.warns(MissingFramesWarning):
            ds = td.VideoQAIterableDataset(root, output="numpy", decode_threads=threads)
        monkeypatch.setattr(ds.reader, "iter", iter_spy(ds.reader.iter))
        monkeypatch.setattr(td, "get_worker_info", lambda: None)
        next(iter(ds))
        monkeypatch.setattr(td, "get_worker_info", lambda: type("Info", (), {"id": 0, "num_workers": 1})())
        next(iter(ds))
    assert asked == [None, 1, 3, 3]  # None: the reader's default; told a number, that number


# --- 🤗 datasets ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["png", "jpeg"])
def test_hf_streaming_frames_are_pil_images(tmp_path, encoding):
    pytest.importorskip("datasets")
    from pipelines.hf import load_streaming

    build_folder(tmp_path, encoding)
    ds = load_streaming(tmp_path)
    rows = list(ds)
    assert len(rows) == N_VIDEOS + 1
    for row in rows:
        assert all(isinstance(im, Image.Image) and im.size == (W, H) for im in row["frames"])
        if row["video_key"].startswith("key0"):
            v = int(row["video_key"][3:])
            got = np.stack([np.asarray(im.convert("RGB")) for im in row["frames"]])
            assert_frames(got, video_frames(v), encoding)


def test_hf_streaming_raw_frames_stay_bytes(raw_folder):
    pytest.importorskip("datasets")
    from pipelines.hf import load_streaming
    from pipelines.reader import decode_video

    root, _ = raw_folder
    row = next(iter(load_streaming(root)))
    assert isinstance(row["frames"][0]["bytes"], bytes)
    got = decode_video(row["frames"], row["encoding"], row["height"], row["width"])
    np.testing.assert_array_equal(got, video_frames(int(row["video_key"][3:])))


@pytest.mark.slow
def test_hf_questions_with_frames_joins_every_question_once(tmp_path):
    pytest.importorskip("datasets")
    from pipelines.hf import questions_with_frames

    expected = build_folder(tmp_path, "png")
    rows = list(questions_with_frames(tmp_path))
    assert Counter(r["id"] for r in rows) == Counter(list(expected))
    for r in rows:
        want = expected[r["id"]]
        assert r["video_key"] == f"key{want['v']:02d}"
        assert r["options"] == want["options"] and r["answer"] == want["answer"]
        assert r["prompt"] == render_prompt(want["question"], want["options"])
        assert r["solution"] == f"<answer>{'ABCDEFGH'[want['answer']]}</answer>"
        got = np.stack([np.asarray(im) for im in r["frames"]])
        np.testing.assert_array_equal(got, video_frames(want["v"]))


def test_hf_questions_with_frames_map_style(tmp_path):
    pytest.importorskip("datasets")
    from pipelines.hf import questions_with_frames

    expected = build_folder(tmp_path / "dir", "jpeg")
    table = questions_with_frames(tmp_path / "dir", streaming=False, cache_dir=tmp_path / "cache")
    assert len(table) == len(expected) and Counter(table["id"]) == Counter(list(expected))
    row = table[0]
    assert all(isinstance(im, Image.Image) for im in row["frames"])
    got = np.stack([np.asarray(im) for im in row["frames"]])
    assert_frames(got, video_frames(expected[row["id"]]["v"]), "jpeg")


def test_hf_trl_recipe_from_the_docs(tmp_path):
    """The GRPOTrainer recipe in docs/trainer_integration.md: images column + conversational prompt."""
    pytest.importorskip("datasets")
    from pipelines.hf import questions_with_frames

    build_folder(tmp_path, "jpeg")
    ds = questions_with_frames(tmp_path).rename_column("frames", "images")
    ds = ds.map(lambda x: {"prompt": [{"role": "user", "content": x["prompt"]}]})
    row = next(iter(ds))
    assert row["prompt"][0]["role"] == "user" and R1_INSTRUCTION in row["prompt"][0]["content"]
    assert row["images"] and all(isinstance(im, Image.Image) for im in row["images"])
    assert row["solution"].startswith("<answer>")
