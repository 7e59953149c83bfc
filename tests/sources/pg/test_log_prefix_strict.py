"""The strict prefix pattern: the general pattern's groups on every line it matches, faster."""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from runbook_lib.sources import _files as files
from runbook_lib.sources.pg import log as pg_log
from runbook_lib.sources.pg.log import collect_pg_log
from runbook_lib.sources.pg.log_prefix import COMMON_PREFIXES, PrefixPattern, translate_prefix

DATA = Path(__file__).resolve().parents[2] / "data" / "pg_log"
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from pg_log_gen import PREFIX as GEN_PREFIX  # noqa: E402
from pg_log_gen import generate  # noqa: E402

#: Prefixes beyond the common ones: odd separators, padding, escapes side by side, double spaces.
ODD_PREFIXES = (
    "%m %u %d [%p] ", "%t:%r:%u@%d:[%p]:", "%n [%p] %e ", "%m %c %x %l ", "%s|%u|%d|%a|%h| ",
    "%m [%p] %Q %u ", "%m%u %d", "%m [%p] %-10u %d ", "%t [%p-%l] %q%u@%d,app=%a,%e ", "%m %u%d ",
    "%m [%P]%q %u ", "%t %v %b %i %L ", "%m: ", "[%p] %m ", "%m  [%p]  ", "%u-%d-%a ", "%m [%p] %q%u&%d~%a^ ",
)  # fmt: skip
#: A well-formed value per escape, and fragments that make lines ambiguous or wrong.
_GOOD = {
    "m": "2026-11-27 13:30:00.001 CET", "t": "2026-11-27 13:30:00 UTC", "s": "2026-11-27 13:30:00 +0530",
    "p": "4242", "l": "7", "n": "1700000000.123", "e": "42P01", "c": "5f3a.1c2", "x": "0", "Q": "-12", "P": "",
    "r": "10.0.0.1(5432)", "h": "10.0.0.1", "v": "3/4", "u": "bob", "d": "shop", "a": "psql", "i": "SELECT",
    "L": "::1", "b": "client backend",
}  # fmt: skip
_FRAGMENTS = (
    "2026-11-27 13:30:00.001 UTC", "2026-11-27 13:30:00", "2026-11-27 13:30:00.5 +03", " ", "  ", "[", "]", "@",
    "/", ":", "-", ",", "LOG", "ERROR", "DETAIL", "LOCATION", ":  ", ": ", "app", "[unknown]", "12345", "١٢", "é",
    "\t", "\x00\t", "a.b", "5f3a.1c2", "42P01", "=", "user=", "|", "(", ")", "(5432)", "&", "~", "^", "CET", "ABCDEFGH",
)  # fmt: skip


def _line(prefix: str, rnd: random.Random) -> str:
    """A line printed with *prefix*: mostly well formed, with random fragments spliced in."""
    out: list[str] = []
    i = 0
    while i < len(prefix):
        if prefix[i] == "%" and i + 1 < len(prefix):
            j = i + 1
            while j < len(prefix) and (prefix[j].isdigit() or prefix[j] == "-"):
                j += 1
            good, r = _GOOD.get(prefix[j], "x"), rnd.random()
            some = "".join(rnd.choice(_FRAGMENTS) for _ in range(rnd.randint(1, 3)))
            out.append(good if r < 0.6 else "" if r < 0.65 else good + rnd.choice(_FRAGMENTS) if r < 0.8 else some)
            i = j + 1
        else:
            out.append(prefix[i] if rnd.random() > 0.03 else rnd.choice(_FRAGMENTS))
            i += 1
    out.append(rnd.choice(["", "", "", " ", "  "]) + rnd.choice(["LOG", "LOG", "ERROR", "DETAIL", "LOGX", "STATEMENT"]))
    out.append(rnd.choice([":  ", ":  ", ": ", ":", "  "]))
    out.append("".join(rnd.choice(_FRAGMENTS) for _ in range(rnd.randint(0, 4))))
    return "".join(out)


@pytest.mark.parametrize("prefix", sorted({*COMMON_PREFIXES, *ODD_PREFIXES}))
def test_strict_groups_equal_the_general_ones_wherever_the_strict_pattern_matches(prefix: str) -> None:
    rnd = random.Random(prefix)
    pattern = translate_prefix(prefix)
    lines = pl.Series("line", [_line(prefix, rnd) for _ in range(3000)])
    general = lines.str.extract_groups(pattern.pattern).struct.unnest()
    if not pattern.strict:
        # only prefixes with an element whose end the next one cannot fix have none
        # ("%t-": a zone such as "-05" could start where the literal dash is)
        assert any(e in prefix for e in ("%r", "%v", "%-10", "%m%", "%u%", "%x ", "%Q ", "%m: ", "%l ", "%t-"))
        return
    strict = lines.str.extract_groups(pattern.strict).struct.unnest()
    assert strict.columns == general.columns
    hit = strict["head"].is_not_null()
    assert hit.sum() > 0.1 * general["head"].is_not_null().sum()  # it does the bulk of the work
    assert strict.filter(hit).equals(general.filter(hit))


def test_the_usual_prefixes_have_a_strict_pattern_that_reads_a_plain_line() -> None:
    for prefix in ("%m [%p] ", "%m [%p] %q%u@%d/%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ", "%m  [%p]  "):
        plain = prefix.replace("%q", "")
        for letter, value in _GOOD.items():
            plain = plain.replace("%" + letter, value)
        got = pl.Series([plain + "LOG:  hello"]).str.extract_groups(translate_prefix(prefix).strict).struct.unnest()
        assert (got["severity"][0], got["pid"][0]) == ("LOG", "4242"), prefix


def _without_strict(prefix: str) -> PrefixPattern:
    return dataclasses.replace(translate_prefix(prefix), strict="")


CASES = [
    ("postgresql-stderr.log", "%m [%p] %q%u@%d/%a "),
    ("pg_vacuums.log.gz", "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a "),
    ("light.postgres.log", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "),
    ("pg_rawcsv.log", "%m [%p] %q%u@%d "),
    ("lnav_postgres.*", "%m [%p] "),
    ("multiline_param.log", "%m [%p] user=%u,db=%d "),
    ("begin_end.log", "%t [%p]: db=%d,user=%u,app=%a,client=%h "),
    ("stmt_type.log", "%m %z [%p]"),
]


@pytest.mark.parametrize("small_chunks", [False, True])
def test_the_reader_gives_the_same_result_with_and_without_the_strict_pattern(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_chunks: bool
) -> None:
    generated = tmp_path / "generated.log"
    generate(generated, lines=3000 if not small_chunks else 500, seed=7)
    cases = [(str(DATA / name), prefix) for name, prefix in CASES] + [(str(generated), GEN_PREFIX)]
    if small_chunks:  # records straddle chunk edges (the big files read whole: 2 s instead of 40 s)
        cases = [c for c in cases if "vacuums" not in c[0] and "light" not in c[0]]
        monkeypatch.setattr(files, "BLOCK_CHUNK_BYTES", 1500)
        monkeypatch.setattr(files, "_BLOCK_READ_BYTES", 500)
    for path, prefix in cases:
        assert translate_prefix(prefix).strict, prefix
        fast = collect_pg_log(path, log_line_prefix=prefix)
        with monkeypatch.context() as m:
            m.setattr(pg_log, "translate_prefix", _without_strict)
            slow = collect_pg_log(path, log_line_prefix=prefix)
        assert len(fast.frame) > 0, path
        pd.testing.assert_frame_equal(fast.frame, slow.frame)
        assert (fast.status, fast.reason, fast.meta) == (slow.status, slow.reason, slow.meta)
        assert (fast.lines_read, fast.lines_skipped) == (slow.lines_read, slow.lines_skipped)
        assert fast.samples == slow.samples
