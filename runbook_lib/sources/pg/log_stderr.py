"""Parse PostgreSQL stderr logs (any ``log_line_prefix``) into records, with polars.

Why polars: a million-line log must parse in seconds (pgBadger needs about a minute).
Measured on the 1M-line benchmark log: the prefix regex alone costs about the same in
Python ``re`` (0.9 s), pyarrow/RE2 (1.3 s) and polars (1.1-1.9 s), but a Python loop that
merely pulls the groups into lists already takes longer than polars' whole columnar
assembly (continuations, per-pid attachment, joins). The capture of the prefix's groups
(polars ``extract_groups``) is most of the assembly: a deterministic strict variant of the
pattern (``PrefixPattern.strict``) captures first, at about half the cost, and the general
pattern reads only the lines it leaves (1.5% on the benchmark log); folding the
tab-continued lines into their line before the split (:func:`folded_lines_of`) removed the
continuations' group-by and join (~0.3 s). Lines come in three kinds:

- a *header*: the prefix, ``SEVERITY:``, the message. ``LOG/ERROR/FATAL/…`` start a
  record; ``DETAIL/HINT/CONTEXT/STATEMENT/QUERY/LOCATION`` attach to the latest record of
  the same pid (PostgreSQL writes them right after it);
- a *continuation*: starts with a tab, the next line of a multi-line message (PostgreSQL
  adds the tab after every embedded newline); it attaches to the header above it;
- anything else (pg_ctl chatter, a wrong prefix): counted as skipped, kept as samples.

Output of :func:`parse_stderr_chunk`: a polars frame with ``ts`` (text with zone),
``pid``, ``user``, ``database``, ``application_name``, ``client_addr``, ``session_id``,
``sqlstate``, ``severity``, ``message``, ``detail``, ``hint``, ``context``, ``statement``
(all strings), finished into the public schema by :func:`runbook_lib.sources.pg.log_frame.finish`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from runbook_lib.collected import MAX_SAMPLES
from runbook_lib.sources.pg.log_prefix import PRIMARY_SEVERITIES, PrefixPattern

#: Text columns a parser hands to ``log_frame.finish`` (plus ``epoch`` when the prefix has %n).
RECORD_COLUMNS = (
    "ts", "pid", "user", "database", "application_name", "client_addr", "session_id",
    "sqlstate", "severity", "message", "detail", "hint", "context", "statement",
)  # fmt: skip
#: An unmatched line with one of these is an error the wrong prefix would hide.
_LOST = r"\b(?:ERROR|FATAL|PANIC):  "
_ATTACHED = {"DETAIL": "detail", "HINT": "hint", "CONTEXT": "context", "STATEMENT": "statement"}


@dataclass
class ChunkResult:
    """Records of one chunk, and the bookkeeping the source reports."""

    records: pl.DataFrame
    candidates: int = 0  # non-blank, non-continuation lines: each should match the prefix
    matched: int = 0
    skipped: int = 0
    lost_errors: int = 0  # unmatched lines that read like an ERROR/FATAL/PANIC: never silent
    samples: list[str] = field(default_factory=list)
    carry: pl.Series | None = None  # lines from the last record on, re-read with the next chunk
    folded: bool = False  # read folded (then so is the carry)
    lines: int = 0  # physical lines assembled (folded continuations counted, the carry not)


#: Joins a tab-continued line to the line above it in a folded chunk (NUL: never in a text log).
FOLD = "\x00"


def folded_lines_of(data: bytes) -> pl.Series | None:
    """Lines of *data* with each tab-continued line folded into the line above (``FOLD``).

    Why: one row per record line, so continuations need no group-by and join (a third of the
    assembly). None when the chunk holds NUL or CR bytes (then :func:`lines_of`).
    """
    if not data or b"\x00" in data or b"\r" in data:
        return None
    return lines_of(data.replace(b"\n\t", b"\x00\t"))


def unfold(lines: pl.Series) -> pl.Series:
    """The physical lines of (possibly) folded *lines*."""
    if not lines.str.contains(FOLD, literal=True).any():
        return lines
    return lines.str.split(FOLD).explode()


def fold(lines: pl.Series) -> pl.Series | None:
    """Physical *lines* folded as :func:`folded_lines_of` folds; None when they cannot be."""
    folded = folded_lines_of("\n".join(lines.to_list()).encode())
    return None if folded is None or physical_lines(folded, folded=True) != lines.len() else folded


def next_lines(
    text: bytes, carry: pl.Series | None, carry_folded: bool, transform: Callable[[pl.Series], pl.Series] | None
) -> tuple[pl.Series, bool]:
    """The lines to parse for chunk *text* after the *carry*, and whether they are folded."""
    folded = folded_lines_of(text) if transform is None else None
    if carry is not None and folded is not None and not carry_folded:
        refolded = fold(carry)
        carry, carry_folded = (carry, False) if refolded is None else (refolded, True)
        folded = folded if refolded is not None else None
    if folded is None:
        lines = lines_of(text) if transform is None else transform(lines_of(text))
        carry = unfold(carry) if carry is not None and carry_folded else carry
    else:
        lines = folded
    return (lines if carry is None else pl.concat([carry, lines])), folded is not None


def physical_lines(lines: pl.Series | None, *, folded: bool) -> int:
    """How many physical lines *lines* hold (folded or not)."""
    if lines is None:
        return 0
    return lines.len() + (int(lines.str.count_matches(FOLD, literal=True).sum()) if folded else 0)


def lines_of(data: bytes) -> pl.Series:
    """Split *data* into lines (UTF-8, bad bytes replaced, no ``\\r``) as a polars Series."""
    if data and b"\x1f" not in data:
        # polars' CSV reader with a separator that cannot occur: a multi-threaded line splitter
        # (3x faster than str.split); empty lines come back null
        frame = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            new_columns=["line"],
            separator="\x1f",
            quote_char=None,
            schema={"line": pl.String},
            encoding="utf8-lossy",
        )
        lines = frame["line"].fill_null("").str.strip_suffix("\r")
        # the reader drops the empty line after a final newline; str.split keeps it
        return pl.concat([lines, pl.Series("line", [""])]) if data.endswith(b"\n") else lines
    lines = pl.Series("line", data.decode("utf-8", "replace").split("\n"), dtype=pl.String)
    return lines.str.strip_suffix("\r")


def parse_stderr_chunk(lines: pl.Series, prefix: PrefixPattern, *, final: bool, folded: bool = False) -> ChunkResult:
    """Assemble the records in *lines*; unless *final*, hand back the last record's lines.

    *folded* lines (:func:`folded_lines_of`) are read as such only when every fold hangs on a
    header, as PostgreSQL writes them; else (a continuation after a blank or foreign line, or
    at a chunk's start) the chunk is unfolded and read line by line: the same records.
    """
    lazy = pl.DataFrame({"line": lines}).lazy().with_row_index("i")
    if prefix.strict:  # strict variant first (same groups where it matches), the general pattern on the rest
        lazy = lazy.with_columns(pl.col("line").str.extract_groups(prefix.strict).alias("g"))
        missed = pl.col("g").struct.field("head").is_null()
        general = pl.when(missed).then(pl.col("line")).str.extract_groups(prefix.pattern)
        lazy = lazy.with_columns(pl.when(missed).then(general).otherwise(pl.col("g")).alias("g"))
    else:
        lazy = lazy.with_columns(pl.col("line").str.extract_groups(prefix.pattern).alias("g"))
    frame = lazy.unnest("g").collect()
    for name in ("pid", "severity", "head"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    is_header = pl.col("severity").is_not_null()
    is_primary = pl.col("severity").is_in(PRIMARY_SEVERITIES)
    frame = frame.with_columns(
        is_header.alias("is_header"),
        is_primary.alias("is_primary"),
        pl.col("line").str.starts_with("\t").alias("is_cont"),
        pl.col("line").str.contains(r"^\s*$").alias("is_blank"),
    )
    if folded:
        fold = pl.col("line").str.contains(FOLD, literal=True)
        odd = (~pl.col("is_header") & (fold | pl.col("is_cont"))) | (
            pl.col("is_header") & pl.col("head").str.contains(FOLD, literal=True)
        )
        if frame.select(odd.any()).item():
            return parse_stderr_chunk(unfold(lines), prefix, final=final)

    carry: pl.Series | None = None
    if not final:
        last = frame.filter(pl.col("is_primary")).select(pl.col("i").max()).item()
        if last is not None:  # last == 0: one record longer than the chunk, carried whole
            carry = frame["line"].slice(last)
            frame = frame.slice(0, last)

    frame = frame.with_columns(pl.col("is_header").cast(pl.UInt32).cum_sum().alias("grp"))
    kinds = frame.select(
        (~pl.col("is_blank") & ~pl.col("is_cont")).sum().alias("candidates"),
        pl.col("is_header").sum().alias("matched"),
    ).row(0)
    noise = frame.filter(~pl.col("is_header") & ~pl.col("is_blank") & (~pl.col("is_cont") | (pl.col("grp") == 0)))

    # continuation lines -> their header's message
    cont = (
        frame.filter(pl.col("is_cont") & (pl.col("grp") > 0))
        .group_by("grp")
        .agg(pl.col("line").str.slice(1).str.join("\n").alias("more"))
    )
    heads = frame.filter(pl.col("is_header")).with_columns(
        pl.col("line").str.strip_prefix(pl.col("head")).alias("message"),
        pl.col("pid").fill_null("").alias("pid_key"),
    )
    if folded:
        heads = heads.with_columns(pl.col("message").str.replace_all(FOLD + "\t", "\n", literal=True))
    elif cont.height:
        heads = heads.join(cont, on="grp", how="left", maintain_order="left").with_columns(
            pl.when(pl.col("more").is_null())
            .then(pl.col("message"))
            .otherwise(pl.col("message") + "\n" + pl.col("more"))
            .alias("message")
        )
    # DETAIL/HINT/… -> the latest primary record of the same pid
    heads = heads.with_columns(
        pl.when(pl.col("is_primary")).then(pl.col("grp")).otherwise(None).forward_fill().over("pid_key").alias("parent")
    )
    records = heads.filter(pl.col("is_primary"))
    attached = heads.filter(~pl.col("is_primary"))
    orphans = attached.filter(pl.col("parent").is_null())
    attached = attached.filter(pl.col("parent").is_not_null() & pl.col("severity").is_in(list(_ATTACHED)))
    if attached.height:
        # each DETAIL/HINT/CONTEXT/STATEMENT of a record joined once: a group per (record, kind),
        # then a column per kind (no per-group filters)
        parts = (
            attached.group_by("parent", "severity", maintain_order=True)
            .agg(pl.col("message").str.join("\n"))
            .pivot(on="severity", index="parent", values="message")
        )
        parts = parts.rename({k: v for k, v in _ATTACHED.items() if k in parts.columns})
        records = records.drop([c for c in _ATTACHED.values() if c in parts.columns and c in records.columns])
        records = records.join(parts, left_on="grp", right_on="parent", how="left", maintain_order="left")

    noise_lines = noise["line"].head(MAX_SAMPLES).to_list()
    orphan_lines = [line.split(FOLD)[0] for line in orphans["line"].head(MAX_SAMPLES).to_list()]
    samples = [*noise_lines, *orphan_lines][:MAX_SAMPLES]
    for name in RECORD_COLUMNS:
        if name not in records.columns:
            records = records.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    keep = [*RECORD_COLUMNS, *(["epoch"] if "epoch" in records.columns else [])]
    return ChunkResult(
        records=records.select(keep),
        candidates=int(kinds[0]),
        matched=int(kinds[1]),
        skipped=noise.height + orphans.height,
        lost_errors=int(noise["line"].str.contains(_LOST).sum()),
        samples=samples,
        carry=carry,
        folded=folded,
        lines=physical_lines(lines, folded=folded) - physical_lines(carry, folded=folded),
    )
