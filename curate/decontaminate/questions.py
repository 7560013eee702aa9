"""Near-duplicate questions: a training question that copies a benchmark question (with its options).

Normal form (:func:`normal_form`): question and each option lower-cased, every run of non-word characters
(punctuation, letter marks such as ``A.`` already removed by the readers) turned into one space, stripped;
the options sorted, so their order does not matter. Two items are

- an **exact** match when their normal forms are equal (a polars equi-join on a 64-bit hash of the normal
  form, then the strings compared): case, punctuation, spacing and option order do not matter;
- a **near** match when ``min(J(question shingles), J(option sets)) ≥ threshold`` (J: Jaccard; question
  shingles: its words and word 2-grams; an option set: the normal-form options as whole tokens). Both parts
  must be close: a generic question (``how many people are there``) with other options, or the same options
  under another question, is not a copy. Candidates come from MinHash LSH (``datasketch.MinHashLSH``,
  ``num_perm`` permutations, bands and rows chosen by datasketch for ``threshold``) over both parts tagged
  apart; each candidate's similarity is then computed exactly, so the reported number is not an estimate.

What this catches: the same question re-typed, re-cased, re-punctuated, with options shuffled or re-lettered,
a word or two changed, added or dropped. What it misses: a rewording that changes most word pairs
(``What does the man do after …`` → ``After …, what does the man do``) with different option wording, and
translations. Template questions (MVBench's ``What is the action performed by the person?``) match when their
option sets also match: that is the same item as far as the text goes, and the report lists it.

datasketch was measured against a polars-native MinHash in ``benchmarks/bench_decontaminate.py``.
"""

from __future__ import annotations

import polars as pl

from curate.extras import require

MATCH_SCHEMA = {"qid": pl.UInt32, "rid": pl.UInt32, "how": pl.String, "similarity": pl.Float64}


def _norm(expr: pl.Expr) -> pl.Expr:
    return expr.str.to_lowercase().str.replace_all(r"[\W_]+", " ").str.strip_chars()


def normal_form(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` (``question``, ``options``) with ``_q`` (normal question), ``_o`` (normal options, sorted) and
    ``_key`` (hash of both)."""
    df = df.with_columns(
        _q=_norm(pl.col("question")),
        _o=pl.col("options").list.eval(_norm(pl.element())).list.sort(),
    )
    return df.with_columns(_key=pl.struct("_q", pl.col("_o").list.join("\x1f")).hash())


def question_shingles(question: str) -> set[str]:
    """A normal-form question's words and word 2-grams."""
    words = question.split()
    return {*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))}


def similarity(a: tuple[set, set], b: tuple[set, set]) -> float:
    """``min(J(questions), J(option sets))`` of two ``(question shingles, options)`` items (J: Jaccard)."""
    return min(len(x & y) / len(x | y) if x | y else 1.0 for x, y in zip(a, b, strict=True))


def _items(df: pl.DataFrame) -> list[tuple[set, set]]:
    return [(question_shingles(q), set(o)) for q, o in df.select("_q", "_o").iter_rows()]


def _encoded(items: list[tuple[set, set]]):
    """The LSH's set of an item: both parts, tagged apart. Its Jaccard is at least the smaller of the two
    parts' (a mediant of the two fractions), so candidates at ``threshold`` include every true match."""
    for question, options in items:
        yield [b"q" + s.encode() for s in question] + [b"o" + s.encode() for s in options]


def exact_matches(query: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    """``(qid, rid)`` pairs with equal normal forms; both frames hold ``id`` (UInt32), ``_q``, ``_o``, ``_key``."""
    joined = query.select("id", "_q", "_o", "_key").join(
        reference.select("id", "_q", "_o", "_key"), on="_key", suffix="_r"
    )
    joined = joined.filter((pl.col("_q") == pl.col("_q_r")) & (pl.col("_o") == pl.col("_o_r")))
    return joined.select(
        qid=pl.col("id").cast(pl.UInt32),
        rid=pl.col("id_r").cast(pl.UInt32),
        how=pl.lit("exact"),
        similarity=pl.lit(1.0),
    )


def near_matches(
    query: pl.DataFrame, reference: pl.DataFrame, threshold: float = 0.5, num_perm: int = 128
) -> pl.DataFrame:
    """``(qid, rid, "near", similarity)`` for every pair whose :func:`similarity` is ``≥ threshold``,
    found through MinHash LSH over ``reference`` and checked exactly."""
    datasketch = require("decontaminate", "datasketch")
    MinHash, MinHashLSH = datasketch.MinHash, datasketch.MinHashLSH  # noqa: N806 - the library's class names

    if query.is_empty() or reference.is_empty():
        return pl.DataFrame(schema=MATCH_SCHEMA)
    ref_items = _items(reference)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    ref_ids = reference.get_column("id").to_list()
    with lsh.insertion_session() as session:
        for index, minhash in enumerate(MinHash.generator(_encoded(ref_items), num_perm=num_perm)):
            session.insert(index, minhash, check_duplication=False)
    rows = []
    query_items = _items(query)
    minhashes = MinHash.generator(_encoded(query_items), num_perm=num_perm)
    for qid, mine, minhash in zip(query.get_column("id").to_list(), query_items, minhashes, strict=True):
        for index in lsh.query(minhash):
            score = similarity(mine, ref_items[index])
            if score >= threshold:
                rows.append((qid, ref_ids[index], "near", score))
    return pl.DataFrame(rows, schema=MATCH_SCHEMA, orient="row")


def question_matches(
    query: pl.DataFrame, reference: pl.DataFrame, threshold: float = 0.5, num_perm: int = 128, near: bool = True
) -> pl.DataFrame:
    """Exact matches, then (``near``) near matches of the query items that have no exact one.

    ``query``/``reference``: ``id`` (UInt32, a row number), ``question``, ``options``."""
    query, reference = normal_form(query), normal_form(reference)
    exact = exact_matches(query, reference)
    if not near:
        return exact
    rest = query.filter(~pl.col("id").is_in(exact.get_column("qid").implode()))
    return pl.concat([exact, near_matches(rest, reference, threshold, num_perm)])
