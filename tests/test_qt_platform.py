"""The Linux xcb-library check of ``faceexplorer demo``/``gui``, with fake library lists."""

from __future__ import annotations

import subprocess
import sys

import pytest

from faceexplorer import qt_platform
from faceexplorer.qt_platform import (
    APT_LINE,
    DNF_LINE,
    QT_XCB_LIBRARIES,
    check_qt_libraries,
    uses_xcb,
)

ALL = set(QT_XCB_LIBRARIES)
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = "ID=ubuntu\nID_LIKE=debian\n"
FEDORA = 'ID=fedora\nVERSION_ID=40\n'


@pytest.mark.parametrize(("env", "platform", "xcb"), [
    ({}, "linux", True),
    ({"DISPLAY": ":0"}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb;wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"QT_QPA_PLATFORM": "wayland"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({}, "win32", False),
    ({}, "darwin", False),
    ({"QT_QPA_PLATFORM": "xcb"}, "darwin", False),
])
def test_only_when_qt_will_use_xcb(env, platform, xcb):
    assert uses_xcb(env, platform) is xcb
    # where xcb is not used, nothing is checked even with no library at all
    missing = check_qt_libraries(env, available=set(), platform=platform, os_release=DEBIAN)
    assert (missing is not None) is xcb


def test_complete_system_passes():
    assert check_qt_libraries({}, available=ALL | {"libc.so.6"}, platform="linux") is None


def test_stock_debian_names_every_missing_library_and_the_one_apt_line():
    # a stock Debian 12 without the three the issue met (Qt's own message names one)
    have = ALL - {"libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    text = check_qt_libraries({}, available=have, platform="linux", os_release=DEBIAN)
    assert text is not None
    for name, package in (("libxcb-cursor.so.0", "libxcb-cursor0"),
                          ("libxcb-icccm.so.4", "libxcb-icccm4"),
                          ("libxcb-keysyms.so.1", "libxcb-keysyms1")):
        assert f"{name} ({package})" in text
    assert APT_LINE in text and "dnf" not in text
    assert "libxcb-randr.so.0" not in text.splitlines()[1]   # only what is missing listed
    # the line installs every library of the set, so no second crash follows
    for debian, _fedora in QT_XCB_LIBRARIES.values():
        assert debian in APT_LINE.split()


def test_fedora_gets_the_dnf_line_and_fedora_names():
    text = check_qt_libraries({}, available=ALL - {"libxcb-cursor.so.0"}, platform="linux",
                              os_release=FEDORA)
    assert "libxcb-cursor.so.0 (xcb-util-cursor)" in text
    assert DNF_LINE in text and "apt-get" not in text
    for _debian, fedora in QT_XCB_LIBRARIES.values():
        assert fedora in DNF_LINE.split()


def test_ubuntu_is_debian_like_and_unknown_gets_both_lines():
    assert "apt-get" in check_qt_libraries({}, available=set(), platform="linux",
                                           os_release=UBUNTU)
    text = check_qt_libraries({}, available=set(), platform="linux", os_release="ID=arch\n")
    assert APT_LINE in text and DNF_LINE in text


def test_readme_carries_both_lines():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert APT_LINE in readme and DNF_LINE in readme


def test_this_machine_found_from_the_linker_cache():
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    found = qt_platform.available_libraries()
    assert "libc.so.6" in found
    # the test machine runs the GUI tests, so the libraries QtGui itself links are there
    assert "libEGL.so.1" in found and "libfontconfig.so.1" in found


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from faceexplorer import qt_platform as q;"
            "q.available_libraries = lambda: {'libxcb.so.1'};"
            "from faceexplorer.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize("command", [["demo", "--folder"], ["gui", "--db"]])
def test_demo_and_gui_stop_before_any_work(tmp_path, command):
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM",
                                                              "WAYLAND_DISPLAY")}
    env["FACEEXPLORER_HOME"] = str(tmp_path / "home")
    target = tmp_path / ("demo" if command[0] == "demo" else "index.duckdb")
    result = _cli([*command, str(target)], env)
    assert result.returncode == 1, result.stderr
    assert "sudo apt-get install" in result.stderr or "sudo dnf install" in result.stderr
    assert "libxcb-cursor.so.0" in result.stderr
    assert not target.exists()            # the demo was not built, no index made
    assert "Building the demo" not in result.stderr
