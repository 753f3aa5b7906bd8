"""``--selftest`` from the source install: every step passes, and its guards bite.

The full selftest runs once, as a subprocess (it opens a QApplication of its own), with
``--quick`` (small index, no images) in a temporary data folder; the network guard and
the process clock are checked in-process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from faceexplorer import selftest

REPO = Path(__file__).resolve().parents[2]


def test_quick_selftest_passes_and_writes_only_its_data_folder(tmp_path: Path) -> None:
    home, cwd = tmp_path / "data", tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEEXPLORER_")}
    env.update(FACEEXPLORER_HOME=str(home), FACEEXPLORER_TIMING="1",
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    shots = home / "shots"
    result = subprocess.run(
        [sys.executable, "-m", "faceexplorer.selftest", "--quick", "--frames", "12",
         "--screenshots", str(shots)],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "selftest: passed (3 of 3 steps passed)" in out
    for step in ("index", "window", "model"):
        assert f"selftest: PASS {step}" in out
    # tab titles belong to the window (and change); at least two views were shown
    assert "showed " in out
    assert "timing: window shown" in out
    assert "predictions" in out and " 0 predictions" not in out
    assert len(list(shots.glob("*.png"))) >= 2, "views were not grabbed"
    assert not list(cwd.iterdir()), "the selftest wrote into the working directory"


def test_missing_index_fails_with_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEEXPLORER_HOME", str(tmp_path))

    def broken(*_args: object) -> tuple[Path, Path]:
        raise FileNotFoundError("no sample video")

    monkeypatch.setattr(selftest, "quick_index", broken)
    assert selftest.main(["--quick"]) == 1
    out = capsys.readouterr().out
    assert "FAIL index" in out and "no sample video" in out and "FAILED" in out


def test_network_guard_blocks_and_records() -> None:
    original_connect, original_getaddrinfo = socket.socket.connect, socket.getaddrinfo
    attempts: list[str] = []
    with selftest.network_guard(attempts):
        with pytest.raises(selftest.NetworkBlocked):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        with pytest.raises(selftest.NetworkBlocked):
            socket.getaddrinfo("example.org", 443)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            try:  # a library that swallows the error still leaves a record
                s.connect_ex(("127.0.0.1", 9))
            except OSError:
                pass
        finally:
            s.close()
    assert len(attempts) == 3, attempts
    # restored afterwards
    assert socket.socket.connect is original_connect
    assert socket.getaddrinfo is original_getaddrinfo


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX sockets here")
def test_network_guard_lets_local_ipc_through(tmp_path: Path) -> None:
    attempts: list[str] = []
    path = str(tmp_path / "s")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    client = socket.socket(socket.AF_UNIX)
    try:
        with selftest.network_guard(attempts):
            client.connect(path)
    finally:
        client.close()
        server.close()
    assert attempts == []


def test_process_age_is_positive_and_plausible() -> None:
    age, since = selftest.process_age_s()
    assert since in ("process start", "selftest import")
    assert 0 <= age < 24 * 3600
