"""Write every sample dataset under one root, each from its own seeded random stream.

Each dataset gets its own child of ``numpy.random.SeedSequence(seed)``, so regenerating
one dataset (``only=``) gives the same files as generating them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Import order: AffectNet before the datasets that link to it.
SAMPLE_KINDS: tuple[str, ...] = (
    "affectnet", "affectnet-c25", "hrm", "openface", "affectnet-d", "rafd-d", "faces",
)
#: Folder of each kind under the sample root (what ``index add KIND`` is pointed at).
SAMPLE_FOLDERS: dict[str, str] = {
    "affectnet": "AffectNet", "affectnet-c25": "AffectNetC25", "hrm": "HRM",
    "openface": "OpenFace", "affectnet-d": "AffectNet-D", "rafd-d": "RaFD-D", "faces": "FACES",
}


@dataclass
class SampleSet:
    """What :func:`write_samples` wrote: the folder and the writer's record of each kind."""

    root: Path
    scale: str
    seed: int
    written: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def path(self, kind: str) -> Path:
        return self.root / SAMPLE_FOLDERS[kind]


def write_samples(
    root: Path,
    scale: str = "small",
    seed: int = 0,
    images: bool | None = None,
    only: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SampleSet:
    """Write the sample datasets under ``root``.

    Parameters
    ----------
    scale
        ``"small"`` (demo and tests) or ``"full"`` (the real datasets' sizes).
    images
        Draw face images, frames and videos; default: yes at small scale, no at full scale.
    only
        Kinds to write (their prerequisites, AffectNet and HRM, are written too).
    """
    from faceexplorer.samples import affectnet, affectnet_c25, depth, faces, hrm, openface

    if scale not in ("small", "full"):
        raise ValueError(f"scale must be 'small' or 'full', not {scale!r}")
    images = scale == "small" if images is None else images
    wanted = set(only or SAMPLE_KINDS)
    if wanted & {"affectnet-c25", "affectnet-d"}:
        wanted.add("affectnet")
    if "openface" in wanted:
        wanted.add("hrm")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    streams = dict(zip(SAMPLE_KINDS, np.random.SeedSequence(seed).spawn(len(SAMPLE_KINDS)),
                       strict=True))
    out = SampleSet(root=root, scale=scale, seed=seed)

    def run(kind: str, write: Callable[[np.random.Generator], Any]) -> None:
        if kind not in wanted:
            return
        if progress:
            progress(f"writing {kind} ({scale}) ...")
        start = time.perf_counter()
        out.written[kind] = write(np.random.default_rng(streams[kind]))
        out.seconds[kind] = time.perf_counter() - start

    run("affectnet", lambda rng: affectnet.write_affectnet(root, scale, rng, images))
    run("affectnet-c25", lambda rng: affectnet_c25.write_c25(root, out.written["affectnet"], rng))
    run("hrm", lambda rng: hrm.write_hrm(root, scale, rng, images))
    run("openface", lambda rng: openface.write_openface(root, out.written["hrm"], scale, rng))
    run("affectnet-d",
        lambda rng: depth.write_affectnet_d(root, out.written["affectnet"], scale, rng))
    run("rafd-d", lambda rng: depth.write_rafd_d(root, scale, rng, images))
    run("faces", lambda rng: faces.write_faces(root, scale, rng))
    return out
