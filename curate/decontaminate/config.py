"""The options of ``curate decontaminate`` and ``curate dedup``, defined once (:mod:`curate.options`): each
field's type, bounds, default and help; the CLI commands are built from the :data:`DECONTAMINATE` and
:data:`DEDUP` surfaces. The video-matching options both commands share are one nested config,
:class:`VideoMatch`, offered as flat flags (``--threshold``, ``--min-frames`` …). This module imports nothing
heavy so that ``curate --help`` stays fast."""

from __future__ import annotations

from pathlib import Path

from curate.options import Surface, config, fields_of, option


@config
class VideoMatch:
    """How two videos' frame hashes match (:mod:`curate.decontaminate.match`)."""

    threshold: int = option(12, "Max Hamming distance of two matching frames.", ge=0, le=64)
    min_frames: int = option(3, "Matching frames a video match needs at least.", ge=1)
    min_fraction: float = option(0.5, "Matching share of the overlapping frames a video match needs.", gt=0, le=1)
    tolerance: float = option(1.0, "Seconds the frame offsets of a match may spread.", gt=0)
    bands: int = option(4, "LSH bands of the 64-bit frame hash (2, 4 or 8: fewer finds less, faster).", ge=1, le=8)

    def params(self):
        """The :class:`~curate.decontaminate.match.MatchParams` of these options."""
        from curate.decontaminate.match import MatchParams

        return MatchParams(self.threshold, self.bands, self.min_frames, self.min_fraction, self.tolerance)


MATCH_FLAGS = {name: f"matching.{name}" for name in fields_of(VideoMatch)}
IDS_HELP = "Match videos by normalised id."
FORCE_HELP = "Rerun even if the output is complete."


@config
class DecontaminateConfig:
    """The options of ``curate decontaminate``."""

    train: Path = option(help="Training folder (filter or extract-frames output) or its mcq.parquet.")
    against: list[Path] = option(help="Benchmark annotation files or folders (repeatable).", min_length=1)
    output: Path = option(help="Output folder.", short="-o")
    against_video_root: list[Path] = option(
        factory=list, help="Benchmark video folder: one for all --against, or one per --against."
    )
    train_video_root: Path | None = option(None, "Decode training videos from here when TRAIN has no stored frames.")
    ids: bool = option(True, IDS_HELP)
    content: bool = option(True, "Match videos by content (needs benchmark videos).")
    questions: bool = option(True, "Match questions + options (exact, then near).")
    near: bool = option(True, "Near-duplicate questions (MinHash LSH), not only exact.")
    matching: VideoMatch = option(factory=VideoMatch)
    mirror: bool = option(True, "Also match left-right mirrored copies.")
    bench_fps: float = option(1.0, "Benchmark frames decoded per second.", gt=0)
    bench_max_frames: int = option(256, "Benchmark frames per video at most.", ge=1)
    train_frames: int = option(16, "Frames per training video with --train-video-root.", ge=1)
    question_threshold: float = option(
        0.7, "Near question: min Jaccard of question shingles and option sets.", gt=0, le=1
    )
    num_perm: int = option(128, "MinHash permutations.", ge=16, le=1024)
    report_only: bool = option(False, "Write the matches; drop nothing.")
    example_pairs: int = option(
        6, "Matched frame pairs kept as thumbnails for curate report (pairs.parquet).", ge=0, le=1000
    )
    workers: int | None = option(None, "Processes decoding videos (default: CPU count).", ge=1, le=4096)
    force: bool = option(False, FORCE_HELP)


@config
class DedupConfig:
    """The options of ``curate dedup``."""

    inputs: list[Path] = option(help="Training folders (or mcq.parquet files), in order of preference.", min_length=2)
    output: Path = option(help="Output folder.", short="-o")
    ids: bool = option(True, IDS_HELP)
    content: bool = option(True, "Match videos by content (stored frames of extract-frames folders).")
    matching: VideoMatch = option(factory=VideoMatch)
    mirror: bool = option(False, "Also match left-right mirrored copies.")
    force: bool = option(False, FORCE_HELP)


def _flags(cls) -> dict[str, str]:
    """The flat flags of ``cls`` in field order, :class:`VideoMatch`'s in place of ``matching``."""
    out: dict[str, str] = {}
    for name in fields_of(cls):
        out.update(MATCH_FLAGS if name == "matching" else {name: name})
    return out


DECONTAMINATE = Surface(DecontaminateConfig, _flags(DecontaminateConfig), argument="train")
DEDUP = Surface(DedupConfig, _flags(DedupConfig), argument="inputs")
