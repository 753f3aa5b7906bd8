"""Batch runs: one model over a dataset in the index, resumable, cancellable.

The items come from the index (``batch_items``: AffectNet rows with their face box, the
AffectNet rows AffectNetC25 links to, HRM children's labelled frames, RaFD RGB images)
in a fixed order. Items already stored for this (model sha256, dataset) are skipped, so a
run that was killed or cancelled resumes where it stopped. Results are written every ``chunk``
items, each chunk in its own transaction (``index.predictions.write_chunk``).

AffectNet-style items carry their face box: crops follow the card (margin; aligned cards
get 5 points from the 68 landmarks: eye centres, nose tip, mouth corners) and go through
the model in batches. HRM frames and RaFD images are detected (Haar, largest face).
Every item yields one row: a missing image, no face found or NaN outputs give an
invalid row with its reason, counted in the run (never silently skipped).

Images are loaded (decoded, cropped, normalised) ahead on a worker thread and chunks
are written on another (``batch_io``), so decoding and index writes overlap the model.

A run that ends for any reason is marked in ``model_runs`` (finished, stopped, or failed
with the one-line reason of :func:`~faceexplorer.core.errors.user_message`), never left
'running': failures of the model, of a chunk's write (a full disk) or of the last flush
are all caught, the run marked, and the result returned. When even the mark cannot be
written (the disk is still full), the result's message says so. Progress counts the items
whose rows were made, not items still waiting in a model batch, and the result counts
the rows really committed.

Index access: DuckDB lets one process write a file, and not while another connection of
the same file is open with a different mode. The runner therefore never keeps a
connection: it opens a short read-write one to read the items, and one per chunk. A GUI
holding a read-only connection passes ``index_access``: a context-manager factory that
closes the GUI's connection on entry and reopens it on exit (about once a chunk; the
chunks' accesses happen on the writer thread, one at a time, all before the run ends).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import duckdb
import numpy as np

from faceexplorer.core.errors import FaceExplorerError, is_interrupt, user_message
from faceexplorer.index import predictions as store_predictions
from faceexplorer.index.store import connect
from faceexplorer.inference import BATCH_DATASETS
from faceexplorer.inference.batch_io import ChunkWriter, Prefetcher
from faceexplorer.inference.batch_items import Item, dataset_items
from faceexplorer.inference.detect import HaarFaceDetector
from faceexplorer.inference.pipeline import Pipeline
from faceexplorer.inference.postprocess import Prediction, decode
from faceexplorer.inference.preprocess import face_crop, to_tensor
from faceexplorer.inference.session import ModelSession, open_model
from faceexplorer.inference.sources import Frame

DATASETS = BATCH_DATASETS
CHUNK = 256
BATCH = 16  # faces per model call for box-cropped items

Progress = Callable[[int, int, float], None]


@dataclass
class BatchResult:
    """What a batch run did."""

    run_id: str
    status: str            # 'finished' | 'stopped' | 'failed'
    message: str
    items_total: int       # items of this run (after --limit)
    items_before: int      # already stored when it started
    items_written: int     # stored by this call
    items_failed: int      # invalid rows written by this call
    items_missing: int     # of which missing image files
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def items_per_second(self) -> float:
        """Throughput of this call."""
        return self.items_written / self.seconds if self.seconds > 0 else 0.0


# --- crops -------------------------------------------------------------------------------

def five_points(landmarks68: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Eye centres, nose tip and mouth corners (image left to right) from 68 points.

    The iBUG 68-point scheme numbers the subject's right eye 36..41, which appears on
    the image's left, so the order already matches the ArcFace template.
    """
    p = np.asarray(landmarks68, dtype=np.float32).reshape(68, 2)
    return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


# --- reading images ----------------------------------------------------------------------

class _VideoFrames:
    """Sequential frames of HRM videos (items come in frame order per child)."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.cap: Any = None
        self.pos = 0

    def read(self, path: str, frame: int) -> np.ndarray | None:
        if path != self.path or frame < self.pos:
            self.close()
            self.cap, self.path, self.pos = cv2.VideoCapture(path), path, 0
        while self.pos < frame:
            if not self.cap.grab():
                return None
            self.pos += 1
        ok, image = self.cap.read()
        self.pos += 1
        return image if ok else None

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
        self.cap = None


def _read(item: Item, videos: _VideoFrames) -> tuple[np.ndarray | None, str, bool]:
    """The item's BGR image, or None with the reason and whether the file is missing."""
    if item.video is not None and item.frame is not None:
        if not Path(item.video).is_file():
            return None, f"video file missing: {item.video}", True
        image = videos.read(item.video, item.frame)
        return image, "" if image is not None else (
            f"frame {item.frame} could not be read from {item.video} (truncated video?)"), False
    if item.image is None:
        return None, "no image or video for this item in the index", True
    if not Path(item.image).is_file():
        return None, f"image file missing: {item.image}", True
    image = cv2.imread(item.image, cv2.IMREAD_COLOR)
    if image is None:
        return None, f"image file unreadable (corrupt or not an image): {item.image}", False
    return image, "", False


class _Loaded(NamedTuple):
    """An item as the prefetch thread hands it over: the image to detect faces in, or
    the face's normalised tensor (box known), or None with why and whether missing."""

    image: np.ndarray | None
    tensor: np.ndarray | None
    aligned: bool
    why: str
    missing: bool


# --- rows --------------------------------------------------------------------------------

def _row(item: Item, run_id: str, dataset: str, pred: Prediction | None, au_labels: tuple,
         message: str = "", missing: bool = False) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": run_id, "dataset": dataset, "item": item.key, "split": item.split,
        "row_index": item.row_index, "child": item.child, "frame": item.frame,
        "image": item.image or item.video, "valid": False, "message": message,
        "missing": missing}
    if pred is None:
        return row
    row.update(box_x=pred.box[0], box_y=pred.box[1], box_w=pred.box[2], box_h=pred.box[3],
               valid=pred.valid, message=pred.message or None, predicted=pred.top_expression,
               valence=pred.valence, arousal=pred.arousal)
    for e, p in pred.expression.items():
        row[f"p_{e}"] = p
    if pred.aus and au_labels:
        row["aus"] = [pred.aus.get(a, float("nan")) for a in au_labels]
    return row


def _au_labels(model: ModelSession) -> tuple[str, ...]:
    for spec in model.card.outputs:
        if spec.kind == "au":
            width = next((int(s) for n, shape in model.outputs
                          if n == str(spec.output) for s in shape[-1:] if isinstance(s, int)),
                         None)
            if width is not None:
                stop = width if spec.stop is None else spec.stop
                labels = spec.labels_for(stop - spec.start)
                if labels:
                    return labels
            return spec.label_sets[0] if spec.label_sets else ()
    return ()


# --- the run -----------------------------------------------------------------------------

@contextlib.contextmanager
def _rw(db_path: Path, access: Callable[[], contextlib.AbstractContextManager] | None
        ) -> Iterator[Any]:
    with access() if access is not None else contextlib.nullcontext():
        con = connect(db_path)
        try:
            yield con
        finally:
            # Closing checkpoints; on a full disk that fails, but what was committed
            # stays in the WAL (merged at a later open): not a failure of the write.
            with contextlib.suppress(duckdb.Error):
                con.close()


def _mark(db_path: Path, access: Callable[[], contextlib.AbstractContextManager] | None,
          run_id: str, result: BatchResult) -> None:
    """Store how the run ended; when that write fails too, the result says so."""
    try:
        with _rw(db_path, access) as con:
            store_predictions.finish_run(con, run_id, result.status, result.message)
    except (Exception, KeyboardInterrupt) as exc:
        if result.status == "finished":
            result.status = "failed"
        why = user_message(exc, db_path)[0]
        result.message = (f"{result.message}; " if result.message else "") + (
            f"the run could not be marked {result.status} in the index ({why}): it shows "
            "as 'running' until it is run again")


def run_batch(db_path: Path | str, model: ModelSession | Path | str, dataset: str, *,
              limit: int | None = None, children: Sequence[str] | None = None,
              threads: int = 1, chunk: int = CHUNK, progress: Progress | None = None,
              should_stop: Callable[[], bool] | None = None,
              index_access: Callable[[], contextlib.AbstractContextManager] | None = None
              ) -> BatchResult:
    """Run a model over a dataset of the index and store one prediction row per item.

    Parameters
    ----------
    db_path : path
        The index.
    model : ModelSession or path
        An opened model or its ``.onnx`` file.
    dataset : {"affectnet", "affectnet-c25", "hrm", "rafd-d"}
        Which items.
    limit : int, optional
        Only the first ``limit`` items (in run order); a later call with a larger limit
        continues the same run.
    children : sequence of str, optional
        HRM only: just these children's frames (still the one run of this model on HRM,
        so a later run over more children or all of HRM keeps what is stored).
    threads : int
        onnxruntime threads when ``model`` is a path.
    chunk : int
        Items per write transaction.
    progress : callable(done, total, items_per_s), optional
        Called after every item (cheap callers only; the GUI should rate-limit).
    should_stop : callable, optional
        Polled once per item; True stops after writing what was done.
    index_access : callable returning a context manager, optional
        Entered around every index access (see the module docstring).

    Returns
    -------
    BatchResult
        Ctrl-C (KeyboardInterrupt) ends the run as 'stopped', keeping what was done; any
        failure after the run started (the model, a full disk) ends it as 'failed' with
        the reason, stored in ``model_runs`` too.
    """
    db_path = Path(db_path)
    if not db_path.is_file():
        # connect() would create an empty index, and the error would blame the dataset.
        raise FaceExplorerError(f"no index at {db_path}: import the dataset first "
                                f"(faceexplorer index add {dataset} PATH)")
    session = model if isinstance(model, ModelSession) else open_model(model, threads=threads)
    au_labels = _au_labels(session)
    with _rw(db_path, index_access) as con:
        items = dataset_items(con, dataset, limit, children)
        run_id, done = store_predictions.start_run(
            con, session.sha256, str(session.path), session.card.to_dict(), dataset,
            au_labels, len(items))
    todo = [it for it in items if it.key not in done]
    result = BatchResult(run_id, "finished", "", len(items), len(items) - len(todo), 0, 0, 0,
                         0.0)
    pending: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def write(rows: list[dict[str, Any]]) -> None:
        with _rw(db_path, index_access) as wcon:
            store_predictions.write_chunk(wcon, run_id, rows)

    def written(rows: list[dict[str, Any]]) -> None:  # on the writer thread
        result.items_written += len(rows)
        result.items_failed += sum(not r["valid"] for r in rows)
        result.items_missing += sum(r["missing"] for r in rows)

    writer = ChunkWriter(write, written)

    def flush() -> None:
        writer.submit(pending)
        pending.clear()

    detect = dataset in ("hrm", "rafd-d")
    pipeline = Pipeline(session, HaarFaceDetector() if detect else None, faces="largest")
    result.warnings += pipeline.warnings if detect else []
    videos = _VideoFrames()
    boxed: list[tuple[Item, np.ndarray, bool]] = []  # item, its (1, ...) tensor, aligned

    def load(item: Item) -> _Loaded:  # on the prefetch thread
        image, why, missing = _read(item, videos)
        if image is None or detect or item.box is None:
            return _Loaded(image, None, False, why, missing)
        aligned = session.card.input.crop == "aligned" and item.landmarks68 is not None
        points = five_points(item.landmarks68) if aligned else None  # type: ignore[arg-type]
        # Normalised per face (elementwise, so equal to normalising the batch at once).
        tensor = to_tensor([face_crop(image, session.card.input, item.box, points)],
                           session.card.input)
        return _Loaded(None, tensor, aligned, why, missing)

    def run_boxed() -> None:
        if not boxed:
            return
        tensor = np.concatenate([t for _, t, _ in boxed])
        raw = session.run(tensor)
        preds = decode(session.card, raw, 0, 0.0, [it.box for it, _, _ in boxed],  # type: ignore[misc]
                       [a for _, _, a in boxed])
        pending.extend(_row(it, run_id, dataset, p, au_labels)
                       for (it, _, _), p in zip(boxed, preds, strict=True))
        boxed.clear()

    loaded = Prefetcher(todo, load)

    def fail(exc: BaseException) -> None:
        """Record why the run ended (the first reason wins)."""
        boxed.clear()  # their predictions were not made; the resume redoes them
        if result.status != "finished":
            return
        if is_interrupt(exc):
            result.status, result.message = "stopped", "interrupted (Ctrl-C)"
        else:
            result.status, result.message = "failed", user_message(exc, db_path)[0]

    made = 0  # items whose rows were made (pending or handed to the writer)
    try:
        for item, got in loaded:
            if should_stop is not None and should_stop():
                result.status, result.message = "stopped", "stopped by the user"
                break
            image = got.image
            if got.tensor is not None:
                boxed.append((item, got.tensor, got.aligned))
                if len(boxed) >= BATCH:
                    made += len(boxed)
                    run_boxed()
            elif image is None:
                made += 1
                pending.append(_row(item, run_id, dataset, None, au_labels, got.why,
                                    got.missing))
            elif detect:
                made += 1
                preds = pipeline.process(Frame(item.frame or 0, 0.0, image, item.key))
                pending.append(_row(item, run_id, dataset, preds[0], au_labels) if preds else
                               _row(item, run_id, dataset, None, au_labels, "no face found"))
            else:
                made += 1
                pending.append(_row(item, run_id, dataset, None, au_labels,
                                    "no face box in the dataset row"))
            if len(pending) >= chunk:
                flush()
            if progress is not None:
                elapsed = time.perf_counter() - t0
                progress(result.items_before + made, len(items),
                         made / elapsed if elapsed else 0.0)
        if result.status == "finished":
            made += len(boxed)
            run_boxed()
    except (Exception, KeyboardInterrupt) as exc:
        fail(exc)
    finally:
        loaded.close()
        videos.close()
        # Apart: flush raises an earlier chunk's failure, and the writer thread must
        # still be told to end (close) or it would wait forever.
        for step in (flush, writer.close):
            try:
                step()
            except (Exception, KeyboardInterrupt) as exc:  # a chunk's write failed
                fail(exc)
        result.seconds = time.perf_counter() - t0
        _mark(db_path, index_access, run_id, result)
    return result
