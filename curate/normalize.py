"""Vectorized parsing shared by every format: raw reader rows → normalized multiple-choice rows.

One pass of polars expressions over the whole raw frame (see :mod:`curate.readers.base`):

1. ``<image>``/``<video>`` tokens are removed from the question.
2. Inline options (``options`` null): the question text is split into lines; an option line is
   ``A. text``, ``A) text``, ``A: text`` or ``(A) text``. Lines before the first option line form the
   question (an ``Options:``/``Choices:`` header is dropped; a ``Question:`` line starts the question
   and drops an instruction before it); lines after the last option line are the trailing instruction,
   which is dropped. Option letters must run A, B, C, … with no gap, else the item is
   ``unparseable_options``; no option line at all means ``open_ended``.
3. Given options: a letter prefix is stripped only when every option carries one and the letters run
   A, B, C, … in order (so an option that merely starts with ``A.`` is left alone).
4. The answer becomes a 0-based index: ``answer_index`` as is; ``answer_letter`` through the letter it
   starts with (``B``, ``B.``, ``(B)``, ``B. dog.``, ``<answer>B</answer>``; a text after the letter
   must name the same option, else ``answer_text_mismatch``); ``answer_text`` through the option whose
   text it equals (exactly, else after :func:`norm_text`). An unresolved answer stays null
   (``answer_not_in_options`` downstream) or, when unparseable, ``unparseable_answer``.
"""

from __future__ import annotations

import polars as pl

from schemas.prompt import LETTERS

MEDIA_TOKEN = r"<(?:image|video)>\s*"
OPTION_MARK = r"[ \t]*\(?[A-Z][.):]\)?[ \t]+"  # "A. ", "(A) ", "A) ", "A: "
OPTION_START = OPTION_MARK + r"\S"  # an option line starts like this (after a line start)
OPTION_PREFIX = r"^\s*\(?([A-Z])[.):]\)?\s+"
HEADER_LINE = r"(?im)^[ \t]*(?:options|choices)[ \t]*:?[ \t]*$"
QUESTION_START = r"(?ims)\A.*?^[ \t]*question[ \t]*:[ \t]*"  # up to a "Question:" line start
ANSWER_LETTER = r"^\s*(?:<answer>\s*)?(?:\*\*)?\(?([A-Z])(?:[.):]|\*\*|\s|$|</answer>)"
LETTER_INDEX = {letter: i for i, letter in enumerate(LETTERS)}


def norm_text(expr: pl.Expr) -> pl.Expr:
    """Case- and whitespace-insensitive form: lower case, runs of whitespace → one space, stripped."""
    return expr.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()


def norm_answer_text(expr: pl.Expr) -> pl.Expr:
    """:func:`norm_text` without trailing punctuation, for comparing an answer with an option."""
    return norm_text(expr).str.replace(r"[\s.!?,;:]+$", "")


def _letters_run(n: pl.Expr) -> pl.Expr:
    """``"ABC…"`` of length ``n``."""
    return pl.lit(LETTERS).str.slice(0, n)


def split_inline(df: pl.LazyFrame) -> pl.LazyFrame:
    """Split inline options out of ``question`` for rows whose ``options`` is null (step 2).

    Works on whole strings with multi-line regexes (one pass each, results materialized step by step)
    rather than line by line. The option lines must be contiguous (blank lines aside): the extracted
    lines, joined, must occur in the text, else a stray line sits between options.
    """
    text = pl.col("question")
    inline = pl.col("options").is_null()
    df = df.with_columns(
        _lines=pl.when(inline).then(text.str.extract_all(f"(?m)^{OPTION_START}[^\\n]*")),
        _first=text.str.find(f"(?m)^{OPTION_START}"),
    )
    lines = pl.col("_lines")
    df = df.with_columns(
        _opts=lines.list.eval(pl.element().str.replace(f"^{OPTION_MARK}", "").str.strip_chars()),
        _letters=lines.list.eval(pl.element().str.strip_chars_start(" \t(").str.slice(0, 1)).list.join(""),
        _contiguous=text.str.replace_all(r"\n\s*\n", "\n").str.contains(lines.list.join("\n"), literal=True),
    )
    found = inline & (pl.col("_opts").list.len() > 0)
    bad = found & (~pl.col("_contiguous") | (pl.col("_letters") != _letters_run(pl.col("_opts").list.len())))
    head = text.str.slice(0, pl.col("_first"))
    head = head.str.replace_all(HEADER_LINE, "").str.replace(QUESTION_START, "").str.strip_chars()
    return df.with_columns(
        question=pl.when(found).then(head).otherwise(text.str.strip_chars()),
        options=pl.when(inline).then(pl.col("_opts")).otherwise(pl.col("options")),
        reject=pl.when(pl.col("reject").is_not_null())
        .then(pl.col("reject"))
        .when(inline & ~found)
        .then(pl.lit("open_ended"))
        .when(bad)
        .then(pl.lit("unparseable_options")),
    ).drop("_lines", "_first", "_opts", "_letters", "_contiguous")


def strip_prefixes(df: pl.LazyFrame) -> pl.LazyFrame:
    """Strip ``A. `` style prefixes from given options when all carry them in order (step 3)."""
    prefix = pl.element().str.extract(OPTION_PREFIX, 1)
    letters = pl.col("options").list.eval(prefix.drop_nulls()).list.join("")
    all_prefixed = letters == _letters_run(pl.col("options").list.len())
    stripped = pl.col("options").list.eval(pl.element().str.replace(OPTION_PREFIX, ""))
    options = pl.when(all_prefixed).then(stripped).otherwise(pl.col("options"))
    return df.with_columns(options=options.list.eval(pl.element().str.strip_chars()))


def resolve_answer(df: pl.LazyFrame, by_text: bool) -> pl.LazyFrame:
    """Turn the raw answer columns into ``answer`` (0-based; may be out of range or null) (step 4).

    The letter is validated with :data:`ANSWER_LETTER` (a match test, no capture) and then read as the
    first character left after stripping ``<answer>``, ``**``, ``(`` and spaces, which for a matching
    string is exactly the letter the pattern names; the text after it (``. dog.``) is compared with the
    option the letter picks. ``by_text``: some rows give the answer as option text (join needed).
    """
    raw = pl.col("answer_letter")
    valid = raw.str.contains(ANSWER_LETTER)
    body = raw.str.strip_chars_start(" \t\n<>answer*(")
    df = df.with_columns(
        _letter_index=pl.when(valid).then(
            body.str.slice(0, 1).replace_strict(LETTER_INDEX, default=None, return_dtype=pl.Int64)
        ),
        _after=body.str.slice(1).str.strip_suffix("</answer>").str.strip_chars().str.strip_chars_start(".):*"),
        _valid=valid,
    )
    picked = pl.col("options").list.get(pl.col("_letter_index"), null_on_oob=True)
    after = pl.col("_after")
    mismatch = (after != "") & picked.is_not_null() & (norm_answer_text(after) != norm_answer_text(picked))
    by_letter = pl.col("answer_index").is_null() & raw.is_not_null()
    df = _with_text_index(df) if by_text else df.with_columns(_text_index=pl.lit(None, dtype=pl.Int64))
    answer = (
        pl.when(pl.col("answer_index").is_not_null())
        .then(pl.col("answer_index"))
        .when(raw.is_not_null())
        .then(pl.col("_letter_index"))
        .otherwise(pl.col("_text_index"))
    )
    reason = (
        pl.when(pl.col("reject").is_not_null())
        .then(pl.col("reject"))
        .when(by_letter & ~pl.col("_valid").fill_null(False))
        .then(pl.lit("unparseable_answer"))
        .when(by_letter & mismatch.fill_null(False))
        .then(pl.lit("answer_text_mismatch"))
    )
    return df.with_columns(answer=answer, reject=reason).drop("_letter_index", "_after", "_valid", "_text_index")


def _with_text_index(df: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``_text_index``: the option equal to ``answer_text`` (exact, else normalized); null if none."""
    df = df.with_row_index("_row")
    long = (
        df.filter(pl.col("answer_text").is_not_null() & pl.col("options").is_not_null())
        .select("_row", pl.col("answer_text").str.strip_chars().alias("_t"), pl.col("options").alias("_o"))
        .with_columns(_pos=pl.int_ranges(pl.col("_o").list.len()))
        .explode("_o", "_pos")
        .with_columns(
            _exact=pl.col("_o").str.strip_chars() == pl.col("_t"),
            _loose=norm_answer_text(pl.col("_o")) == norm_answer_text(pl.col("_t")),
        )
    )
    hits = long.group_by("_row").agg(
        _e=pl.col("_pos").filter(pl.col("_exact")).first(),
        _l=pl.col("_pos").filter(pl.col("_loose")).first(),
    )
    joined = df.join(hits, on="_row", how="left", maintain_order="left")
    return joined.with_columns(_text_index=pl.coalesce("_e", "_l").cast(pl.Int64)).drop("_row", "_e", "_l")


def normalize(df: pl.DataFrame) -> pl.DataFrame:
    """Apply steps 1–4 to a raw frame; the result keeps the raw columns plus ``answer`` and
    ``question_raw`` (the question as read)."""
    given = df.get_column("options").is_not_null().sum()
    by_text = df.get_column("answer_text").is_not_null().any()
    lf = df.lazy().with_columns(
        question_raw=pl.col("question"),
        question=pl.col("question").str.replace_all(MEDIA_TOKEN, ""),
        problem_type=pl.col("problem_type").fill_null("multiple choice").str.strip_chars(),
    )
    if given < df.height:
        lf = split_inline(lf)
    if given:
        lf = strip_prefixes(lf)
    # The lazy engine evaluates independent expressions in parallel and drops unused work.
    return resolve_answer(lf, by_text).collect()
