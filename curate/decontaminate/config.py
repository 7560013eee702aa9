"""The options of ``curate decontaminate`` and ``curate dedup``: pydantic dataclasses that are the single
source of each option's name, type, bounds, default and help (the CLI reads them from here; this module
imports nothing heavy so that ``curate --help`` stays fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from pydantic.dataclasses import dataclass


@dataclass
class DecontaminateConfig:
    """Options of ``curate decontaminate`` (the CLI's flags, help and defaults come from here)."""

    train: Annotated[Path, Field(description="Training folder (filter or extract-frames output) or its mcq.parquet.")]
    against: Annotated[list[Path], Field(min_length=1, description="Benchmark annotation files or folders.")]
    output: Annotated[Path, Field(description="Output folder.")]
    against_video_root: Annotated[
        list[Path], Field(description="Benchmark video folder: one for all --against, or one per --against.")
    ] = ()
    train_video_root: Annotated[
        Path | None, Field(description="Decode training videos from here when TRAIN has no stored frames.")
    ] = None
    ids: Annotated[bool, Field(description="Match videos by normalised id.")] = True
    content: Annotated[bool, Field(description="Match videos by content (needs benchmark videos).")] = True
    questions: Annotated[bool, Field(description="Match questions + options (exact, then near).")] = True
    near: Annotated[bool, Field(description="Near-duplicate questions (MinHash LSH), not only exact.")] = True
    threshold: Annotated[int, Field(ge=0, le=64, description="Max Hamming distance of two matching frames.")] = 12
    min_frames: Annotated[int, Field(ge=1, description="Matching frames a video match needs at least.")] = 3
    min_fraction: Annotated[
        float, Field(gt=0, le=1, description="Matching share of the overlapping frames a video match needs.")
    ] = 0.5
    tolerance: Annotated[float, Field(gt=0, description="Seconds the frame offsets of a match may spread.")] = 1.0
    bands: Annotated[int, Field(ge=1, le=8, description="LSH bands of the 64-bit frame hash (2, 4 or 8).")] = 4
    mirror: Annotated[bool, Field(description="Also match left-right mirrored copies.")] = True
    bench_fps: Annotated[float, Field(gt=0, description="Benchmark frames decoded per second.")] = 1.0
    bench_max_frames: Annotated[int, Field(ge=1, description="Benchmark frames per video at most.")] = 256
    train_frames: Annotated[int, Field(ge=1, description="Frames per training video with --train-video-root.")] = 16
    question_threshold: Annotated[
        float, Field(gt=0, le=1, description="Near question: min Jaccard of question shingles and option sets.")
    ] = 0.7
    num_perm: Annotated[int, Field(ge=16, le=1024, description="MinHash permutations.")] = 128
    report_only: Annotated[bool, Field(description="Write the matches; drop nothing.")] = False
    workers: Annotated[int | None, Field(ge=1, description="Processes decoding videos (default: CPU count).")] = None
    force: Annotated[bool, Field(description="Rerun even if the output is complete.")] = False

    def params(self):
        """The :class:`~curate.decontaminate.match.MatchParams` of these options."""
        from curate.decontaminate.match import MatchParams

        return MatchParams(self.threshold, self.bands, self.min_frames, self.min_fraction, self.tolerance)


@dataclass
class DedupConfig:
    """Options of ``curate dedup``."""

    inputs: Annotated[
        list[Path], Field(min_length=2, description="Training folders (or mcq.parquet files), in order of preference.")
    ]
    output: Annotated[Path, Field(description="Output folder.")]
    ids: Annotated[bool, Field(description="Match videos by normalised id.")] = True
    content: Annotated[
        bool, Field(description="Match videos by content (stored frames of extract-frames folders).")
    ] = True
    threshold: Annotated[int, Field(ge=0, le=64, description="Max Hamming distance of two matching frames.")] = 12
    min_frames: Annotated[int, Field(ge=1, description="Matching frames a video match needs at least.")] = 3
    min_fraction: Annotated[
        float, Field(gt=0, le=1, description="Matching share of the overlapping frames a video match needs.")
    ] = 0.5
    tolerance: Annotated[float, Field(gt=0, description="Seconds the frame offsets of a match may spread.")] = 1.0
    bands: Annotated[int, Field(ge=1, le=8, description="LSH bands of the 64-bit frame hash (2, 4 or 8).")] = 4
    mirror: Annotated[bool, Field(description="Also match left-right mirrored copies.")] = False
    force: Annotated[bool, Field(description="Rerun even if the output is complete.")] = False

    params = DecontaminateConfig.params


def help_of(cls: Any, name: str) -> str:
    """The help text of option ``name`` of a config class."""
    return cls.__pydantic_fields__[name].description or ""


def default_of(cls: Any, name: str) -> Any:
    """The default of option ``name`` of a config class."""
    return cls.__pydantic_fields__[name].get_default(call_default_factory=True)
