"""``curate export``: the multiple-choice table in each trainer's input format.

Shared rendering: ``options_block`` = one ``A. text`` line per option; the gold letter ``L`` =
``LETTERS[answer]``.

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

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa

from curate.errors import UserError
from curate.tables import read_input_table
from schemas.atomic import atomic_path, write_parquet_atomic
from schemas.mcq import LETTERS

R1_INSTRUCTION = "Output the thinking process in <think> </think> and final answer (option) in <answer> </answer> tags."
LLAVA_INSTRUCTION = "Answer with the option's letter from the given choices directly."


def options_block(options: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))


def _text(row: dict, instruction: str | None) -> str:
    parts = [row["question"], options_block(row["options"])]
    if instruction:
        parts.append(instruction)
    return "\n".join(parts)


def _video_path(row: dict, video_root: str | None) -> str:
    return os.path.join(video_root, row["video"]) if video_root else row["video"]


def tinyllava_row(row: dict, index: int, instruction: str | None, video_root: str | None) -> dict:
    video = _video_path(row, video_root)
    if not video.startswith(("./", "/")):
        video = "./" + video
    return {
        "id": row["id"],
        "problem": _text(row, instruction),
        "solution": f"<answer>{LETTERS[row['answer']]}</answer>",
        "video_filename": video,
    }


def video_r1_row(row: dict, index: int, instruction: str | None, video_root: str | None) -> dict:
    return {
        "problem_id": index,
        "id": row["id"],
        "problem": row["question"] if not instruction else f"{row['question']}\n{instruction}",
        "data_type": "video",
        "problem_type": row["problem_type"],
        "options": options_block(row["options"]).split("\n"),
        "process": "",
        "solution": f"<answer>{LETTERS[row['answer']]}</answer>",
        "path": _video_path(row, video_root),
        "data_source": row["subset"] or row["source"],
    }


def verl_row(row: dict, index: int, instruction: str | None, video_root: str | None) -> dict:
    video = _video_path(row, video_root)
    return {
        "data_source": row["source"],
        "prompt": [{"role": "user", "content": "<video>" + _text(row, instruction)}],
        "videos": [{"video": video}],
        "ability": "video_mcq",
        "reward_model": {"style": "rule", "ground_truth": LETTERS[row["answer"]]},
        "extra_info": {
            "index": index,
            "id": row["id"],
            "options": row["options"],
            "answer": row["answer"],
            "video": video,
            "subset": row["subset"],
            "problem_type": row["problem_type"],
        },
    }


def trl_row(row: dict, index: int, instruction: str | None, video_root: str | None) -> dict:
    return {
        "id": row["id"],
        "prompt": [{"role": "user", "content": _text(row, instruction)}],
        "solution": f"<answer>{LETTERS[row['answer']]}</answer>",
        "options": row["options"],
        "answer": row["answer"],
        "video": _video_path(row, video_root),
    }


def llava_row(row: dict, index: int, instruction: str | None, video_root: str | None) -> dict:
    return {
        "id": row["id"],
        "video": _video_path(row, video_root),
        "data_source": row["subset"] or row["source"],
        "conversations": [
            {"from": "human", "value": "<image>\n" + _text(row, instruction)},
            {"from": "gpt", "value": f"{LETTERS[row['answer']]}."},
        ],
    }


Render = Callable[[dict, int, "str | None", "str | None"], dict]
# target → (row renderer, default file kind, default instruction)
TARGETS: dict[str, tuple[Render, str, str | None]] = {
    "tinyllava": (tinyllava_row, "jsonl", None),
    "video-r1": (video_r1_row, "json", None),
    "verl": (verl_row, "parquet", R1_INSTRUCTION),
    "trl": (trl_row, "jsonl", R1_INSTRUCTION),
    "llava": (llava_row, "json", LLAVA_INSTRUCTION),
}


def _kind(output: Path, default: str) -> str:
    suffix = output.suffix.lower().lstrip(".")
    return suffix if suffix in ("json", "jsonl", "parquet") else default


def _write(rows: Iterator[dict], output: Path, kind: str) -> int:
    if kind == "parquet":
        table = pa.Table.from_pylist(list(rows))
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


def export(
    directory: str | os.PathLike,
    to: str,
    output: str | os.PathLike,
    *,
    instruction: str | None = None,
    video_root: str | None = None,
) -> int:
    """Write ``directory``'s ``mcq.parquet`` for trainer ``to`` into ``output``; return the row count.

    ``instruction`` replaces the target's default instruction (``""`` for none).
    """
    source = Path(directory)
    exemplars = source / "exemplars.parquet"
    if source.is_dir() and exemplars.is_file():  # a coldstart folder: its verified exemplars as SFT data
        if to not in EXEMPLAR_TARGETS:
            raise UserError(f"--to {to!r}: a coldstart folder exports to {' or '.join(EXEMPLAR_TARGETS)}")
        return export_exemplars(exemplars, to, Path(output), video_root)
    if to not in TARGETS:
        raise UserError(f"--to {to!r}: unknown target (one of {', '.join(TARGETS)})")
    _, table = read_input_table(source, "run curate filter first")
    render, default_kind, default_instruction = TARGETS[to]
    text = default_instruction if instruction is None else instruction
    output = Path(output)
    rows = (render(row, i, text, video_root) for i, row in enumerate(table.to_pylist()))
    return _write(rows, output, _kind(output, default_kind))
