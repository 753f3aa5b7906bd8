"""The Debian package's layout and control file, built from a stand-in app folder.

``packaging/make_deb.py`` wraps whatever folder it is given, so these tests hand it a tiny
fake ``FaceExplorer`` folder (a shell script and a library-shaped file) and read the result
back with ``dpkg-deb``: seconds, no PyInstaller build. The real package is checked by
``tests/packaging/test_frozen.py`` (CI) and installed on a stock Debian 12 root by
``packaging/test_stock_linux.sh``. Skipped where ``dpkg-deb`` is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


def _make_deb():
    spec = importlib.util.spec_from_file_location("make_deb", REPO / "packaging" / "make_deb.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_deb"] = module
    spec.loader.exec_module(module)
    return module


make_deb = _make_deb()


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deb")
    app = root / "FaceExplorer"
    (app / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms").mkdir(parents=True)
    (app / "FaceExplorer").write_text("#!/bin/sh\necho frozen app\n")
    (app / "FaceExplorer").chmod(0o700)
    (app / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").write_bytes(
        b"\x7fELF")
    return make_deb.build(app, root / "out", root / "work")


def _dpkg(*args: str) -> str:
    return subprocess.run(["dpkg-deb", *args], check=True, capture_output=True,
                          text=True).stdout


def test_name_has_the_project_version(deb: Path) -> None:
    import tomllib

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert deb.name == f"FaceExplorer-{version}-linux-x86_64.deb"
    assert _dpkg("--field", str(deb), "Version").strip() == version


def test_control_depends_on_the_qt_system_libraries(deb: Path) -> None:
    depends = _dpkg("--field", str(deb), "Depends")
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1",
                    "libxkbcommon-x11-0", "libfontconfig1", "libegl1"):
        assert package in depends
    assert "python" not in depends  # the frozen folder carries its own
    assert depends.startswith("libc6 (>= 2.")  # glibc is the one library not bundled
    info = _dpkg("--info", str(deb))
    assert "Package: faceexplorer" in info and "Architecture: amd64" in info
    assert "Installed-Size:" in info


def test_layout_opt_launcher_menu_entry_and_icon(deb: Path) -> None:
    listing = _dpkg("--contents", str(deb))
    rows = {line.split()[-1].lstrip("."): line for line in listing.splitlines()}
    assert rows["/opt/faceexplorer/FaceExplorer"].startswith("-rwxr-xr-x root/root")
    assert "/opt/faceexplorer/_internal/PySide6/Qt/plugins/platforms/libqxcb.so" in rows
    assert rows["/usr/bin/faceexplorer"].startswith("-rwxr-xr-x root/root")
    assert "/usr/share/applications/faceexplorer.desktop" in rows
    assert "/usr/share/icons/hicolor/256x256/apps/faceexplorer.png" in rows


def test_launcher_and_desktop_entry(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "--extract", str(deb), str(tmp_path)], check=True)
    launcher = (tmp_path / "usr" / "bin" / "faceexplorer").read_text()
    assert 'exec /opt/faceexplorer/FaceExplorer "$@"' in launcher
    desktop = (tmp_path / "usr" / "share" / "applications" / "faceexplorer.desktop").read_text()
    for line in ("Type=Application", "Exec=faceexplorer", "Icon=faceexplorer",
                 "Terminal=false"):
        assert line in desktop.splitlines()
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(tmp_path / "usr" / "share" /
                                                     "applications" / "faceexplorer.desktop")],
                       check=True)
    icon = tmp_path / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    assert (icon / "faceexplorer.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
