"""``curate export``: the multiple-choice table in each trainer's input format.

Shared rendering (the prompt contract, :mod:`schemas.prompt`): ``options_block`` = one ``A. text`` line per
option; the gold letter ``L`` = ``LETTERS[answer]``.

============  =========  ===================================================================================
target        file       one row per question
============  =========  ===================================================================================
tinyllava     .jsonl     ``{id, problem: question + "\\n" + options_block, solution: "<answer>L</answer>",
                         video_filename: "./" + video}`` — TinyLLaVA-Video-R1 appends its own instruction
                         and opens ``data_path + video_filename[1:]``, hence the ``./``.
video-r1      .json      ``{problem_id, id, problem, data_type: "video", problem_type, options: ["A. text"…],
                         process: "", solution: "<answer>L</answer>", path, data_source}``
verl          .parquet   ``{data_source, prompt: [{role: user, content: "<video>" + question + options_block
                         + instruction}], videos: [{video}], ability: "video_mcq", reward_model: {style:
                         "rule", ground_truth: L}, extra_info: {index, id, options, answer, video, subset,
                         problem_type}}``
trl           .jsonl     ``{id, prompt: [{role: user, content: question + options_block + instruction}],
              /.parquet  solution: "<answer>L</answer>", options, answer, video}``
llava         .json      ``{id, video, data_source, conversations: [{from: human, value: "<image>\\n" +
                         question + options_block + instruction}, {from: gpt, value: "L."}]}``
============  =========  ===================================================================================

A ``curate coldstart`` folder (it has ``exemplars.parquet``) exports its verified exemplars as SFT data:
``llava`` (``conversations``: human = ``<image>\n`` + the sampled prompt, gpt = the completion; what
TinyLLaVA-Video's cold-start trainer reads) or ``trl-sft`` (JSONL ``messages`` for TRL's SFTTrainer).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from curate import manifest
from curate.errors import UserError
from curate.frames.files import StoredVideo, write_frame_files
from curate.lock import output_lock
from curate.options import Surface, config, option
from curate.tables import read_input_table
from rewards.gold import pack_gold
from schemas.atomic import atomic_path, remove_temporaries, write_parquet_atomic
from schemas.frames import FRAME, HUB_IMAGE_LIST, HUB_METADATA_KEY
from schemas.prompt import LETTERS, LLAVA_INSTRUCTION, R1_INSTRUCTION, options_block, solution, user_text

STAGE = "export"


def _solution(row: dict) -> str:
    return solution(row["answer"])


def _text(row: dict, instruction: str | None) -> str:
    return user_text(row["question"], row["options"], instruction)


def _video_path(row: dict, video_root: str | None) -> str:
    return os.path.join(video_root, row["video"]) if video_root else row["video"]


@dataclass(frozen=True)
class Media:
    """How one question's video reaches the trainer: ``video``, the mp4 path as exported, and
    ``frames``, the stored frames as image files when exporting from an extract-frames folder."""

    video: str
    frames: StoredVideo | None = None


def tinyllava_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    # TinyLLaVA-Video-R1's loader opens an mp4 (pytorchvideo's EncodedVideo.from_path): no frame lists.
    video = media.video
    if not video.startswith(("./", "/")):
        video = "./" + video
    return {
        "id": row["id"],
        "problem": _text(row, instruction),
        "solution": _solution(row),
        "video_filename": video,
    }


def video_r1_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    return {
        "problem_id": index,
        "id": row["id"],
        "problem": row["question"] if not instruction else f"{row['question']}\n{instruction}",
        "data_type": "video",
        "problem_type": row["problem_type"],
        "options": options_block(row["options"]).split("\n"),
        "process": "",
        "solution": _solution(row),
        "path": media.video,
        "data_source": row["subset"] or row["source"],
    }


def verl_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    return {
        "data_source": row["source"],
        "prompt": [{"role": "user", "content": "<video>" + _text(row, instruction)}],
        "videos": [verl_video(media)],
        "ability": "video_mcq",
        "reward_model": {"style": "rule", "ground_truth": LETTERS[row["answer"]]},
        "extra_info": {
            "index": index,
            "id": row["id"],
            "options": row["options"],
            "answer": row["answer"],
            "video": media.video,
            "subset": row["subset"],
            "problem_type": row["problem_type"],
        },
    }


def easyr1_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    # EasyR1's defaults: prompt_key "prompt", answer_key "answer", video_key "videos"; the answer reaches the
    # reward untouched as ground_truth, so it carries the options and problem type (rewards.gold).
    return {
        "id": row["id"],
        "prompt": "<video>" + _text(row, instruction),
        "answer": pack_gold(LETTERS[row["answer"]], row["options"], row["problem_type"]),
        "videos": [list(media.frames.paths) if media.frames is not None else media.video],
    }


def swift_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    if media.frames is not None:
        # ms-swift 4.6's GRPO rollout types a video as one path (RolloutInferRequest.videos: List[str]): a
        # frame list only reaches the model as images, one <image> tag per frame.
        tags, visual = "<image>" * media.frames.num_frames, {"images": list(media.frames.paths)}
    else:
        tags, visual = "<video>", {"videos": [media.video]}
    return {
        "id": row["id"],
        "messages": [{"role": "user", "content": tags + _text(row, instruction)}],
        **visual,
        "solution": _solution(row),
        "options": row["options"],
        "answer": row["answer"],
        "problem_type": row["problem_type"],
    }


def openrlhf_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    # OpenRLHF 0.11 has image inputs only (--data.image_key): the stored frames go in as images, one
    # <image> tag per frame; the label carries the options and problem type (rewards.gold).
    out = {
        "id": row["id"],
        "prompt": [{"role": "user", "content": _text(row, instruction)}],
        "label": pack_gold(LETTERS[row["answer"]], row["options"], row["problem_type"]),
        "video": media.video,
    }
    if media.frames is not None:
        out["prompt"] = [{"role": "user", "content": "<image>" * media.frames.num_frames + _text(row, instruction)}]
        out["images"] = list(media.frames.paths)
    return out


def trl_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    out = {
        "id": row["id"],
        "prompt": [{"role": "user", "content": _text(row, instruction)}],
        "solution": _solution(row),
        "options": row["options"],
        "answer": row["answer"],
        "problem_type": row["problem_type"],
        "video": media.video,
    }
    if media.frames is not None:
        # TRL's VLM path takes a video as its frames: the `images` column, one image per frame.
        out["images"] = [{"bytes": None, "path": p} for p in media.frames.paths]
    return out


def llava_row(row: dict, index: int, instruction: str | None, media: Media) -> dict:
    return {
        "id": row["id"],
        "video": media.video,
        "data_source": row["subset"] or row["source"],
        "conversations": [
            {"from": "human", "value": "<image>\n" + _text(row, instruction)},
            {"from": "gpt", "value": f"{LETTERS[row['answer']]}."},
        ],
    }


def verl_video(media: Media) -> dict:
    """verl's dataset passes a ``videos`` entry to qwen-vl-utils: a frame list is read as the video's
    frames (no decoding), with ``sample_fps`` the rate they represent (Qwen2.5-VL's temporal positions;
    Qwen3-VL reads ``raw_fps`` too)."""
    if media.frames is None:
        return {"video": media.video}
    fps = media.frames.sample_fps
    return {"video": list(media.frames.paths), "sample_fps": fps, "raw_fps": fps}


@dataclass(frozen=True)
class Target:
    """One ``--to`` target: its row renderer, default file kind and instruction, whether its loader
    opens paths relative to the process's working directory (so they must be absolute), and whether
    it can take the stored frames; ``image_column``: the column of stored frames that Parquet output
    types as Images (JSON output holds their paths)."""

    render: Callable[[dict, int, str | None, Media], dict]
    kind: str
    instruction: str | None
    absolute_paths: bool = False
    frames: bool = False
    image_column: str | None = None


TARGETS: dict[str, Target] = {
    "tinyllava": Target(tinyllava_row, "jsonl", None),
    "video-r1": Target(video_r1_row, "json", None),
    "verl": Target(verl_row, "parquet", R1_INSTRUCTION, absolute_paths=True, frames=True),
    "easyr1": Target(easyr1_row, "jsonl", R1_INSTRUCTION, absolute_paths=True, frames=True),
    "swift": Target(swift_row, "jsonl", R1_INSTRUCTION, absolute_paths=True, frames=True),
    "openrlhf": Target(openrlhf_row, "jsonl", R1_INSTRUCTION, frames=True),
    "trl": Target(trl_row, "jsonl", R1_INSTRUCTION, frames=True, image_column="images"),
    "llava": Target(llava_row, "json", LLAVA_INSTRUCTION),
}


def _kind(output: Path, default: str) -> str:
    suffix = output.suffix.lower().lstrip(".")
    return suffix if suffix in ("json", "jsonl", "parquet") else default


def _write(rows: Iterator[dict], output: Path, kind: str, image_column: str | None = None) -> int:
    """Write ``rows`` as ``kind``. In Parquet, ``image_column`` (lists of ``{bytes, path}``) is declared a
    list of Images for 🤗 datasets, which then opens each path when the row is read."""
    if kind == "parquet":
        table = pa.Table.from_pylist(list(rows))
        if image_column is not None and image_column in table.column_names:
            index = table.schema.get_field_index(image_column)
            table = table.set_column(index, image_column, table.column(index).cast(pa.list_(FRAME)))
            metadata = {HUB_METADATA_KEY: json.dumps({"info": {"features": {image_column: HUB_IMAGE_LIST}}}).encode()}
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
        write_parquet_atomic(table, output)
        return table.num_rows
    count = 0
    with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        if kind == "json":
            items = list(rows)
            json.dump(items, fh, ensure_ascii=False, indent=1)
            count = len(items)
        else:
            for row in rows:
                if image_column is not None:  # JSON has no Image type: the paths, for cast_column(List(Image()))
                    row = {**row, image_column: [image["path"] for image in row[image_column]]}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    return count


def exemplar_llava_row(row: dict, index: int, video_root: str | None) -> dict:
    """TinyLLaVA-Video's cold-start SFT format: the sampled prompt and the verified completion."""
    return {
        "id": f"{row['id']}#{row['sample_index']}",
        "video": _video_path(row, video_root),
        "conversations": [
            {"from": "human", "value": "<image>\n" + row["prompt"]},
            {"from": "gpt", "value": row["completion"]},
        ],
    }


def exemplar_trl_sft_row(row: dict, index: int, video_root: str | None) -> dict:
    """TRL SFT conversational format (``messages``) with the video path beside it."""
    return {
        "id": f"{row['id']}#{row['sample_index']}",
        "messages": [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["completion"]}],
        "video": _video_path(row, video_root),
    }


EXEMPLAR_TARGETS = {"llava": (exemplar_llava_row, "json"), "trl-sft": (exemplar_trl_sft_row, "jsonl")}


def export_exemplars(exemplars: Path, to: str, output: Path, video_root: str | None = None) -> int:
    """Write a coldstart folder's ``exemplars.parquet`` as SFT data (``llava`` or ``trl-sft``)."""
    import pyarrow.parquet as pq

    render, default_kind = EXEMPLAR_TARGETS[to]
    table = pq.ParquetFile(exemplars).read()
    rows = (render(row, i, video_root) for i, row in enumerate(table.to_pylist()))
    return _write(rows, output, _kind(output, default_kind))


def frames_dir_for(output: Path) -> Path:
    """Where an export from an extract-frames folder writes its frame files: ``<output stem>_frames/``
    beside the output file."""
    return output.with_name(output.stem + "_frames")


def _media(row: dict, target: Target, video_root: str | None, frames: dict[str, StoredVideo] | None) -> Media:
    video = _video_path(row, video_root)
    if target.absolute_paths and video_root:
        video = os.path.abspath(video)
    return Media(video, frames.get(row.get("video_key")) if frames is not None else None)


def _check_paths(target_name: str, target: Target, media: list[Media], source: Path) -> None:
    """verl, EasyR1 and ms-swift open video paths relative to the trainer's working directory, and verl
    silently drops a row whose video does not open: refuse relative paths for them."""
    if not target.absolute_paths:
        return
    relative = next((m.video for m in media if m.frames is None and not os.path.isabs(m.video)), None)
    if relative is not None:
        raise UserError(
            f"{source}: video path {relative!r} is relative; --to {target_name} needs --video-root "
            "(the trainer opens paths from its own working directory) or an extract-frames folder"
        )


def _targets() -> tuple[str, ...]:
    return tuple(dict.fromkeys((*TARGETS, *EXEMPLAR_TARGETS)))


@config
class ExportConfig:
    """The options of ``curate export`` (and of a recipe's export step)."""

    input: Path = option(help="A filter, extract-frames or coldstart folder (or its mcq.parquet).")
    to: str = option(help="The trainer's format (trl-sft/llava for a coldstart folder).", choices=_targets)
    output: Path = option(help="File to write.", short="-o")
    instruction: str | None = option(None, "Instruction appended to the question ('' for none).")
    video_root: str | None = option(None, "Prefix for the video paths written.")
    stored_frames: bool = option(
        True, "From an extract-frames folder: hand the trainer the stored frames, not the mp4."
    )
    frames_dir: Path | None = option(None, "Where the frame files go (default: OUTPUT's stem + _frames/).")


SURFACE = Surface(ExportConfig, argument="input")


@dataclass
class ExportResult:
    output: Path
    rows: int
    up_to_date: bool = False  # the file already held this export: nothing was written


def manifest_name(output: Path) -> str:
    """An export's manifest, beside its file (several exports may share a folder)."""
    return f"{output.name}.manifest.json"


def _inputs(source: Path) -> list[Path]:
    """What an export reads: the table and, for a stage's folder, its manifest (which changes whenever
    the folder's outputs do, frame shards included)."""
    if source.is_dir():
        return [p for p in (source / "mcq.parquet", source / "exemplars.parquet", source / manifest.NAME) if p.exists()]
    return [source]


def run(config: ExportConfig) -> ExportResult:
    """Write the export ``config`` describes (see :func:`export`); a rerun with the same config on the same
    input finds its manifest (:mod:`curate.manifest`) and writes nothing."""
    output = Path(config.output)
    if output.is_dir():
        raise UserError(f"{output}: is a folder; --output takes a file path (e.g. {output / 'train.jsonl'})")
    with export_lock(output):
        described = SURFACE.values(config)
        inputs = _inputs(Path(config.input))
        fp = manifest.fingerprint(STAGE, described, inputs)
        name = manifest_name(output)
        done = manifest.completed(output.parent, fp, name=name)
        if done is not None:
            return ExportResult(output, int(done.get("rows", 0)), up_to_date=True)
        (output.parent / name).unlink(missing_ok=True)
        rows = _export(
            Path(config.input),
            config.to,
            output,
            config.instruction,
            config.video_root,
            config.stored_frames,
            config.frames_dir,
        )
        manifest.write(
            output.parent, STAGE, fp, described, inputs, [output.name], SURFACE, config, name=name, extra={"rows": rows}
        )
        return ExportResult(output, rows)


def export(
    directory: str | os.PathLike,
    to: str,
    output: str | os.PathLike,
    *,
    instruction: str | None = None,
    video_root: str | None = None,
    stored_frames: bool = True,
    frames_dir: str | os.PathLike | None = None,
) -> int:
    """Write ``directory``'s ``mcq.parquet`` for trainer ``to`` into ``output``; return the row count.

    ``instruction`` replaces the target's default instruction (``""`` for none). When ``directory`` is
    an extract-frames folder (``frames/`` shards, ``video_key`` column) and the target can take frames,
    the frames of every exported question are written as image files under ``frames_dir`` (default
    :func:`frames_dir_for`) and the rows point at them (absolute paths), so the trainer never opens an
    mp4; ``stored_frames=False`` exports the mp4 paths instead. ``run(ExportConfig(…))`` is the same.
    """
    config = ExportConfig(
        input=Path(directory),
        to=to,
        output=Path(output),
        instruction=instruction,
        video_root=video_root,
        stored_frames=stored_frames,
        frames_dir=Path(frames_dir) if frames_dir is not None else None,
    )
    return run(config).rows


@contextlib.contextmanager
def export_lock(output: Path) -> Iterator[None]:
    """Hold the lock of the folder ``output`` is written in (:mod:`curate.lock`) — it holds the file and its
    frames folder (:func:`frames_dir_for`) — and remove the temporaries a killed export of ``output`` left
    there and in the frames folder."""
    with output_lock(output.parent, clean={"": (output.name, manifest_name(output))}):
        frames = frames_dir_for(output)
        for folder in [frames, *(frames.iterdir() if frames.is_dir() else [])]:
            if folder.is_dir():
                remove_temporaries(folder)
        yield


def _export(
    source: Path,
    to: str,
    output: Path,
    instruction: str | None,
    video_root: str | None,
    stored_frames: bool,
    frames_dir: str | os.PathLike | None,
) -> int:
    exemplars = source / "exemplars.parquet"
    if source.is_dir() and exemplars.is_file():  # a coldstart folder: its verified exemplars as SFT data
        if to not in EXEMPLAR_TARGETS:
            raise UserError(f"--to {to!r}: a coldstart folder exports to {' or '.join(EXEMPLAR_TARGETS)}")
        return export_exemplars(exemplars, to, output, video_root)
    if to not in TARGETS:
        raise UserError(f"--to {to!r}: unknown target (one of {', '.join(TARGETS)})")
    path, table = read_input_table(source, "run curate filter first")
    target = TARGETS[to]
    text = target.instruction if instruction is None else instruction
    frames = None
    folder = path.parent
    records = table.to_pylist()
    if stored_frames and target.frames and "video_key" in table.column_names and (folder / "frames").is_dir():
        keys = [row["video_key"] for row in records]
        frames = write_frame_files(folder, keys, frames_dir or frames_dir_for(output))
        missing = next((k for k in keys if k not in frames), None)
        if missing is not None:
            raise UserError(f"{folder / 'frames'}: no frame row for video_key {missing!r} (run curate verify)")
    media = [_media(row, target, video_root, frames) for row in records]
    _check_paths(to, target, media, path)
    rows = (target.render(row, i, text, m) for i, (row, m) in enumerate(zip(records, media, strict=True)))
    image_column = target.image_column if frames is not None else None
    return _write(rows, output, _kind(output, target.kind), image_column=image_column)
