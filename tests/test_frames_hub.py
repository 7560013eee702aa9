"""🤗 datasets reads every table of an extract-frames folder as documented: frame shards as lists of
Images (from the shards' own metadata, no features passed), and each table by its own data_files."""

from __future__ import annotations

import datasets
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curate.demo import run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub") / "demo"
    run_demo(out, videos=2, coldstart=False)
    return out


def test_frame_shards_load_as_lists_of_images(demo):
    shards = str(demo / "frames" / "frames" / "part-*.parquet")
    ds = datasets.load_dataset("parquet", data_files=shards, split="train")
    assert ds.features["frames"] == datasets.List(datasets.Image())
    row = ds[0]
    assert len(row["frames"]) == len(row["frame_indices"]) > 0
    assert all(isinstance(f, Image.Image) and f.size == (row["width"], row["height"]) for f in row["frames"])
    assert ds.num_rows == 2


def test_the_stored_bytes_are_what_datasets_decodes(demo):
    shard = sorted((demo / "frames" / "frames").glob("part-*.parquet"))[0]
    stored = pq.read_table(shard).column("frames")[0].as_py()[0]["bytes"]
    ds = datasets.load_dataset("parquet", data_files=str(shard), split="train").cast_column(
        "frames", datasets.List(datasets.Image(decode=False))
    )
    assert ds[0]["frames"][0]["bytes"] == stored


def test_each_table_loads_by_its_own_data_files(demo):
    """One load_dataset call per table: the tables have different columns, and datasets gives every
    split of one call the same features."""
    folder = demo / "frames"
    mcq = datasets.load_dataset("parquet", data_files=str(folder / "mcq.parquet"), split="train")
    frames = datasets.load_dataset("parquet", data_files=str(folder / "frames" / "part-*.parquet"), split="train")
    assert mcq.num_rows == pq.read_metadata(folder / "mcq.parquet").num_rows == 4
    assert set(mcq["video_key"]) == set(frames["video_key"])
    assert frames.features["frames"] == datasets.List(datasets.Image())


def test_raw_shards_keep_bytes(tmp_path, demo):
    from curate.frames.extract import ExtractConfig, run
    from curate.frames.work import FrameSpec

    out = tmp_path / "raw"
    run(ExtractConfig(mcq_dir=demo / "filter", video_root=demo / "sample" / "videos", output=out,
                      shaping=FrameSpec(encoding="raw", size=32), workers=1))
    ds = datasets.load_dataset("parquet", data_files=str(out / "frames" / "part-*.parquet"), split="train")
    frame = ds[0]["frames"][0]
    assert isinstance(frame["bytes"], bytes) and len(frame["bytes"]) == 32 * 32 * 3
