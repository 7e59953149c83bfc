"""The integer keys the web analyses group on: ranks of strings and packed pair counts."""

from __future__ import annotations

import polars as pl
import pytest

from runbook_lib.analysis._polars import codes_of, count_pairs, factorize, numbered


def test_codes_are_ranks_among_sorted_distinct_values_and_nulls_stay_null() -> None:
    codes, names = codes_of(pl.Series("ip", ["10.0.0.2", None, "10.0.0.1", "10.0.0.2", "192.0.2.9"]))
    assert names.to_list() == ["10.0.0.1", "10.0.0.2", "192.0.2.9"]
    assert codes.to_list() == [1, None, 0, 1, 2]
    assert codes.dtype == pl.UInt32 and codes.name == "ip"


def test_factorize_codes_follow_first_appearance_and_null_is_a_value() -> None:
    values = pl.Series("path", ["/b", "/a", None, "/b", "", None, "/a"])
    codes, distinct = factorize(values)
    assert distinct.to_list() == ["/b", "/a", None, ""]
    assert codes.to_list() == [0, 1, 2, 0, 3, 2, 1] and codes.dtype == pl.UInt32
    assert distinct.gather(codes).eq_missing(values).all()


def test_factorize_is_exact_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    # Force every value onto one hash: the row check must notice and group the strings.
    monkeypatch.setattr(pl.Series, "hash", lambda self, seed=0: pl.Series([7] * len(self), dtype=pl.UInt64))
    codes, distinct = factorize(pl.Series("ip", ["x", "y", "x", None]))
    assert distinct.to_list() == ["x", "y", None] and codes.to_list() == [0, 1, 0, 2]


def test_codes_of_nothing_but_nulls() -> None:
    codes, names = codes_of(pl.Series("ip", [None, None], dtype=pl.String))
    assert names.is_empty() and codes.to_list() == [None, None]


def test_numbered_drops_rows_without_a_value_and_keeps_order() -> None:
    frame = pl.DataFrame({"ip": ["b", None, "a", "b"], "n": [1, 2, 3, 4]})
    coded, names = numbered(frame, "ip", alias="client")
    assert coded["n"].to_list() == [1, 3, 4] and coded["client"].to_list() == [1, 0, 1]
    assert names.to_list() == ["a", "b"]


def _expected(major: list[int | None], minor: list[int | None]) -> list[tuple[int, int, int]]:
    counts: dict[tuple[int, int], int] = {}
    for a, b in zip(major, minor, strict=True):
        if a is not None and b is not None:
            counts[(a, b)] = counts.get((a, b), 0) + 1
    return [(a, b, n) for (a, b), n in sorted(counts.items())]


def test_count_pairs_packed_matches_a_plain_count() -> None:
    major = [3, 0, 3, 1, 0, 3, None, 1]
    minor = [29_000_001, 29_000_000, 29_000_001, 28_999_990, 29_000_000, 29_000_002, 5, None]
    got = count_pairs(pl.Series(major, dtype=pl.UInt32), pl.Series(minor, dtype=pl.Int64), names=("c", "m", "n"))
    assert got.columns == ["c", "m", "n"] and got["m"].dtype == pl.Int64
    assert list(got.iter_rows()) == _expected(major, minor)


def test_count_pairs_over_a_span_too_wide_to_pack_still_counts() -> None:
    # Seconds spanning ~200 years (a garbled timestamp beside today's) exceed the packed span.
    major = [0, 1, 0, 0]
    minor = [-2_000_000_000, 4_000_000_000, 4_000_000_000, -2_000_000_000]
    got = count_pairs(pl.Series(major, dtype=pl.UInt32), pl.Series(minor, dtype=pl.Int64), names=("c", "s", "n"))
    assert list(got.iter_rows()) == _expected(major, minor)


def test_count_pairs_of_no_rows() -> None:
    got = count_pairs(pl.Series([], dtype=pl.UInt32), pl.Series([], dtype=pl.Int64), names=("c", "m", "n"))
    assert got.is_empty() and got.columns == ["c", "m", "n"]
