"""Benchmark: the depth overlay's blend slider, and facet counts at full scale.

    python bench/depth.py [--root DIR] [--skip-full]

1. Repaint: a real :class:`~faceexplorer.gui.depth.DepthView` (offscreen) on a small
   RaFD-D sample; the blend slider is dragged across 100 positions, each step timed from
   ``setValue`` to the end of a synchronous repaint of the canvas (goal: p95 under 16 ms).
   Baseline, same run and same arrays: a bare numpy lerp plus its QImage conversion. The
   same again for a 1024x1024 scene, to show how it scales with image size.
2. Facets: full-scale AffectNet (no images), AffectNet-D and RaFD-D written with
   ``faceexplorer.samples`` (about a minute or more), imported, and the per-expression
   facet counts compared with ``vocab.AFFECTNET_D_COUNTS`` / ``RAFD_D_COUNTS``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _ms(samples: list[float]) -> str:
    a = np.array(samples) * 1000
    return f"p50 {np.percentile(a, 50):.2f} ms, p95 {np.percentile(a, 95):.2f} ms"


def bench_repaint(root: Path) -> None:
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from faceexplorer.datasets.registry import import_path
    from faceexplorer.gui.depth import DepthView
    from faceexplorer.index.store import connect
    from faceexplorer.media.depth import build_scene
    from faceexplorer.samples.depth import write_rafd_d

    app = QApplication.instance() or QApplication([])
    db = root / "small.duckdb"
    if not db.exists():
        write_rafd_d(root / "small", "small", np.random.default_rng(5), images=True)
        import_path(db, root / "small" / "RaFD-D", "rafd-d")
    con = connect(db, read_only=True)
    view = DepthView()
    view.resize(1400, 900)
    from faceexplorer.gui.core.session import IndexSession

    session = IndexSession.over(con)
    view.attach(session)
    view.dataset.setCurrentIndex(1)
    view.show()
    app.processEvents()
    ov = view.overlay
    ov.mode.setCurrentText("Blend")
    scenes = [("RaFD-D map", ov.scene, ov._landmarks)]
    rng = np.random.default_rng(0)
    big = build_scene(rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8),
                      rng.random((512, 512), dtype=np.float32), None, None)
    scenes.append(("1024x1024 synthetic", big, None))
    for title, scene, landmarks in scenes:
        ov.set_scene(scene, landmarks, title)
        app.processEvents()
        widget, bare = [], []
        for v in list(range(0, 100, 2)) + list(range(100, 0, -2)):  # 100 positions
            t0 = time.perf_counter()
            ov.blend.setValue(v)
            ov.graphics.viewport().repaint()
            widget.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            pixels = scene.blend.blend(v / 100)
            img = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                         QImage.Format.Format_RGB888).copy()
            bare.append(time.perf_counter() - t0)
            del img
        h, w = scene.rgb.shape[:2]
        print(f"blend drag, {title} ({w}x{h}), 100 positions:")
        print(f"  widget repaint      {_ms(widget)}")
        print(f"  bare lerp + QImage  {_ms(bare)}")
    view.stats.wait_until_idle(60)
    view.attach(None)
    session.close()
    session.tasks.shutdown()
    con.close()


def bench_full(root: Path) -> None:
    from faceexplorer.core.vocab import AFFECTNET_D_COUNTS, RAFD_D_COUNTS
    from faceexplorer.datasets.registry import import_path
    from faceexplorer.index import depth_query as dq
    from faceexplorer.index.store import connect
    from faceexplorer.samples.affectnet import write_affectnet
    from faceexplorer.samples.depth import write_affectnet_d, write_rafd_d

    full = root / "full"
    db = root / "full.duckdb"
    if not db.exists():
        t0 = time.perf_counter()
        rng = np.random.default_rng(2)
        an = write_affectnet(full, "full", rng, images=False)
        write_affectnet_d(full, an, "full", rng)
        write_rafd_d(full, "full", rng, images=False)
        print(f"full-scale samples written in {time.perf_counter() - t0:.1f} s")
        for folder, kind in (("AffectNet", "affectnet"), ("AffectNet-D", "affectnet-d"),
                             ("RaFD-D", "rafd-d")):
            t0 = time.perf_counter()
            import_path(db, full / folder, kind)
            print(f"import {kind}: {time.perf_counter() - t0:.1f} s")
    con = connect(db, read_only=True)
    for kind, expected in (("affectnet-d", AFFECTNET_D_COUNTS), ("rafd-d", RAFD_D_COUNTS)):
        t0 = time.perf_counter()
        shown = dict(dq.facets(con, kind)["class"])
        took = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        dq.page(con, kind, {"class": "happy"}, 0, 100)
        page_ms = (time.perf_counter() - t0) * 1000
        verdict = "match" if shown == dict(expected) else f"DIFFER: {shown}"
        print(f"{kind}: {sum(shown.values())} maps, per-class facet counts {verdict} "
              f"(facets {took:.0f} ms, one page of 100 with RGB partners {page_ms:.0f} ms)")
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--skip-full", action="store_true")
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="bench_depth_"))
    root.mkdir(parents=True, exist_ok=True)
    bench_repaint(root)
    if not args.skip_full:
        bench_full(root)


if __name__ == "__main__":
    main()
