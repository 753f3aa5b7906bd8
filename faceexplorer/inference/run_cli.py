"""``faceexplorer run MODEL.onnx --dataset KIND``: a batch run from the command line.

Progress goes to stderr at most twice a second, and its last line is the count of items
really stored; the report (model vs humans) to stdout at the end. Ctrl-C stops after
writing what was predicted, and the message says the same command resumes the run (the
run is keyed by the model's sha256 and the dataset). A failed run (the model, a full
disk) prints its one-line reason, as stored with the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from faceexplorer.inference import BATCH_DATASETS as DATASETS

_DESCRIPTION = """\
Run an ONNX model over a dataset of the index and store one prediction per item with the
model's sha256 and card. Items: affectnet = AffectNet rows (their face box),
affectnet-c25 = the AffectNet rows AffectNetC25 votes on, hrm = HRM labelled frames
(frames folder, else the child's video; faces detected), rafd-d = RaFD RGB images (faces
detected). Items without an image, without a face or with NaN outputs are stored as
invalid with the reason and counted. The same model on the same dataset is one run:
running the command again (also after Ctrl-C, or with a larger --limit or other
--child) continues it without duplicates. At the end the model is compared with the
human labels (expression confusion, or per-AU F1 and kappa for HRM)."""


def _count(text: str) -> int:
    """argparse type: an item count (0 or more)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of items, not {text!r}"
                                         ) from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more items, not {n}")
    return n


def add_run_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``run`` command to the CLI's subparsers; returns its parser."""
    r = subparsers.add_parser(
        "run", help="run an ONNX model over a dataset of the index and store its predictions",
        description=_DESCRIPTION, epilog="exit status: 0 finished, 1 failed, 130 stopped "
        "(what was written is kept)")
    r.add_argument("model", help="the .onnx file (its card is found beside it, inside it, "
                   "or among the shipped cards)")
    r.add_argument("--dataset", required=True, choices=DATASETS,
                   help="which items (see above)")
    r.add_argument("--limit", type=_count, metavar="N", help="only the first N items in run "
                   "order (a later run with a larger limit continues)")
    r.add_argument("--child", action="append", metavar="ID", help="hrm only: just this "
                   "child's frames (e.g. S12); repeat for more children")
    r.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    r.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1)")
    r.set_defaults(func=cmd_run)
    return r


def cmd_run(args: argparse.Namespace) -> int:
    """Run, print progress and the report; 0 when finished, 1 failed, 130 stopped."""
    from faceexplorer.index.store import connect
    from faceexplorer.inference.batch import run_batch
    from faceexplorer.paths import default_db_path
    from faceexplorer.reports.model_report import format_report, model_report

    db = default_db_path(args.db)
    last = [0.0]
    # On a terminal one line rewritten in place; piped (a log, CI), one line per update,
    # fewer of them: carriage returns ran every update together on one line.
    tty = sys.stderr.isatty()
    every = 0.5 if tty else 5.0

    def progress(done: int, total: int, rate: float) -> None:
        now = time.monotonic()
        if now - last[0] >= every or done == total:
            last[0] = now
            print(f"\r{done}/{total} items, {rate:.1f} items/s" if tty else
                  f"{done}/{total} items, {rate:.1f} items/s", end="" if tty else "\n",
                  file=sys.stderr, flush=True)

    result = run_batch(db, args.model, args.dataset, limit=args.limit, children=args.child,
                       threads=args.threads, progress=progress)
    stored = result.items_before + result.items_written
    print(f"\r{stored}/{result.items_total} items stored" + " " * 24 if tty else
          f"{stored}/{result.items_total} items stored", file=sys.stderr)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"{result.items_written} items written this time ({result.items_before} were "
          f"already stored), {result.items_failed} invalid of which {result.items_missing} "
          f"missing files; {result.items_per_second:.1f} items/s", file=sys.stderr)
    if result.status != "finished":
        limit = f" --limit {args.limit}" if args.limit is not None else ""
        limit += "".join(f" --child {c}" for c in args.child or ())
        dbarg = f" --db {args.db}" if args.db else ""
        print(f"run {result.status}: {result.message}. What was written is kept; resume with: "
              f"faceexplorer run {args.model} --dataset {args.dataset}{limit}{dbarg}",
              file=sys.stderr)
    con = connect(db, read_only=True)
    try:
        print(format_report(model_report(con, result.run_id)))
    finally:
        con.close()
    return {"finished": 0, "failed": 1}.get(result.status, 130)
