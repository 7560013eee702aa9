"""``curate publish``: turn an output folder of any stage into a 🤗 Hub dataset repository.

The folder is first staged locally (``DIR/_publish`` unless told otherwise), files hard-linked where the
file system allows and copied where it does not, never rewritten:

- ``data/<config>/…`` — one config per table found: ``mcq`` (``mcq.parquet``), ``frames``
  (``frames/part-*.parquet``, the shards as written), ``exemplars`` and ``passrate`` (``curate
  coldstart``); each config has one ``train`` split;
- ``meta/…`` — the provenance next to the tables: ``manifest.json``, ``stats.json``, ``run.json``,
  ``rejects.parquet`` (whichever exist);
- ``README.md`` — a dataset card generated from the data: YAML front matter with ``configs``
  (``data_files`` per config) and ``dataset_info`` features (``frames`` as a list of Images, so
  ``datasets`` decodes them), license and citation from the options, counts per source/subset, the
  answer-letter histogram, the frame sampling config, the ``curate`` commands that made the data
  (rebuilt from the manifests) and how to load it.

Then the staged folder is uploaded with huggingface_hub: ``create_repo`` (``exist_ok``), ``create_branch``
for ``--revision``, and ``upload_large_folder`` (resumable: rerun the same command after an interruption)
or, on huggingface_hub versions where that was folded into it, ``upload_folder`` (also resumable there).
The token comes from ``HF_TOKEN`` or the cached login (``hf auth login``) and is never printed.
``dry_run`` prints the file plan and the card and touches neither the network nor the staging folder.
A publish holds the staging folder's lock (:mod:`curate.lock`) while it stages and uploads: a second
publish through the same staging folder is refused at once.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curate.errors import UserError
from curate.lock import output_lock
from schemas.atomic import atomic_path

CONFIGS = ("mcq", "frames", "exemplars", "passrate")
META_FILES = ("manifest.json", "stats.json", "run.json", "rejects.parquet")
STAGING = "_publish"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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


# ------------------------------------------------------------------------------------------------ planning


def _rows(path: Path) -> int | None:
    return pq.ParquetFile(path).metadata.num_rows if path.suffix == ".parquet" else None


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
            files.append(PlannedFile(path, target, path.stat().st_size, _rows(path)))
    for meta in META_FILES:
        path = directory / meta
        if path.is_file():
            files.append(PlannedFile(path, f"meta/{meta}", path.stat().st_size, _rows(path)))
    card = build_card(directory, sources, configs, repo_id, license, _citation(citation))
    return Plan(directory, configs, files, card)


def _citation(citation: str | None) -> str | None:
    if citation and len(citation) < 4096 and "\n" not in citation and Path(citation).is_file():
        return Path(citation).read_text(encoding="utf-8").strip()
    return citation.strip() if citation else None


# ------------------------------------------------------------------------------------------------ the card


def _features(paths: list[Path], images: bool) -> list:
    import datasets

    features = datasets.Features.from_arrow_schema(pq.read_schema(paths[0]))
    if images and "frames" in features:
        features["frames"] = datasets.List(datasets.Image())
    return datasets.DatasetInfo(features=features)._to_yaml_dict()["features"]


def _frame_encodings(paths: list[Path]) -> set[str]:
    encodings: set[str] = set()
    for path in paths:
        encodings.update(pq.read_table(path, columns=["encoding"]).column("encoding").unique().to_pylist())
    return encodings


def _front_matter(sources, configs, license, citation) -> dict:  # noqa: A002
    front: dict[str, Any] = {}
    if license:
        front["license"] = license
    front["task_categories"] = ["video-text-to-text", "visual-question-answering"]
    front["tags"] = ["video", "multiple-choice", "grpo", "videoqa-rl"]
    front["configs"] = [
        {"config_name": name, "data_files": [{"split": "train", "path": f"data/{name}/*.parquet"}]} for name in configs
    ]
    infos = []
    for name in configs:
        images = name == "frames" and (_frame_encodings(sources[name]) <= {"jpeg", "png"})
        info = {"config_name": name, "features": _features(sources[name], images)}
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in sources[name])
        info["splits"] = [{"name": "train", "num_examples": rows}]
        infos.append(info)
    front["dataset_info"] = infos
    return front


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return out


def _question_table(sources: dict[str, list[Path]]) -> tuple[str, Any] | None:
    import polars as pl

    for name in ("mcq", "exemplars"):
        if name in sources:
            frame = pl.read_parquet(sources[name][0])
            if {"source", "answer"} <= set(frame.columns):
                return name, frame
    return None


def _counts_section(sources: dict[str, list[Path]]) -> list[str]:
    import polars as pl

    lines: list[str] = []
    found = _question_table(sources)
    if found is not None:
        name, frame = found
        if "subset" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias("subset"))
        lines += [f"## Questions (`{name}`: {frame.height:,} rows)", "", "Per source and subset:", ""]
        counts = frame.group_by(["source", "subset"]).len().sort(["source", "subset"], nulls_last=True)
        lines += _table(["source", "subset", "questions"], counts.rows())
        lines += ["", "Answer letters (a skewed histogram teaches a letter prior; see `--shuffle-options`):", ""]
        letters = frame.select(pl.col("answer").drop_nulls()).to_series().to_list()
        hist: dict[str, int] = {}
        for a in sorted(letters):
            letter = LETTERS[a] if 0 <= a < len(LETTERS) else str(a)
            hist[letter] = hist.get(letter, 0) + 1
        total = max(len(letters), 1)
        lines += _table(["letter", "questions", "share"], [[k, v, f"{v / total:.1%}"] for k, v in hist.items()])
        if "options" in frame.columns:
            opts = frame.select(pl.col("options").list.len().alias("n")).group_by("n").len().sort("n")
            lines += ["", "Options per question:", ""]
            lines += _table(["options", "questions"], opts.rows())
        lines.append("")
    if "passrate" in sources:
        rates = pl.concat([pl.read_parquet(p) for p in sources["passrate"]])
        if "pass_rate" in rates.columns:
            hist_rows = rates.group_by(pl.col("pass_rate").round(3)).len().sort("pass_rate").rows()
            lines += [f"## Pass rates (`passrate`: {rates.height:,} questions)", ""]
            lines += _table(["pass rate", "questions"], hist_rows)
            lines.append("")
    return lines


def _frames_section(directory: Path, sources: dict[str, list[Path]], manifest: dict | None, run: dict | None):
    lines: list[str] = []
    if "frames" in sources:
        total = sum(pq.ParquetFile(p).metadata.num_rows for p in sources["frames"])
        size = sum(p.stat().st_size for p in sources["frames"])
        lines += [f"## Frames (`frames`: {total:,} videos in {len(sources['frames'])} shards, {size:,} bytes)", ""]
        config = (manifest or {}).get("config", {}) if (manifest or {}).get("stage") == "extract-frames" else {}
        if config:
            shown = {k: config.get(k) for k in ("sampling", "size", "resize", "max_pixels", "encoding", "jpeg_quality")}
            shown["decoder"] = config.get("decoder")
            lines += ["Frame sampling and encoding:", "", "```json", json.dumps(shown, indent=2), "```", ""]
        lines += [
            "One row per video, keyed by `video_key`; questions (`mcq`) join frames on `video_key`. "
            "`frames` holds the encoded frames as written by `curate extract-frames` (jpeg/png load as a list "
            "of images), with `frame_indices` and `timestamps` (seconds) per frame.",
            "",
        ]
    elif run and run.get("shaping"):
        lines += ["## Frames", "", "Decoded on the fly by `curate coldstart --video-root` with:", ""]
        lines += ["```json", json.dumps(run["shaping"], indent=2), "```", ""]
    return lines


def _opt(name: str, value: Any) -> list[str]:
    return [f"--{name}", str(value)]


def _filter_command(config: dict) -> list[str]:
    from curate.filter import FilterConfig

    defaults = {f.name: f.default for f in fields(FilterConfig) if not isinstance(f.default, type(field()))}
    cmd = ["curate", "filter", *config.get("inputs", []), "--output", str(config.get("output"))]
    for key, value in config.items():
        if key in ("inputs", "output") or value in (None, [], False) or defaults.get(key, None) == value:
            continue
        flag = {"format": "format", "mapping": "map"}.get(key, key.replace("_", "-"))
        if value is True:
            cmd.append(f"--{flag}")
        elif isinstance(value, list):
            for item in value:
                cmd += _opt(flag, item)
        else:
            cmd += _opt(flag, value)
    return cmd


def _extract_command(config: dict, output: Path) -> list[str]:
    mcq = Path(str(config.get("mcq", "MCQ_DIR")))
    cmd = ["curate", "extract-frames", str(mcq.parent if mcq.name == "mcq.parquet" else mcq)]
    cmd += _opt("video-root", config.get("video_root")) + _opt("output", output)
    sampling = config.get("sampling") or {}
    if sampling.get("mode", "uniform") == "uniform":
        cmd += _opt("num-frames", sampling.get("num_frames", 16))
    else:
        cmd += _opt("sampling", sampling["mode"]) + _opt("fps", sampling.get("fps"))
        cmd += _opt("min-frames", sampling.get("min_frames")) + _opt("max-frames", sampling.get("max_frames"))
    cmd += _opt("size", config.get("size"))
    if config.get("resize", "square") != "square":
        cmd += _opt("resize", config["resize"])
    if config.get("max_pixels") is not None:
        cmd += _opt("max-pixels", config["max_pixels"])
    cmd += _opt("encoding", config.get("encoding", "jpeg"))
    if config.get("jpeg_quality") not in (None, 90):
        cmd += _opt("jpeg-quality", config["jpeg_quality"])
    for key, default in (("decoder", "auto"), ("executor", "local")):
        if config.get(key, default) != default:
            cmd += _opt(key, config[key])
    return cmd


def _coldstart_command(run: dict, output: Path) -> list[str]:
    cmd = ["curate", "coldstart", "FRAMES_DIR", "--model", str(run.get("model")), "--output", str(output)]
    cmd += _opt("backend", run.get("backend", "hf")) + _opt("template", run.get("template", "tinyllava-r1"))
    if run.get("blind"):
        cmd.append("--blind")
    for key, value in (run.get("sampling") or {}).items():
        cmd += _opt(key.replace("_", "-"), value)
    shaping = run.get("shaping")
    if shaping:
        cmd += _opt("video-root", "VIDEO_ROOT") + _opt("num-frames", shaping.get("sampling", {}).get("num_frames"))
        cmd += _opt("size", shaping.get("size"))
    return cmd


def commands(directory: Path, depth: int = 0) -> list[str]:
    """The ``curate`` commands that made ``directory``, earliest first, rebuilt from its manifest (and the
    manifests of the folders it was made from, where they are still there)."""
    manifest = _load_json(directory / "manifest.json")
    run = _load_json(directory / "run.json")
    if manifest and manifest.get("stage") == "filter":
        return [shlex.join(_filter_command(manifest.get("config", {})))]
    if manifest and manifest.get("stage") == "extract-frames":
        config = manifest.get("config", {})
        earlier: list[str] = []
        mcq = Path(str(config.get("mcq", "")))
        parent = mcq.parent if mcq.name == "mcq.parquet" else mcq
        if (
            depth < 4
            and str(parent)
            and (parent / "manifest.json").is_file()
            and parent.resolve() != directory.resolve()
        ):
            earlier = commands(parent, depth + 1)
        return [*earlier, shlex.join(_extract_command(config, directory))]
    if run and run.get("stage") == "coldstart":
        return [shlex.join(_coldstart_command(run, directory))]
    return []


def _load_section(repo_id: str, configs: dict[str, list[str]]) -> list[str]:
    lines = ["## Load it", "", "```python", "from datasets import load_dataset", ""]
    for name in configs:
        lines.append(f'{name} = load_dataset("{repo_id}", "{name}", split="train")')
    lines.append("```")
    if "mcq" in configs and "frames" in configs:
        lines += [
            "",
            "One row per question with its video's frames, through the `pipelines` reader of videoqa-rl "
            "(it reads an extract-frames folder: `mcq.parquet` next to `frames/part-*.parquet`):",
            "",
            "```python",
            "from pathlib import Path",
            "from huggingface_hub import snapshot_download",
            "from pipelines.reader import iter_samples  # or pipelines.hf.questions_with_frames",
            "",
            f'root = Path(snapshot_download("{repo_id}", repo_type="dataset", allow_patterns=["data/*"]))',
            'local = Path("videoqa"); (local / "frames").mkdir(parents=True, exist_ok=True)',
            'if not (local / "mcq.parquet").exists():',
            '    (local / "mcq.parquet").symlink_to(root / "data/mcq/mcq.parquet")',
            'for shard in sorted((root / "data/frames").glob("part-*.parquet")):',
            '    if not (local / "frames" / shard.name).exists():',
            '        (local / "frames" / shard.name).symlink_to(shard)',
            'for sample in iter_samples(local, as_="pil"):',
            '    print(sample["prompt"], sample["solution"], len(sample["frames"]))',
            "    break",
            "```",
        ]
    return lines + [""]


def build_card(
    directory: Path,
    sources: dict[str, list[Path]],
    configs: dict[str, list[str]],
    repo_id: str,
    license: str | None,  # noqa: A002
    citation: str | None,
) -> str:
    """The README.md dataset card of ``directory``'s data (see the module docstring)."""
    import yaml

    manifest = _load_json(directory / "manifest.json")
    run = _load_json(directory / "run.json")
    front = yaml.safe_dump(_front_matter(sources, configs, license, citation), sort_keys=False, allow_unicode=True)
    name = repo_id.split("/")[-1]
    lines = ["---", front.rstrip(), "---", "", f"# {name}", ""]
    lines += [
        "Video question answering as multiple choice, curated for GRPO training of video reasoning models with "
        "videoqa-rl (`curate`). Configs: "
        + ", ".join(f"`{c}` ({len(f)} file{'s' if len(f) > 1 else ''})" for c, f in configs.items())
        + ".",
        "",
    ]
    lines += _counts_section(sources)
    lines += _frames_section(directory, sources, manifest, run)
    if run and run.get("stage") == "coldstart":
        shown = {k: run.get(k) for k in ("model", "backend", "template", "blind", "sampling", "counts")}
        lines += ["## Cold-start sampling (`run.json`)", "", "```json", json.dumps(shown, indent=2), "```", ""]
    made = commands(directory)
    lines += ["## How it was made", ""]
    if made:
        lines += ["```bash", *made, "```", ""]
    else:
        lines += ["No manifest.json or run.json was found next to the data.", ""]
    if manifest and manifest.get("version"):
        lines += [
            f"videoqa-rl {manifest['version']}; the manifest (`meta/manifest.json`) lists every output "
            "file's rows, bytes and sha256.",
            "",
        ]
    lines += _load_section(repo_id, configs)
    if license:
        lines += ["## License", "", f"`{license}`. The questions and videos keep the terms of their sources.", ""]
    if citation:
        lines += ["## Citation", "", "```bibtex", citation, "```", ""]
    return "\n".join(lines)


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


def stage(
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
    echo: Callable[[str], None] = print,
) -> PublishResult:
    """Stage ``directory`` as a dataset repository and upload it to ``repo_id`` (see the module docstring).

    ``api`` is an ``HfApi``-like object (tests inject one); by default one is made with the token from
    ``HF_TOKEN`` or the cached login. ``dry_run`` echoes the plan and the card and returns.
    """
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise UserError(f"--repo-id {repo_id!r}: expected OWNER/NAME")
    directory = Path(directory)
    if dry_run:
        result = plan(directory, repo_id, license, citation)
        visibility = "private" if private else "public"
        echo(
            f"would publish {directory} to https://huggingface.co/datasets/{repo_id} ({visibility}"
            + (f", branch {revision}" if revision else "")
            + ")"
        )
        echo(result.describe())
        echo("README.md:\n" + result.card)
        return PublishResult(repo_id, private, revision, True, result)
    hub, token = _hub_api(api)
    staging_dir = Path(staging) if staging is not None else directory / STAGING
    with output_lock(staging_dir):  # held while staging and uploading: no other publish re-stages it meanwhile
        result = stage(directory, staging_dir, repo_id, license, citation)
        calls: list[str] = []
        try:
            url = _upload(hub, staging_dir, repo_id, private, revision, calls)
        except UserError:
            raise
        except Exception as exc:  # the Hub's errors (HTTP, auth, connection) become one line, tokens redacted
            step = {0: "create_repo", 1: "create_branch" if revision else "upload"}.get(len(calls), "upload")
            raise UserError(f"{repo_id}: {step} failed: {_redact(str(exc), token)} (rerun to resume)") from None
    return PublishResult(repo_id, private, revision, False, result, staging_dir, url, calls)
