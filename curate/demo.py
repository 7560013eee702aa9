"""``curate demo``: the whole pipeline on an embedded default, in a minute on a laptop CPU.

1. Synthetic videos whose questions are answerable from the pixels: a coloured square moving across a
   dark frame (colour ∈ red/green/blue/yellow, direction ∈ left/right/up/down), written with PyAV, and
   two questions per video ("Which colour is the moving square?", "In which direction does the square
   move?") annotated in the LLaVA-Video-178K multiple-choice format (one record per video, both
   questions as turns), plus one duplicated record and one open-ended record so the filter has work.
2. ``curate filter`` → ``curate extract-frames`` → reward scoring of reference completions (a correct,
   a wrong and a malformed one per question) → ``curate coldstart`` with a tiny random model built on
   the spot (CPU) → a summary table.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from curate.options import Surface, config, option

COLOURS = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (50, 80, 230), "yellow": (235, 220, 40)}
DIRECTIONS = ("left", "right", "up", "down")
SIZE, FRAMES, FPS = 128, 24, 12
INSTRUCTION = "Please respond with only the letter of the correct answer."


def square_video(path: Path, colour: str, direction: str) -> None:
    """A ``FRAMES``-frame H.264 clip: a 24-pixel square of ``colour`` crossing the frame towards ``direction``."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for i in range(FRAMES):
            frame = np.full((SIZE, SIZE, 3), 20, dtype=np.uint8)
            step = 8 + (SIZE - 40) * i // (FRAMES - 1)
            x, y = {
                "right": (step, 52),
                "left": (SIZE - 24 - step, 52),
                "down": (52, step),
                "up": (52, SIZE - 24 - step),
            }[direction]
            frame[y : y + 24, x : x + 24] = COLOURS[colour]
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _turn(question: str, options: list[str], answer: int, first: bool) -> list[dict]:
    lines = "\n".join(f"{'ABCD'[i]}. {o}" for i, o in enumerate(options))
    prefix = "<image>\n" if first else ""
    return [
        {"from": "human", "value": f"{prefix}{question}\n{lines}\n{INSTRUCTION}"},
        {"from": "gpt", "value": f"{'ABCD'[answer]}."},
    ]


def make_sample(root: Path, videos: int = 8, seed: int = 0) -> Path:
    """Write the synthetic videos under ``root/videos`` and their annotations; return the JSON path."""
    rng = random.Random(seed)
    records = []
    for i in range(videos):
        colour, direction = rng.choice(list(COLOURS)), rng.choice(DIRECTIONS)
        video = f"synthetic/clip_{i:02d}.mp4"
        square_video(root / "videos" / video, colour, direction)
        colours = rng.sample(list(COLOURS), 4)
        directions = rng.sample(list(DIRECTIONS), 4)
        conversation = _turn("Which colour is the moving square?", colours, colours.index(colour), True)
        conversation += _turn(
            "In which direction does the square move?", directions, directions.index(direction), False
        )
        records.append(
            {
                "id": f"synthetic-{i:02d}",
                "conversations": conversation,
                "data_source": "0_30_s_synthetic",
                "video": video,
            }
        )
    records.append(dict(records[0]))  # a duplicate record: the filter keeps one copy
    records.append(
        {
            "id": "synthetic-oe",
            "video": records[1]["video"],
            "data_source": "0_30_s_synthetic",
            "conversations": [
                {"from": "human", "value": "<image>\nDescribe the video."},
                {"from": "gpt", "value": "A square moves across a dark background."},
            ],
        }
    )
    path = root / "0_30_s_synthetic_mc_qa_processed.json"
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def reference_scores(table_path: Path) -> dict:
    """Score a right, a wrong and a malformed reference completion per question with :mod:`rewards`."""
    import pyarrow.parquet as pq

    from rewards import mcq_accuracy, r1_format, tinyllava_reward

    rows = pq.ParquetFile(table_path).read().to_pylist()
    kinds = {"right": [], "wrong": [], "malformed": []}
    for row in rows:
        letter, other = "ABCD"[row["answer"]], "ABCD"[(row["answer"] + 1) % len(row["options"])]
        think = "<think>The square is visible in every frame; I compare it with each option.</think>"
        completions = {
            "right": f"{think}<answer>{letter}</answer>",
            "wrong": f"{think}<answer>{other}</answer>",
            "malformed": f"The answer is {letter} or {other}",
        }
        for kind, text in completions.items():
            kinds[kind].append(
                (mcq_accuracy(text, row["answer"]), r1_format(text), tinyllava_reward(text, row["answer"]))
            )
    return {
        k: tuple(round(sum(v[i] for v in values) / len(values), 3) for i in range(3)) for k, values in kinds.items()
    }


@config
class DemoConfig:
    """The options of ``curate demo``."""

    output: Path = option(Path("out/demo"), "Where the demo writes.", short="-o")
    videos: int = option(8, "Synthetic videos to make.", ge=1, le=1000)
    coldstart: bool = option(True, "Sample with a tiny model on CPU (or --model).")
    model: str | None = option(None, "A real model for coldstart (default: a tiny random one).", min_length=1)


SURFACE = Surface(DemoConfig)


def run(config: DemoConfig) -> dict:
    """Run every stage on the embedded sample into ``config.output``; return a summary."""
    return run_demo(config.output, config.videos, config.coldstart, config.model)


def run_demo(output: Path, videos: int = 8, coldstart: bool = True, model: str | None = None) -> dict:
    """Run every stage on the embedded sample into ``output``; return a summary."""
    from curate.coldstart.backends import SamplingParams
    from curate.coldstart.stage import ColdstartConfig
    from curate.coldstart.stage import run as run_coldstart
    from curate.filter import FilterConfig
    from curate.filter import run as run_filter
    from curate.frames.extract import ExtractConfig
    from curate.frames.extract import run as run_extract
    from curate.frames.sampling import Sampling
    from curate.frames.work import FrameSpec

    output.mkdir(parents=True, exist_ok=True)
    annotations = make_sample(output / "sample", videos)
    filtered = run_filter(
        FilterConfig(
            inputs=[annotations],
            output=output / "filter",
            video_root=output / "sample" / "videos",
            check_videos=True,
            force=True,
        )
    )
    frames = run_extract(
        ExtractConfig(
            mcq_dir=output / "filter",
            video_root=output / "sample" / "videos",
            output=output / "frames",
            shaping=FrameSpec(Sampling(num_frames=8), size=64),
        )
    )
    summary = {
        "filter": {
            "read": filtered.read,
            "kept": filtered.kept,
            "rejected": filtered.rejected,
            "reasons": filtered.stats["reasons"],
        },
        "extract-frames": {"videos": frames.videos, "decoded": frames.decoded, "questions": frames.kept},
        "rewards (accuracy, format, tinyllava)": reference_scores(output / "frames" / "mcq.parquet"),
    }
    if coldstart:
        if model is None:
            from curate.coldstart.tiny_model import build_tiny_qwen2vl

            model = build_tiny_qwen2vl(output / "tiny-model")
        result = run_coldstart(
            ColdstartConfig(
                input=output / "frames",
                output=output / "coldstart",
                model=model,
                backend_options={"device": "cpu"} if "tiny-model" in str(model) else {},
                sampling=SamplingParams(num_samples=4, max_new_tokens=32),
                batch_size=4,
            )
        )
        summary["coldstart"] = {
            "questions": result.questions,
            "exemplars": result.exemplars,
            **result.run["throughput"],
        }
    return summary
