"""``curate filter --check-videos/--probe --executor ray`` on a local Ray instance (2 CPUs): the same kept
table, rejects (reasons and details) and stats as the local prober, over more distinct videos than one Ray
task takes; the executor is not part of the output's identity."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("ray")

from test_filter import GEN_MAP, gen_csv, gen_rows  # noqa: E402

from curate.filter import FilterConfig, run  # noqa: E402
from curate.probe_ray import BATCH  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def table(tmp_path, videos) -> tuple[Path, Path]:
    """Good copies, missing files, random bytes, a folder named like a video: more than one Ray task's worth."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "folder.mp4").mkdir()
    shutil.copy(videos / "garbage.mp4", root / "garbage.mp4")
    names = []
    for i in range(BATCH + 6):
        name = f"good{i}.mp4"
        shutil.copy(videos / "good.mp4", root / name)
        names.append(name)
    names += ["missing.mp4", "garbage.mp4", "folder.mp4", "good0.mp4", "missing.mp4"]
    rows = gen_rows(len(names))
    for row, name in zip(rows, names, strict=True):
        row[1] = name
    return gen_csv(tmp_path, rows), root


def filtered(csv: Path, root: Path, out: Path, **kw) -> Path:
    run(FilterConfig(inputs=[csv], output=out, format="generic", mapping=GEN_MAP, video_root=root, **kw))
    return out


@pytest.mark.parametrize("check", [{"check_videos": True}, {"probe": True, "min_duration": 1.0}])
def test_ray_probes_give_the_local_rejects(tmp_path, table, local_ray, check):
    csv, root = table
    local = filtered(csv, root, tmp_path / "local", **check)
    on_ray = filtered(csv, root, tmp_path / "ray", executor="ray", **check)
    rejects = pl.read_parquet(local / "rejects.parquet")
    assert set(rejects["reason"]) >= {"video_missing", "video_unreadable"}
    assert rejects.height == 4  # missing twice, garbage, the folder
    for name in ("mcq.parquet", "rejects.parquet"):
        assert pl.read_parquet(local / name).equals(pl.read_parquet(on_ray / name)), name
    assert (local / "stats.json").read_text() == (on_ray / "stats.json").read_text()


def test_executor_is_not_part_of_the_output(tmp_path, table, local_ray):
    csv, root = table
    filtered(csv, root, tmp_path / "out", check_videos=True)
    again = run(
        FilterConfig(
            inputs=[csv],
            output=tmp_path / "out",
            format="generic",
            mapping=GEN_MAP,
            video_root=root,
            check_videos=True,
            executor="ray",
        )
    )
    assert again.skipped
