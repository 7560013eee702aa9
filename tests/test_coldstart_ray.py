"""``curate coldstart --executor ray`` on a local Ray instance (2 CPUs): the tiny random Qwen2-VL in 2 actors
gives the local executor's samples and pass rates; an actor killed mid-run (kill -9 inside its batch) and a
driver killed mid-run (kill -9 of its process group) lose only batches in flight, and a rerun ends with
exactly K samples per question; the options are checked like every other option."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("ray")

from helpers import extract_config as frames_config  # noqa: E402
from interrupt import kill_group, start, wait_for  # noqa: E402
from media import make_clip  # noqa: E402
from test_coldstart import answer_key, blind_config, right_then_wrong  # noqa: E402
from test_coldstart import table as table  # noqa: E402,F401 - the filter output fixture

from curate.coldstart.backends import Backend, Completion, SamplingParams  # noqa: E402
from curate.coldstart.stage import SURFACE, ColdstartConfig, run  # noqa: E402
from curate.errors import UserError  # noqa: E402
from curate.frames.extract import run as run_extract  # noqa: E402

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve()


class Scripted(Backend):
    """The answers of test_coldstart's scripted backend, picklable (shipped to every actor); ``crash``:
    the actor that first gets a batch holding question ``crash[1]`` kills itself (SIGKILL) once,
    after creating the file ``crash[0]``; ``delay``: seconds per batch."""

    name = "scripted"

    def __init__(self, key: dict, crash: tuple[str, str] | None = None, delay: float = 0.0):
        self.key, self.crash, self.delay = key, crash, delay

    def generate(self, requests, params):
        import time

        if self.crash and any(r.id == self.crash[1] for r in requests) and not os.path.exists(self.crash[0]):
            Path(self.crash[0]).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.delay)
        return [
            [
                Completion(right_then_wrong(r, k).replace("RIGHT", self.key[r.id]), "stop", 10, 5)
                for k in range(params.num_samples)
            ]
            for r in requests
        ]

    def info(self):
        return {"backend": "scripted"}


def start_local_ray() -> None:
    """A local Ray instance of 2 CPUs whose workers import the test modules (the scripted backends)."""
    import ray

    env = {"PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})


@pytest.fixture(scope="module")
def local_ray():
    import ray

    start_local_ray()
    yield
    ray.shutdown()


def per_question(out: Path) -> list[int]:
    return pl.read_parquet(out / "samples.parquet").group_by("id").len()["len"].to_list()


def same(a: Path, b: Path, name: str) -> bool:
    return pl.read_parquet(a / name).equals(pl.read_parquet(b / name))


def test_two_actors_give_the_local_samples_with_the_tiny_model(tmp_path, table, local_ray):  # noqa: F811
    """Same batches, same seed, same model on the same CPU: the same samples, pass rates and exemplars."""
    pytest.importorskip("transformers")
    pytest.importorskip("torchvision")
    from tiny_vlm import build_tiny_qwen2vl

    model = build_tiny_qwen2vl(tmp_path / "model")
    root = tmp_path / "videos"
    for v in pl.read_parquet(table / "mcq.parquet")["video"].unique():
        make_clip(root / v)
    run_extract(frames_config(table, root, tmp_path / "frames"))
    common = {
        "input": tmp_path / "frames",
        "model": model,
        "sampling": SamplingParams(num_samples=3, max_new_tokens=8, seed=3),
        "batch_size": 2,
    }
    local = run(ColdstartConfig(output=tmp_path / "local", **common))
    ray_run = run(ColdstartConfig(output=tmp_path / "ray", executor="ray", workers=2, **common))
    assert ray_run.sampled == local.sampled == local.questions > 2
    assert ray_run.run["backend_info"]["executor"] == {"name": "ray", "gpus_per_worker": 0.0, "workers": 2}
    assert ray_run.run["counts"]["samples"] == 3 * local.questions
    for name in ("samples.parquet", "passrate.parquet", "exemplars.parquet"):
        assert same(tmp_path / "local", tmp_path / "ray", name), name
    parts = sorted(p.name for p in (tmp_path / "ray" / "_work").glob("samples-*.parquet"))
    assert len(parts) == -(-local.questions // 2) and all(p.startswith("samples-r") for p in parts)


def test_an_actor_killed_mid_batch_loses_only_that_batch(tmp_path, table, local_ray):  # noqa: F811
    """kill -9 of the actor inside a batch: Ray starts another actor and retries the batch; every question
    has exactly K samples, the same as the local executor's."""
    key = answer_key(table)
    second = list(key)[2]  # a question of the second batch
    run(blind_config(table, tmp_path / "local"), backend=Scripted(key))
    crashed = tmp_path / "crashed"
    cfg = blind_config(table, tmp_path / "ray", executor="ray", workers=2)
    result = run(cfg, backend=Scripted(key, crash=(str(crashed), second)))
    assert crashed.is_file()  # the actor did die
    assert result.sampled == result.questions == len(key)
    assert per_question(tmp_path / "ray") == [5] * len(key)
    for name in ("samples.parquet", "passrate.parquet", "exemplars.parquet"):
        assert same(tmp_path / "local", tmp_path / "ray", name), name


def test_a_killed_driver_loses_only_batches_in_flight_and_a_rerun_completes(tmp_path, table, local_ray):  # noqa: F811
    """kill -9 of the driver's process group (its local Ray instance and actors with it) after a first
    batch is written; the rerun samples only the questions without samples: exactly K each."""
    key = answer_key(table)
    out = tmp_path / "ray"
    run(blind_config(table, tmp_path / "local"), backend=Scripted(key))
    proc = start([sys.executable, str(HERE), str(table), str(out)], cwd=str(HERE.parent))
    wait_for(lambda: any((out / "_work").glob("samples-r*.parquet")), proc, timeout=300, what="a first batch")
    kill_group(proc)
    written = {p.name for p in (out / "_work").glob("samples-r*.parquet")}
    assert written and not (out / "samples.parquet").exists()
    result = run(blind_config(table, out, executor="ray", workers=2), backend=Scripted(key))
    assert result.skipped >= 2 and result.skipped + result.sampled == result.questions == len(key)
    assert written <= {p.name for p in (out / "_work").glob("samples-r*.parquet")}
    assert per_question(out) == [5] * len(key)
    for name in ("samples.parquet", "passrate.parquet", "exemplars.parquet"):
        assert same(tmp_path / "local", out, name), name


def test_parts_written_twice_count_once(tmp_path, table):  # noqa: F811
    """A batch part that lands twice (under two names) gives its questions K samples, not 2K."""
    key = answer_key(table)
    out = tmp_path / "cs"
    run(blind_config(table, out), backend=Scripted(key))
    work = out / "_work"
    first = sorted(work.glob("samples-*.parquet"))[0]
    (work / "samples-rcopy.parquet").write_bytes(first.read_bytes())
    from curate.coldstart.stage import read_samples

    assert read_samples(out).group_by("id").len()["len"].to_list() == [5] * len(key)


def test_ray_options_are_checked():
    base = {"input": Path("x"), "model": "m", "output": Path("o")}
    assert SURFACE.build({**base, "executor": "ray", "workers": 2, "gpus_per_worker": 0.5}).workers == 2
    for bad, message in [
        ({"executor": "slurm"}, "--executor: one of local, ray"),
        ({"workers": 0}, "--workers"),
        ({"gpus_per_worker": -1}, "--gpus-per-worker"),
        ({"workers": 4, "max_workers": 2}, "--max-workers 2 is below --workers 4"),
    ]:
        with pytest.raises(UserError, match=None) as info:
            SURFACE.build({**base, **bad})
        assert message in str(info.value)


if __name__ == "__main__":  # the driver the kill test kills: coldstart on its own local Ray instance
    from test_coldstart_ray import Scripted as Importable  # by module name: the actors import it

    start_local_ray()
    table_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    backend = Importable(answer_key(table_dir), delay=1.0)
    run(blind_config(table_dir, out_dir, executor="ray", workers=2), backend=backend)
