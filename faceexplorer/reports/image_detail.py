"""One image of the index as the detail panel shows it: a typed query, no Qt.

An image is keyed by ``(split, row_index)`` everywhere. :func:`image_detail` reads its
AffectNet row (when the index has it) and, for an AffectNetC25 image (``split='train'``,
``row_index = image_index``), its crowd votes and per-image statistics from
:func:`faceexplorer.stats.crowd_images.image_vote_stats`: this module only reshapes that dict
into frozen dataclasses, so the window never sees SQL, cursors or untyped dicts, and no
statistic is computed twice. Either part may be missing: a C25 image whose AffectNet row
was never imported still has its votes; a validation image has no crowd part. Stored model
predictions (``index.predictions``, one per batch run that covered the image) come along,
empty for an index without runs, with their JS divergence to the crowd's vote shares.
A click costs two small queries (AffectNet row, votes; the catalog and every image's
C25 sets are read once per connection by the panel) and no pandas frames but one: the
panel reads one image per click and must paint within ~50 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.index.c25_query import image_vote_rows
from faceexplorer.index.predictions import ImagePrediction, predictions_of_image
from faceexplorer.index.store import table_names
from faceexplorer.stats.crowd_images import image_vote_values
from faceexplorer.stats.model_metrics import js_divergence

LANDMARK_POINTS = 68


@dataclass(frozen=True, eq=False)
class AffectNetRow:
    """The official AffectNet label of one image and where it came from."""

    split: str
    row_index: int | None
    sub_path: str
    filename: str
    #: Where the image file is expected: ``image_root / sub_path`` (it may be missing).
    image_path: Path
    #: Face box ``(x, y, width, height)`` in pixels (x = left, y = top); None if absent.
    face_box: tuple[int, int, int, int] | None
    #: (68, 2) float array of x, y pixel positions; None if absent.
    landmarks: np.ndarray | None
    expression_raw: int
    expression: str
    valence: float | None
    arousal: float | None
    #: The CSV (or annotation file) and 1-based line the row was read from.
    source_file: str
    source_line: int | None


@dataclass(frozen=True)
class Vote:
    """One annotator's three votes on one image (None where a vote is missing)."""

    annotator: str
    expression: str | None
    valence: float | None
    arousal: float | None


@dataclass(frozen=True)
class SpreadStats:
    """Valence or arousal votes of one image: centre, spread and the authors' agreement."""

    n_votes: int
    mean: float | None
    median: float | None
    std: float | None
    iqr: float | None
    #: Most frequent vote (ties to the smallest value, pandas ``mode``).
    majority: float | None
    #: Annotators within 0.25 of ``majority`` (the AffectNetC25 authors' score).
    agreement: int


@dataclass(frozen=True)
class CrowdVotes:
    """The AffectNetC25 votes of one image in one set and their statistics."""

    c25_set: int
    image_index: int
    #: The file name the C25 CSV gives (compare with the AffectNet row's).
    filename: str | None
    votes: tuple[Vote, ...]
    n_votes: int
    #: Votes per expression, in canonical order (``vocab.EXPRESSIONS``).
    counts: dict[str, int]
    soft_label: dict[str, float]
    #: The authors' majority: pandas ``mode`` of the raw C25 codes (ties: smallest C25 code).
    majority: str | None
    tie: bool
    #: Expressions sharing the top count in C25 order, winner first (only the majority
    #: when there is no tie; empty without votes).
    tied_labels: tuple[str, ...]
    #: Annotators whose vote equals the majority.
    agreement: int
    plurality_share: float | None
    #: Shannon entropy of the vote shares / log 8: 0 unanimous, 1 uniform.
    entropy: float | None
    valence: SpreadStats
    arousal: SpreadStats


@dataclass(frozen=True, eq=False)
class ImageDetail:
    """Everything the detail panel shows about the image ``(split, row_index)``."""

    split: str
    row_index: int
    affectnet: AffectNetRow | None
    crowd: CrowdVotes | None
    #: Every C25 set holding this image (the sets were rated by different people).
    crowd_sets: tuple[int, ...] = ()
    #: One per stored run that predicted this image, oldest run first (empty: no runs).
    predictions: tuple[ImagePrediction, ...] = ()

    def divergence(self, prediction: ImagePrediction) -> float | None:
        """JS divergence (bits) of ``prediction``'s expression distribution to the vote shares.

        None without votes or without a (valid) distribution. Classes the model lacks
        (contempt for 7-class models) count as probability 0.
        """
        if self.crowd is None or self.crowd.n_votes == 0 or not prediction.expression:
            return None
        p = np.array([prediction.expression.get(e, 0.0) for e in EXPRESSIONS], dtype=float)
        q = np.array([self.crowd.counts[e] for e in EXPRESSIONS], dtype=float)
        if not np.isfinite(p).all() or p.sum() <= 0 or q.sum() <= 0:
            return None
        return float(js_divergence(p, q)[0])

    @property
    def link_problem(self) -> str | None:
        """Why the C25 votes may not belong to the AffectNet row shown, or None."""
        if self.crowd is None or self.affectnet is None or self.crowd.filename is None:
            return None
        if self.crowd.filename != self.affectnet.filename:
            return (f"AffectNetC25 names this image {self.crowd.filename} but AffectNet row "
                    f"{self.row_index} is {self.affectnet.filename}")
        return None

    @property
    def majority_differs(self) -> bool | None:
        """Whether the crowd majority differs from the AffectNet label (None: no pair)."""
        if self.crowd is None or self.affectnet is None or self.crowd.majority is None:
            return None
        return self.crowd.majority != self.affectnet.expression


def image_detail(con: duckdb.DuckDBPyConnection, split: str, row_index: int,
                 c25_set: int | None = None,
                 tables: Collection[str] | None = None,
                 c25_names: Mapping[int, dict[int, str | None]] | None = None
                 ) -> ImageDetail:
    """The AffectNet row and the crowd votes of the image ``(split, row_index)``.

    Parameters
    ----------
    con
        Open connection to the index (read-only is enough). Not thread-safe: a worker
        thread passes its own ``con.cursor()``.
    split, row_index
        The image's key (``'train'``/``'val'`` and the 0-based data row of its CSV).
    c25_set
        Which AffectNetC25 set's votes to read when the image is in more than one;
        default: the lowest set holding it.
    tables
        :func:`index_tables` of ``con`` when the caller keeps it (the detail panel reads
        it once per connection): one catalog query fewer per image.
    c25_names
        :func:`c25_image_names` of ``con`` when the caller keeps it (the detail panel
        does): the image's C25 sets are then looked up instead of queried.

    Returns
    -------
    ImageDetail
        ``affectnet`` None when the index has no such AffectNet row; ``crowd`` None when
        the image is not an AffectNetC25 image (or the index has no C25 data);
        ``predictions`` empty when no stored run covered the image.

    Raises
    ------
    FaceExplorerError
        The index has neither an AffectNet row nor C25 votes for this key, or ``c25_set``
        does not hold the image.
    """
    row_index = int(row_index)
    tables = index_tables(con) if tables is None else tables
    affectnet = _affectnet_row(con, split, row_index) if "affectnet_images" in tables else None
    if "c25_images" not in tables or split != "train":
        names: Mapping[int, str | None] = {}
    elif c25_names is not None:
        names = c25_names.get(row_index, {})
    else:
        names = _c25_sets_of(con, split, row_index)
    sets = sorted(names)
    crowd = None
    if sets:
        if c25_set is None:
            c25_set = sets[0]
        elif c25_set not in sets:
            raise FaceExplorerError(
                f"AffectNetC25 set {c25_set} has no image {row_index} "
                f"(sets holding it: {', '.join(map(str, sets))})")
        votes = image_vote_values(
            c25_set, row_index, image_vote_rows(con, c25_set, row_index))
        crowd = crowd_votes({**votes, "filename": names[c25_set]})
    elif c25_set is not None:
        raise FaceExplorerError(f"image {split} {row_index} is not an AffectNetC25 image")
    if affectnet is None and crowd is None:
        raise FaceExplorerError(
            f"no image {split} row {row_index} in the index (neither an AffectNet row nor "
            "AffectNetC25 votes)")
    predictions = (tuple(predictions_of_image(con, split, row_index))
                   if "predictions" in tables else ())
    return ImageDetail(split=split, row_index=row_index, affectnet=affectnet, crowd=crowd,
                       crowd_sets=tuple(sets), predictions=predictions)


def index_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Names of the index's persistent tables (:func:`store.table_names`, kept per
    read-only connection)."""
    return table_names(con)


def c25_image_names(con: duckdb.DuckDBPyConnection) -> dict[int, dict[int, str | None]]:
    """Every C25 image's sets and the file name each gives: ``{image_index: {set: name}}``.

    One query for the whole index (a few thousand rows), kept by the detail panel per
    connection, so that a click does not query ``c25_images`` again.
    """
    names: dict[int, dict[int, str | None]] = {}
    for image_index, c25_set, filename in con.execute(
            "SELECT image_index, c25_set, filename FROM c25_images "
            "ORDER BY image_index, c25_set, line").fetchall():
        names.setdefault(int(image_index), {}).setdefault(int(c25_set), filename)
    return names


class LazyC25Names(Mapping[int, dict[int, str | None]]):
    """:func:`c25_image_names`, read on first use, by whichever worker uses it first.

    The detail panel needs the names only once a click or a read-ahead asks for a C25
    image; read when the panel opened, they cost every open of the AffectNet tab ~12 ms
    on the GUI thread. The object holds its own cursor (created on the caller's thread,
    used under a lock) until it has read them; :meth:`close` lets go of it unread.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._cursor: duckdb.DuckDBPyConnection | None = con.cursor()
        self._lock = threading.Lock()
        self._names: dict[int, dict[int, str | None]] | None = None

    @property
    def loaded(self) -> bool:
        return self._names is not None

    def _read(self) -> dict[int, dict[int, str | None]]:
        names = self._names
        if names is not None:
            return names
        with self._lock:
            if self._names is None:
                if self._cursor is None:
                    raise FaceExplorerError("the index was closed before the C25 names "
                                            "were read")
                self._names = c25_image_names(self._cursor)
                self._cursor.close()
                self._cursor = None
            return self._names

    def close(self) -> None:
        """Close the cursor if the names were never read."""
        with self._lock:
            if self._cursor is not None:
                self._cursor.close()
                self._cursor = None

    def __getitem__(self, image_index: int) -> dict[int, str | None]:
        return self._read()[image_index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


#: The columns :func:`affectnet_from_row` reads.
AFFECTNET_COLUMNS = (
    "split, row_index, sub_path, filename, image_root, face_x, face_y, face_w, face_h, "
    "landmarks, expression_raw, expression, valence, arousal, file, line")


def _affectnet_row(con: duckdb.DuckDBPyConnection, split: str,
                   row_index: int) -> AffectNetRow | None:
    row = con.execute(
        f"SELECT {AFFECTNET_COLUMNS} FROM affectnet_images WHERE split = ? AND "
        "row_index = ? LIMIT 1", [split, row_index]).fetchone()
    return None if row is None else affectnet_from_row(row)


def affectnet_from_row(row: tuple) -> AffectNetRow:
    """One ``SELECT {AFFECTNET_COLUMNS} FROM affectnet_images`` row, typed."""
    (split_, index, sub_path, filename, image_root, x, y, w, h, landmarks, code, label,
     valence, arousal, file, line) = row
    box = None if None in (x, y, w, h) else (int(x), int(y), int(w), int(h))
    points = None
    if landmarks is not None:
        points = np.asarray(landmarks, dtype=np.float32).reshape(LANDMARK_POINTS, 2)
    return AffectNetRow(
        split=split_, row_index=None if index is None else int(index), sub_path=sub_path,
        filename=filename, image_path=Path(image_root) / sub_path, face_box=box,
        landmarks=points, expression_raw=int(code), expression=label,
        valence=_float(valence), arousal=_float(arousal), source_file=file,
        source_line=None if line is None else int(line))


def _c25_sets_of(con: duckdb.DuckDBPyConnection, split: str,
                 row_index: int) -> dict[int, str | None]:
    """The C25 sets holding the image and the file name each gives (its first line's)."""
    # C25 indices are rows of training.csv: only train images can carry crowd votes.
    if split != "train":
        return {}
    names: dict[int, str | None] = {}
    for c25_set, filename in con.execute(
            "SELECT c25_set, filename FROM c25_images WHERE image_index = ? "
            "ORDER BY c25_set, line", [row_index]).fetchall():
        names.setdefault(int(c25_set), filename)
    return names


def crowd_votes(d: dict) -> CrowdVotes:
    """``crowd_images.image_vote_values``' dict (plus the filename) as a typed value
    (NaN, like None, means missing)."""
    votes = tuple(Vote(annotator=v["annotator"], expression=v["expression"],
                       valence=_float(v["valence"]), arousal=_float(v["arousal"]))
                  for v in d["votes"])
    return CrowdVotes(
        c25_set=int(d["c25_set"]), image_index=int(d["image_index"]),
        filename=d.get("filename"), votes=votes, n_votes=int(d["n_votes"]),
        counts={e: int(d["counts"].get(e) or 0) for e in EXPRESSIONS},
        soft_label={e: _float(d["soft_label"].get(e)) or 0.0 for e in EXPRESSIONS},
        majority=d["majority"], tie=bool(d["tie"]), tied_labels=tuple(d["tied_labels"]),
        agreement=int(_float(d["agreement"]) or 0), plurality_share=_float(d["plurality_share"]),
        entropy=_float(d["entropy"]), valence=_spread(d["valence"]),
        arousal=_spread(d["arousal"]))


def _spread(s: dict) -> SpreadStats:
    return SpreadStats(n_votes=int(s["n_votes"]), mean=_float(s["mean"]),
                       median=_float(s["median"]), std=_float(s["std"]),
                       iqr=_float(s["iqr"]), majority=_float(s["majority"]),
                       agreement=int(_float(s["agreement"]) or 0))


def _float(value: object) -> float | None:
    if value is None:
        return None
    f = float(value)  # type: ignore[arg-type]
    return None if f != f else f  # NaN means missing here
