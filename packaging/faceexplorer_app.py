"""Entry point of the frozen app (PyInstaller runs this file, not ``faceexplorer.__main__``).

* no arguments (a double click): open the window on the user's index (``faceexplorer gui``);
* ``--selftest [options]``: ``faceexplorer.selftest.main`` (exit 0 only if all works);
* anything else: the ``faceexplorer`` command line, unchanged.

onnxruntime 1.29+ (Linux, macOS) sends usage telemetry to Microsoft over its own HTTP
client and keeps a device id in ``~/.cache/Microsoft/DeveloperTools`` and a session file
in the temp folder, unless ``ORT_DISABLE_TELEMETRY=1`` is set before it loads: set here,
first thing, so the frozen app never talks to the network nor writes outside its data
folder (``packaging/smoke.py`` caught both).

A windowed build (Windows, macOS) has no console, so ``sys.stdout`` is None there; output
then goes to ``faceexplorer.log`` in the user's data folder, never beside the app.
"""

from __future__ import annotations

import os
import sys

os.environ["ORT_DISABLE_TELEMETRY"] = "1"


def _console_or_log() -> None:
    if sys.stdout is not None and sys.stderr is not None:
        return
    from faceexplorer.paths import user_data_dir

    folder = user_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "faceexplorer.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    sys.stdout = sys.stdout or log
    sys.stderr = sys.stderr or log


def main() -> int:
    """Dispatch as described in the module docstring."""
    _console_or_log()
    args = sys.argv[1:]
    if "--selftest" in args:
        from faceexplorer.selftest import main as selftest

        return selftest([a for a in args if a != "--selftest"])
    from faceexplorer.cli import main as cli

    return cli(args or ["gui"])


if __name__ == "__main__":
    sys.exit(main())
