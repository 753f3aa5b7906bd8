"""The Analyses tab's run: ``inference.analyze.run_analysis`` as a write of the index session.

It runs on the task runner's long-job thread (the window stays usable); progress goes to
the task's context, and Cancel (the ``stop`` event or the task's cancel) stops after the
frame in flight, leaving the finished parts for a resume.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from faceexplorer.gui.core.tasks import TaskContext


def analysis_job(ctx: TaskContext, db_path: Path, model: str, inputs: list[str],
                 output: Path, detector: str, stride: int, stop: threading.Event,
                 engine: str = "local", address: str | None = None,
                 ray_pool: str = "ray") -> Any:
    """``run_analysis`` on a worker, stored in the index at ``db_path`` (a session write).

    ``engine`` "ray" spreads the inputs over Ray workers (``inference.cluster``; a local
    Ray instance on this machine's cores when ``address`` is None); the table is the same.
    """
    from faceexplorer.inference.analyze import DetectorSettings, run_analysis
    from faceexplorer.inference.analyze_input import FrameRange

    def progress(done: int, total: int | None, path: Path, fps: float) -> None:
        ctx.progress(done, total or 0, f"{path.name}: {fps:.1f} frames/s")

    runner = None
    if engine == "ray":
        from faceexplorer.inference.cluster import RayEngine, check_reachable, import_ray

        if ray_pool == "ray":
            import_ray()                  # says how to install Ray when it is missing
            if address:
                check_reachable(address)
        runner = RayEngine(address or None, None, pool=ray_pool)
    output.parent.mkdir(parents=True, exist_ok=True)
    return run_analysis(model, inputs, output, detector=DetectorSettings.from_choice(detector),
                        frames=FrameRange(stride=stride), db_path=db_path, progress=progress,
                        should_stop=lambda: stop.is_set() or ctx.cancelled, engine=runner)
