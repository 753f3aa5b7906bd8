"""How long the window's GUI thread stalls while the window writes its index.

    python bench/window_writes.py [--full bench/out/full] [--rows 300]

Issue 12 moved imports, model runs and recordings into the window (the index session
turns its connection read-write for the write, which runs on the task runner's long-job
thread). The goal: the GUI thread never stalls for 100 ms or more meanwhile.

What is measured, in one process, with the real main window on screen (offscreen
platform) at 1366x768:

- A ticker: a 5 ms QTimer on the GUI thread stamps ``perf_counter`` at each timeout. A
  *stall* is a gap between two ticks minus the 5 ms interval: time in which the window
  could not have answered a click or painted. Printed: the longest stall, the 99th
  percentile gap, and the share of time lost to stalls over 50 ms.
- **idle** (the baseline, same run, same duration as the import): the window open on an
  index holding AffectNet, nothing written.
- **import**: File > Add dataset's import of the full-scale AffectNet sample (414,800 +
  5,500 rows, ``faceexplorer sample --scale full``) onto the open window's index (a
  re-import: it replaces AffectNet, the browse table is rebuilt). Inside the window:
  ``MainWindow.import_dataset`` until the session is idle again (the import, the switch
  to read-write and back, the views' refresh after the commit). Its wall time is printed
  beside the same import run headless (``registry.import_path``) in the same run.
- **model run**: Model runs' Run of the EfficientNet-B0 layout (``bench/models.py``) over
  ``--rows`` AffectNet images (``bench/batch.py``'s sample with images), while the ticker
  runs and, every 250 ms, the AffectNet tab turns a page (a user browsing meanwhile). Its
  baseline: the same paging for the same time with nothing written (a page turn is GUI
  work of its own: ~100 ms of painting 200 tiles under load), so the ratio shows what the
  run adds. On a 2-core machine the run's model and decoding threads take the cores the
  GUI thread would use: part of any stall is CPU contention, not waiting on the index.

Outside every clock: building the samples and the model, opening the window. The load
average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.models import b0_model  # noqa: E402
from faceexplorer.datasets.registry import import_path  # noqa: E402
from faceexplorer.gui.add_dataset import ImportRequest  # noqa: E402
from faceexplorer.gui.main_window import MainWindow  # noqa: E402

INTERVAL_MS = 5


class Ticker:
    """Stamps the GUI thread's event loop every ``INTERVAL_MS``."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.stamps.append(time.perf_counter()))

    def start(self) -> None:
        self.stamps = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        self.stamps.append(time.perf_counter())
        gaps = np.diff(np.asarray(self.stamps)) * 1000
        stalls = np.maximum(gaps - INTERVAL_MS, 0)
        total = (self.stamps[-1] - self.stamps[0]) * 1000
        return {"longest": float(stalls.max()), "p99": float(np.percentile(gaps, 99)),
                "lost50": float(stalls[stalls >= 50].sum() / total) if total else 0.0,
                "seconds": total / 1000}


def _line(name: str, s: dict[str, float], base: dict[str, float] | None = None) -> str:
    ratio = f"  ({s['longest'] / max(base['longest'], 0.1):.1f}x idle)" if base else ""
    return (f"  {name:<28} longest stall {s['longest']:7.1f} ms{ratio}; gap p99 "
            f"{s['p99']:6.1f} ms; time lost in stalls >= 50 ms {100 * s['lost50']:5.2f}%; "
            f"over {s['seconds']:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", type=Path, default=REPO / "bench/out/full",
                        help="full-scale samples (faceexplorer sample DIR --scale full)")
    parser.add_argument("--batch-sample", type=Path,
                        default=REPO / "bench/out/batch_sample/rows2000",
                        help="bench/batch.py's sample (AffectNet with images), built by it")
    parser.add_argument("--rows", type=int, default=300, help="images of the model run")
    args = parser.parse_args()
    affectnet = args.full / "AffectNet"
    if not affectnet.is_dir():
        sys.exit(f"{affectnet}: run faceexplorer sample {args.full} --scale full first")
    images = args.batch_sample / "index.duckdb"
    if not images.exists():
        sys.exit(f"{images}: run python bench/batch.py once first (it builds the sample)")
    # built before Qt loads: importing onnx (protobuf) after PySide6 crashed here
    model = b0_model(args.batch_sample.parent)
    app = QApplication.instance() or QApplication([])
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        # --- headless import, the reference wall time ----------------------------------
        start = time.perf_counter()
        import_path(tmp_path / "headless.duckdb", affectnet, "affectnet")
        headless_s = time.perf_counter() - start

        # --- the window, on an index that already holds AffectNet -----------------------
        db = tmp_path / "index.duckdb"
        shutil.copy(tmp_path / "headless.duckdb", db)
        window = MainWindow(db)
        window.testing = True
        window.resize(1366, 768)
        window.show()
        app.processEvents()
        window.show_view(window.faces_view)
        window.session.wait_until_idle(60)
        ticker = Ticker()

        ticker.start()
        deadline = time.perf_counter() + headless_s
        while time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)
        idle = ticker.stop()

        ticker.start()
        start = time.perf_counter()
        window.import_dataset(ImportRequest(affectnet, "affectnet"))
        window.session.wait_until_idle(600)
        window_s = time.perf_counter() - start
        imported = ticker.stop()
        assert not isinstance(window.last_import, str), window.last_import

        # --- a model run while the user pages -------------------------------------------
        shutil.copy(images, tmp_path / "images.duckdb")
        window.close()
        # The first window is kept referenced: dropping it here let Python's cycle
        # collector free its wrappers in the middle of the next window's set-up, which
        # crashed PySide6 once under heavy load (the app itself has one window for life).
        closed = [window]
        window = MainWindow(tmp_path / "images.duckdb")
        window.testing = True
        window.resize(1366, 768)
        window.show()
        window.show_view(window.faces_view)
        window.session.wait_until_idle(60)
        browser = window.faces_view.browser
        pager = QTimer()
        pager.setInterval(250)
        turns = [0]

        def turn() -> None:
            turns[0] += 1
            (browser.next_page if turns[0] % 4 else browser.first_page)()

        pager.timeout.connect(turn)
        ticker.start()
        pager.start()
        deadline = time.perf_counter() + 15
        while time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)
        pager.stop()
        paging = ticker.stop()
        turns_idle, turns[0] = turns[0], 0
        view = window.models_view
        view.model_edit.setText(str(model))
        view.dataset_box.setCurrentText("affectnet")
        view.limit_spin.setValue(args.rows)
        window.show_view(window.faces_view)
        ticker.start()
        pager.start()
        start = time.perf_counter()
        view.start_run()
        window.session.wait_until_idle(1800)
        run_s = time.perf_counter() - start
        pager.stop()
        ran = ticker.stop()
        window.close()
        closed.append(window)

    print(f"load average after: {os.getloadavg()}")
    print(f"GUI-thread stalls (a {INTERVAL_MS} ms timer's late ticks), goal: longest < 100 ms")
    print(_line("idle window (baseline)", idle))
    print(_line("import AffectNet (full)", imported, idle))
    print(_line("paging only (baseline)", paging))
    print(_line(f"model run, {args.rows} images + paging", ran, paging))
    print(f"  import wall time: window {window_s:.1f} s vs headless {headless_s:.1f} s "
          f"({window_s / headless_s:.2f}x); model run {run_s:.1f} s, "
          f"{turns[0]} page turns served meanwhile ({turns_idle} in 15 s without the run)")
    sys.stdout.flush()
    # PySide6 may crash in interpreter teardown after windows were closed in this
    # process (seen once here); the figures are out, leave without the teardown.
    os._exit(0)


if __name__ == "__main__":
    main()
