"""``curate run``: the shipped recipes on the bundled sample laid out like LLaVA-Video-178K (videos generated
here with ffmpeg), coldstart with the tiny random Qwen2-VL on CPU; skipping, --from/--until, reruns."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from helpers import llava_video_layout

from curate.errors import UserError
from curate.recipe import load_recipe, parse_sets, run_recipe, select

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

REPO = Path(__file__).resolve().parents[1]
RECIPES = REPO / "recipes"
SAMPLE = REPO / "curate" / "samples" / "0_30_s_nextqa_mc_qa_processed.json"
STEPS = ["filter", "extract-frames", "coldstart", "export-tinyllava", "export-sft", "publish"]


@pytest.fixture(scope="module")
def llava_video(tmp_path_factory) -> Path:
    """``LLaVA-Video-178K/0_30_s_nextqa/0_30_s_nextqa_mc_qa_processed.json`` plus its videos."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    return llava_video_layout(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    pytest.importorskip("transformers")
    pytest.importorskip("torchvision")
    from tiny_vlm import build_tiny_qwen2vl

    return build_tiny_qwen2vl(tmp_path_factory.mktemp("tiny-qwen2vl") / "model")


def sets(root: Path, out: Path, model: str, *extra: str) -> list[str]:
    return [
        f"root={root}",
        f"out={out}",
        f"model={model}",
        "num_samples=2",
        "coldstart.device=cpu",
        "coldstart.max-new-tokens=8",
        "coldstart.batch-size=2",
        "extract-frames.workers=1",
        *extra,
    ]


def statuses(results) -> dict[str, str]:
    return {r.name: r.status for r in results}


@pytest.fixture(scope="module")
def first_run(llava_video, tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    args = sets(llava_video, out, tiny_model)
    echoed: list[str] = []
    results = run_recipe(RECIPES / "tinyllava-video-r1.yaml", overrides=args, echo=echoed.append)
    return out, args, results, echoed


def test_runs_every_stage_on_the_sample(first_run):
    out, _, results, echoed = first_run
    assert [r.name for r in results] == STEPS
    assert all(r.status in ("ran", "unavailable") for r in results)
    if importlib.util.find_spec("curate.publish") is not None:  # a dry run: the plan is echoed, nothing uploaded
        assert results[-1].status == "ran" and results[-1].summary["dry_run"] is True
        assert any("tinyllava-video-r1-data" in line for line in echoed)
    filtered = results[0].summary
    assert filtered["kept"] >= 1 and filtered["kept"] + filtered["rejected"] == filtered["read"]
    for name in ("filter/mcq.parquet", "filter/manifest.json", "frames/manifest.json", "frames/mcq.parquet"):
        assert (out / name).is_file(), name
    assert list((out / "frames" / "frames").glob("part-*.parquet"))
    for name in ("samples.parquet", "exemplars.parquet", "passrate.parquet", "run.json"):
        assert (out / "coldstart" / name).is_file(), name
    run = json.loads((out / "coldstart" / "run.json").read_text())
    assert run["template"] == "tinyllava-r1" and run["sampling"]["num_samples"] == 2
    lines = (out / "export" / "tinyllava-video-r1.jsonl").read_text().splitlines()
    assert len(lines) == filtered["kept"]
    assert json.loads(lines[0])["video_filename"].startswith("./NextQA/")
    assert isinstance(json.loads((out / "export" / "coldstart-sft.json").read_text()), list)
    frames = json.loads((out / "frames" / "manifest.json").read_text())["config"]
    assert frames["sampling"]["num_frames"] == 16 and frames["size"] == 384 and frames["resize"] == "square"


def test_second_run_skips_every_stage(first_run):
    _, args, _, _ = first_run
    again = run_recipe(RECIPES / "tinyllava-video-r1.yaml", overrides=args, echo=lambda line: None)
    assert all(r.status in ("skipped", "unavailable") for r in again), statuses(again)


def test_rerun_writes_nothing_and_a_manual_extract_rerun_keeps_later_steps_done(first_run):
    """A finished recipe's rerun leaves every file and folder as it was (inode, mtime, size); so does
    running its extract-frames step again by hand (a no-op, not a rewrite of its tables), after which
    `curate run` still finds every later step done."""
    from interrupt import snapshot

    from curate.frames.extract import run as run_extract
    from curate.recipe import step_config

    out, args, _, _ = first_run
    recipe = RECIPES / "tinyllava-video-r1.yaml"
    before = snapshot(out)
    again = run_recipe(recipe, overrides=args, echo=lambda line: None)
    assert all(r.status in ("skipped", "unavailable") for r in again), statuses(again)
    assert snapshot(out) == before
    (step,) = [s for s in load_recipe(recipe, args).steps if s.stage == "extract-frames"]
    assert run_extract(step_config(step)).up_to_date
    assert snapshot(out) == before
    after = run_recipe(recipe, overrides=args, echo=lambda line: None)
    assert all(r.status in ("skipped", "unavailable") for r in after), statuses(after)


def test_from_until_select_steps(first_run):
    _, args, _, _ = first_run
    results = run_recipe(RECIPES / "tinyllava-video-r1.yaml", overrides=args, start="coldstart", until="export-sft")
    assert [r.name for r in results] == ["coldstart", "export-tinyllava", "export-sft"]
    results = run_recipe(RECIPES / "tinyllava-video-r1.yaml", overrides=args, until="extract-frames")
    assert [r.name for r in results] == ["filter", "extract-frames"]
    results = run_recipe(RECIPES / "tinyllava-video-r1.yaml", overrides=args, start="export")  # a stage: its first
    assert [r.name for r in results] == ["export-tinyllava", "export-sft", "publish"]


def test_changed_option_reruns_that_step_and_later_ones(llava_video, tiny_model, tmp_path):
    out = tmp_path / "out"
    recipe = RECIPES / "tinyllava-video-r1.yaml"
    base = sets(llava_video, out, tiny_model, "extract-frames.size=32", "extract-frames.num-frames=4")
    quiet = {"echo": lambda line: None}
    assert all(r.status != "skipped" for r in run_recipe(recipe, overrides=base, **quiet))

    # a coldstart option: filter and frames stay, coldstart and what reads it rerun
    changed = run_recipe(recipe, overrides=[*base, "num_samples=3"], **quiet)
    got = statuses(changed)
    assert got["filter"] == got["extract-frames"] == "skipped"
    assert got["coldstart"] == "ran" and got["export-sft"] == "ran"
    assert got["export-tinyllava"] == "skipped"
    assert json.loads((out / "coldstart" / "run.json").read_text())["sampling"]["num_samples"] == 3

    # a frames option: frames (refolded, not refused) and everything after rerun, filter does not
    changed = run_recipe(recipe, overrides=[*base, "num_samples=3", "extract-frames.size=48"], **quiet)
    got = statuses(changed)
    assert got["filter"] == "skipped"
    assert got["extract-frames"] == got["coldstart"] == got["export-tinyllava"] == got["export-sft"] == "ran"
    assert json.loads((out / "frames" / "manifest.json").read_text())["config"]["size"] == 48

    # a filter option reruns everything
    changed = run_recipe(
        recipe, overrides=[*base, "num_samples=3", "extract-frames.size=48", "filter.limit=1"], **quiet
    )
    got = statuses(changed)
    assert all(got[s] == "ran" for s in STEPS[:5]), got
    assert len((out / "export" / "tinyllava-video-r1.jsonl").read_text().splitlines()) == 1

    # a deleted output reruns its step
    (out / "export" / "coldstart-sft.json").unlink()
    again = statuses(
        run_recipe(recipe, overrides=[*base, "num_samples=3", "extract-frames.size=48", "filter.limit=1"], **quiet)
    )
    assert again["export-sft"] == "ran" and again["coldstart"] == "skipped"


def test_video_r1_recipe_resolves(tmp_path):
    recipe = load_recipe(RECIPES / "video-r1.yaml", [f"root={tmp_path}"])
    assert [s.stage for s in recipe.steps] == ["filter", "extract-frames", "export", "export", "publish"]
    assert recipe.steps[0].options["inputs"] == [tmp_path / "Video-R1-260k.json"]
    assert recipe.steps[1].options["input"] == recipe.steps[0].output
    assert recipe.steps[1].options["sampling"] == "fps"
    assert recipe.steps[-1].options["dry_run"] is True


def test_paths_resolve_against_the_recipe_folder(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        "vars: {root: data, n: 4}\n"
        "stages:\n"
        "  - {name: f, stage: filter, options: {inputs: '${root}/a.json', output: out/f}}\n"
        "  - {name: x, stage: extract-frames, options: {video-root: '${root}', output: out/x, num-frames: '${n}'}}\n"
    )
    recipe = load_recipe(path)
    f, x = recipe.steps
    assert f.options["inputs"] == [tmp_path / "data" / "a.json"] and f.output == tmp_path / "out" / "f"
    assert x.input == f.output and x.options["num_frames"] == 4
    assert load_recipe(path, base_dir=tmp_path / "elsewhere").steps[0].output == tmp_path / "elsewhere" / "out" / "f"
    assert load_recipe(path, ["n=2"]).steps[1].options["num_frames"] == 2
    assert [s.name for s in select(recipe.steps, start="x")] == ["x"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages: []", "non-empty 'stages'"),
        ("stages: [{stage: nope}]", "stage 'nope'"),
        ("stages: [{stage: filter, options: {inputs: a, output: b, bogus: 1}}]", "unknown option(s) for filter: bogus"),
        ("stages: [{stage: filter, options: {output: b}}]", "missing option(s) for filter: inputs"),
        ("stages: [{stage: filter, options: {inputs: '${nope}', output: b}}]", "unknown var ${nope}"),
        ("stages: [{stage: export, options: {input: '${stages.x.output}', to: llava, output: o}}]", "no earlier step"),
        ("stages: [{stage: filter, options: {inputs: a, output: b, limit: many}}]", "--limit: input should be"),
    ],
)
def test_bad_recipes_are_user_errors(tmp_path, text, message):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=None) as info:
        load_recipe(path)
    assert message in str(info.value)


def test_bad_selection_and_sets(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("stages: [{stage: filter, options: {inputs: a, output: b}}]")
    with pytest.raises(UserError, match="--from"):
        run_recipe(path, start="coldstart")
    with pytest.raises(UserError, match="--executor"):
        run_recipe(path, executor="slurm")
    with pytest.raises(UserError, match="no step named"):
        load_recipe(path, ["nope.limit=3"])
    assert parse_sets(["a=2", "b=x=y", "c=true"]) == {"a": 2, "b": "x=y", "c": True}
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_sets(["novalue"])


def test_cli_run_reports_each_step(first_run):
    """`curate run` through the CLI on the same output: every step is already done."""
    import json

    from typer.testing import CliRunner

    from curate.cli import app

    out, args, _, _ = first_run
    cli_args = ["run", str(RECIPES / "tinyllava-video-r1.yaml"), "--json"]
    for pair in args:
        cli_args += ["--set", pair]
    result = CliRunner().invoke(app, cli_args)
    assert result.exit_code == 0, result.output
    steps = json.loads(result.stdout.strip().splitlines()[-1])["steps"]
    assert steps and all(s["status"] == "skipped" for s in steps)
