"""Build the frozen app with PyInstaller and smoke-test it (CI, or FACEEXPLORER_BUILD=1).

Building takes minutes (about 3-5 on 2 busy cores), so the test runs only when asked:
``FACEEXPLORER_BUILD=1`` or ``CI=true``. It runs ``packaging/build.sh`` and then
``packaging/smoke.py --quick`` (the selftest in a sandbox, writes and connections traced
where strace exists); the demo-index smoke is ``packaging/smoke.py`` without ``--quick``.
On Linux with ``dpkg-deb`` the build also makes the .deb: its control file, contents and
size (<= 200 MB) are checked here; installing it on a stock Debian 12 root is
``tests/packaging/test_stock_linux.py`` (root, ``FACEEXPLORER_STOCK_TEST=1``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WANTED = os.environ.get("FACEEXPLORER_BUILD") == "1" or os.environ.get("CI") == "true"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not WANTED, reason="builds the frozen app (minutes): set "
                       "FACEEXPLORER_BUILD=1 (CI sets CI=true) to run it"),
]


def test_build_and_smoke_frozen_app() -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip('PyInstaller is not installed: pip install -e ".[build]"')
    if shutil.which("bash") is None:
        pytest.skip("packaging/build.sh needs bash (Git Bash on Windows)")
    build = subprocess.run(["bash", str(REPO / "packaging" / "build.sh")],
                           env=dict(os.environ, PYTHON=sys.executable), cwd=REPO,
                           capture_output=True, text=True, timeout=1200)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-5000:]
    assert "build.sh: built" in build.stdout
    internal = REPO / "dist" / "FaceExplorer" / "_internal"
    if sys.platform.startswith("linux"):     # the licence texts About points at
        from faceexplorer.licences import BUNDLED_LIBRARIES, FROZEN_FOLDER

        for lib in BUNDLED_LIBRARIES:
            folder = internal / FROZEN_FOLDER / lib.distribution
            if lib.distribution != "PySide6_Essentials" or Path(
                    "/usr/share/common-licenses/LGPL-3").is_file():
                assert folder.is_dir() and any(folder.iterdir()), folder
    smoke = subprocess.run([sys.executable, str(REPO / "packaging" / "smoke.py"), "--quick"],
                           cwd=REPO, capture_output=True, text=True, timeout=900)
    assert smoke.returncode == 0, smoke.stdout[-5000:] + smoke.stderr[-3000:]
    assert "selftest: passed" in smoke.stdout and "smoke: passed" in smoke.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None,
                    reason="the .deb is built on Linux with dpkg-deb")
def test_debian_package_of_the_build() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    deb = REPO / "dist" / f"FaceExplorer-{version}-linux-x86_64.deb"
    if not deb.is_file():
        pytest.skip("no .deb: test_build_and_smoke_frozen_app builds it")
    assert deb.stat().st_size <= 200e6, f"{deb.stat().st_size / 1e6:.0f} MB > 200 MB"
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], check=True, capture_output=True,
                          text=True).stdout
    assert "Package: faceexplorer" in info and f"Version: {version}" in info
    assert "libxcb-cursor0" in info and "python" not in info.split("Description:")[0]
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], check=True,
                             capture_output=True, text=True).stdout
    for path in ("./opt/faceexplorer/FaceExplorer", "./usr/bin/faceexplorer",
                 "./usr/share/applications/faceexplorer.desktop",
                 "/platforms/libqxcb.so", "/platforms/libqoffscreen.so"):
        assert path in listing
    for dropped in ("/platforms/libqvnc.so", "/platformthemes/libqgtk3.so",
                    "/egldeviceintegrations/", "/translations/"):
        assert dropped not in listing
