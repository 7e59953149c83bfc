"""The CLI leaves promptly after its work, but never before its exit handlers and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, tempfile, threading, time
from pathlib import Path
from runbook_lib.cli.prompt_exit import exit_promptly
marks = Path(sys.argv[1])
atexit.register(lambda: (marks / "atexit").write_text("ran"))
scratch = tempfile.TemporaryDirectory()  # cleaned by a weakref.finalize exit handler
(marks / "scratch").write_text(scratch.name)
if sys.argv[2] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.5), (marks / "thread").write_text("done"))).start()
print("x" * 100000, end="")  # more than a pipe buffer, left in Python's buffer
exit_promptly(3)
"""


def _run(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), mode], capture_output=True, text=True, timeout=60, check=False
    )


def test_exit_handlers_run_and_output_is_flushed(tmp_path: Path) -> None:
    done = _run(tmp_path, "alone")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "x" * 100000
    assert (tmp_path / "atexit").read_text() == "ran"
    assert not Path((tmp_path / "scratch").read_text()).exists()


def test_a_live_thread_gets_the_ordinary_exit(tmp_path: Path) -> None:
    done = _run(tmp_path, "thread")
    assert done.returncode == 3, done.stderr
    assert (tmp_path / "thread").read_text() == "done"
    assert (tmp_path / "atexit").read_text() == "ran"
