"""Benchmark: ``curate filter`` vs a plain-Python converter on LLaVA-Video-178K multiple-choice files.

What is measured
    The wall time of two whole processes that turn the same synthetic ``*_mc_qa_processed.json`` file
    into a Parquet table of clean multiple-choice questions:

    * ``curate filter FILE -o OUT --force --quiet`` (no video probing), and
    * the baseline below, run as ``python bench_filter.py --baseline-only FILE OUT`` with the same
      interpreter, so both sides pay interpreter start-up and imports.

    Each is run ``--repeat`` times (default 3), alternating, and the BEST (minimum) wall time is
    reported; the median is printed too. Both must keep the same number of questions; the synthetic
    generator also knows how many it should keep, and all three counts are printed.

The data
    A seeded generator writes a JSON array of records ``{id, conversations, data_source, video}``
    (indented like the published files) with 1-5 human/gpt question pairs each: 4 or 5 options,
    ``Options:`` header lines in some, answers ``B.`` or ``B. <option text>.``, a few percent of bad
    turns (open-ended, unparseable answer, answer letter out of range, duplicate options, a gap in the
    option letters), a few records whose conversation ends on a human turn, and duplicates (a question
    repeated in its record; whole records copied under a new id with options reordered and the question
    re-spaced). Copies always keep the same answer, so no "conflicting duplicate" (a ``curate`` reject
    reason the baseline lacks) occurs and the kept counts agree exactly.

The baseline
    What a lab's one-off script would do: ``json.load`` the file, then per record and per turn pair
    precompiled ``re`` patterns strip ``<image>``, split question / options / instruction and parse the
    answer letter; it checks the option count, the answer range, the answer text, empty and duplicate
    options, dedupes with a dict on (video, question, option set, answer) and writes the kept rows with
    pyarrow. It writes only ``mcq``-like rows; ``curate`` additionally writes rejects, stats and a manifest.

Usage
    python benchmarks/bench_filter.py [--questions N] [--million] [--repeat R] [--seed S]

The last line printed is ``ratio (baseline / curate): X.Yx``. Goals from the issue: at least 5x faster
than the baseline, and 1,000,000 questions in under 30 s (``--million`` times that file too).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_QUESTIONS = 240_000
MILLION = 1_000_000
LETTERS = string.ascii_uppercase

# --------------------------------------------------------------------------------------------------
# Synthetic LLaVA-Video-178K data
# --------------------------------------------------------------------------------------------------

DATA_SOURCES = [
    "0_30_s_nextqa", "30_60_s_nextqa", "0_30_s_academic_v0_1", "30_60_s_academic_v0_1",
    "1_2_m_academic_v0_1", "0_30_s_youtube_v0_1", "30_60_s_youtube_v0_1", "1_2_m_youtube_v0_1",
    "2_3_m_youtube_v0_1", "0_30_s_activitynetqa", "30_60_s_perceptiontest",
]
OBJECTS = ["skillet", "bicycle", "dog", "guitar", "ball", "cup", "laptop", "knife", "box", "umbrella",
           "bowl", "chair", "phone", "book", "kite", "car"]
POOLS = {
    "color": ["Black", "Silver", "Red", "Blue", "Green", "White", "Yellow", "Brown"],
    "action": ["Slicing vegetables", "Washing it", "Throwing it", "Holding it up", "Putting it away",
               "Cleaning it with a cloth", "Handing it to someone", "Pointing at it"],
    "count": ["One", "Two", "Three", "Four", "Five", "Six", "More than six"],
    "place": ["On the table", "On the floor", "In a drawer", "On a shelf", "Next to the sink",
              "In the person's hand", "On the counter"],
    "event": ["The person laughs", "A dog runs past", "The camera zooms in", "The lights go out",
              "Someone claps", "The person sits down", "Music starts playing"],
    "reason": ["To cook a meal", "To show it to the camera", "To clean it", "Because it fell",
               "To give it away", "To measure something", "To start a game"],
    "material": ["Metal", "Wood", "Plastic", "Glass", "Ceramic", "Fabric", "Paper"],
    "object": [o.capitalize() for o in OBJECTS],
    "setting": ["A kitchen", "A park", "A classroom", "A living room", "A street", "A gym", "A beach"],
}
TEMPLATES = [
    ("What is the color of the {obj} in the video?", "color"),
    ("What is the person doing with the {obj}?", "action"),
    ("How many {obj}s can be seen in the video?", "count"),
    ("Where is the {obj} placed at the start of the video?", "place"),
    ("What happens right after the {obj} appears?", "event"),
    ("Why does the person pick up the {obj}?", "reason"),
    ("What is the {obj} most likely made of?", "material"),
    ("Which object is closest to the {obj}?", "object"),
    ("What does the person do before touching the {obj}?", "action"),
    ("What is the overall setting of the video?", "setting"),
]
INSTRUCTIONS = {
    "letter": "Please respond with only the letter of the correct answer.",
    "full": "Please provide your answer by stating the letter followed by the full option.",
}
OPEN_INSTRUCTION = "Answer the question using a single word or phrase."
BAD_KINDS = ["open_ended", "unparseable_answer", "answer_out_of_range", "duplicate_options", "letter_gap"]
P_BAD_TURN = 0.03  # split evenly over BAD_KINDS
P_REPEAT_TURN = 0.02  # a question asked again later in its record
P_COPY_RECORD = 0.01  # a whole record copied under a new id
P_BAD_RECORD = 0.003  # conversation ends on a human turn


@dataclass
class Turn:
    """One well-formed question: text, options and 0-based answer."""

    question: str
    options: list[str]
    answer: int


@dataclass
class GenStats:
    questions: int = 0
    records: int = 0
    expected_kept: int = 0
    duplicates: int = 0
    bad_records: int = 0
    bad: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BAD_KINDS, 0))


def _video_and_id(rng: random.Random, n: int, data_source: str) -> tuple[str, str]:
    """A path in the style of the bucket's source, unique per record number ``n``."""
    ytid = "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=11))
    if data_source.endswith("nextqa"):
        vid = 8_000_000_000 + n
        return f"NextQA/NExTVideo/{1000 + n % 200}/{vid}.mp4", str(vid)
    if "academic" in data_source or "activitynet" in data_source or "perception" in data_source:
        return f"academic_source/youcook2/{n % 500}/{ytid}/split_{n}.mp4", f"{n % 500}-{ytid}-split_{n}"
    return f"liwei_youtube_videos/videos/youtube_video_2024/ytb_{ytid}_{n}.mp4", f"ytb_{ytid}_{n}"


def _new_turns(rng: random.Random, k: int) -> list[Turn]:
    """``k`` questions with distinct templates (so distinct texts within a record)."""
    turns = []
    for text, pool in rng.sample(TEMPLATES, k):
        options = rng.sample(POOLS[pool], rng.choice((4, 5)))
        turns.append(Turn(text.format(obj=rng.choice(OBJECTS)), options, rng.randrange(len(options))))
    return turns


def _human(turn: Turn, first: bool, style: str, header: bool, letters: str = LETTERS) -> str:
    lines = ["<image>\n" + turn.question if first else turn.question]
    if header:
        lines.append("Options:")
    lines += [f"{letter}. {opt}" for letter, opt in zip(letters, turn.options, strict=False)]
    lines.append(INSTRUCTIONS[style])
    return "\n".join(lines)


def _gpt(letter: str, text: str, style: str) -> str:
    return f"{letter}." if style == "letter" else f"{letter}. {text}."


def _pair(rng: random.Random, turn: Turn, first: bool, kind: str | None = None) -> list[dict]:
    """Render a human/gpt pair; ``kind`` (one of BAD_KINDS) spoils it the way ``curate`` must reject."""
    style, header = rng.choice(("letter", "full")), rng.random() < 0.3
    letters, answer_letter = LETTERS, LETTERS[turn.answer]
    if kind == "open_ended":
        human = ("<image>\n" if first else "") + turn.question + "\n" + OPEN_INSTRUCTION
        return [{"from": "human", "value": human}, {"from": "gpt", "value": turn.options[turn.answer] + "."}]
    if kind == "duplicate_options":
        turn = Turn(turn.question, turn.options[:-1] + [turn.options[0].upper()], turn.answer)
    elif kind == "letter_gap":
        letters = "ABDEFG"
    elif kind == "answer_out_of_range":
        answer_letter = LETTERS[len(turn.options)]
    human = _human(turn, first, style, header, letters)
    gpt = _gpt(answer_letter, turn.options[turn.answer], style)
    if kind == "unparseable_answer":
        gpt = "Not sure, it could be " + turn.options[turn.answer].lower() + "."
    return [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]


def _copy(rng: random.Random, turn: Turn) -> Turn:
    """The same question with its options reordered and its text re-spaced (a duplicate for both sides)."""
    order = rng.sample(range(len(turn.options)), len(turn.options))
    question = turn.question.replace(" ", "  ", 1)
    return Turn(question, [turn.options[i] for i in order], order.index(turn.answer))


def _record(rng: random.Random, n: int, budget: int, pool: list[list[Turn]], stats: GenStats) -> dict:
    """One record with at most ``budget`` question pairs; updates ``stats``; adds originals to ``pool``."""
    data_source = rng.choice(DATA_SOURCES)
    video, rid = _video_and_id(rng, n, data_source)
    copy_of = rng.choice(pool) if pool and rng.random() < P_COPY_RECORD else None
    if copy_of is not None:
        data_source, video = copy_of[0], copy_of[1]
        turns = [_copy(rng, t) for t in copy_of[2]][:budget]
        conv = [m for i, t in enumerate(turns) for m in _pair(rng, t, i == 0)]
        stats.duplicates += len(turns)
        stats.questions += len(turns)
        return {"id": rid, "conversations": conv, "data_source": data_source, "video": video}

    bad_record = rng.random() < P_BAD_RECORD
    conv, kept = [], []
    turns = _new_turns(rng, min(rng.randint(1, 5), budget))
    for i, turn in enumerate(turns):
        kind = rng.choice(BAD_KINDS) if rng.random() < P_BAD_TURN else None
        conv += _pair(rng, turn, i == 0, kind)
        if kind is not None:
            stats.bad[kind] += 1
        else:
            kept.append(turn)
        room = budget - len(conv) // 2 - (len(turns) - i - 1)
        if kept and room > 0 and rng.random() < P_REPEAT_TURN:
            conv += _pair(rng, rng.choice(kept), False)
            stats.duplicates += 1
    stats.questions += len(conv) // 2
    if bad_record:
        conv.append({"from": "human", "value": "Can you describe the video in more detail?"})
        stats.bad_records += 1
    elif kept:
        stats.expected_kept += len(kept)
        pool.append([data_source, video, kept])
        del pool[:-1000]
    return {"id": rid, "conversations": conv, "data_source": data_source, "video": video}


def generate(path: Path, questions: int, seed: int) -> GenStats:
    """Write ``questions`` question pairs to ``path`` (a JSON array, indented like the published files)."""
    rng, stats, pool, records = random.Random(seed), GenStats(), [], []
    while stats.questions < questions:
        records.append(_record(rng, len(records), questions - stats.questions, pool, stats))
    stats.records = len(records)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(records, fh, indent=4, ensure_ascii=False)
    return stats


# --------------------------------------------------------------------------------------------------
# Baseline: a plain-Python per-record converter
# --------------------------------------------------------------------------------------------------

MEDIA_RE = re.compile(r"<(?:image|video)>\s*")
OPTION_RE = re.compile(r"^\s*\(?([A-Z])[.):]\)?\s+(\S.*?)\s*$")
HEADER_RE = re.compile(r"(?i)^\s*(?:options|choices)\s*:?\s*$")
ANSWER_RE = re.compile(r"^\s*\(?([A-Z])(?:[.):]\)?|\s|$)\s*(.*?)\s*$")
TRAILING_PUNCT_RE = re.compile(r"[\s.!?,;:]+$")


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _norm_answer(text: str) -> str:
    return TRAILING_PUNCT_RE.sub("", _norm(text))


def _alternates(conv: object) -> bool:
    if not isinstance(conv, list) or not conv or len(conv) % 2:
        return False
    return all(
        isinstance(t, dict) and t.get("from") == ("human" if i % 2 == 0 else "gpt") and isinstance(t.get("value"), str)
        for i, t in enumerate(conv)
    )


def _split_question(human: str) -> tuple[str, list[str]] | None:
    """(question, options) from a human turn, or None when it has no well-formed option block."""
    lines = MEDIA_RE.sub("", human).split("\n")
    matches = [OPTION_RE.match(line) for line in lines]
    at = [i for i, m in enumerate(matches) if m]
    if not at:
        return None  # open-ended
    first, last = at[0], at[-1]
    if any(matches[i] is None and lines[i].strip() for i in range(first, last + 1)):
        return None  # a stray line inside the option block
    found = [m for m in matches[first:last + 1] if m]
    if "".join(m.group(1) for m in found) != LETTERS[: len(found)]:
        return None  # letters do not run A, B, C, ...
    question = "\n".join(line for line in lines[:first] if not HEADER_RE.match(line)).strip()
    return question, [m.group(2) for m in found]


def _parse_turn(human: str, gpt: str) -> tuple[str, list[str], int] | None:
    """(question, options, answer index) for a usable multiple-choice turn, else None."""
    split = _split_question(human)
    if split is None:
        return None
    question, options = split
    normed = [_norm(o) for o in options]
    if not question or not 2 <= len(options) <= 26 or "" in normed or len(set(normed)) < len(normed):
        return None
    m = ANSWER_RE.match(gpt)
    if m is None:
        return None
    answer = ord(m.group(1)) - ord("A")
    if answer >= len(options):
        return None
    if m.group(2) and _norm_answer(m.group(2)) != _norm_answer(options[answer]):
        return None
    return question, options, answer


def baseline(src: str, out: str) -> int:
    """Convert ``src`` to the Parquet file ``out``; returns the number of kept questions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(src, encoding="utf-8") as fh:
        records = json.load(fh)
    rows: dict[str, list] = {k: [] for k in ("id", "subset", "video", "question", "options", "answer", "meta")}
    seen: dict[tuple, str] = {}
    for rec in records:
        conv, video = rec.get("conversations"), rec.get("video")
        if not _alternates(conv) or not video:
            continue
        rid, subset = str(rec.get("id")), rec.get("data_source")
        for turn in range(len(conv) // 2):
            parsed = _parse_turn(conv[2 * turn]["value"], conv[2 * turn + 1]["value"])
            if parsed is None:
                continue
            question, options, answer = parsed
            key = (video, _norm(question), tuple(sorted(_norm(o) for o in options)), _norm_answer(options[answer]))
            item_id = f"llava_video_178k:{rid}:{turn}"
            if seen.setdefault(key, item_id) != item_id:
                continue
            for name, value in (("id", item_id), ("subset", subset), ("video", video), ("question", question),
                                ("options", options), ("answer", answer)):
                rows[name].append(value)
            rows["meta"].append(json.dumps({"data_source": subset, "record_id": rid, "turn": turn}))
    n = len(rows["id"])
    table = pa.table({
        "id": rows["id"], "source": ["llava_video_178k"] * n, "subset": rows["subset"], "video": rows["video"],
        "question": rows["question"], "options": pa.array(rows["options"], pa.list_(pa.string())),
        "answer": pa.array(rows["answer"], pa.int8()), "problem_type": ["multiple choice"] * n, "meta": rows["meta"],
    })
    pq.write_table(table, out)
    return n


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------


@dataclass
class Timing:
    best: float
    median: float
    peak_mb: float  # peak RSS of the process, largest over the repeats


def _run_once(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one process; raises if it fails."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err.read().decode(errors='replace')}")
    return wall, usage.ru_maxrss / 1024


def _summarize(samples: list[tuple[float, float]]) -> Timing:
    walls = [w for w, _ in samples]
    return Timing(min(walls), statistics.median(walls), max(m for _, m in samples))


def curate_command(src: Path, out: Path) -> list[str]:
    exe = Path(sys.executable).with_name("curate")
    curate = str(exe) if exe.exists() else shutil.which("curate")
    if curate is None:
        raise SystemExit("cannot find the `curate` command next to this python or on PATH")
    return [curate, "filter", str(src), "-o", str(out), "--force", "--quiet"]


def baseline_command(src: Path, out: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--baseline-only", str(src), str(out)]


def time_commands(commands: dict[str, list[str]], repeat: int) -> dict[str, Timing]:
    """Run each command ``repeat`` times, interleaved, and summarize each."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            samples[name].append(_run_once(cmd))
    return {name: _summarize(s) for name, s in samples.items()}


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


@dataclass
class Row:
    questions: int
    size_mb: float
    curate: Timing
    baseline: Timing | None
    kept_curate: int
    kept_baseline: int | None
    expected: int


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[Row]) -> None:
    header = (f"{'questions':>10} {'file MB':>8} {'curate s':>9} {'baseline s':>11} {'curate q/s':>11} "
              f"{'baseline q/s':>13} {'peak MB c/b':>12} {'kept curate / baseline / expected':>34}")
    print(header)
    print("-" * len(header))
    for r in rows:
        b = r.baseline
        peak = f"{r.curate.peak_mb:.0f}/{_fmt(b and b.peak_mb, '.0f')}"
        kept = f"{r.kept_curate:,} / {_fmt(r.kept_baseline, ',')} / {r.expected:,}"
        print(f"{r.questions:>10,} {r.size_mb:>8.1f} {r.curate.best:>9.2f} {_fmt(b and b.best, '.2f'):>11} "
              f"{r.questions / r.curate.best:>11,.0f} {_fmt(b and r.questions / b.best, ',.0f'):>13} "
              f"{peak:>12} {kept:>34}")


def bench_file(tmp: Path, questions: int, seed: int, repeat: int, with_baseline: bool) -> Row:
    src = tmp / f"synthetic_{questions}_mc_qa_processed.json"
    t0 = time.perf_counter()
    gen = generate(src, questions, seed)
    print(f"generated {src.name}: {gen.records:,} records, {gen.questions:,} questions, "
          f"{gen.duplicates:,} duplicates, bad turns {gen.bad}, {gen.bad_records} bad records "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)
    commands = {"curate": curate_command(src, tmp / "curate_out")}
    if with_baseline:
        commands["baseline"] = baseline_command(src, tmp / "baseline.parquet")
    timings = time_commands(commands, repeat)
    stats = json.loads((tmp / "curate_out" / "stats.json").read_text(encoding="utf-8"))
    print(f"curate rejects: {stats['reasons']}", flush=True)
    row = Row(
        questions=gen.questions, size_mb=src.stat().st_size / 1e6, curate=timings["curate"],
        baseline=timings.get("baseline"), kept_curate=parquet_rows(tmp / "curate_out" / "mcq.parquet"),
        kept_baseline=parquet_rows(tmp / "baseline.parquet") if with_baseline else None,
        expected=gen.expected_kept,
    )
    src.unlink()
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=DEFAULT_QUESTIONS, help="questions in the compared file")
    parser.add_argument("--million", action="store_true", help="also time curate on 1,000,000 questions")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the best is reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-only", nargs=2, metavar=("FILE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.baseline_only:
        print(baseline(*args.baseline_only))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench_filter_") as tmp:
        rows = [bench_file(Path(tmp), args.questions, args.seed, args.repeat, with_baseline=True)]
        if args.million:
            rows.append(bench_file(Path(tmp), MILLION, args.seed + 1, args.repeat, with_baseline=False))
    main_row = rows[0]
    agree = main_row.kept_curate == main_row.kept_baseline == main_row.expected
    print(f"\nwall time of the whole process, best of {args.repeat} (median in parentheses); "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    print_table(rows)
    print(f"{main_row.questions:,} questions: curate {main_row.curate.best:.2f} s (median "
          f"{main_row.curate.median:.2f} s), baseline {main_row.baseline.best:.2f} s (median "
          f"{main_row.baseline.median:.2f} s)")
    if not agree:
        print("WARNING: kept counts differ (curate / baseline / expected); see the curate rejects above")
    if args.million:
        million = rows[-1]
        verdict = "meets" if million.curate.best < 30 else "MISSES"
        print(f"1,000,000 questions: curate {million.curate.best:.2f} s (median {million.curate.median:.2f} s; "
              f"{verdict} the < 30 s goal)")
    ratio = main_row.baseline.best / main_row.curate.best
    print(f"ratio (baseline / curate): {ratio:.1f}x")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
