"""Install the built .deb on a stock Debian 12 root and run its selftest there (when asked).

``packaging/test_stock_linux.sh`` does the work: debootstrap a minimal Debian 12,
``apt-get install ./FaceExplorer-...deb`` (apt pulls the Depends from Debian's mirror),
``ldd`` every bundled library, run ``faceexplorer --selftest --quick`` offscreen and on
X11 under Xvfb as an ordinary user, then ``apt-get remove``. It needs root, debootstrap
and Debian's mirror, and takes 5-10 minutes, so it runs only with
``FACEEXPLORER_STOCK_TEST=1`` (after the build: ``packaging/build.sh`` or
``tests/packaging/test_frozen.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("FACEEXPLORER_STOCK_TEST") != "1",
                       reason="debootstraps Debian 12 (minutes, root): set "
                              "FACEEXPLORER_STOCK_TEST=1 to run it"),
]


def test_deb_installs_and_selftests_on_stock_debian_12() -> None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs Linux and root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        pytest.skip("needs debootstrap (apt-get install debootstrap)")
    run = subprocess.run(["bash", str(REPO / "packaging" / "test_stock_linux.sh")], cwd=REPO,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert "selftest: passed" in run.stdout and "stock: passed" in run.stdout
