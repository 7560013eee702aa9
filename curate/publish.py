"""``curate publish``: turn an output folder of any stage into a 🤗 Hub dataset repository.

The folder is first staged locally (``DIR/_publish`` unless told otherwise), files hard-linked where the
file system allows and copied where it does not, never rewritten:

- ``data/<config>/…`` — one config per table found: ``mcq`` (``mcq.parquet``), ``frames``
  (``frames/part-*.parquet``, the shards as written), ``exemplars`` and ``passrate`` (``curate
  coldstart``); each config has one ``train`` split;
- ``meta/…`` — the provenance next to the tables: ``manifest.json``, ``stats.json``, ``run.json``,
  ``rejects.parquet`` (whichever exist);
- ``README.md`` — a dataset card generated from the data (front matter through huggingface_hub's
  ``DatasetCardData``/``DatasetCard``, body from the jinja2 template ``curate/templates/card.md.j2``): ``configs``
  (``data_files`` per config) and ``dataset_info`` features (``frames`` as a list of Images, so
  ``datasets`` decodes them), license and citation from the options, counts per source/subset, the
  answer-letter histogram, the frame sampling config, the ``curate`` commands that made the data
  (rebuilt from the manifests) and how to load it.

Then the staged folder is uploaded with huggingface_hub: ``create_repo`` (``exist_ok``), ``create_branch``
for ``--revision``, and ``upload_large_folder`` (resumable: rerun the same command after an interruption)
or, on huggingface_hub versions where that was folded into it, ``upload_folder`` (also resumable there).
The token comes from ``HF_TOKEN`` or the cached login (``hf auth login``) and is never printed.
``dry_run`` plans only (the result holds the file plan and the card; the CLI prints them) and touches
neither the network nor the staging folder. A table that is not Parquet, or lacks the columns the card
reads, is a one-line error naming the file (:mod:`curate.output_tables`).
A publish holds the staging folder's lock (:mod:`curate.lock`) while it stages and uploads: a second
publish through the same staging folder is refused at once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curate.errors import UserError
from curate.extras import require
from curate.lock import output_lock
from curate.options import Surface, config, option
from curate.output_tables import open_table, read_table
from curate.templates import render
from schemas.atomic import atomic_path

CONFIGS = ("mcq", "frames", "exemplars", "passrate")
META_FILES = ("manifest.json", "stats.json", "run.json", "rejects.parquet")
STAGING = "_publish"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHECKS = (("ids", "video ids"), ("content", "video content"), ("questions", "questions"))  # decontaminate's


@dataclass
class PlannedFile:
    source: Path
    path_in_repo: str
    bytes: int
    rows: int | None = None


@dataclass
class Plan:
    directory: Path
    configs: dict[str, list[str]]  # config name -> its files in the repository
    files: list[PlannedFile]
    card: str

    def describe(self) -> str:
        """The file plan, one line per file, for ``--dry-run`` and logs."""
        lines = [f"{len(self.files) + 1} files, {sum(f.bytes for f in self.files):,} bytes of data:"]
        for f in self.files:
            rows = f"{f.rows:>10,} rows" if f.rows is not None else " " * 15
            lines.append(f"  {f.path_in_repo:<48} {rows} {f.bytes:>14,} bytes  ← {f.source}")
        lines.append(f"  {'README.md':<48} {'':15} {len(self.card.encode()):>14,} bytes  (generated)")
        return "\n".join(lines)


@dataclass
class PublishResult:
    repo_id: str
    private: bool
    revision: str | None
    dry_run: bool
    plan: Plan
    staging: Path | None = None
    url: str | None = None
    calls: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.url or f"https://huggingface.co/datasets/{self.repo_id}"

    def lines(self) -> list[str]:
        """What the CLI shows: for a dry run the destination, the file plan and the card; else the URL
        and the plan."""
        if not self.dry_run:
            return [f"published {self.plan.directory} → {self.target}", self.plan.describe()]
        visibility = "private" if self.private else "public"
        branch = f", branch {self.revision}" if self.revision else ""
        return [
            f"would publish {self.plan.directory} to {self.target} ({visibility}{branch})",
            self.plan.describe(),
            "README.md:\n" + self.plan.card,
        ]

    def summary(self) -> dict:
        """The result as JSON-ready values (``--json``); a dry run adds each planned file and the card."""
        out = {
            "repo_id": self.repo_id,
            "url": self.target,
            "revision": self.revision,
            "private": self.private,
            "dry_run": self.dry_run,
            "files": len(self.plan.files) + 1,
            "configs": list(self.plan.configs),
        }
        if self.dry_run:
            out["plan"] = [
                {"path_in_repo": f.path_in_repo, "source": str(f.source), "bytes": f.bytes, "rows": f.rows}
                for f in self.plan.files
            ]
            out["card"] = self.plan.card
        return out


# ------------------------------------------------------------------------------------------------ planning


def _sources(directory: Path) -> dict[str, list[Path]]:
    found = {
        "mcq": [directory / "mcq.parquet"],
        "frames": sorted((directory / "frames").glob("part-*.parquet")),
        "exemplars": [directory / "exemplars.parquet"],
        "passrate": [directory / "passrate.parquet"],
    }
    return {name: [p for p in paths if p.is_file()] for name, paths in found.items() if any(p.is_file() for p in paths)}


def _load_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def plan(
    directory: str | os.PathLike,
    repo_id: str = "OWNER/NAME",
    license: str | None = None,  # noqa: A002 - the card field's name
    citation: str | None = None,
) -> Plan:
    """What would be uploaded from ``directory`` and the card; reads only, writes nothing."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such folder")
    sources = _sources(directory)
    if not sources:
        raise UserError(
            f"{directory}: nothing to publish (no mcq.parquet, frames/part-*.parquet, exemplars.parquet or "
            "passrate.parquet; give an output folder of curate filter, extract-frames or coldstart)"
        )
    files: list[PlannedFile] = []
    configs: dict[str, list[str]] = {}
    for name in CONFIGS:
        for path in sources.get(name, []):
            target = f"data/{name}/{path.name}"
            configs.setdefault(name, []).append(target)
            rows = open_table(path, name).metadata.num_rows  # a garbage or wrong-shaped table: one-line error
            files.append(PlannedFile(path, target, path.stat().st_size, rows))
    for meta in META_FILES:
        path = directory / meta
        if path.is_file():
            rows = open_table(path, "rejects").metadata.num_rows if path.suffix == ".parquet" else None
            files.append(PlannedFile(path, f"meta/{meta}", path.stat().st_size, rows))
    card = build_card(directory, sources, configs, repo_id, license, _citation(citation))
    return Plan(directory, configs, files, card)


def _citation(citation: str | None) -> str | None:
    if citation and len(citation) < 4096 and "\n" not in citation and Path(citation).is_file():
        return Path(citation).read_text(encoding="utf-8").strip()
    return citation.strip() if citation else None


# ------------------------------------------------------------------------------------------------ the card


def _features(paths: list[Path], images: bool) -> list:
    datasets = require("publish", "datasets")
    features = datasets.Features.from_arrow_schema(pq.read_schema(paths[0]))  # checked by plan()
    if images and "frames" in features:
        features["frames"] = datasets.List(datasets.Image())
    return datasets.DatasetInfo(features=features)._to_yaml_dict()["features"]


def _frame_encodings(paths: list[Path]) -> set[str]:
    encodings: set[str] = set()
    for path in paths:
        encodings.update(read_table(path, "frames", ["encoding"]).column("encoding").unique().to_pylist())
    return encodings


def _card_data(sources, configs, license):  # noqa: A002
    """The card's YAML front matter as huggingface_hub's ``DatasetCardData``: license, task categories,
    tags, ``configs`` (``data_files`` per config) and ``dataset_info`` (features and row counts)."""
    huggingface_hub = require("publish", "huggingface_hub")
    infos = []
    for name in configs:
        images = name == "frames" and (_frame_encodings(sources[name]) <= {"jpeg", "png"})
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in sources[name])
        infos.append(
            {
                "config_name": name,
                "features": _features(sources[name], images),
                "splits": [{"name": "train", "num_examples": rows}],
            }
        )
    return huggingface_hub.DatasetCardData(
        license=license or None,
        task_categories=["video-text-to-text", "visual-question-answering"],
        tags=["video", "multiple-choice", "grpo", "videoqa-rl"],
        configs=[
            {"config_name": name, "data_files": [{"split": "train", "path": f"data/{name}/*.parquet"}]}
            for name in configs
        ],
        dataset_info=infos,
    )


def _questions(sources: dict[str, list[Path]]) -> dict | None:
    """Counts of the question table (``mcq``, else ``exemplars``) for the card: per source and subset,
    answer letters (share = count / questions with an answer), options per question."""
    import polars as pl

    name = next((n for n in ("mcq", "exemplars") if n in sources), None)
    if name is None:
        return None
    frame = pl.from_arrow(read_table(sources[name][0], name, ["source", "subset", "answer", "options"]))
    if "subset" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("subset"))
    answers = frame.select(pl.col("answer").drop_nulls()).group_by("answer").len().sort("answer").rows()
    total = max(sum(n for _, n in answers), 1)
    options = frame.select(pl.col("options").list.len().alias("n")).group_by("n").len().sort("n")
    return {
        "name": name,
        "rows": frame.height,
        "by_source": frame.group_by(["source", "subset"]).len().sort(["source", "subset"], nulls_last=True).rows(),
        "letters": [[_letter(a), n, f"{n / total:.1%}"] for a, n in answers],
        "options": options.rows(),
    }


def _decontamination(directory: Path, manifest: dict | None) -> dict | None:
    """For a ``curate decontaminate`` or ``curate dedup`` folder, the counts its ``stats.json`` holds: read, kept,
    rejected, and rows per benchmark and match kind (decontaminate) or per input (dedup)."""
    stage_name = (manifest or {}).get("stage")
    stats = _load_json(directory / "stats.json") if stage_name in ("decontaminate", "dedup") else None
    if not isinstance(stats, dict):
        return None
    by_benchmark = stats.get("by_benchmark") or {}
    kinds = sorted({how for counts in by_benchmark.values() for how in counts})
    options = (manifest or {}).get("options") or {}
    return {
        "stage": stage_name,
        "read": stats.get("read"),
        "kept": stats.get("kept"),
        "rejected": stats.get("rejected"),
        "matched": stats.get("matched_rows"),
        "report_only": bool(options.get("report_only")),
        "checks": [name for key, name in CHECKS if options.get(key, True)],
        "header": ["benchmark", *kinds, "rows"],
        "rows": [[b, *(c.get(k, 0) for k in kinds), sum(c.values())] for b, c in sorted(by_benchmark.items())],
        "reasons": sorted((stats.get("reasons") or {}).items()),
        "by_input": sorted((stats.get("rejected_by_input") or {}).items()),
    }


def _letter(answer: int) -> str:
    return LETTERS[answer] if 0 <= answer < len(LETTERS) else str(answer)


def _passrate(sources: dict[str, list[Path]]) -> dict | None:
    import polars as pl

    if "passrate" not in sources:
        return None
    rates = pl.concat([pl.from_arrow(read_table(p, "passrate", ["pass_rate"])) for p in sources["passrate"]])
    histogram = rates.group_by(pl.col("pass_rate").round(3)).len().sort("pass_rate").rows()
    return {"rows": rates.height, "histogram": histogram}


def _frames(sources: dict[str, list[Path]], manifest: dict | None) -> dict | None:
    if "frames" not in sources:
        return None
    config = (manifest or {}).get("config", {}) if (manifest or {}).get("stage") == "extract-frames" else {}
    shown = None
    if config:
        keys = ("sampling", "size", "resize", "max_pixels", "encoding", "jpeg_quality", "decoder")
        shown = json.dumps({k: config.get(k) for k in keys}, indent=2)
    return {
        "videos": sum(open_table(p, "frames").metadata.num_rows for p in sources["frames"]),
        "shards": len(sources["frames"]),
        "bytes": sum(p.stat().st_size for p in sources["frames"]),
        "config": shown,
    }


def commands(directory: Path, depth: int = 0) -> list[str]:
    """The ``curate`` commands that made ``directory``, earliest first: the command line each stage's
    manifest recorded (:func:`curate.manifest.write`), following the manifests' inputs back to the
    folders they were made from where those are still there."""
    manifest = _load_json(directory / "manifest.json")
    if not manifest or not manifest.get("command"):
        return []
    earlier: list[str] = []
    for entry in manifest.get("inputs", []):
        source = Path(str(entry.get("path", "")))
        folder = source.parent if source.suffix == ".parquet" else source
        if depth < 4 and (folder / "manifest.json").is_file() and folder.resolve() != directory.resolve():
            earlier += [c for c in commands(folder, depth + 1) if c not in earlier]
    return [*earlier, manifest["command"]]


def build_card(
    directory: Path,
    sources: dict[str, list[Path]],
    configs: dict[str, list[str]],
    repo_id: str,
    license: str | None,  # noqa: A002
    citation: str | None,
) -> str:
    """The README.md dataset card of ``directory``'s data (see the module docstring): the front matter
    from :func:`_card_data`, the body from ``curate/templates/card.md.j2``."""
    huggingface_hub = require("publish", "huggingface_hub")
    manifest = _load_json(directory / "manifest.json")
    run = _load_json(directory / "run.json")
    coldstart = run if run and run.get("stage") == "coldstart" else None
    body = render(
        "card.md.j2",
        "publish",
        name=repo_id.split("/")[-1],
        repo_id=repo_id,
        configs=[(name, len(files)) for name, files in configs.items()],
        questions=_questions(sources),
        passrate=_passrate(sources),
        decontamination=_decontamination(directory, manifest),
        frames=_frames(sources, manifest),
        shaping=json.dumps(run["shaping"], indent=2) if run and run.get("shaping") else None,
        coldstart=json.dumps(
            {k: coldstart.get(k) for k in ("model", "backend", "template", "blind", "sampling", "counts")}, indent=2
        )
        if coldstart
        else None,
        commands=commands(directory),
        version=(manifest or {}).get("version"),
        reader="mcq" in configs and "frames" in configs,
        license=license,
        citation=citation,
    )
    card = huggingface_hub.DatasetCard(f"---\n{_card_data(sources, configs, license).to_yaml()}\n---\n\n{body}")
    return str(card)


# ------------------------------------------------------------------------------------------------ staging


def _place(source: Path, target: Path) -> None:
    """Hard-link ``source`` at ``target`` (copy across file systems); keep a target that already matches."""
    if target.exists():
        same = os.path.samefile(source, target)
        if same or (
            target.stat().st_size == source.stat().st_size and target.stat().st_mtime >= source.stat().st_mtime
        ):
            return
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copy2(source, tmp)
    os.replace(tmp, target)


def lay_out(
    directory: str | os.PathLike,
    staging_dir: str | os.PathLike,
    repo_id: str = "OWNER/NAME",
    license: str | None = None,  # noqa: A002
    citation: str | None = None,
) -> Plan:
    """Lay ``directory`` out as the dataset repository in ``staging_dir`` and write its README.md."""
    result = plan(directory, repo_id, license, citation)
    staging = Path(staging_dir)
    # one writer per staging folder; README.md's temporary from a killed run would be uploaded: remove it
    with output_lock(staging, clean={"": ("README.md",)}):
        wanted = {f.path_in_repo for f in result.files} | {"README.md"}
        for sub in ("data", "meta"):  # also removes a killed run's temporaries there
            for old in sorted((staging / sub).rglob("*")) if (staging / sub).is_dir() else []:
                if old.is_file() and old.relative_to(staging).as_posix() not in wanted:
                    old.unlink()
        for f in result.files:
            _place(f.source, staging / f.path_in_repo)
        with atomic_path(staging / "README.md") as tmp:
            Path(tmp).write_text(result.card, encoding="utf-8")
    return result


# ------------------------------------------------------------------------------------------------ upload


def _hub_api(api: Any) -> tuple[Any, str | None]:
    if api is not None:
        return api, None
    import huggingface_hub

    token = os.environ.get("HF_TOKEN") or huggingface_hub.get_token()
    if not token:
        raise UserError("no Hub token: set HF_TOKEN or log in with `hf auth login`")
    return huggingface_hub.HfApi(token=token), token


def _redact(message: str, token: str | None) -> str:
    """``message`` on one line with the token (ours, and anything shaped like a Hub token) replaced."""
    message = " ".join(message.split()) or "unknown error"
    for secret in {token, os.environ.get("HF_TOKEN")} - {None, ""}:
        message = message.replace(secret, "***")
    return re.sub(r"\bhf_[A-Za-z0-9]{16,}\b", "***", message)


def _upload(api: Any, staging: Path, repo_id: str, private: bool, revision: str | None, calls: list[str]) -> str:
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    calls.append("create_repo")
    if revision:
        api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True)
        calls.append("create_branch")
    if hasattr(api, "upload_large_folder"):
        api.upload_large_folder(
            repo_id=repo_id, folder_path=str(staging), repo_type="dataset", revision=revision, private=private
        )
        calls.append("upload_large_folder")
    else:  # huggingface_hub >= 2: upload_folder is the resumable, multi-commit upload
        api.upload_folder(
            repo_id=repo_id,
            folder_path=str(staging),
            repo_type="dataset",
            revision=revision,
            commit_message="curate publish",
        )
        calls.append("upload_folder")
    return str(getattr(url, "url", url) or f"https://huggingface.co/datasets/{repo_id}")


@config
class PublishConfig:
    """The options of ``curate publish`` (and of a recipe's publish step)."""

    directory: Path = option(help="An output folder of filter, extract-frames, coldstart or decontaminate.")
    repo_id: str = option(help="Hub dataset repository, OWNER/NAME.", pattern=r"^[^/\s]+/[^/\s]+$")
    private: bool = option(True, "Repository visibility (new repos).", flag="--private/--public")
    revision: str | None = option(None, "Branch to push to (created if missing).", min_length=1)
    dry_run: bool = option(False, "Print the file plan and the card (with --json: as JSON); touch no network.")
    license: str | None = option(None, "License id for the card, e.g. cc-by-4.0.", min_length=1)
    citation: str | None = option(None, "BibTeX text, or a file holding it.")
    staging: Path | None = option(None, "Folder the repository is laid out in (default: DIRECTORY/_publish).")


SURFACE = Surface(PublishConfig, {"input": "directory"}, argument="input")


def run(config: PublishConfig, api: Any = None) -> PublishResult:
    """:func:`publish` with the options of ``config``."""
    return publish(
        config.directory,
        config.repo_id,
        config.private,
        config.revision,
        config.dry_run,
        config.license,
        config.citation,
        api,
        staging=config.staging,
    )


def publish(
    directory: str | os.PathLike,
    repo_id: str,
    private: bool = True,
    revision: str | None = None,
    dry_run: bool = False,
    license: str | None = None,  # noqa: A002
    citation: str | None = None,
    api: Any = None,
    *,
    staging: str | os.PathLike | None = None,
) -> PublishResult:
    """Stage ``directory`` as a dataset repository and upload it to ``repo_id`` (see the module docstring).

    ``api`` is an ``HfApi``-like object (tests inject one); by default one is made with the token from
    ``HF_TOKEN`` or the cached login. ``dry_run`` plans and returns (the plan and the card are in the
    result); nothing is printed here: the caller shows :meth:`PublishResult.lines` or ``summary()``.
    """
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UserError(f"--repo-id {repo_id!r}: expected OWNER/NAME")
    directory = Path(directory)
    if dry_run:
        return PublishResult(repo_id, private, revision, True, plan(directory, repo_id, license, citation))
    hub, token = _hub_api(api)
    staging_dir = Path(staging) if staging is not None else directory / STAGING
    with output_lock(staging_dir):  # held while staging and uploading: no other publish re-stages it meanwhile
        result = lay_out(directory, staging_dir, repo_id, license, citation)
        calls: list[str] = []
        try:
            url = _upload(hub, staging_dir, repo_id, private, revision, calls)
        except UserError:
            raise
        except Exception as exc:  # the Hub's errors (HTTP, auth, connection) become one line, tokens redacted
            step = {0: "create_repo", 1: "create_branch" if revision else "upload"}.get(len(calls), "upload")
            raise UserError(f"{repo_id}: {step} failed: {_redact(str(exc), token)} (rerun to resume)") from None
    return PublishResult(repo_id, private, revision, False, result, staging_dir, url, calls)
