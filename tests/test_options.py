"""Every option's bounds live with its config field (curate.options) and are checked before any work:
a bad value is one line naming the option, exit 2, and nothing is written. The CLI and the recipes take
their options from the configs, so a config field without a flag fails here."""

from __future__ import annotations

import dataclasses
import math

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.coldstart.stage import SURFACE as COLDSTART
from curate.decontaminate.config import DECONTAMINATE, DEDUP
from curate.demo import SURFACE as DEMO
from curate.export import SURFACE as EXPORT
from curate.filter import SURFACE as FILTER
from curate.frames.extract import SURFACE as EXTRACT
from curate.frames.verify import SURFACE as VERIFY
from curate.options import INT64_MAX, fields_of
from curate.publish import SURFACE as PUBLISH
from curate.report import SURFACE as REPORT

SURFACES = {
    "filter": FILTER,
    "export": EXPORT,
    "extract-frames": EXTRACT,
    "coldstart": COLDSTART,
    "demo": DEMO,
    "verify": VERIFY,
    "decontaminate": DECONTAMINATE,
    "dedup": DEDUP,
    "publish": PUBLISH,
    "report": REPORT,
}
# config fields a command does not offer, on purpose: coldstart decodes on the fly with the default
# geometry apart from --num-frames/--size (extract-frames is where frames are shaped)
NOT_OFFERED = {
    "coldstart": {
        "shaping.sampling.mode",
        "shaping.sampling.fps",
        "shaping.sampling.min_frames",
        "shaping.sampling.max_frames",
        "shaping.resize",
        "shaping.max_pixels",
        "shaping.encoding",
        "shaping.jpeg_quality",
        "shaping.decoder",
        "shaping.device",
    },
}


def leaves(cls, prefix: str = "") -> set[str]:
    out = set()
    for name, info in fields_of(cls).items():
        kind = info.annotation
        if dataclasses.is_dataclass(kind):
            out |= leaves(kind, f"{prefix}{name}.")
        else:
            out.add(prefix + name)
    return out


@pytest.mark.parametrize("command", sorted(SURFACES))
def test_every_config_field_is_an_option_of_the_command(command):
    surface = SURFACES[command]
    offered = {".".join(flag.path) for flag in surface.flags.values()}
    assert leaves(surface.cls) - offered == NOT_OFFERED.get(command, set())


@pytest.mark.parametrize("command", sorted(SURFACES))
def test_the_command_line_has_the_configs_names_defaults_and_help(command):
    """What `curate COMMAND --help` and the parser use is what the config field says."""
    import typer.main

    click_command = typer.main.get_command(app).commands[command]
    params = {p.name: p for p in click_command.params}
    for name, flag in SURFACES[command].flags.items():
        param = params[name]
        assert param.required == flag.required, name
        if not flag.required and not flag.is_list():
            assert param.default == flag.default, name
        if not flag.argument:
            assert flag.decls[0].split("/")[0] in param.opts, name
            assert param.help == flag.help, name


# ------------------------------------------------------------------------------- the bad-option table

BIG = str(INT64_MAX + 1)
FILTER_ARGS = ["filter", "in.json", "-o", "{out}"]
EXTRACT_ARGS = ["extract-frames", "filtered", "--video-root", "{root}", "-o", "{out}"]
COLDSTART_ARGS = ["coldstart", "frames", "--model", "m", "-o", "{out}"]
CASES = [
    # (args after the command's required ones, the option named, words the line must hold)
    (FILTER_ARGS + ["--limit", BIG], "--limit", ["64-bit"]),
    (FILTER_ARGS + ["--limit", "-1"], "--limit", ["greater than or equal to 0"]),
    (FILTER_ARGS + ["--sample", "-5"], "--sample", ["-5"]),
    (FILTER_ARGS + ["--seed", BIG], "--seed", ["64-bit"]),
    (FILTER_ARGS + ["--workers", "-1"], "--workers", ["greater than or equal to 1"]),
    (FILTER_ARGS + ["--workers", "0"], "--workers", ["1"]),
    (FILTER_ARGS + ["--min-duration", "-1"], "--min-duration", ["0"]),
    (FILTER_ARGS + ["--max-duration", "nan"], "--max-duration", ["finite"]),
    (FILTER_ARGS + ["--min-duration", "10", "--max-duration", "5"], "--min-duration", ["--max-duration", "10"]),
    (FILTER_ARGS + ["--min-pass-rate", "1.5"], "--min-pass-rate", ["1"]),
    (FILTER_ARGS + ["--min-pass-rate", "0.8", "--max-pass-rate", "0.2"], "--min-pass-rate", ["--max-pass-rate"]),
    (FILTER_ARGS + ["--format", "videomme2"], "--format", ["videomme2", "llava-video-178k"]),
    (EXTRACT_ARGS + ["--fps", "0"], "--fps", ["greater than 0"]),
    (EXTRACT_ARGS + ["--fps", "-1"], "--fps", ["greater than 0"]),
    (EXTRACT_ARGS + ["--fps", "nan"], "--fps", ["finite"]),
    (EXTRACT_ARGS + ["--fps", "inf"], "--fps", ["finite"]),
    (EXTRACT_ARGS + ["--num-frames", "0"], "--num-frames", ["1"]),
    (EXTRACT_ARGS + ["--min-frames", "0"], "--min-frames", ["1"]),
    (EXTRACT_ARGS + ["--min-frames", "9", "--max-frames", "8"], "--min-frames", ["--max-frames", "9", "8"]),
    (EXTRACT_ARGS + ["--jpeg-quality", "0"], "--jpeg-quality", ["1"]),
    (EXTRACT_ARGS + ["--jpeg-quality", "101"], "--jpeg-quality", ["100"]),
    (EXTRACT_ARGS + ["--timeout", "nan"], "--timeout", ["finite"]),
    (EXTRACT_ARGS + ["--timeout", "0"], "--timeout", ["greater than 0"]),
    (EXTRACT_ARGS + ["--max-pixels", "0"], "--max-pixels", ["1"]),
    (EXTRACT_ARGS + ["--workers", "-1"], "--workers", ["1"]),
    (EXTRACT_ARGS + ["--size", "0"], "--size", ["1"]),
    (EXTRACT_ARGS + ["--size", BIG], "--size", ["16384"]),
    (EXTRACT_ARGS + ["--shard-rows", "0"], "--shard-rows", ["1"]),
    (EXTRACT_ARGS + ["--decoder", "bogus"], "--decoder", ["bogus", "pyav"]),
    (EXTRACT_ARGS + ["--resize", "stretch"], "--resize", ["stretch", "square"]),
    (EXTRACT_ARGS + ["--encoding", "gif"], "--encoding", ["gif", "jpeg"]),
    (EXTRACT_ARGS + ["--sampling", "random"], "--sampling", ["random", "uniform"]),
    (EXTRACT_ARGS + ["--executor", "slurm"], "--executor", ["slurm", "ray"]),
    (EXTRACT_ARGS + ["--device", "gpu0"], "--device", ["gpu0", "cuda"]),
    (EXTRACT_ARGS + ["--device", "cuda", "--decoder", "pyav"], "--decoder", ["cuda"]),
    (COLDSTART_ARGS + ["--temperature", "-1"], "--temperature", ["0"]),
    (COLDSTART_ARGS + ["--top-p", "0"], "--top-p", ["greater than 0"]),
    (COLDSTART_ARGS + ["--top-p", "2"], "--top-p", ["1"]),
    (COLDSTART_ARGS + ["--per-question", "0"], "--per-question", ["1"]),
    (COLDSTART_ARGS + ["--num-samples", "0"], "--num-samples", ["1"]),
    (COLDSTART_ARGS + ["--max-new-tokens", "0"], "--max-new-tokens", ["1"]),
    (COLDSTART_ARGS + ["--batch-size", "0"], "--batch-size", ["1"]),
    (COLDSTART_ARGS + ["--target-think-chars", "-1"], "--target-think-chars", ["0"]),
    (COLDSTART_ARGS + ["--device", "bogus"], "--device", ["bogus", "cuda"]),
    (COLDSTART_ARGS + ["--dtype", "int3"], "--dtype", ["int3", "bfloat16"]),
    (COLDSTART_ARGS + ["--backend", "tgi"], "--backend", ["tgi", "openai"]),
    (COLDSTART_ARGS + ["--keep", "worst"], "--keep", ["worst", "best"]),
    (COLDSTART_ARGS + ["--backend", "openai", "--concurrency", "0"], "--concurrency", ["1"]),
    (COLDSTART_ARGS + ["--backend", "openai", "--base-url", "localhost:8000"], "--base-url", ["localhost:8000"]),
    (COLDSTART_ARGS + ["--model", ""], "--model", ["1 character"]),
    (["export", "in", "--to", "tensorflow", "-o", "{out}"], "--to", ["tensorflow", "verl"]),
    (["publish", "{out}", "--repo-id", "no-slash"], "--repo-id", ["no-slash"]),
    (["report", "{out}", "--frames", "0"], "--frames", ["1"]),
    (["report", "{out}", "--videos", "-1"], "--videos", ["0"]),
    (["demo", "-o", "{out}", "--videos", "0"], "--videos", ["1"]),
    (["demo", "-o", "{out}", "--videos", "-3"], "--videos", ["1"]),
    (["verify", "{out}", "--videos", "0"], "--videos", ["1"]),
    (["verify", "{out}", "--sample", "-1"], "--sample", ["0"]),
    (["decontaminate", "train", "--against", "b.json", "-o", "{out}", "--threshold", "65"], "--threshold", ["64"]),
    (["decontaminate", "train", "--against", "b.json", "-o", "{out}", "--min-fraction", "0"], "--min-fraction", ["0"]),
    (["decontaminate", "train", "--against", "b.json", "-o", "{out}", "--bench-fps", "nan"], "--bench-fps", ["finite"]),
    (["decontaminate", "train", "--against", "b.json", "-o", "{out}", "--num-perm", "8"], "--num-perm", ["16"]),
    (["dedup", "a", "b", "-o", "{out}", "--bands", "9"], "--bands", ["8"]),
    (["dedup", "a", "-o", "{out}"], "INPUTS", ["2"]),
]


@pytest.mark.parametrize(("args", "option", "words"), CASES, ids=[" ".join(c[0][4:]) or c[0][0] for c in CASES])
def test_a_bad_option_value_is_one_line_naming_the_option_and_nothing_is_written(tmp_path, args, option, words):
    out, root = tmp_path / "out", tmp_path / "videos"
    root.mkdir()
    argv = [a.format(out=out, root=root) for a in args]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"curate: error: {option}"), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "internal error" not in lines[0] and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["videos"]  # checked before any work: nothing made


def test_a_valid_edge_value_is_accepted(tmp_path):
    """The bounds are not off by one: the smallest allowed values build a config."""
    config = EXTRACT.build(
        {
            "input": tmp_path,
            "video_root": tmp_path,
            "output": tmp_path / "o",
            "num_frames": 1,
            "min_frames": 1,
            "max_frames": 1,
            "jpeg_quality": 100,
            "fps": 1e-9,
            "workers": 1,
        }
    )
    assert config.shaping.sampling.num_frames == 1 and config.shaping.jpeg_quality == 100
    coldstart = COLDSTART.build({"input": tmp_path, "output": tmp_path, "model": "m", "top_p": 1, "temperature": 0})
    assert coldstart.sampling.top_p == 1 and coldstart.sampling.temperature == 0
    assert not math.isnan(FILTER.build({"inputs": [tmp_path], "output": tmp_path, "min_pass_rate": 0}).min_pass_rate)


# ------------------------------------------------------------------------------------------- recipes


def write_recipe(tmp_path, frames_options: str) -> str:
    path = tmp_path / "recipe.yaml"
    path.write_text(
        "stages:\n"
        "  - {name: filter, stage: filter, options: {inputs: [in.json], output: out/filter}}\n"
        f"  - {{name: frames, stage: extract-frames, options: {{video-root: videos, output: out/frames, "
        f"{frames_options}}}}}\n",
        encoding="utf-8",
    )
    return str(path)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ("fps: 0", ["--fps", "greater than 0"]),
        ("num-frames: 0", ["--num-frames", "1"]),  # an explicit 0 is refused, not turned into the default
        ("jpeg-quality: 101", ["--jpeg-quality", "100"]),
        ("decoder: bogus", ["--decoder", "bogus"]),
        ("workers: -1", ["--workers"]),
        ("num-frames: many", ["--num-frames", "many"]),
    ],
)
def test_a_recipe_is_checked_against_the_configs_before_any_step_runs(tmp_path, options, words):
    recipe = write_recipe(tmp_path, options)
    result = CliRunner().invoke(app, ["run", recipe])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert recipe in lines[0] and "'frames'" in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (tmp_path / "out").exists()  # the filter step before it did not run either


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", ["UTF-8"]),
        ("stages:\n  - {stage: filter, options: {output: d\xe9j\xe0}}\n".encode("latin-1"), ["UTF-8", "byte"]),
        (b"stages: [\x00]\n", ["YAML"]),
    ],
    ids=["binary", "latin-1", "nul"],
)
def test_a_recipe_that_is_not_utf8_yaml_is_one_line(tmp_path, content, words):
    path = tmp_path / "recipe.yaml"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0], result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


# ------------------------------------------------------------------------------- recorded command lines


def test_the_manifest_records_a_command_line_that_rebuilds_the_same_run(tmp_path):
    """The manifest's ``command`` (quoted by the dataset card) is exact: run again, it finds the folder
    finished by the same config (a no-op), and its ``options`` are the resolved values."""
    import json
    import shlex
    from pathlib import Path

    samples = Path(__file__).resolve().parents[1] / "curate" / "samples"
    out = tmp_path / "out dir"  # a space: the command is shell-quoted
    argv = ["filter", str(samples / "nextqa_val.csv"), "-o", str(out), "--limit", "3", "--shuffle-options", "7"]
    assert CliRunner().invoke(app, argv).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    command = shlex.split(manifest["command"])
    assert command[:2] == ["curate", "filter"] and "--limit" in command and "--no-probe" not in command
    assert manifest["options"]["limit"] == 3 and manifest["options"]["shuffle_options"] == 7
    assert manifest["options"]["format"] == "auto"  # defaults are recorded too
    again = CliRunner().invoke(app, [*command[1:], "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["skipped"] is True
