"""Guard against the PySide6 build that drops references to True/None on each emit.

PySide6 6.12.0 on Python 3.11 aborts the interpreter after about a thousand signal
emits; pyproject keeps it out. This fails loudly (in a child process, so the abort does
not take the test run down) if such a build comes back.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Emitter(QObject):
    flag = Signal(bool)
e = Emitter()
e.flag.connect(lambda v: None)
before = sys.getrefcount(True), sys.getrefcount(None)
for _ in range(5000):
    e.flag.emit(True)
after = sys.getrefcount(True), sys.getrefcount(None)
sys.exit(0 if after == before else 3)
"""


def test_signal_emits_keep_refcounts() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            env={"QT_QPA_PLATFORM": "offscreen", **_env()})
    assert result.returncode == 0, (
        f"this PySide6 build corrupts reference counts (exit {result.returncode}): "
        f"{result.stderr[-400:]}")


def _env() -> dict[str, str]:
    import os
    return dict(os.environ)
