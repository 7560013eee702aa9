"""``curate report DIR``: one self-contained HTML page describing a stage's output folder.

Reads whatever the folder holds (``stats.json``, ``mcq.parquet``, ``rejects.parquet``, ``frames/part-*.parquet``,
``passrate.parquet``) and writes ``report.html`` with plots (matplotlib, embedded as PNG data URIs), count tables
and a contact sheet of sampled frames. Nothing in the page points outside it: it opens offline and can be mailed.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq

from curate.errors import UserError
from schemas.atomic import atomic_path

KNOWN = ("stats.json", "mcq.parquet", "rejects.parquet", "frames", "passrate.parquet")
MIME = {"jpeg": "image/jpeg", "png": "image/png"}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-top: 8px; }
.meta { color: #666; font-size: 13px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
.plots figure { margin: 0; } .plots img { width: 520px; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.sheet .video { margin: 10px 0 18px; }
.sheet .name { font-size: 13px; overflow-wrap: anywhere; margin-bottom: 4px; }
.sheet .frames { display: flex; flex-wrap: wrap; gap: 6px; }
.sheet figure { margin: 0; font-size: 11px; text-align: center; }
.sheet img { width: 128px; image-rendering: pixelated; display: block; }
.note { color: #888; font-style: italic; }
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _png_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _bar_png(title: str, counts: dict | list[tuple[str, dict]], xlabel: str, ylabel: str = "count") -> str:
    """A bar chart as a PNG data URI. ``counts`` is ``{label: n}`` or ``[(series, {label: n}), …]`` (grouped)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    series = [("", counts)] if isinstance(counts, dict) else counts
    labels: list[str] = []
    for _, c in series:
        labels += [str(k) for k in c if str(k) not in labels]
    if all(label.isdigit() for label in labels) or all(len(label) == 1 for label in labels):
        labels.sort(key=lambda s: (len(s), s))
    fig = Figure(figsize=(5.2, 3.2), dpi=100)
    ax = fig.subplots()
    width = 0.8 / max(len(series), 1)
    for i, (name, c) in enumerate(series):
        c = {str(k): v for k, v in c.items()}
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(labels))]
        bars = ax.bar(xs, [c.get(label, 0) for label in labels], width=width, label=name or None)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=30 if max(map(len, labels), default=0) > 4 else 0)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.margins(y=0.15)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return _png_uri(buf.getvalue())


def _hist_png(title: str, values: list[float], xlabel: str, bins: int = 10, value_range=(0.0, 1.0)) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.2), dpi=100)
    ax = fig.subplots()
    ax.hist(values, bins=bins, range=value_range, edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("questions")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return _png_uri(buf.getvalue())


def _figure(uri: str, caption: str) -> str:
    return f'<figure><img src="{uri}" alt="{_esc(caption)}"><figcaption>{_esc(caption)}</figcaption></figure>'


def _table(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _counts(values: Iterable[object]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        key = "null" if v is None else str(v)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _letter(i: int) -> str:
    return chr(ord("A") + i) if 0 <= i < 26 else str(i)


def _read(path: Path, columns: list[str] | None = None):
    try:
        table = pq.ParquetFile(path).read()
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise UserError(f"{path}: cannot read Parquet file ({exc})") from None
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    return table


def _frame_uri(frame: dict, encoding: str, height: int, width: int) -> str:
    if encoding in MIME:
        return _png_uri(frame["bytes"], MIME[encoding])
    from PIL import Image

    from curate.frames.encode import decode_frame

    buf = io.BytesIO()
    Image.fromarray(decode_frame(frame["bytes"], encoding, height, width)).save(buf, format="PNG")
    return _png_uri(buf.getvalue())


def _contact_sheet(shards: list[Path], videos: int, frames: int) -> tuple[str, int]:
    """The first ``videos`` videos, each as its name (on a line of its own, so any length stays readable)
    above up to ``frames`` of its frames (evenly picked, wrapping on narrow pages)."""
    blocks: list[str] = []
    total = 0
    for shard in shards:
        pf = pq.ParquetFile(shard)
        total += pf.metadata.num_rows
        if len(blocks) >= videos:
            continue
        for r in pf.read().slice(0, videos - len(blocks)).to_pylist():
            stored = r["frames"] or []
            n = len(stored)
            pick = (
                list(range(n))
                if n <= frames
                else sorted({round(i * (n - 1) / max(frames - 1, 1)) for i in range(frames)})
            )
            cells = []
            for i in pick:
                try:
                    uri = _frame_uri(stored[i], r["encoding"], r["height"], r["width"])
                except Exception as exc:  # noqa: BLE001 - one bad frame must not sink the report
                    cells.append(f'<figure class="note">undecodable: {_esc(exc)}</figure>')
                    continue
                t = (r.get("timestamps") or [None] * n)[i]
                label = f"#{r['frame_indices'][i]}" + (f" · {t:.2f}s" if t is not None else "")
                cells.append(f'<figure><img src="{uri}" alt="{_esc(label)}">{_esc(label)}</figure>')
            info = (
                f"{_esc(r['video'])}<br><span class='meta'>{n} frames of {r['num_frames_decoded']} decoded · "
                f"{r['width']}×{r['height']} {_esc(r['encoding'])}</span>"
            )
            name, strip = f'<div class="name">{info}</div>', f'<div class="frames">{"".join(cells)}</div>'
            blocks.append(f'<div class="video">{name}{strip}</div>')
    return '<div class="sheet">' + "".join(blocks) + "</div>", total


def report(
    directory: str | Path,
    output: str | Path | None = None,
    *,
    videos: int = 4,
    frames_per_video: int = 8,
) -> Path:
    """Write a self-contained HTML report of the stage outputs in ``directory``; return its path.

    ``output`` defaults to ``directory/report.html``. Sections appear for what exists: filter statistics
    (``stats.json``, else computed from ``mcq.parquet``), reject reasons, a contact sheet of the first ``videos``
    videos' frames, and the pass-rate histogram. Raises :class:`UserError` when nothing reportable is there.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory}: not a folder")
    out = Path(output) if output is not None else directory / "report.html"
    shards = sorted((directory / "frames").glob("part-*.parquet"))
    found = [name for name in KNOWN if (directory / name).exists() and (name != "frames" or shards)]
    if not found:
        raise UserError(f"{directory}: nothing to report (expected one of {', '.join(KNOWN)})")

    stats: dict = {}
    if (directory / "stats.json").exists():
        try:
            stats = json.loads((directory / "stats.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{directory / 'stats.json'}: cannot read ({exc})") from None
    mcq = (
        _read(directory / "mcq.parquet", ["source", "options", "answer", "duration"]).to_pylist()
        if (directory / "mcq.parquet").exists()
        else None
    )
    rejects = (
        _read(directory / "rejects.parquet", ["source", "reason"]).to_pylist()
        if (directory / "rejects.parquet").exists()
        else None
    )

    sections: list[str] = []
    summary = [("folder", str(directory.resolve())), ("files", ", ".join(found))]
    for key in ("read", "kept", "rejected"):
        if key in stats:
            summary.append((key, stats[key]))
    if mcq is not None:
        summary.append(("questions in mcq.parquet", len(mcq)))
    if rejects is not None:
        summary.append(("rows in rejects.parquet", len(rejects)))
    sections.append('<section id="summary"><h2>Summary</h2>' + _table(["", "value"], summary) + "</section>")

    # Plots of the question table.
    plots: list[str] = []
    letters = stats.get("answer_letter_histogram")
    if letters is None and mcq is not None:
        letters = _counts(_letter(r["answer"]) for r in mcq if r["answer"] is not None)
    if letters:
        if "before_shuffle" in letters:
            series = [("before", letters["before_shuffle"]), ("after", letters.get("after_shuffle") or {})]
            plots.append(_figure(_bar_png("Answer letters before/after debiasing", series, "answer"), "answer letters"))
        else:
            plots.append(_figure(_bar_png("Answer letters", letters, "answer"), "answer letters"))
    options = stats.get("option_count_histogram")
    if options is None and mcq is not None:
        options = _counts(len(r["options"] or []) for r in mcq)
    if options:
        plots.append(_figure(_bar_png("Options per question", options, "options"), "option counts"))
    durations = stats.get("duration_histogram")
    if durations is None and mcq is not None:
        import polars as pl

        from curate.stats import duration_histogram

        durations = duration_histogram(
            pl.DataFrame({"duration": pl.Series([r["duration"] for r in mcq], dtype=pl.Float64)})
        )
    if durations:
        plots.append(_figure(_bar_png("Video duration", durations, "seconds"), "durations"))
    if plots:
        sections.append(
            '<section id="questions"><h2>Questions</h2><div class="plots">' + "".join(plots) + "</div></section>"
        )

    # Counts per source and per reject reason.
    tables: list[str] = []
    by_source = stats.get("by_source")
    if by_source:
        rows = [(s, v.get("read"), v.get("kept"), v.get("rejected")) for s, v in sorted(by_source.items())]
        tables.append("<h3>Per source</h3>" + _table(["source", "read", "kept", "rejected"], rows))
    elif mcq is not None or rejects is not None:
        kept = _counts(r.get("source") for r in mcq or [])
        dropped = _counts(r.get("source") for r in rejects or [])
        rows = [(s, kept.get(s, 0), dropped.get(s, 0)) for s in sorted(set(kept) | set(dropped))]
        tables.append("<h3>Per source</h3>" + _table(["source", "kept", "rejected"], rows))
    # rejects.parquet is the record of this folder (stats.json exists only after filter, and agrees with it there).
    reasons = _counts(r["reason"] for r in rejects) if rejects is not None else stats.get("reasons")
    if reasons is not None:
        ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        tables.append(
            "<h3>Reject reasons</h3>"
            + (_table(["reason", "count"], ordered) if ordered else '<p class="note">nothing rejected</p>')
        )
        if ordered:
            tables.append(
                '<div class="plots">'
                + _figure(_bar_png("Reject reasons", dict(ordered), "reason"), "reject reasons")
                + "</div>"
            )
    if tables:
        sections.append('<section id="counts"><h2>Counts</h2>' + "".join(tables) + "</section>")

    if shards:
        sheet, total = _contact_sheet(shards, videos, frames_per_video)
        sections.append(
            f'<section id="frames"><h2>Sampled frames</h2><p class="meta">first {min(videos, total)} of {total} '
            f"videos in {len(shards)} shard(s)</p>{sheet}</section>"
        )

    if (directory / "passrate.parquet").exists():
        table = _read(directory / "passrate.parquet", ["pass_rate", "k"])
        rates = [r for r in table.column("pass_rate").to_pylist() if r is not None]
        figure = _figure(_hist_png("Pass rate per question", rates, "pass rate"), "pass rate")
        mean = sum(rates) / len(rates) if rates else float("nan")
        rows = [
            ("questions", len(rates)),
            ("mean pass rate", f"{mean:.3f}"),
            ("never solved (0)", sum(r == 0 for r in rates)),
            ("always solved (1)", sum(r == 1 for r in rates)),
        ]
        sections.append(
            '<section id="passrate"><h2>Pass rate</h2>'
            + _table(["", "value"], rows)
            + f'<div class="plots">{figure}</div></section>'
        )

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>curate report: {_esc(directory.name)}</title><style>{CSS}</style></head><body>"
        f'<h1>curate report: {_esc(directory.name)}</h1><p class="meta">written {stamp}</p>'
        + "".join(sections)
        + "</body></html>\n"
    )
    with atomic_path(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out
