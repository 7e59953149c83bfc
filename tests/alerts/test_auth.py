"""Credentials: Bearer and basic compared in constant time, token from env or file, Grafana HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from runbook_lib.alerts.receiver import TOKEN_ENV, TOKEN_FILE_ENV, authorized, is_loopback, read_token, signature_ok
from runbook_lib.errors import ParameterError


def test_bearer_and_basic_credentials() -> None:
    assert authorized("Bearer tok-1", "tok-1")
    assert not authorized("Bearer tok-2", "tok-1")
    assert not authorized("Bearer ", "tok-1") and not authorized("", "tok-1")
    basic = base64.b64encode(b"alertmanager:tok-1").decode()
    assert authorized(f"Basic {basic}", "tok-1")
    assert not authorized(f"Basic {base64.b64encode(b'alertmanager:nope').decode()}", "tok-1")
    assert not authorized("Basic !!!not-base64", "tok-1")


def test_token_from_file_wins_and_an_unreadable_file_names_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    assert read_token() == "from-env"
    (tmp_path / "t").write_text("from-file\n", encoding="utf-8")
    monkeypatch.setenv(TOKEN_FILE_ENV, str(tmp_path / "t"))
    assert read_token() == "from-file"
    monkeypatch.setenv(TOKEN_FILE_ENV, str(tmp_path / "missing"))
    with pytest.raises(ParameterError) as err:
        read_token()
    assert "from-env" not in str(err.value) and TOKEN_FILE_ENV in str(err.value)


def test_grafana_hmac_signature_and_loopback() -> None:
    body = b'{"version": "1"}'
    good = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature_ok(body, good, "k") and not signature_ok(body + b" ", good, "k")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
