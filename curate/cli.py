"""The ``curate`` command line: a thin Typer layer; each command parses options and calls a stage."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from curate import __version__
from curate.console import emit, progress, user_errors
from curate.options import LazyTyper

if TYPE_CHECKING:  # the configs' modules are imported when their command runs (LazyTyper)
    from curate.coldstart.stage import ColdstartConfig
    from curate.decontaminate.config import DecontaminateConfig, DedupConfig
    from curate.demo import DemoConfig
    from curate.export import ExportConfig
    from curate.filter import FilterConfig
    from curate.frames.extract import ExtractConfig
    from curate.frames.verify import VerifyConfig
    from curate.publish import PublishConfig
    from curate.report import ReportConfig

app = LazyTyper(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Curate Video-QA data for GRPO training of small video reasoning models.",
)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as one JSON line on stdout.")]


def parameter(name: str, annotation, default) -> inspect.Parameter:
    """A CLI-only parameter (not a stage option) of a command built from a stage's options."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


OUTPUT_FLAGS = [parameter("quiet", Quiet, False), parameter("as_json", Json, False)]


def _version(value: bool) -> None:
    if value:
        print(f"videoqa-rl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    """videoqa-rl curation stages."""


@app.lazy_command("filter", "curate.filter:SURFACE", OUTPUT_FLAGS)
def filter_command(config: FilterConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Read Video-QA annotations and write one clean multiple-choice table (mcq.parquet)."""
    from curate.filter import run

    output = config.output
    with user_errors():
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


@app.lazy_command("export", "curate.export:SURFACE", OUTPUT_FLAGS)
def export_command(config: ExportConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Write the multiple-choice table in a trainer's input format."""
    from curate.export import run

    with user_errors():
        result = run(config)
        done = " (already up to date)" if result.up_to_date else ""
        summary = {"output": str(result.output), "to": config.to, "rows": result.rows, "up_to_date": result.up_to_date}
        emit(summary, as_json, quiet, [f"wrote {result.rows} rows for {config.to} → {result.output}{done}"])


@app.lazy_command("extract-frames", "curate.frames.extract:SURFACE", OUTPUT_FLAGS)
def extract_frames_command(config: ExtractConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Decode each distinct video once into Parquet frame shards trainers stream."""
    from curate.frames.extract import run

    output = config.output
    with user_errors():
        with progress("decoding videos", quiet or as_json) as bar:
            result = run(config, progress=bar)
        summary = {"output": str(output), **{k: v for k, v in vars(result).items() if k != "output"}}
        lines = [
            f"videos {result.videos}: decoded {result.decoded}"
            + (f" ({', '.join(f'{name} {n}' for name, n in result.decoders.items())})" if result.decoders else "")
            + f", rejected {result.rejected_videos}"
            + (f" ({result.skipped} done by an earlier run)" if result.skipped else "")
            + f"; {result.frames_decoded} frames decoded",
            f"questions {result.questions}: kept {result.kept}, rejected {result.rejected} → {output / 'mcq.parquet'}",
        ]
        emit(summary, as_json, quiet, lines)


@app.lazy_command("coldstart", "curate.coldstart.stage:SURFACE", OUTPUT_FLAGS)
def coldstart_command(config: ColdstartConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Sample reasoning from a model, keep what the rewards verify, write SFT data and pass rates."""
    from curate.coldstart.stage import run

    output = config.output
    with user_errors():
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


@app.lazy_command("demo", "curate.demo:SURFACE", [parameter("as_json", Json, False)])
def demo_command(config: DemoConfig, as_json: bool = False) -> None:
    """Run filter → extract-frames → rewards → coldstart on an embedded synthetic sample."""
    from rich.table import Table

    from curate.console import stderr
    from curate.demo import run

    output = config.output
    with user_errors():
        summary = run(config)
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


@app.lazy_command("run")
def run_command(
    recipe: Annotated[Path, typer.Argument(help="A recipe YAML (see recipes/).")],
    executor: Annotated[
        str | None, typer.Option(help="local or ray: where filter's probing, extract-frames and coldstart run.")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="--executor ray: the cluster to join (auto, HOST:PORT, ray://HOST:10001).")
    ] = None,
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
    from curate.console import stderr
    from curate.recipe import run_recipe

    with user_errors():
        with progress("running", quiet or as_json) as bar:
            results = run_recipe(
                recipe,
                executor=executor,
                address=address,
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


@app.lazy_command("publish", "curate.publish:SURFACE", OUTPUT_FLAGS)
def publish_command(config: PublishConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Turn an output folder into a 🤗 Hub dataset repository (data/<config>/…, README.md card)."""
    from curate.publish import run

    with user_errors():
        result = run(config)
    if config.dry_run and not (as_json or quiet):  # the plan and the card are a dry run's output: stdout, verbatim
        print("\n".join(result.lines()))
    else:
        emit(result.summary(), as_json, quiet, result.lines())


@app.lazy_command("report", "curate.report:SURFACE", OUTPUT_FLAGS)
def report_command(config: ReportConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Write a self-contained HTML report with plots and a contact sheet of frames."""
    from curate.report import run

    with user_errors():
        path = run(config)
        emit({"report": str(path)}, as_json, quiet, [f"report → {path}"])


@app.lazy_command("verify", "curate.frames.verify:SURFACE", OUTPUT_FLAGS)
def verify_command(config: VerifyConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Check an output folder against its manifest (and with --decode, against its videos); exit 1 on any
    mismatch."""
    from curate.frames.verify import run

    with user_errors():
        result = run(config)
        summary = {
            "directory": str(config.directory),
            "ok": result.ok,
            "files": result.files,
            "rows": result.rows,
            "frames_decoded": result.frames_decoded,
            "videos_decoded": result.videos_decoded,
            "problems": result.problems,
        }
        checked = f", {result.videos_decoded} videos re-decoded" if config.decode else ""
        lines = result.problems + [
            f"{'ok' if result.ok else 'FAILED'}: {result.files} files, {result.rows} rows, "
            f"{result.frames_decoded} frames decoded{checked}"
        ]
        emit(summary, as_json, quiet and result.ok, lines)
    if not result.ok:
        raise typer.Exit(1)


@app.lazy_command("decontaminate", "curate.decontaminate.config:DECONTAMINATE", OUTPUT_FLAGS)
def decontaminate_command(config: DecontaminateConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Drop training questions whose video (by id or content) or question is in an evaluation benchmark."""
    from curate.decontaminate.stage import run, summary

    with user_errors():
        with progress("fingerprinting videos", quiet or as_json) as bar:
            result = run(config, progress=bar)
        done = f"{config.output}: already complete for this config and input (use --force to redo)"
        lines = [done] if result.skipped else []
        lines.append(
            f"read {result.read}, kept {result.kept}, rejected {result.rejected} → {config.output / 'mcq.parquet'}"
            + (" (--report-only: matches written, nothing dropped)" if config.report_only else "")
        )
        lines += [f"{bench}: {counts}" for bench, counts in result.stats.get("by_benchmark", {}).items()]
        emit(summary(result), as_json, quiet, lines)


@app.lazy_command("dedup", "curate.decontaminate.config:DEDUP", OUTPUT_FLAGS)
def dedup_command(config: DedupConfig, quiet: bool = False, as_json: bool = False) -> None:
    """Find the same video in several training sources and keep its questions once (from the first source)."""
    from curate.decontaminate.dedup import run

    with user_errors():
        with progress("fingerprinting videos", quiet or as_json) as bar:
            stats = run(config, progress=bar)
        out = config.output / "mcq.parquet"
        lines = [f"read {stats['read']}, kept {stats['kept']}, rejected {stats['rejected']} → {out}"]
        emit({"output": str(config.output), **stats}, as_json, quiet, lines)


def program() -> None:
    """``curate`` as a program (``python -m curate.cli``): run the command, then end the process without the
    interpreter's teardown — freeing the ~1,000 modules a stage loads (pyarrow, pandas, PyAV …) one by one
    took 0.2–1 s of every run, after the outputs were written. What a normal exit does before that still
    happens, in its order: other non-daemon threads are joined, the ``atexit`` handlers run (Ray's
    shutdown, multiprocessing's, logging's), stdout and stderr are flushed."""
    import atexit
    import os
    import threading

    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # what Py_FinalizeEx runs first (the function behind atexit since Python 2)
    if not isinstance(code, int | None):  # sys.exit("message"): printed to stderr, exit status 1
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    program()
