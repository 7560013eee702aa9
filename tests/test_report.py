"""curate report: the HTML page has a section per output found, embeds everything, escapes text, and renders
in headless Chromium (Debian's ``chromium`` package, installed by scripts/setup.sh) to a non-blank screenshot."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import extract_config as config
from helpers import make_table
from media import make_clip
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import UserError
from curate.filter import FilterConfig
from curate.filter import run as run_filter
from curate.frames.extract import run as run_extract
from curate.report import report
from schemas.mcq import read_mcq, write_mcq

pytestmark = pytest.mark.slow  # the whole module: models, Ray, real processes or Chromium (-m 'not slow' skips it)

SAMPLES = Path(__file__).resolve().parents[1] / "curate" / "samples"


@pytest.fixture(scope="module")
def filtered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("filtered")
    inputs = sorted(SAMPLES.glob("*.json")) + sorted(SAMPLES.glob("*.csv"))
    run_filter(FilterConfig(inputs=inputs, output=out, shuffle_options=3))
    return out


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        make_clip(root / name, seconds=2.0, size="160x120")
    return root


def write_passrate(out: Path) -> None:
    rates = [0.0, 0.125, 0.5, 0.5, 0.75, 1.0, 1.0, 0.25]
    pq.write_table(
        pa.table(
            {
                "id": [f"q{i}" for i in range(len(rates))],
                "k": [8] * len(rates),
                "correct": [round(r * 8) for r in rates],
                "format_ok": [8] * len(rates),
                "pass_rate": rates,
            }
        ),
        out / "passrate.parquet",
    )


@pytest.fixture(scope="module")
def everything(tmp_path_factory, library, filtered) -> Path:
    """extract-frames output (3 videos, one missing) + the filter's stats.json + a passrate.parquet."""
    mcq = make_table(tmp_path_factory.mktemp("in"), ["a.mp4", "b.mp4", "c.mp4", "missing.mp4"], per_video=2)
    out = tmp_path_factory.mktemp("frames") / "out"
    run_extract(config(mcq, library, out, size=96))
    shutil.copy(filtered / "stats.json", out / "stats.json")
    write_passrate(out)
    return out


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert match, f"section {name!r} missing"
    return match.group(1)


def assert_self_contained(page: str) -> None:
    assert "http" not in page.lower()
    for src in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert src.startswith("data:"), src
    assert "<script" not in page.lower()


def test_filter_output_report(filtered):
    path = report(filtered)
    assert path == filtered / "report.html"
    page = path.read_text()
    assert_self_contained(page)
    assert "answer letters" in section(page, "questions")
    questions = section(page, "questions")
    assert questions.count("data:image/png;base64,") == 3  # letters (before/after), options, durations
    counts = section(page, "counts")
    for text in ("llava_video_178k", "nextqa", "duplicate_options", "open_ended", "Reject reasons"):
        assert text in counts
    assert 'id="frames"' not in page and 'id="passrate"' not in page


def test_frames_and_passrate_report(everything, tmp_path):
    out = report(everything, tmp_path / "elsewhere" / "r.html")
    assert out == tmp_path / "elsewhere" / "r.html" and not (everything / "report.html").exists()
    page = out.read_text()
    assert_self_contained(page)
    frames = section(page, "frames")
    assert frames.count('<div class="video">') == 3
    assert frames.count("data:image/jpeg;base64,") == 3 * 4  # all 4 sampled frames
    assert "first 3 of 3 videos" in frames
    passrate = section(page, "passrate")
    assert "data:image/png;base64," in passrate and "<td>0.516</td>" in passrate
    counts = section(page, "counts")
    assert "<td>missing</td><td>2</td>" in counts  # reasons of this folder's rejects.parquet (2 questions)
    assert "llava_video_178k" in counts  # per source from stats.json


def test_raw_frames_are_reencoded_as_png(tmp_path, library):
    mcq = make_table(tmp_path / "in", ["a.mp4"])
    out = tmp_path / "out"
    run_extract(config(mcq, library, out, encoding="raw", size=16))
    page = report(out, videos=1, frames_per_video=2).read_text()
    frames = section(page, "frames")
    assert frames.count("data:image/png;base64,") == 2 and "image/jpeg" not in frames


def test_text_is_escaped_and_stats_computed_without_stats_json(tmp_path):
    folder = make_table(tmp_path / "t", ["x.mp4", "y.mp4"], per_video=3)
    rows = read_mcq(folder).to_pylist()
    for r in rows:
        r["source"] = "<script>alert(1)</script>&co"
    write_mcq(pa.Table.from_pylist(rows), folder / "mcq.parquet")
    page = report(folder).read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;co" in page
    assert section(page, "questions").count("data:image/png;base64,") == 3


def test_nothing_to_report(tmp_path):
    with pytest.raises(UserError, match="nothing to report"):
        report(tmp_path)
    with pytest.raises(UserError, match="not a folder"):
        report(tmp_path / "absent")


@pytest.mark.parametrize(
    "where", ["mcq.parquet", "rejects.parquet", "passrate.parquet", "frames/part-00000.parquet", "stats.json"]
)
@pytest.mark.parametrize("content", ["garbage", "wrong schema"])
def test_bad_file_is_one_line_error_naming_it(tmp_path, everything, where, content):
    folder = tmp_path / "copy"
    shutil.copytree(everything, folder, ignore=shutil.ignore_patterns("_work", "report.html"))
    target = folder / where
    if content == "garbage":
        target.write_bytes(b"\x00\x01 this is not a table\n")
    elif target.suffix == ".json":
        target.write_text("[1, 2, 3]")
    else:  # Parquet, but not the table this file name promises
        pq.write_table(pa.table({"id": ["x"], "answer": ["B"], "pass_rate": ["high"]}), target)
    with pytest.raises(UserError, match=re.escape(str(target))) as err:
        report(folder)
    assert "\n" not in str(err.value) and not (folder / "report.html").exists()
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 2 and str(target) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.fail("headless Chromium is required: install Debian's `chromium` package (scripts/setup.sh does)")


def measure_in_chromium(page: str, tmp_path: Path, body: str) -> dict:
    """Lay ``page`` out in headless Chromium at a laptop width (1000 × 800) and return what the JavaScript
    function ``body`` returns (JSON), run by a script appended to a copy of the page."""
    probe = tmp_path / "probe.html"
    script = f"<script>document.body.setAttribute('data-measured', JSON.stringify((() => {{{body}}})()));</script>"
    probe.write_text(page.replace("</body>", script + "</body>"))
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1000,800",
            "--dump-dom",
            probe.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(html.unescape(re.search(r'data-measured="([^"]*)"', result.stdout).group(1)))


def test_report_renders_in_headless_chromium(everything, tmp_path):
    from PIL import Image

    page = report(everything)
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(shot) as image:
        assert image.size == (1200, 3000)
        rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # plots and frames, not a blank or error page
    white = max((n for n, c in colours if c == (255, 255, 255)), default=0)
    assert white < 0.95 * rgb.width * rgb.height
    # the contact sheet is drawn: testsrc frames are saturated colour bars
    assert sum(n for n, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 120) > 5000


def test_contact_sheet_names_stay_readable_at_any_length(tmp_path, library):
    """A long video path is laid out on whole lines above its frames, not squeezed beside them: Chromium
    lays the page out at a laptop width and a script appended to a copy of the page measures the name."""
    long_dir = tmp_path / "videos" / ("a_rather_long_folder_name_" * 3) / "and_another_level"
    long_dir.mkdir(parents=True)
    shutil.copy(library / "a.mp4", long_dir / "clip_with_a_descriptive_name_0001.mp4")
    name = str((long_dir / "clip_with_a_descriptive_name_0001.mp4").relative_to(tmp_path / "videos"))
    mcq = make_table(tmp_path / "in", [name])
    out = tmp_path / "out"
    run_extract(config(mcq, tmp_path / "videos", out, size=64))
    page = report(out).read_text()
    measured = measure_in_chromium(
        page,
        tmp_path,
        "const n = document.querySelector('.sheet .name');"
        "const r = n.getBoundingClientRect(); const line = parseFloat(getComputedStyle(n).lineHeight) || 16;"
        "return {width: r.width, height: r.height, line};",
    )
    assert measured["width"] > 600  # the name has the page's width, not a narrow column
    assert measured["height"] <= 6 * measured["line"]  # the name and its metadata line: a few lines, not dozens


@pytest.fixture(scope="module")
def decontaminated(tmp_path_factory) -> Path:
    """A ``curate decontaminate`` folder: training frames stored by extract-frames (a letterboxed copy of a
    benchmark clip, an unrelated clip, a Charades id shared with the benchmark) against an MVBench task."""
    from curate.decontaminate.config import DECONTAMINATE
    from curate.decontaminate.stage import run as run_decontaminate
    from curate.frames.sampling import Sampling
    from tests.decontam_media import mcq_folder, scene_clip, transformed

    root = tmp_path_factory.mktemp("decontaminate")
    bench_videos, train_videos = root / "bench_videos", root / "train_videos"
    bench_videos.mkdir()
    train_videos.mkdir()
    scene_clip(bench_videos / "ZS9XR.mp4", 7)
    transformed(bench_videos / "ZS9XR.mp4", "letterbox", train_videos / "copy.mp4")
    scene_clip(train_videos / "other.mp4", 8)
    scene_clip(train_videos / "6H78U.mp4", 9)
    rows = [
        {"id": "t0", "source": "star", "video": "6H78U.mp4", "question": "q zero", "options": ["a", "b"]},
        {"id": "t1", "source": "x", "video": "copy.mp4", "question": "q one", "options": ["a", "b"]},
        {"id": "t2", "source": "x", "video": "other.mp4", "question": "q two", "options": ["a", "b"]},
    ]
    frames = root / "frames"
    run_extract(
        config(mcq_folder(root / "train", rows), train_videos, frames, size=96, sampling=Sampling(num_frames=8))
    )
    task = root / "action_sequence.json"  # the MVBench reader names the task after the file
    items = [("6H78U.mp4", "b0"), ("ZS9XR.mp4", "b1")]
    task.write_text(
        json.dumps([{"video": v, "question": q, "candidates": ["c", "d"], "answer": "c"} for v, q in items])
    )
    out = root / "out"
    options = {"train": frames, "against": [task], "against_video_root": [bench_videos], "output": out}
    run_decontaminate(DECONTAMINATE.build({**options, "workers": 1, "bench_fps": 4}))
    return out


def test_decontamination_report(decontaminated):
    page = report(decontaminated).read_text()
    assert_self_contained(page)
    part = section(page, "decontamination")
    assert "<tr><td>mvbench</td><td>1</td><td>1</td><td>2</td></tr>" in part  # content 1, id 1: 2 rows
    assert "<td>contaminated_video</td><td>2</td>" in part
    assert "2 of 3 training rows match a benchmark; 2 rejected." in part
    pairs = part[part.index('<div class="pairs">') :]
    assert pairs.count('<div class="pair">') == 1 and pairs.count("data:image/jpeg;base64,") == 2
    assert "copy.mp4" in pairs and "ZS9XR.mp4" in pairs and "content, similarity 1.00" in pairs
    assert "training t1" in pairs and "mvbench mvbench:action_sequence:1" in pairs


def test_matched_frames_are_side_by_side_in_chromium(decontaminated, tmp_path):
    """Chromium lays the page out at a laptop width; a script appended to a copy measures the pair's images:
    both decoded, the benchmark frame beside the training frame, not under it."""
    page = report(decontaminated, tmp_path / "r.html").read_text()
    measured = measure_in_chromium(
        page,
        tmp_path,
        "const [a, b] = [...document.querySelectorAll('.pairs img')].map(i => "
        "({box: i.getBoundingClientRect(), natural: i.naturalWidth})); return {a, b};",
    )
    a, b = measured["a"], measured["b"]
    assert a["natural"] > 0 and b["natural"] > 0  # the thumbnails decode
    assert a["box"]["width"] == b["box"]["width"] >= 240  # 240 px and the border
    assert abs(a["box"]["top"] - b["box"]["top"]) < 1 and b["box"]["left"] >= a["box"]["right"]
