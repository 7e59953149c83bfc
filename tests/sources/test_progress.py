"""Progress of a read: every log reader reports the bytes it goes through when a bar asks,
through the file layer, and nothing is reported (no bar, no cost) when none asks."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from runbook_lib.sources.ci.runs import collect_ci_runs
from runbook_lib.sources.fleet import collect_on_fleet
from runbook_lib.sources.logs import collect_access_log, collect_app_log
from runbook_lib.sources.pg import collect_pg_log

DATA = Path(__file__).resolve().parents[1] / "data"
ACCESS = DATA / "access" / "access_combined" / "shop_access_log.combined.log"
APP = DATA / "app_logs" / "lnav_bunyan.jsonl"
PG = DATA / "pg_log" / "postgresql-jsonlog.json"


class Calls(list[tuple[int, int]]):
    def __call__(self, done: int, total: int) -> None:
        self.append((done, total))


@pytest.mark.parametrize(
    ("reader", "path"), [(collect_access_log, ACCESS), (collect_app_log, APP), (collect_pg_log, PG)], ids=str
)
def test_each_reader_reports_every_byte_of_its_files(reader, path: Path) -> None:  # type: ignore[no-untyped-def]
    calls = Calls()
    got = collect_on_fleet(reader, str(path), scheduler="", progress=calls)
    assert got.status == "ok" and len(got.frame) > 0
    size = path.stat().st_size
    assert calls[-1] == (size, size)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(calls) >= 2  # moved while reading, then closed


def test_a_rotated_set_counts_plain_and_gzipped_files(tmp_path: Path) -> None:
    current = tmp_path / "access.log"
    shutil.copy(ACCESS, current)
    with ACCESS.open("rb") as src, gzip.open(tmp_path / "access.log.2.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    calls = Calls()
    got = collect_on_fleet(collect_access_log, str(current), scheduler="", progress=calls)
    total = current.stat().st_size + (tmp_path / "access.log.2.gz").stat().st_size
    assert got.status == "ok" and calls[-1] == (total, total)
    assert any(0 < d < total for d, _ in calls)


def test_no_bar_asked_means_no_calls_and_the_same_rows() -> None:
    quiet = collect_on_fleet(collect_access_log, str(ACCESS), scheduler="")
    calls = Calls()
    watched = collect_on_fleet(collect_access_log, str(ACCESS), scheduler="", progress=calls)
    assert calls and len(quiet.frame) == len(watched.frame)
    # A read outside any bar (a batch run) reports to nobody, even after a watched one.
    seen = len(calls)
    collect_access_log(str(ACCESS))
    collect_on_fleet(collect_app_log, str(APP), scheduler="")
    assert len(calls) == seen


def test_ci_runs_report_each_entry_of_the_folder(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for name in ("r1", "r2", "r3"):
        (runs / name).mkdir(parents=True)
        shutil.copy(DATA / "junit" / "dorny_python-xunit-pytest.xml", runs / name / "junit.xml")
    calls = Calls()
    ci = collect_ci_runs(str(runs), progress=calls)
    assert ci.status == "ok" and calls == [(1, 3), (2, 3), (3, 3)]
