"""The ``curate`` command line: a thin Typer layer; each command parses options and calls a stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from curate import __version__
from curate.console import emit, progress, stderr, user_errors
from curate.formats import FORMATS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Curate Video-QA data for GRPO training of small video reasoning models.",
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as one JSON line on stdout.")]


def _version(value: bool) -> None:
    if value:
        print(f"videoqa-rl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    """videoqa-rl curation stages."""


@app.command("filter")
def filter_command(
    inputs: Annotated[list[Path], typer.Argument(help="Annotation files in their published formats.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")] = "auto",
    video_root: Annotated[Path | None, typer.Option(help="Folder the video paths are relative to.")] = None,
    nextqa_map: Annotated[Path | None, typer.Option(help="NExT-QA map_vid_vidorID.json.")] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="FIELD=COLUMN for --format generic (repeatable).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Source name for --format generic.")] = None,
    min_duration: Annotated[float | None, typer.Option(help="Drop videos shorter than this (s).")] = None,
    max_duration: Annotated[float | None, typer.Option(help="Drop videos longer than this (s).")] = None,
    probe: Annotated[bool, typer.Option(help="Probe videos whose duration is unknown.")] = False,
    check_videos: Annotated[bool, typer.Option(help="Check every video exists and decodes.")] = False,
    workers: Annotated[int | None, typer.Option(help="Parallel video probes (default: CPU count).")] = None,
    include_subset: Annotated[list[str] | None, typer.Option(help="Keep subsets matching this glob.")] = None,
    exclude_subset: Annotated[list[str] | None, typer.Option(help="Drop subsets matching this glob.")] = None,
    limit: Annotated[int | None, typer.Option(help="Keep the first N items.")] = None,
    sample: Annotated[int | None, typer.Option(help="Keep N items drawn at random (see --seed).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample.")] = 0,
    shuffle_options: Annotated[
        int | None, typer.Option(metavar="SEED", help="Permute options per item to debias answer letters.")
    ] = None,
    passrate: Annotated[Path | None, typer.Option(help="passrate.parquet from curate coldstart.")] = None,
    min_pass_rate: Annotated[float | None, typer.Option(help="Keep questions with pass rate >= this.")] = None,
    max_pass_rate: Annotated[float | None, typer.Option(help="Keep questions with pass rate <= this.")] = None,
    force: Annotated[bool, typer.Option(help="Rerun even if the output is complete.")] = False,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Read Video-QA annotations and write one clean multiple-choice table (mcq.parquet)."""
    from curate.filter import FilterConfig, run

    with user_errors():
        config = FilterConfig(
            inputs=list(inputs),
            output=output,
            format=fmt,
            video_root=video_root,
            nextqa_map=nextqa_map,
            mapping=mapping or [],
            source=source,
            min_duration=min_duration,
            max_duration=max_duration,
            probe=probe,
            check_videos=check_videos,
            workers=workers,
            include_subset=include_subset or [],
            exclude_subset=exclude_subset or [],
            limit=limit,
            sample=sample,
            seed=seed,
            shuffle_options=shuffle_options,
            passrate=passrate,
            min_pass_rate=min_pass_rate,
            max_pass_rate=max_pass_rate,
            force=force,
        )
        with progress("probing videos", quiet or as_json) as bar:
            result = run(config, progress=bar)
        lines = [f"{path}: format {name}" for path, name in result.formats.items()]
        if result.skipped:
            lines.append(f"{output}: already complete for this config and input (use --force to redo)")
        lines.append(f"read {result.read}, kept {result.kept}, rejected {result.rejected} → {output / 'mcq.parquet'}")
        reasons = result.stats.get("reasons", {})
        if reasons:
            lines.append("rejects: " + ", ".join(f"{k} {v}" for k, v in reasons.items()))
        summary = {
            "output": str(output),
            "read": result.read,
            "kept": result.kept,
            "rejected": result.rejected,
            "skipped": result.skipped,
            "formats": result.formats,
            "reasons": reasons,
        }
        emit(summary, as_json, quiet, lines)


@app.command("export")
def export_command(
    directory: Annotated[Path, typer.Argument(help="A folder holding mcq.parquet (or the file).")],
    to: Annotated[
        str,
        typer.Option(
            "--to", help="tinyllava, video-r1, verl, easyr1, swift, openrlhf, trl, llava; trl-sft/llava for coldstart."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    instruction: Annotated[str | None, typer.Option(help="Instruction appended to the question ('' for none).")] = None,
    video_root: Annotated[str | None, typer.Option(help="Prefix for the video paths written.")] = None,
    stored_frames: Annotated[
        bool, typer.Option(help="From an extract-frames folder: hand the trainer the stored frames, not the mp4.")
    ] = True,
    frames_dir: Annotated[
        Path | None, typer.Option(help="Where the frame files go (default: OUTPUT's stem + _frames/).")
    ] = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Write the multiple-choice table in a trainer's input format."""
    from curate.export import export

    with user_errors():
        rows = export(
            directory,
            to,
            output,
            instruction=instruction,
            video_root=video_root,
            stored_frames=stored_frames,
            frames_dir=frames_dir,
        )
        emit(
            {"output": str(output), "to": to, "rows": rows}, as_json, quiet, [f"wrote {rows} rows for {to} → {output}"]
        )


@app.command("extract-frames")
def extract_frames_command(
    mcq_dir: Annotated[Path, typer.Argument(help="Output folder of curate filter (or its mcq.parquet).")],
    video_root: Annotated[Path, typer.Option(help="Folder the video paths are relative to.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    num_frames: Annotated[int, typer.Option(help="Frames per video (uniform sampling).")] = 16,
    sampling: Annotated[str, typer.Option(help="uniform or fps.")] = "uniform",
    fps: Annotated[float, typer.Option(help="Frames per second of video (--sampling fps).")] = 2.0,
    min_frames: Annotated[int, typer.Option(help="At least this many frames (--sampling fps).")] = 4,
    max_frames: Annotated[int, typer.Option(help="At most this many frames (--sampling fps).")] = 768,
    size: Annotated[int, typer.Option(help="Target size in pixels.")] = 384,
    resize: Annotated[str, typer.Option(help="square, short-side, pad or none.")] = "square",
    max_pixels: Annotated[int | None, typer.Option(help="Scale frames down to at most this many pixels.")] = None,
    encoding: Annotated[str, typer.Option(help="jpeg, png or raw.")] = "jpeg",
    jpeg_quality: Annotated[int, typer.Option(help="JPEG quality.")] = 90,
    decoder: Annotated[str, typer.Option(help="auto, decord, pyav or ffmpeg.")] = "auto",
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: CPU count).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds allowed per video.")] = 120.0,
    executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
    shard_rows: Annotated[int, typer.Option(help="Videos per shard (shards also close at 256 MB).")] = 512,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Decode each distinct video once into Parquet frame shards trainers stream."""
    from curate.frames.extract import ExtractConfig, run
    from curate.frames.sampling import Sampling
    from curate.frames.work import Shaping

    with user_errors():
        shaping = Shaping(
            sampling=Sampling(sampling, num_frames, fps, min_frames, max_frames),
            size=size,
            resize=resize,
            max_pixels=max_pixels,
            encoding=encoding,
            jpeg_quality=jpeg_quality,
            decoder=decoder,
        )
        config = ExtractConfig(
            mcq_dir=mcq_dir,
            video_root=video_root,
            output=output,
            shaping=shaping,
            workers=workers,
            timeout=timeout,
            executor=executor,
            shard_rows=shard_rows,
        )
        with progress("decoding videos", quiet or as_json) as bar:
            result = run(config, progress=bar)
        summary = {"output": str(output), **{k: v for k, v in vars(result).items() if k != "output"}}
        lines = [
            f"videos {result.videos}: decoded {result.decoded}, rejected {result.rejected_videos}"
            + (f" ({result.skipped} done by an earlier run)" if result.skipped else ""),
            f"questions {result.questions}: kept {result.kept}, rejected {result.rejected} → {output / 'mcq.parquet'}",
        ]
        emit(summary, as_json, quiet, lines)


@app.command("coldstart")
def coldstart_command(
    frames_dir: Annotated[Path, typer.Argument(help="extract-frames output (or a filter output with --video-root).")],
    model: Annotated[str, typer.Option(help="Model path, Hub id, or the endpoint's model name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder.")],
    backend: Annotated[str, typer.Option(help="hf, vllm or openai.")] = "hf",
    template: Annotated[str, typer.Option(help="tinyllava-r1, video-r1, or a Jinja file.")] = "tinyllava-r1",
    blind: Annotated[bool, typer.Option(help="Prompt without frames (finds questions answerable blind).")] = False,
    num_samples: Annotated[int, typer.Option(help="Completions per question (K).")] = 8,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 1.0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling.")] = 1.0,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens per completion at most.")] = 1024,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Questions per generate call.")] = 4,
    keep: Annotated[str, typer.Option(help="best or all-correct.")] = "best",
    per_question: Annotated[int | None, typer.Option(help="Exemplars per question (best: 1).")] = None,
    target_think_chars: Annotated[int, typer.Option(help="Tie-break: think length closest to this.")] = 600,
    video_root: Annotated[Path | None, typer.Option(help="Decode videos on the fly from here.")] = None,
    num_frames: Annotated[int, typer.Option(help="Frames per video with --video-root.")] = 16,
    size: Annotated[int, typer.Option(help="Frame size with --video-root.")] = 384,
    device: Annotated[str | None, typer.Option(help="hf: cuda, cuda:1, cpu … (default: cuda if any).")] = None,
    dtype: Annotated[str | None, typer.Option(help="hf: bfloat16, float16, float32.")] = None,
    trust_remote_code: Annotated[bool, typer.Option(help="hf: run the model's own code.")] = False,
    revision: Annotated[str | None, typer.Option(help="hf: model revision (branch, tag or commit).")] = None,
    base_url: Annotated[str, typer.Option(help="openai: endpoint base URL.")] = "http://127.0.0.1:8000/v1",
    api_key_env: Annotated[str, typer.Option(help="openai: environment variable holding the key.")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="openai: requests in flight.")] = 8,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Sample reasoning from a model, keep what the rewards verify, write SFT data and pass rates."""
    from curate.coldstart.backends import SamplingParams
    from curate.coldstart.stage import ColdstartConfig, run
    from curate.frames.sampling import Sampling
    from curate.frames.work import Shaping

    with user_errors():
        if backend in ("hf", "vllm"):
            options = {"device": device, "dtype": dtype, "trust_remote_code": trust_remote_code, "revision": revision}
        else:
            options = {"base_url": base_url, "api_key_env": api_key_env, "concurrency": concurrency}
            batch_size = max(batch_size, concurrency)  # one batch per generate call: fill the concurrency
        config = ColdstartConfig(
            input=frames_dir,
            output=output,
            model=model,
            backend=backend,
            backend_options=options,
            template=template,
            blind=blind,
            sampling=SamplingParams(num_samples, temperature, top_p, max_new_tokens, seed),
            batch_size=batch_size,
            keep=keep,
            per_question=per_question,
            target_think_chars=target_think_chars,
            video_root=video_root,
            shaping=Shaping(sampling=Sampling(num_frames=num_frames), size=size),
        )
        with progress("sampling", quiet or as_json) as bar:
            result = run(config, progress=bar)
        rate = result.run["throughput"]
        lines = [
            f"questions {result.questions}: sampled {result.sampled}"
            + (f" ({result.skipped} done by an earlier run)" if result.skipped else "")
            + f", exemplars {result.exemplars} → {output}",
            f"{rate['questions_per_s']} questions/s, {rate['generated_tokens_per_s']} generated tokens/s",
        ]
        emit({"output": str(output), **result.run["counts"], **rate}, as_json, quiet, lines)


@app.command("demo")
def demo_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the demo writes.")] = Path("out/demo"),
    videos: Annotated[int, typer.Option(help="Synthetic videos to make.")] = 8,
    coldstart: Annotated[bool, typer.Option(help="Sample with a tiny model on CPU (or --model).")] = True,
    model: Annotated[str | None, typer.Option(help="A real model for coldstart (default: a tiny random one).")] = None,
    as_json: Json = False,
) -> None:
    """Run filter → extract-frames → rewards → coldstart on an embedded synthetic sample."""
    from rich.table import Table

    from curate.demo import run_demo

    with user_errors():
        summary = run_demo(output, videos, coldstart, model)
    if as_json:
        print(json.dumps(summary))
        return
    table = Table(title=f"videoqa-rl demo → {output}")
    table.add_column("stage")
    table.add_column("result")
    for stage, values in summary.items():
        table.add_row(stage, ", ".join(f"{k} {v}" for k, v in values.items()))
    stderr.print(table)
    stderr.print(f"outputs: {output}/filter, {output}/frames, {output}/coldstart")


@app.command("run")
def run_command(
    recipe: Annotated[Path, typer.Argument(help="A recipe YAML (see recipes/).")],
    executor: Annotated[str | None, typer.Option(help="local or ray, for extract-frames.")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First step (name or stage).")] = None,
    until: Annotated[str | None, typer.Option(help="Last step (name or stage).")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE for a var, or STEP.OPTION=VALUE.")
    ] = None,
    base_dir: Annotated[
        Path | None, typer.Option(help="Relative paths resolve here (default: current folder).")
    ] = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Run a recipe: filter → extract-frames → coldstart → export → publish, skipping steps already done."""
    from pipelines.recipe import run_recipe  # the recipe runner composes stages (pipelines → curate)

    with user_errors():
        with progress("running", quiet or as_json) as bar:
            results = run_recipe(
                recipe,
                executor=executor,
                start=start,
                until=until,
                overrides=overrides or [],
                base_dir=base_dir or Path.cwd(),
                progress=bar,
                on_step=None if quiet or as_json else lambda s: stderr.print(f"step {s.name} ({s.stage}) → {s.output}"),
            )
        lines = [f"{r.name}: {r.status}" for r in results]
        emit(
            {
                "steps": [
                    {"name": r.name, "stage": r.stage, "status": r.status, "output": str(r.output)} for r in results
                ]
            },
            as_json,
            quiet,
            lines,
        )


@app.command("publish")
def publish_command(
    directory: Annotated[Path, typer.Argument(help="An output folder of curate filter, extract-frames or coldstart.")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Hub dataset repository, OWNER/NAME.")],
    private: Annotated[bool, typer.Option("--private/--public", help="Repository visibility (new repos).")] = True,
    revision: Annotated[str | None, typer.Option(help="Branch to push to (created if missing).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the file plan and the card; touch no network.")] = False,
    license: Annotated[str | None, typer.Option("--license", help="License id for the card, e.g. cc-by-4.0.")] = None,
    citation: Annotated[str | None, typer.Option(help="BibTeX text, or a file holding it.")] = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Turn an output folder into a 🤗 Hub dataset repository (data/<config>/…, README.md card)."""
    from curate.publish import publish

    with user_errors():
        result = publish(
            directory, repo_id, private=private, revision=revision, dry_run=dry_run, license=license, citation=citation
        )
        if not dry_run:
            summary = {
                "repo_id": repo_id,
                "url": result.url,
                "revision": revision,
                "private": private,
                "files": len(result.plan.files) + 1,
                "configs": list(result.plan.configs),
            }
            emit(summary, as_json, quiet, [f"published {directory} → {result.url}", result.plan.describe()])


@app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="An output folder of any stage.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="HTML file (default DIR/report.html).")] = None,
    videos: Annotated[int, typer.Option(help="Videos in the contact sheet.")] = 4,
    frames: Annotated[int, typer.Option(help="Frames per video in the contact sheet.")] = 8,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Write a self-contained HTML report with plots and a contact sheet of frames."""
    from curate.report import report

    with user_errors():
        path = report(directory, output, videos=videos, frames_per_video=frames)
        emit({"report": str(path)}, as_json, quiet, [f"report → {path}"])


@app.command("verify")
def verify_command(
    directory: Annotated[Path, typer.Argument(help="An output folder with a manifest.json.")],
    sample: Annotated[int, typer.Option(help="Rows per shard whose frames are decoded.")] = 8,
    decode: Annotated[
        bool, typer.Option("--decode", help="Also re-decode videos and compare their frames with the stored ones.")
    ] = False,
    videos: Annotated[int, typer.Option(help="Videos re-decoded with --decode (spread over the shards).")] = 4,
    video_root: Annotated[
        Path | None, typer.Option(help="Where the videos are for --decode (default: the manifest's).")
    ] = None,
    quiet: Quiet = False,
    as_json: Json = False,
) -> None:
    """Check an output folder against its manifest (and with --decode, against its videos); exit 1 on any
    mismatch."""
    from curate.frames.verify import verify

    with user_errors():
        result = verify(directory, sample, decode=decode, videos=videos, video_root=video_root)
        summary = {
            "directory": str(directory),
            "ok": result.ok,
            "files": result.files,
            "rows": result.rows,
            "frames_decoded": result.frames_decoded,
            "videos_decoded": result.videos_decoded,
            "problems": result.problems,
        }
        checked = f", {result.videos_decoded} videos re-decoded" if decode else ""
        lines = result.problems + [
            f"{'ok' if result.ok else 'FAILED'}: {result.files} files, {result.rows} rows, "
            f"{result.frames_decoded} frames decoded{checked}"
        ]
        emit(summary, as_json, quiet and result.ok, lines)
    if not result.ok:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
