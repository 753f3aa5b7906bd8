"""Command line: every job the window does can be run headless.

``faceexplorer sample``   write synthetic datasets in their real layouts
``faceexplorer index``    add a dataset to the index, or show what it holds
``faceexplorer stats``    crowd agreement (AffectNetC25), HRM prevalence and raters
``faceexplorer models``   check an ONNX model: its card, the input it expects, a timed run
``faceexplorer run``      run a model over a dataset of the index (resumable)
``faceexplorer analyze``  run a model over every frame of videos or images (resumable)
``faceexplorer demo``     build the demo index once and open the window
``faceexplorer gui``      open the window on an index

Every failure prints one line and exits with a status a script can test: 1 for an error
(:func:`faceexplorer.core.errors.user_message` words any exception: a dataset problem, a
full disk, a damaged index, a bug), 130 for Ctrl-C ("interrupted; the index is as it
was"), 141 when the reader of our output went away (``... | head``: nothing more is
printed). Nothing prints a traceback unless ``FACEEXPLORER_DEBUG`` is set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from faceexplorer import __version__
from faceexplorer.core.errors import EXIT_BROKEN_PIPE, FaceExplorerError, user_message


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the reader is gone, and the interpreter's last flush
    must not raise BrokenPipeError again at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def cmd_sample(args: argparse.Namespace) -> int:
    from faceexplorer.samples.generate import write_samples

    start = time.perf_counter()
    out = write_samples(Path(args.dir), scale=args.scale, seed=args.seed, images=args.images,
                        only=args.only, progress=_say)
    for kind, secs in out.seconds.items():
        _say(f"  {kind:<14} {secs:7.1f} s  -> {out.path(kind)}")
    _say(f"Samples written to {out.root} in {time.perf_counter() - start:.1f} s. Import them with:")
    for kind in out.written:
        _say(f"  faceexplorer index add {kind} {out.path(kind)}")
    return 0


def cmd_index_add(args: argparse.Namespace) -> int:
    from faceexplorer.datasets.registry import import_path
    from faceexplorer.paths import default_db_path

    if len(args.target) > 2:
        raise FaceExplorerError("index add takes [KIND] PATH")
    kind, path = (None, args.target[0]) if len(args.target) == 1 else args.target
    options = {k: v for k, v in (("images", args.images), ("survey_date", args.survey_date))
               if v is not None}
    db = default_db_path(args.db)
    start = time.perf_counter()
    report = import_path(db, Path(path), kind, **options)
    secs = time.perf_counter() - start
    _say(f"Imported {report.dataset} from {report.source} into {db} in {secs:.1f} s")
    for key, value in report.counts.items():
        _say(f"  {key.replace('_', ' ')}: {value:,}" if isinstance(value, int)
             else f"  {key.replace('_', ' ')}: {value}")
    for s in report.skipped:
        where = f" (first at line {s.first_line})" if s.first_line else ""
        _say(f"  skipped/repaired {s.rows:,} rows: {s.reason} [{Path(s.file).name}]{where}")
    for w in report.warnings:
        _say(f"  warning: {w}")
    return 0


def cmd_index_info(args: argparse.Namespace) -> int:
    from faceexplorer.datasets.info import format_info, index_info
    from faceexplorer.paths import default_db_path

    info = index_info(default_db_path(args.db))
    print(json.dumps(info, indent=2, default=str) if args.json else format_info(info))
    return 0


def cmd_index_remove(args: argparse.Namespace) -> int:
    from faceexplorer.datasets.remove import remove_dataset
    from faceexplorer.paths import default_db_path

    removed = remove_dataset(default_db_path(args.db), args.kind)
    rows = sum(removed.values())
    tables = f"{len(removed)} table{'s' if len(removed) != 1 else ''}"
    print(f"removed {args.kind}: {rows:,} rows from {tables}; "
          "its files are untouched")
    return 0


def cmd_stats_crowd(args: argparse.Namespace) -> int:
    from faceexplorer.index.store import connect
    from faceexplorer.paths import default_db_path
    from faceexplorer.reports.crowd_report import c25_sets, crowd_report, format_crowd_report

    con = connect(default_db_path(args.db), read_only=True)
    try:
        sets = c25_sets(con)
        if not sets:
            raise FaceExplorerError(
                "no AffectNetC25 votes in this index; import them with "
                "faceexplorer index add affectnet-c25 PATH")
        if args.set is not None and args.set not in sets:
            raise FaceExplorerError(f"AffectNetC25 set {args.set} is not in this index "
                                    f"(sets present: {', '.join(map(str, sets))})")
        report = crowd_report(con, args.set)
    finally:
        con.close()
    print(json.dumps(report, indent=2) if args.json else format_crowd_report(report))
    return 0


def cmd_stats_hrm(args: argparse.Namespace) -> int:
    from faceexplorer.core.vocab import HRM_AU22, HRM_AU_COLUMNS
    from faceexplorer.index.store import connect, table_exists
    from faceexplorer.paths import default_db_path
    from faceexplorer.reports.hrm_report import format_hrm_report, hrm_report

    con = connect(default_db_path(args.db), read_only=True)
    try:
        if not table_exists(con, "hrm_frames"):
            raise FaceExplorerError(
                "no Hugging Rain Man labels in this index; import them with "
                "faceexplorer index add hrm PATH")
        if args.child is not None:
            known = [r[0] for r in con.execute(
                "SELECT child FROM hrm_children ORDER BY child").fetchall()]
            if args.child not in known:
                raise FaceExplorerError(
                    f"no HRM child {args.child!r} in this index (children: "
                    f"{', '.join(known[:12])}{' ...' if len(known) > 12 else ''})")
        aus = HRM_AU_COLUMNS if args.all_aus else HRM_AU22
        report = hrm_report(con, args.child, aus=aus)
    finally:
        con.close()
    print(json.dumps(report, indent=2) if args.json else format_hrm_report(report))
    return 0


def cmd_stats_faces(args: argparse.Namespace) -> int:
    from faceexplorer.index.store import connect
    from faceexplorer.paths import default_db_path
    from faceexplorer.reports.faces_report import faces_report, format_faces_report

    con = connect(default_db_path(args.db), read_only=True)
    try:
        report = faces_report(con, args.subscale, top=args.top)
    finally:
        con.close()
    print(json.dumps(report, indent=2) if args.json else format_faces_report(report))
    return 0


def cmd_models_check(args: argparse.Namespace) -> int:
    from faceexplorer.inference.check import check_model, format_check

    result = check_model(Path(args.model), threads=args.threads, runs=args.runs)
    print(json.dumps(result, indent=2, default=str) if args.json else format_check(result))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from faceexplorer.demo import ensure_demo
    from faceexplorer.qt_platform import require_qt_libraries

    if not args.no_gui:  # before building the demo for a minute (issue 14 item 6)
        require_qt_libraries()
    db = ensure_demo(Path(args.folder) if args.folder else None, rebuild=args.rebuild,
                     progress=_say)
    if args.no_gui:
        _say(f"Demo index ready: {db}")
        return 0
    return _open_gui(db)


def cmd_gui(args: argparse.Namespace) -> int:
    from faceexplorer.paths import default_db_path

    return _open_gui(default_db_path(args.db))


def _open_gui(db: Path) -> int:
    from faceexplorer.gui.app import run

    return run(db)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="faceexplorer", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"faceexplorer {__version__}")
    p.add_argument("--selftest", action="store_true",
                   help="open the demo index, show every view, run a tiny model over a "
                   "sample video, and exit 0 if all worked (--selftest --quick: small index)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("sample", help="write synthetic datasets in their real layouts")
    s.add_argument("dir", help="folder to write into")
    s.add_argument("--scale", choices=("small", "full"), default="small",
                   help="small: the demo's size (about 2,700 AffectNet rows), with images; "
                        "full: the real datasets' sizes (AffectNet 420,300 rows), without "
                        "images unless --images (default: small)")
    s.add_argument("--seed", type=int, default=0,
                   help="random seed: the same seed writes the same files (default: 0)")
    s.add_argument("--images", action=argparse.BooleanOptionalAction, default=None,
                   help="draw images, frames and videos (default: yes at small scale)")
    s.add_argument("--only", nargs="+", metavar="KIND", help="write only these datasets")
    s.set_defaults(func=cmd_sample)

    idx = sub.add_parser("index", help="the local index of datasets")
    isub = idx.add_subparsers(dest="index_command", required=True, metavar="ACTION")
    a = isub.add_parser("add", help="import a dataset (replaces its earlier import)",
                        description="KIND: affectnet, affectnet-c25, hrm, affectnet-d, rafd-d, "
                        "faces, openface; detected from PATH when left out.")
    a.add_argument("target", nargs="+", metavar="[KIND] PATH")
    a.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    a.add_argument("--images", help="rafd-d: folder of the RaFD RGB images")
    a.add_argument("--survey-date", help="faces: date of the survey, for ages (YYYY-MM-DD)")
    a.set_defaults(func=cmd_index_add)
    i = isub.add_parser("info", help="what the index holds, with skipped rows")
    i.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=cmd_index_info)
    r = isub.add_parser("remove", help="remove a dataset from the index (all of it)")
    r.add_argument("kind", metavar="KIND", help="the kind to remove, as index info names it")
    r.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    r.set_defaults(func=cmd_index_remove)

    st = sub.add_parser("stats", help="statistics of the imported datasets")
    ssub = st.add_subparsers(dest="stats_command", required=True, metavar="DATASET")
    c = ssub.add_parser("crowd", help="AffectNetC25 agreement: kappa, alphas, ICC, annotators")
    c.add_argument("--set", type=int, choices=(1, 2), help="one set (default: every set)")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    c.set_defaults(func=cmd_stats_crowd)
    h = ssub.add_parser("hrm", help="HRM AU prevalence per group and rater agreement")
    h.add_argument("--child", help="one child (e.g. S6); default: the whole dataset")
    h.add_argument("--all-aus", action="store_true", help="all 36 AU/AD columns, not the 22")
    h.add_argument("--json", action="store_true", help="machine-readable output")
    h.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    h.set_defaults(func=cmd_stats_hrm)

    m = sub.add_parser("models", help="ONNX models you bring")
    msub = m.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    mc = msub.add_parser("check", help="print a model's card, the input it expects and "
                         "one timed run")
    mc.add_argument("model", help="the .onnx file")
    mc.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    mc.add_argument("--runs", type=int, default=5, help="timed runs (median reported)")
    mc.add_argument("--json", action="store_true", help="machine-readable output")
    mc.set_defaults(func=cmd_models_check)

    f = ssub.add_parser("faces", help="FACES: DASS-21 bands and features ranked by Spearman "
                        "correlation (Benjamini-Hochberg q)")
    f.add_argument("--subscale", choices=("depression", "anxiety", "stress"),
                   help="one subscale (default: all three)")
    f.add_argument("--top", type=int, default=20, help="features listed per subscale")
    f.add_argument("--json", action="store_true", help="machine-readable output")
    f.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    f.set_defaults(func=cmd_stats_faces)

    from faceexplorer.inference.run_cli import add_run_parser

    add_run_parser(sub)

    from faceexplorer.inference.analyze_cli import add_analyze_parser

    add_analyze_parser(sub)

    d = sub.add_parser("demo", help="build the demo index once and open the window")
    d.add_argument("--rebuild", action="store_true", help="build the demo again")
    d.add_argument("--no-gui", action="store_true", help="only build the demo index")
    d.add_argument("--folder", help="demo folder (default: in the data folder)")
    d.set_defaults(func=cmd_demo)

    g = sub.add_parser("gui", help="open the window on an index")
    g.add_argument("--db", help="index file (default: $FACEEXPLORER_DB or the data folder)")
    g.set_defaults(func=cmd_gui)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--selftest"]:
        from faceexplorer.selftest import main as selftest

        return selftest(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (Exception, KeyboardInterrupt) as exc:
        if os.environ.get("FACEEXPLORER_DEBUG"):
            raise
        index = _index_of(args.db) if hasattr(args, "db") else None
        message, status = user_message(exc, index=index)
        prefix = "faceexplorer: " if status != 1 else "faceexplorer: error: "
        try:
            print(prefix + message, file=sys.stderr, flush=True)
        except OSError:  # stderr closed too: the status alone tells
            pass
        return status


def _index_of(db: str | None) -> Path | None:
    """The index file a command used, for messages about it."""
    from faceexplorer.paths import default_db_path

    try:
        return default_db_path(db)
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(main())
