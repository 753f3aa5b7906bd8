"""Synthetic AffectNetC25 crowd votes, written exactly like the real files.

The real files (``data/affectnetc25``) hold, per set, 8 blocks of 100 images, one block per
AffectNet label in alphabetical order, sorted by file name inside a block; CRLF lines;
codes in the C25 order; V/A votes on a quarter grid written as Python floats ("0.0").
The votes are simulated rather than copied: each image has a *perceived* expression (the
AffectNet label, or for some images a confusable one, so the crowd majority can differ
from the label) and a difficulty; each of the 25 annotators has a reliability, two are
near-random spammers and one leans towards one answer. Some images get an exact tie for
the plurality, as the real sets have (30-40 of 800).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceexplorer.core.vocab import AFFECTNET_CODES, C25_CODES, DEPTH_CLASSES
from faceexplorer.samples.affectnet import AffectNetSample

ANNOTATORS = 25
PER_CLASS = 100
HEADER = "index,filename," + ",".join(f"participant{i}" for i in range(ANNOTATORS))
KINDS = ("expression", "valence", "arousal")
_C25_OF = {name: code for code, name in C25_CODES.items()}
_AFFECTNET_OF = {name: code for code, name in AFFECTNET_CODES.items()}
#: Expressions people mistake each expression for (the crowd's usual confusions).
CONFUSIONS: dict[str, tuple[str, ...]] = {
    "neutral": ("sad", "contempt", "anger"), "happy": ("neutral", "contempt", "surprise"),
    "sad": ("neutral", "fear", "disgust"), "surprise": ("fear", "happy", "neutral"),
    "fear": ("surprise", "sad", "disgust"), "disgust": ("anger", "sad", "contempt"),
    "anger": ("disgust", "neutral", "sad"), "contempt": ("neutral", "happy", "disgust"),
}
TIE_SHARE = 0.03
RELABEL_SHARE = 0.22


@dataclass(frozen=True, eq=False)
class C25Sample:
    """What ``write_c25`` wrote, per set (1, 2).

    ``indices``/``filenames`` are the row order of the set's three files; ``ties`` counts
    images whose plurality vote is tied; ``majority_differs`` counts images whose majority
    (pandas ``mode``, smallest code on ties) is not the AffectNet label.
    """

    folder: Path
    files: dict[tuple[str, int], Path]
    rows: dict[int, int]
    per_label: dict[int, dict[str, int]]
    ties: dict[int, int]
    majority_differs: dict[int, int]
    spammers: tuple[int, ...]
    biased: int
    indices: dict[int, tuple[int, ...]] = field(repr=False)
    filenames: dict[int, tuple[str, ...]] = field(repr=False)


def _choose_rows(affectnet: AffectNetSample, rng: np.random.Generator) -> dict[int, list[int]]:
    """Distinct clean training rows: 100 per label per set, blocks in alphabetical order."""
    t = affectnet.training
    names = [p.rsplit("/", 1)[-1] for p in t.paths]
    chosen: dict[int, list[int]] = {1: [], 2: []}
    for label in sorted(DEPTH_CLASSES):
        pool = np.flatnonzero(t.clean & (t.codes == _AFFECTNET_OF[label]))
        if len(pool) < 2 * PER_CLASS:
            raise ValueError(f"AffectNet sample has only {len(pool)} clean {label} rows; "
                             f"AffectNetC25 needs {2 * PER_CLASS}")
        picks = rng.choice(pool, 2 * PER_CLASS, replace=False)
        for s, block in ((1, picks[:PER_CLASS]), (2, picks[PER_CLASS:])):
            chosen[s] += sorted(block.tolist(), key=lambda i: names[i])
    return chosen


def _expression_votes(labels: list[str], rng: np.random.Generator, reliability: np.ndarray,
                      spammers: tuple[int, ...], biased: int, lean: int
                      ) -> tuple[np.ndarray, int, int]:
    n = len(labels)
    seen = [str(rng.choice(CONFUSIONS[lab])) if rng.random() < RELABEL_SHARE else lab
            for lab in labels]
    seen_code = np.array([_C25_OF[x] for x in seen])
    confusable = np.array([[_C25_OF[c] for c in CONFUSIONS[x]] for x in seen])
    difficulty = rng.beta(2, 3, n)
    shape = (n, ANNOTATORS)
    right = rng.random(shape) < reliability[None, :] * (1 - 0.55 * difficulty[:, None])
    confused = rng.random(shape) < 0.75
    which = rng.choice(3, shape, p=[0.55, 0.3, 0.15])
    votes = np.where(confused, np.take_along_axis(confusable, which, 1),
                     rng.integers(0, 8, shape))
    votes = np.where(right, seen_code[:, None], votes)
    leaning = rng.random(n) < 0.5
    votes[leaning, biased] = lean
    votes[:, list(spammers)] = rng.integers(0, 8, (n, len(spammers)))
    for i in sorted(rng.choice(n, int(round(TIE_SHARE * n)), replace=False).tolist()):
        _force_tie(votes[i], rng)
    counts = np.stack([np.bincount(r, minlength=8) for r in votes])
    ties = int(((counts == counts.max(1, keepdims=True)).sum(1) > 1).sum())
    label_code = np.array([_C25_OF[x] for x in labels])
    differs = int((counts.argmax(1) != label_code).sum())  # argmax: smallest code on ties
    return votes, ties, differs


def _force_tie(row: np.ndarray, rng: np.random.Generator) -> None:
    """Move votes from the plurality answer so that it ties with the runner-up."""
    counts = np.bincount(row, minlength=8)
    a, b = np.argsort(-counts, kind="stable")[:2]
    gap = int(counts[a] - counts[b])
    where_a = rng.permutation(np.flatnonzero(row == a))
    row[where_a[: gap // 2]] = b
    spare = [c for c in range(8) if c not in (a, b) and counts[c] + 1 < counts[b] + gap // 2]
    if gap % 2 and spare:  # the odd vote goes to a minor answer (never possible: no tie)
        row[where_a[gap // 2]] = spare[0]


def _scale_votes(means: np.ndarray, rng: np.random.Generator, noise: np.ndarray,
                 bias: np.ndarray, spammers: tuple[int, ...]) -> np.ndarray:
    votes = means[:, None] + bias[None, :] + rng.normal(0, 1, (len(means), ANNOTATORS)) * noise
    votes[:, list(spammers)] = rng.uniform(-1, 1, (len(means), len(spammers)))
    return np.clip(np.round(votes * 4) / 4, -1, 1) + 0.0


def _write(path: Path, indices: list[int], names: list[str], cells: list[list[str]]) -> None:
    lines = [HEADER] + [f"{i},{n}," + ",".join(row)
                        for i, n, row in zip(indices, names, cells, strict=True)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def write_c25(root: Path, affectnet: AffectNetSample, rng: np.random.Generator) -> C25Sample:
    """Write ``root/AffectNetC25/{expression,valence,arousal}_set{1,2}_C25.csv``.

    Parameters
    ----------
    root : Path
        The sample root.
    affectnet : AffectNetSample
        The AffectNet sample the votes refer to (``index`` = its training.csv data row).
    rng : numpy.random.Generator
        The same seed writes the same bytes.
    """
    folder = Path(root) / "AffectNetC25"
    folder.mkdir(parents=True, exist_ok=True)
    t = affectnet.training
    chosen = _choose_rows(affectnet, rng)
    files: dict[tuple[str, int], Path] = {}
    ties: dict[int, int] = {}
    differs: dict[int, int] = {}
    spammers = (7, 19)
    biased = 12
    indices: dict[int, tuple[int, ...]] = {}
    filenames: dict[int, tuple[str, ...]] = {}
    for s in (1, 2):  # 25 different people in each set
        rows = chosen[s]
        labels = [AFFECTNET_CODES[int(t.codes[i])] for i in rows]
        reliability = rng.uniform(0.55, 0.95, ANNOTATORS)
        lean = int(rng.integers(0, 8))
        votes, ties[s], differs[s] = _expression_votes(labels, rng, reliability, spammers,
                                                       biased, lean)
        names = [t.paths[i].rsplit("/", 1)[-1] for i in rows]
        noise = rng.uniform(0.15, 0.45, ANNOTATORS)
        bias = rng.normal(0, 0.08, ANNOTATORS)
        bias[biased] = 0.3
        cells = {"expression": [[str(v) for v in r] for r in votes.tolist()]}
        for kind, truth in (("valence", t.valence), ("arousal", t.arousal)):
            grid = _scale_votes(truth[rows], rng, noise, bias, spammers)
            cells[kind] = [[repr(v) for v in r] for r in grid.tolist()]
        for kind in KINDS:
            path = folder / f"{kind}_set{s}_C25.csv"
            _write(path, rows, names, cells[kind])
            files[(kind, s)] = path
        indices[s], filenames[s] = tuple(rows), tuple(names)
    per_label = {s: {lab: PER_CLASS for lab in sorted(DEPTH_CLASSES)} for s in (1, 2)}
    return C25Sample(folder, files, {1: len(chosen[1]), 2: len(chosen[2])}, per_label, ties,
                     differs, spammers, biased, indices, filenames)
