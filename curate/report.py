"""``curate report DIR``: one self-contained HTML page describing a stage's output folder.

Reads whatever the folder holds (``stats.json``, ``mcq.parquet``, ``rejects.parquet``, ``frames/part-*.parquet``,
``passrate.parquet``; a decontaminate folder's ``matches.parquet`` and ``pairs.parquet``) and writes
``report.html`` with plots (matplotlib, embedded as PNG data URIs), count tables and a contact sheet of sampled
frames, laid out by the jinja2 template ``curate/templates/report.html.j2`` (autoescaped: text from the data
cannot inject markup). Nothing in the page points outside it: it opens
offline and can be mailed.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from curate.errors import UserError
from curate.extras import require
from curate.options import Surface, config, option
from curate.output_tables import open_table, read_table
from curate.templates import render
from schemas.atomic import atomic_path

KNOWN = (
    "stats.json",
    "mcq.parquet",
    "rejects.parquet",
    "frames",
    "passrate.parquet",
    "matches.parquet",
    "pairs.parquet",
)
MIME = {"jpeg": "image/jpeg", "png": "image/png"}


def _png_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _figure_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return _png_uri(buf.getvalue())


def _new_figure():
    require("report", "matplotlib").use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.2), dpi=100)
    return fig, fig.subplots()


def _bar_plot(title: str, counts: dict | list[tuple[str, dict]], xlabel: str, caption: str) -> dict:
    """A bar chart as a PNG data URI. ``counts`` is ``{label: n}`` or ``[(series, {label: n}), …]`` (grouped)."""
    series = [("", counts)] if isinstance(counts, dict) else counts
    labels: list[str] = []
    for _, c in series:
        labels += [str(k) for k in c if str(k) not in labels]
    if all(label.isdigit() for label in labels) or all(len(label) == 1 for label in labels):
        labels.sort(key=lambda s: (len(s), s))
    fig, ax = _new_figure()
    width = 0.8 / max(len(series), 1)
    for i, (name, c) in enumerate(series):
        c = {str(k): v for k, v in c.items()}
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(labels))]
        bars = ax.bar(xs, [c.get(label, 0) for label in labels], width=width, label=name or None)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=30 if max(map(len, labels), default=0) > 4 else 0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.margins(y=0.15)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    return {"uri": _figure_uri(fig), "caption": caption}


def _hist_plot(title: str, values: list[float], xlabel: str, caption: str) -> dict:
    """A histogram of ``values`` in ten bins over [0, 1] as a PNG data URI."""
    fig, ax = _new_figure()
    ax.hist(values, bins=10, range=(0.0, 1.0), edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("questions")
    fig.tight_layout()
    return {"uri": _figure_uri(fig), "caption": caption}


def _counts(values: Iterable[object]) -> dict[str, int]:
    """``{value: count}``, most frequent first (ties by value); ``None`` counts as ``"null"``."""
    counts = Counter("null" if v is None else str(v) for v in values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _letter(i: int) -> str:
    return chr(ord("A") + i) if 0 <= i < 26 else str(i)


def _frame_uri(frame: dict, encoding: str, height: int, width: int) -> str:
    if encoding in MIME:
        return _png_uri(frame["bytes"], MIME[encoding])
    from PIL import Image

    from curate.frames.encode import decode_frame

    buf = io.BytesIO()
    Image.fromarray(decode_frame(frame["bytes"], encoding, height, width)).save(buf, format="PNG")
    return _png_uri(buf.getvalue())


def _video(r: dict, frames: int) -> dict:
    """One contact-sheet entry: the video's name and metadata above up to ``frames`` of its frames
    (evenly picked: index ``round(i · (n - 1) / (frames - 1))``); a frame that does not decode is a note."""
    stored = r["frames"] or []
    n = len(stored)
    pick = list(range(n)) if n <= frames else sorted({round(i * (n - 1) / max(frames - 1, 1)) for i in range(frames)})
    timestamps = r.get("timestamps") or [None] * n
    cells = []
    for i in pick:
        try:
            uri = _frame_uri(stored[i], r["encoding"], r["height"], r["width"])
        except Exception as exc:  # noqa: BLE001 - one bad frame must not sink the report
            cells.append({"error": str(exc)})
            continue
        t = timestamps[i]
        cells.append({"uri": uri, "label": f"#{r['frame_indices'][i]}" + (f" · {t:.2f}s" if t is not None else "")})
    meta = f"{n} frames of {r['num_frames_decoded']} decoded · {r['width']}×{r['height']} {r['encoding']}"
    return {"name": r["video"], "meta": meta, "cells": cells}


def _contact_sheet(shards: list[Path], videos: int, frames: int) -> dict:
    """The first ``videos`` videos of the shards (each on whole lines above its frames) and the total."""
    entries: list[dict] = []
    total = 0
    for shard in shards:
        parquet = open_table(shard, "frames")
        total += parquet.metadata.num_rows
        if len(entries) < videos:
            rows = read_table(shard, "frames").slice(0, videos - len(entries)).to_pylist()
            entries += [_video(r, frames) for r in rows]
    return {"videos": entries, "total": total, "shown": min(videos, total), "shards": len(shards)}


def _question_plots(stats: dict, mcq: list[dict] | None) -> list[dict]:
    """Answer letters (before/after debiasing where stats.json has both), options per question and video
    durations: from stats.json, else computed from mcq.parquet."""
    plots: list[dict] = []
    letters = stats.get("answer_letter_histogram")
    if letters is None and mcq is not None:
        letters = _counts(_letter(r["answer"]) for r in mcq if r["answer"] is not None)
    if letters and "before_shuffle" in letters:
        series = [("before", letters["before_shuffle"]), ("after", letters.get("after_shuffle") or {})]
        plots.append(_bar_plot("Answer letters before/after debiasing", series, "answer", "answer letters"))
    elif letters:
        plots.append(_bar_plot("Answer letters", letters, "answer", "answer letters"))
    options = stats.get("option_count_histogram")
    if options is None and mcq is not None:
        options = _counts(len(r["options"] or []) for r in mcq)
    if options:
        plots.append(_bar_plot("Options per question", options, "options", "option counts"))
    durations = stats.get("duration_histogram")
    if durations is None and mcq is not None:
        import polars as pl

        from curate.stats import duration_histogram

        column = pl.Series([r["duration"] for r in mcq], dtype=pl.Float64)
        durations = duration_histogram(pl.DataFrame({"duration": column}))
    if durations:
        plots.append(_bar_plot("Video duration", durations, "seconds", "durations"))
    return plots


def _by_source(stats: dict, mcq: list[dict] | None, rejects: list[dict] | None) -> dict | None:
    """Per source: read/kept/rejected from stats.json, else kept and rejected counted from the tables."""
    if stats.get("by_source"):
        rows = [(s, v.get("read"), v.get("kept"), v.get("rejected")) for s, v in sorted(stats["by_source"].items())]
        return {"header": ["source", "read", "kept", "rejected"], "rows": rows}
    if mcq is None and rejects is None:
        return None
    kept = _counts(r.get("source") for r in mcq or [])
    dropped = _counts(r.get("source") for r in rejects or [])
    rows = [(s, kept.get(s, 0), dropped.get(s, 0)) for s in sorted(set(kept) | set(dropped))]
    return {"header": ["source", "kept", "rejected"], "rows": rows}


def _reasons(stats: dict, rejects: list[dict] | None) -> dict | None:
    # rejects.parquet is the record of this folder (stats.json exists only after filter, and agrees with it there).
    reasons = _counts(r["reason"] for r in rejects) if rejects is not None else stats.get("reasons")
    if reasons is None:
        return None
    rows = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    plot = _bar_plot("Reject reasons", dict(rows), "reason", "reject reasons") if rows else None
    return {"rows": rows, "plot": plot}


def _passrate(path: Path) -> dict:
    """Questions, mean pass rate, never (0) and always (1) solved, and the histogram."""
    rates = [r for r in read_table(path, "passrate", ["pass_rate"]).column("pass_rate").to_pylist() if r is not None]
    mean = sum(rates) / len(rates) if rates else float("nan")
    rows = [
        ("questions", len(rates)),
        ("mean pass rate", f"{mean:.3f}"),
        ("never solved (0)", sum(r == 0 for r in rates)),
        ("always solved (1)", sum(r == 1 for r in rates)),
    ]
    return {"rows": rows, "plot": _hist_plot("Pass rate per question", rates, "pass rate", "pass rate")}


def _decontamination(directory: Path, stats: dict, pairs: int) -> dict:
    """A ``curate decontaminate`` folder: counts from stats.json (rows per benchmark and match kind, reject
    reasons, every match per kind) and up to ``pairs`` matched frame pairs side by side from
    ``pairs.parquet`` (thumbnails the stage kept), named from ``matches.parquet``."""
    by_benchmark = stats.get("by_benchmark") or {}
    manifest_options = (_json_object(directory / "manifest.json") or {}).get("options") or {}
    kinds = sorted({how for counts in by_benchmark.values() for how in counts})
    rows = [(b, *(c.get(k, 0) for k in kinds), sum(c.values())) for b, c in sorted(by_benchmark.items())]
    series = [(k, {b: c.get(k, 0) for b, c in by_benchmark.items()}) for k in kinds]
    plot = _bar_plot("Training rows matched per benchmark", series, "benchmark", "matched rows") if rows else None
    names = {}
    if (directory / "matches.parquet").exists():
        columns = ["train_row", "bench_row", "how", "train_id", "train_video", "benchmark", "bench_id", "bench_video"]
        for m in read_table(directory / "matches.parquet", "matches", columns).to_pylist():
            names.setdefault((m["train_row"], m["bench_row"], m["how"]), m)
    shown = []
    if (directory / "pairs.parquet").exists() and pairs:
        for p in read_table(directory / "pairs.parquet", "pairs").slice(0, pairs).to_pylist():
            m = names.get((p["train_row"], p["bench_row"], p["how"]), {})
            shown.append(
                {
                    "train": {"uri": _png_uri(p["train_image"], MIME["jpeg"]), "name": m.get("train_video", "")},
                    "bench": {"uri": _png_uri(p["bench_image"], MIME["jpeg"]), "name": m.get("bench_video", "")},
                    "train_label": f"training {m.get('train_id', p['train_row'])} · {p.get('train_time') or 0:.2f}s",
                    "bench_label": f"{m.get('benchmark', 'benchmark')} {m.get('bench_id', p['bench_row'])}"
                    f" · {p.get('bench_time') or 0:.2f}s",
                    "how": f"{p['how']}, similarity {p.get('similarity') or 0:.2f}",
                }
            )
    return {
        "header": ["benchmark", *kinds, "rows"],
        "rows": rows,
        "plot": plot,
        "by_how": sorted((stats.get("matches_by_how") or {}).items()),
        "reasons": sorted((stats.get("reasons") or {}).items()),
        "read": stats.get("read", "?"),
        "matched": stats.get("matched_rows", "?"),
        "rejected": stats.get("rejected", "?"),
        "report_only": bool(manifest_options.get("report_only")),
        "pairs": shown,
    }


def _json_object(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is absent or not one (a manifest is optional here)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _stats(directory: Path) -> dict:
    path = directory / "stats.json"
    if not path.exists():
        return {}
    try:
        stats = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read ({' '.join(str(exc).split())})") from None
    if not isinstance(stats, dict):
        raise UserError(f"{path}: expected a JSON object (curate filter's statistics)")
    return stats


@config
class ReportConfig:
    """The options of ``curate report``."""

    directory: Path = option(help="An output folder of any stage.")
    output: Path | None = option(None, "HTML file (default DIRECTORY/report.html).", short="-o")
    videos: int = option(4, "Videos in the contact sheet.", ge=0, le=1000)
    frames: int = option(8, "Frames per video in the contact sheet.", ge=1, le=256)
    pairs: int = option(6, "Matched frame pairs shown for a decontaminate folder.", ge=0, le=1000)


SURFACE = Surface(ReportConfig, argument="directory")


def run(config: ReportConfig) -> Path:
    """:func:`report` with the options of ``config``; the page's path."""
    return report(
        config.directory, config.output, videos=config.videos, frames_per_video=config.frames, pairs=config.pairs
    )


def report(
    directory: str | Path,
    output: str | Path | None = None,
    *,
    videos: int = 4,
    frames_per_video: int = 8,
    pairs: int = 6,
) -> Path:
    """Write a self-contained HTML report of the stage outputs in ``directory``; return its path.

    ``output`` defaults to ``directory/report.html``. Sections appear for what exists: filter statistics
    (``stats.json``, else computed from ``mcq.parquet``), reject reasons, a contact sheet of the first ``videos``
    videos' frames, the pass-rate histogram, and for a ``curate decontaminate`` folder its matches per benchmark
    and kind with up to ``pairs`` matched frame pairs side by side. Raises :class:`UserError` when nothing
    reportable is there, or naming the file when a table is not Parquet or lacks the columns read
    (:mod:`curate.output_tables`).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: not a folder")
    out = Path(output) if output is not None else directory / "report.html"
    shards = sorted((directory / "frames").glob("part-*.parquet"))
    found = [name for name in KNOWN if (directory / name).exists() and (name != "frames" or shards)]
    if not found:
        raise UserError(f"{directory}: nothing to report (expected one of {', '.join(KNOWN)})")

    stats = _stats(directory)
    mcq = rejects = None
    if (directory / "mcq.parquet").exists():
        mcq = read_table(directory / "mcq.parquet", "mcq", ["source", "options", "answer", "duration"]).to_pylist()
    if (directory / "rejects.parquet").exists():
        rejects = read_table(directory / "rejects.parquet", "rejects", ["source", "reason"]).to_pylist()

    summary = [("folder", str(directory.resolve())), ("files", ", ".join(found))]
    summary += [(key, stats[key]) for key in ("read", "kept", "rejected") if key in stats]
    if mcq is not None:
        summary.append(("questions in mcq.parquet", len(mcq)))
    if rejects is not None:
        summary.append(("rows in rejects.parquet", len(rejects)))
    page = render(
        "report.html.j2",
        "report",
        name=directory.name,
        stamp=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        summary=summary,
        question_plots=_question_plots(stats, mcq),
        by_source=_by_source(stats, mcq, rejects),
        reasons=_reasons(stats, rejects),
        sheet=_contact_sheet(shards, videos, frames_per_video) if shards else None,
        passrate=_passrate(directory / "passrate.parquet") if (directory / "passrate.parquet").exists() else None,
        decontamination=_decontamination(directory, stats, pairs) if "by_benchmark" in stats else None,
    )
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
