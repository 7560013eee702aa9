"""🤗 ``datasets`` streaming views of an extract-frames folder.

- :func:`load_streaming` — the frame shards as they are, one row per video, through
  ``datasets.load_dataset("parquet", data_files=..., split="train", streaming=True)``. For jpeg/png
  shards ``frames`` is declared ``List(Image())``, so each row's ``frames`` is a list of PIL images;
  raw shards keep ``frames`` as ``{bytes, path}`` dicts (decode with :func:`pipelines.reader.decode_video`).
- :func:`questions_with_frames` — one row per question: the mcq table (loaded once, in memory) is
  joined onto the streamed video rows with a batched ``map``, which turns one video row into one row
  per question of that video (videos without questions yield nothing). Columns: ``id, video,
  video_key, question, options, answer, answer_letter, solution, prompt, frames, timestamps``.

Both are ``datasets.IterableDataset``: split them across ranks with
``datasets.distributed.split_dataset_by_node`` (by file when the number of ``part-*.parquet`` files is a
multiple of the world size) and across dataloader workers by file, as 🤗 datasets does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import datasets
import pyarrow.parquet as pq

from curate.errors import UserError
from pipelines.reader import render_prompt
from schemas.errors import SchemaError
from schemas.frames import FRAMES_SCHEMA, IMAGE_ENCODINGS
from schemas.mcq import read_mcq
from schemas.prompt import LETTERS, R1_INSTRUCTION

__all__ = ["frame_features", "load_streaming", "question_features", "questions_with_frames", "shard_files"]


def shard_files(directory: str | os.PathLike) -> list[str]:
    """The ``frames/part-*.parquet`` files of ``directory``, sorted; a :class:`UserError` when there are none."""
    files = sorted(str(p) for p in (Path(directory) / "frames").glob("part-*.parquet"))
    if not files:
        raise UserError(f"{Path(directory) / 'frames'}: no part-*.parquet shards (run curate extract-frames first)")
    return files


def _images(files: list[str]) -> bool:
    """Whether every shard holds jpeg/png frames (read from the ``encoding`` column only)."""
    encodings: set[str] = set()
    for path in files:
        encodings.update(pq.read_table(path, columns=["encoding"]).column("encoding").unique().to_pylist())
    return bool(encodings) and encodings <= set(IMAGE_ENCODINGS)


def _frames_feature(images: bool) -> Any:
    if images:
        return datasets.List(datasets.Image())
    return datasets.Features.from_arrow_schema(FRAMES_SCHEMA)["frames"]


def frame_features(images: bool = True) -> datasets.Features:
    """:data:`schemas.frames.FRAMES_SCHEMA` as 🤗 features; ``frames`` is ``List(Image())`` when ``images``."""
    features = datasets.Features.from_arrow_schema(FRAMES_SCHEMA)
    features["frames"] = _frames_feature(images)
    return features


def question_features(images: bool = True) -> datasets.Features:
    """Features of :func:`questions_with_frames` rows."""
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            "video": datasets.Value("string"),
            "video_key": datasets.Value("string"),
            "question": datasets.Value("string"),
            "options": datasets.List(datasets.Value("string")),
            "answer": datasets.Value("int32"),
            "answer_letter": datasets.Value("string"),
            "solution": datasets.Value("string"),
            "prompt": datasets.Value("string"),
            "frames": _frames_feature(images),
            "timestamps": datasets.List(datasets.Value("float32")),
        }
    )


def load_streaming(directory: str | os.PathLike) -> datasets.IterableDataset:
    """The frame shards of ``directory`` as a streaming dataset, one row per video (see the module docstring)."""
    files = shard_files(directory)
    return datasets.load_dataset(
        "parquet", data_files={"train": files}, split="train", streaming=True, features=frame_features(_images(files))
    )


def questions_with_frames(
    directory: str | os.PathLike,
    *,
    instruction: str | None = R1_INSTRUCTION,
    streaming: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> datasets.IterableDataset | datasets.Dataset:
    """One row per question with its video's frames (a list of PIL images for jpeg/png shards).

    ``prompt`` is :func:`pipelines.reader.render_prompt` (question, ``A. …`` lines, ``instruction``);
    ``solution`` is ``<answer>L</answer>``. Questions whose video has no frame row never appear.
    ``streaming=False`` builds a map-style ``datasets.Dataset`` instead (Arrow files under ``cache_dir``;
    each question stores its own copy of the encoded frames, nothing is re-encoded) for trainers that
    need ``len()`` and random access.
    """
    directory = Path(directory)
    mcq = read_mcq(directory / "mcq.parquet")
    if "video_key" not in mcq.column_names:
        raise SchemaError(f"{directory / 'mcq.parquet'}: column 'video_key': missing (run extract-frames)")
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in mcq.select(["id", "video", "video_key", "question", "options", "answer"]).to_pylist():
        by_key.setdefault(row["video_key"], []).append(row)

    files = shard_files(directory)
    images = _images(files)
    names = list(question_features(images))

    def expand(batch: dict[str, list]) -> dict[str, list]:
        out: dict[str, list] = {name: [] for name in names}
        for key, frames, timestamps in zip(batch["video_key"], batch["frames"], batch["timestamps"], strict=True):
            for q in by_key.get(key, ()):
                letter = LETTERS[q["answer"]]
                out["id"].append(q["id"])
                out["video"].append(q["video"])
                out["video_key"].append(key)
                out["question"].append(q["question"])
                out["options"].append(q["options"])
                out["answer"].append(q["answer"])
                out["answer_letter"].append(letter)
                out["solution"].append(f"<answer>{letter}</answer>")
                out["prompt"].append(render_prompt(q["question"], q["options"], instruction))
                out["frames"].append(frames)
                out["timestamps"].append(timestamps)
        return out

    join = {"batched": True, "batch_size": 4, "remove_columns": list(frame_features(False))}
    if streaming:
        # Frames are decoded (to PIL for jpeg/png) once per video row, before the join; its questions share them.
        videos = datasets.load_dataset(
            "parquet", data_files={"train": files}, split="train", streaming=True, features=frame_features(images)
        )
        return videos.map(expand, features=question_features(images), **join)
    # Map-style: join the undecoded {bytes, path} structs, then declare them Images (an Arrow cast, no re-encode).
    videos = datasets.load_dataset(
        "parquet",
        data_files={"train": files},
        split="train",
        features=frame_features(False),
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    table = videos.map(expand, features=question_features(False), **join)
    return table.cast_column("frames", question_features(images)["frames"]) if images else table
