"""``curate run recipes/tinyllava-video-r1.yaml --executor ray`` end to end on a local Ray instance with the
tiny random Qwen2-VL on CPU: filter's probing, extract-frames and coldstart run on Ray over one connection,
and every table equals the local executor's."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

pytest.importorskip("ray")

from test_recipe import RECIPES, llava_video, sets, tiny_model  # noqa: E402,F401 - fixtures

from curate.errors import UserError  # noqa: E402
from curate.recipe import load_recipe, run_recipe, step_config  # noqa: E402

pytestmark = pytest.mark.slow
RECIPE = RECIPES / "tinyllava-video-r1.yaml"
TABLES = [
    "filter/mcq.parquet",
    "filter/rejects.parquet",
    "frames/mcq.parquet",
    "coldstart/samples.parquet",
    "coldstart/passrate.parquet",
    "coldstart/exemplars.parquet",
]


def frame_rows(out: Path) -> pl.DataFrame:
    shards = sorted((out / "frames" / "frames").glob("part-*.parquet"))
    return pl.concat([pl.from_arrow(pq.read_table(s)) for s in shards]).sort("video_key")


def test_the_recipe_on_ray_gives_the_local_tables(llava_video, tiny_model, tmp_path, monkeypatch):  # noqa: F811
    import ray

    quiet = {"echo": lambda line: None}
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    run_recipe(RECIPE, overrides=sets(llava_video, local, tiny_model), **quiet)

    connections = []
    real_init = ray.init
    monkeypatch.setattr(ray, "init", lambda *a, **k: connections.append(k) or real_init(*a, **k))
    results = run_recipe(RECIPE, overrides=sets(llava_video, on_ray, tiny_model), executor="ray", **quiet)
    assert len(connections) == 1 and not ray.is_initialized()  # one connection for the recipe, closed after
    assert all(r.status in ("ran", "unavailable") for r in results), [(r.name, r.status) for r in results]

    for name in TABLES:
        assert pl.read_parquet(local / name).equals(pl.read_parquet(on_ray / name)), name
    assert frame_rows(local).equals(frame_rows(on_ray))
    for name in ("export/tinyllava-video-r1.jsonl", "export/coldstart-sft.json"):
        assert (local / name).read_text() == (on_ray / name).read_text().replace(str(on_ray), str(local)), name
    parts = list((on_ray / "coldstart" / "_work").glob("samples-r*.parquet"))
    assert parts  # sampled by the actors, not in the driver


def test_executor_reaches_every_stage_with_a_ray_path(llava_video, tmp_path):  # noqa: F811
    recipe = load_recipe(RECIPE, sets(llava_video, tmp_path, "some/model"))
    configs = {s.stage: step_config(s, "ray") for s in recipe.steps if s.stage in ("filter", "extract-frames")}
    (cold,) = [s for s in recipe.steps if s.stage == "coldstart"]
    assert {stage: c.executor for stage, c in configs.items()} == {"filter": "ray", "extract-frames": "ray"}
    assert step_config(cold, "ray").executor == "ray" and step_config(cold).executor == "local"
    with pytest.raises(UserError, match="--address"):
        run_recipe(RECIPE, overrides=sets(llava_video, tmp_path, "some/model"), address="auto")
