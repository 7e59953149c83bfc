"""PostgreSQL logs copied from a container runtime: the wrapper comes off, the log is read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.sources import _files as files
from runbook_lib.sources.pg.log import collect_pg_log

DATA = Path(__file__).resolve().parents[2] / "data" / "pg_log"
WRAPPED = {
    "cri": "container_cri.log",
    "docker-json": "container_docker.json",
    "timestamped": "container_timestamped.log",
}


@pytest.mark.parametrize("wrapper", list(WRAPPED))
def test_a_container_wrapped_stderr_log_reads_like_the_server_wrote_it(wrapper: str) -> None:
    got = collect_pg_log(str(DATA / WRAPPED[wrapper]))
    assert got.status == "ok", got.reason
    assert got.details == {
        "format": "stderr",
        "by_severity": {"ERROR": 1, "FATAL": 1, "LOG": 2},
        "container": wrapper,
    }
    error = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert error["detail"] == "Key (id)=(42) already exists."
    # the runtime split this line in two (CRI "P", a Docker entry without its newline)
    assert error["statement"] == "INSERT INTO orders (id, total)\nVALUES (42, 9.99)"
    assert got.frame["duration_s"].dropna().tolist() == [2.5]
    assert got.frame["logged_at"].iloc[0] == pd.Timestamp("2026-11-27 05:00:01.250", tz="UTC")
    assert got.lines_skipped == 1  # the entrypoint's own line on stdout is not the server's


@pytest.mark.parametrize("wrapper", ["cri", "docker-json"])
def test_a_partial_line_at_a_block_edge_waits_for_its_end(wrapper: str, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = collect_pg_log(str(DATA / WRAPPED[wrapper]))
    for block in (40, 150, 400):
        monkeypatch.setattr(files, "BLOCK_CHUNK_BYTES", block)
        monkeypatch.setattr(files, "_BLOCK_READ_BYTES", 16)
        got = collect_pg_log(str(DATA / WRAPPED[wrapper]))
        pd.testing.assert_frame_equal(got.frame, whole.frame)
        assert got.lines_read == whole.lines_read


def test_cloudnativepg_json_inside_a_kubernetes_node_file(tmp_path: Path) -> None:
    plain = collect_pg_log(str(DATA / "cloudnativepg.json"))
    lines = (DATA / "cloudnativepg.json").read_text(encoding="utf-8").splitlines()
    node_file = tmp_path / "0.log"
    node_file.write_text(
        "".join(f"2026-11-27T05:00:{i % 60:02d}.000000000Z stdout F {line}\n" for i, line in enumerate(lines)),
        encoding="utf-8",
    )
    got = collect_pg_log(str(node_file))
    assert got.details["format"] == "cloudnativepg" and got.details["container"] == "cri"
    assert got.details["by_severity"] == plain.details["by_severity"]
    pd.testing.assert_frame_equal(got.frame.drop(columns="source_file"), plain.frame.drop(columns="source_file"))


def test_heroku_is_not_taken_for_a_timestamped_container_log() -> None:
    got = collect_pg_log(str(DATA / "heroku_logplex.log"))
    assert got.details["format"] == "heroku" and "container" not in got.details
