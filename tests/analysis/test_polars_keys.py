"""The integer keys the web analyses group on: ranks of strings and packed pair counts."""

from __future__ import annotations

import gc

import pandas as pd
import polars as pl
import pytest

from runbook_lib.analysis import _codes, _polars
from runbook_lib.analysis._codes import column_codes, factorize, ranked_codes, value_codes
from runbook_lib.analysis._polars import count_pairs


def _frame(values: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"ip": pd.Series(values, dtype="str")})


def test_ranked_codes_are_ranks_among_sorted_distinct_values_and_nulls_stay_null() -> None:
    codes, names = ranked_codes(_frame(["10.0.0.2", None, "10.0.0.1", "10.0.0.2", "192.0.2.9"]), "ip")
    assert names.to_list() == ["10.0.0.1", "10.0.0.2", "192.0.2.9"]
    assert codes.to_list() == [1, None, 0, 1, 2]
    assert codes.dtype == pl.UInt32


def test_ranked_codes_of_nothing_but_nulls() -> None:
    codes, names = ranked_codes(_frame([None, None]), "ip")
    assert names.is_empty() and codes.to_list() == [None, None]


def test_column_codes_are_computed_once_per_arrow_column_and_forgotten_with_it() -> None:
    frame = _frame(["b", "a", "b"])
    first = column_codes(frame, "ip")
    assert column_codes(frame, "ip") is first  # the same column: the cached result
    changed = frame.assign(ip=pd.Series(["a", "a", "c"], dtype="str"))
    assert column_codes(changed, "ip")[1].to_list() == ["a", "c"]  # a new array: computed afresh
    assert value_codes(_frame(["x", None]), "ip")[0].to_list() == [0, None]
    entries = len(_codes._FACTORIZED)
    del frame, first, changed
    gc.collect()
    assert len(_codes._FACTORIZED) < entries


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


def test_to_polars_reads_utc_nanoseconds_in_place_and_nat_as_null() -> None:
    times = pd.Series(pd.to_datetime(["2026-11-20T00:00:01.5Z", None], utc=True).as_unit("ns"))
    paris = times.dt.tz_convert("Europe/Paris")
    got = _polars.to_polars(pd.DataFrame({"utc": times, "paris": paris}), ["utc", "paris"])
    assert got.schema["utc"] == got.schema["paris"] == pl.Datetime("ns", "UTC")
    assert got["utc"].to_list() == got["paris"].to_list()
    assert got["utc"][0] == pd.Timestamp("2026-11-20T00:00:01.5Z").to_pydatetime() and got["utc"][1] is None
