"""Benchmark: opening an analysis in the Analyses tab with every track of its video.

    python bench/analysis_tracks.py [--root DIR] [--repeats 15] [--json]

Setup, once under ``--root`` (default ``bench/out/analysis_tracks``), outside every
clock: the full-scale HRM labels and OpenFace CSVs of ``bench/out/full`` (``faceexplorer
sample bench/out/full --scale full``: 98 children, 131,758 labelled frames; OpenFace for
four children) are copied (``bench/out/full`` is only read); of the children OpenFace
covers, the one whose labels reach furthest gets a video file (a 16x16 mp4 with one frame
per OpenFace row: the importer only counts its frames); both are imported; then two
analyses of that video are stored through ``index.analyses.store_analysis`` as
``run_analysis`` stores them, with synthetic rows (8 expression probabilities, valence,
arousal, a box; 2% of frames without a face): one of every frame, one of every 2nd.

Then, offscreen, in one process, ``--repeats`` rounds each alternating every action with
its baseline:

- ``read``: ``index.video_tracks.input_tracks`` (the tab's ``session.read`` job: the
  analyses of the same file and the other one's series, the OpenFace rows, the child's
  labels) on the index's connection. Baseline: ``analysis_query.input_series`` of the
  opened analysis alone (what the tab read before the tracks existed; it still reads it
  first, on the GUI thread).
- ``draw``: ``AnalysisTimeline.set_tracks`` with the four tracks (two models, OpenFace,
  human labels) then one paint of the timeline (``grab`` of its scroll area, 800x600).
  Baseline: ``set_series`` of the opened analysis alone, painted the same way.

Prints p50/p95 wall ms and p50 process CPU ms per action, the ratios to the baselines
(wall and CPU) and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FULL = Path(__file__).resolve().parent / "out" / "full"
LABELS = ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def _video(path: Path, n: int) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (16, 16))
    for k in range(n):
        out.write(np.full((16, 16, 3), k % 250, dtype=np.uint8))
    out.release()


def _store(db: Path, video: Path, n: int, stride: int, name: str, seed: int) -> str:
    import pandas as pd

    from faceexplorer.index.analyses import AnalysisSource, store_analysis
    from faceexplorer.index.store import connect

    rng = np.random.default_rng(seed)
    frames = np.arange(0, n, stride)
    found = rng.random(len(frames)) > 0.02
    probs = rng.dirichlet(np.ones(len(LABELS)), len(frames))
    table = pd.DataFrame({
        "source": str(video), "file": None, "frame_index": frames,
        "timestamp_s": frames / 25.0, "face_index": np.where(found, 0, None),
        "face_found": found, "box_x": 40.0, "box_y": 30.0, "box_w": 80.0, "box_h": 80.0,
        "detector_score": 20.0, "valid": found, "message": None,
        **{f"expr_{k}": np.where(found, probs[:, i], np.nan) for i, k in enumerate(LABELS)},
        "valence": np.where(found, rng.uniform(-1, 1, len(frames)), np.nan),
        "arousal": np.where(found, rng.uniform(-1, 1, len(frames)), np.nan)})
    part = db.parent / f"{name}.parquet"
    table.to_parquet(part)
    meta = {"model_path": f"/models/{name}.onnx", "model_name": name,
            "model_sha256": name, "card": {}, "detector": {"kind": "haar"},
            "settings": {"frames": {"start": 0, "stop": None, "stride": stride}},
            "output": str(part), "started_at": None}
    source = AnalysisSource(str(video), "sha-of-the-video", "video", len(frames),
                            int(found.sum()), n, "end of video")
    con = connect(db)
    try:
        store_analysis(con, name, meta, [source], [part], list(table.columns))
    finally:
        con.close()
    return name


def setup(root: Path) -> tuple[Path, str, str]:
    """(index, opened analysis id, its source); built once."""
    db = root / "index.duckdb"
    stamp = root / "ready.json"
    if stamp.exists():
        info = json.loads(stamp.read_text())
        return db, info["analysis"], info["source"]
    from faceexplorer.datasets.registry import import_path

    if not (FULL / "HRM").is_dir() or not (FULL / "OpenFace").is_dir():
        raise SystemExit(f"{FULL} has no HRM/OpenFace: run faceexplorer sample "
                         "bench/out/full --scale full first")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copytree(FULL / "HRM", root / "HRM")
    shutil.copytree(FULL / "OpenFace", root / "OpenFace")
    rows = {p.stem: sum(1 for _ in p.open()) - 1 for p in (root / "OpenFace").rglob("*.csv")}
    child = max(rows, key=lambda c: rows[c])
    video = root / "HRM" / "videos" / f"{child}.mp4"
    _video(video, rows[child])
    import_path(db, root / "HRM", "hrm")
    import_path(db, root / "OpenFace", "openface")
    opened = _store(db, video.resolve(), rows[child], 1, "model_a", 1)
    _store(db, video.resolve(), rows[child], 2, "model_b", 2)
    stamp.write_text(json.dumps({"analysis": opened, "source": str(video.resolve()),
                                 "child": child, "frames": rows[child]}))
    return db, opened, str(video.resolve())


def _clock(fn) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path,
                        default=Path(__file__).resolve().parent / "out" / "analysis_tracks")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    db, opened, source = setup(args.root)
    import duckdb
    from PySide6.QtWidgets import QApplication

    from faceexplorer.core.vocab import HRM_AU22
    from faceexplorer.gui.analyses.timeline import AnalysisTimeline
    from faceexplorer.index import analysis_query as aq
    from faceexplorer.index import video_tracks as vt

    app = QApplication.instance() or QApplication([])
    con = duckdb.connect(str(db), read_only=True)
    tracks = vt.input_tracks(con, opened, source)        # warm-up (and the inputs)
    assert len(tracks.analyses) == 2 and tracks.openface is not None and tracks.human
    series = aq.input_series(con, opened, source)
    other = [(c.title, tracks.series[c.analysis_id]) for c in tracks.analyses[1:]]
    timeline = AnalysisTimeline()
    timeline.resize(800, 600)
    timeline.show()

    def draw_all() -> None:
        timeline.set_tracks(series, "model_a", other, tracks.openface, tracks.human,
                            HRM_AU22)
        timeline.scroll.grab()

    def draw_one() -> None:
        timeline.set_series(series, "model_a")
        timeline.scroll.grab()

    actions = {"read": lambda: vt.input_tracks(con, opened, source),
               "read baseline": lambda: aq.input_series(con, opened, source),
               "draw": draw_all, "draw baseline": draw_one}
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in actions}
    for _ in range(2):                                     # warm-up, outside the figures
        for fn in actions.values():
            fn()
            app.processEvents()
    for _ in range(args.repeats):
        for name, fn in actions.items():
            times[name].append(_clock(fn))
            app.processEvents()
    con.close()
    load = os.getloadavg()
    info = json.loads((args.root / "ready.json").read_text())
    out = {"child": info["child"], "video_frames": info["frames"],
           "human_frames": len(tracks.human.frames), "load": load}
    for name, rows in times.items():
        wall = [r[0] for r in rows]
        cpu = [r[1] for r in rows]
        out[name] = {"p50_ms": statistics.median(wall),
                     "p95_ms": float(np.percentile(wall, 95)),
                     "cpu_p50_ms": statistics.median(cpu)}
    for name in ("read", "draw"):
        base = out[f"{name} baseline"]
        out[name]["ratio"] = out[name]["p50_ms"] / base["p50_ms"]
        out[name]["cpu_ratio"] = out[name]["cpu_p50_ms"] / base["cpu_p50_ms"]
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"Analyses tracks, child {out['child']}: video {out['video_frames']:,} frames, "
          f"{out['human_frames']:,} labelled; two analyses (every frame, every 2nd), "
          f"OpenFace, human labels; {args.repeats} rounds")
    for name in actions:
        r = out[name]
        extra = (f"  x{r['ratio']:.2f} wall, x{r['cpu_ratio']:.2f} CPU vs baseline"
                 if "ratio" in r else "")
        print(f"  {name:14s} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
              f"CPU p50 {r['cpu_p50_ms']:7.1f} ms{extra}")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
