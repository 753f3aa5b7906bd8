"""``index info``: per dataset, the live counts a user checks and every skipped-row reason.

Counts come from each importer's ``summary(con)`` at the time of asking, so figures that
depend on two datasets (AffectNetC25 linked to AffectNet, depth maps matched to RGB) stay
right whatever order they were imported in. The index is opened read-only. It lives in
``datasets`` because it asks the importers; ``index`` knows none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faceexplorer.core.errors import FaceExplorerError, is_index_damaged
from faceexplorer.datasets.registry import IMPORTERS, importer
from faceexplorer.index.analysis_query import analysis_list
from faceexplorer.index.store import connect, imported, records, table_exists


def index_info(db_path: Path) -> dict[str, Any]:
    """Everything ``faceexplorer index info`` prints, as plain data (JSON-ready)."""
    con = connect(db_path, read_only=True)
    try:
        try:
            datasets = imported(con)
        except Exception as exc:  # an index from an unknown schema, or not ours
            if is_index_damaged(exc):  # said as such by the CLI (core.errors.user_message)
                raise
            raise FaceExplorerError(f"{db_path}: not a FaceExplorer index ({exc})") from exc
        order = {kind: i for i, kind in enumerate(IMPORTERS)}
        datasets.sort(key=lambda d: order.get(d["dataset"], len(order)))
        for entry in datasets:
            imp = importer(entry["dataset"])
            entry["title"] = imp.TITLE
            entry["counts"] = imp.summary(con)
        return {"index": str(Path(db_path).resolve()), "datasets": datasets,
                "analyses": analysis_list(con), "model_runs": _model_runs(con),
                "live_sessions": _live_sessions(con)}
    finally:
        con.close()


def _model_runs(con: Any) -> list[dict[str, Any]]:
    if not table_exists(con, "model_runs"):
        return []
    return records(con, "SELECT coalesce(model_name, model_path) AS model, dataset, status, "
                        "items_done, items_failed, started_at FROM model_runs "
                        "ORDER BY started_at DESC")


def _live_sessions(con: Any) -> list[dict[str, Any]]:
    if not table_exists(con, "live_sessions"):
        return []
    return records(con, "SELECT session_id, source, model_name, predictions, started_at "
                        "FROM live_sessions ORDER BY started_at")


def format_info(info: dict[str, Any]) -> str:
    """Human-readable text of :func:`index_info`."""
    lines = [f"Index: {info['index']}"]
    if not info["datasets"]:
        lines.append("No datasets imported yet: faceexplorer index add KIND PATH")
    for d in info["datasets"]:
        lines.append("")
        lines.append(f"{d['title']} [{d['dataset']}]  imported {d['imported_at']} UTC")
        lines.append(f"  from {d['source']}")
        width = max((len(k) for k in d["counts"]), default=0)
        for key, value in d["counts"].items():
            shown = f"{value:,}" if isinstance(value, int) else str(value)
            lines.append(f"  {key.replace('_', ' '):<{width}}  {shown:>12}")
        if d["skipped"]:
            total = sum(s["rows"] for s in d["skipped"])
            lines.append(f"  skipped or repaired rows: {total:,}")
            for s in d["skipped"]:
                where = f" (first at line {s['first_line']})" if s["first_line"] else ""
                name = Path(s["file"]).name
                lines.append(f"    {s['rows']:>10,}  {s['reason']}  [{name}]{where}")
        for w in d["warnings"]:
            lines.append(f"  warning: {w}")
    if info.get("model_runs"):
        lines += ["", f"Model runs ({len(info['model_runs'])})"]
        for r in info["model_runs"]:
            lines.append(f"  {r['model']} on {r['dataset']}: {r['status']}, "
                         f"{r['items_done']:,} items ({r['items_failed']:,} invalid), "
                         f"started {r['started_at']:%Y-%m-%d %H:%M}")
    if info.get("analyses"):
        lines += ["", f"Every-frame analyses ({len(info['analyses'])})"]
        for a in info["analyses"]:
            names = ", ".join(Path(s).name for s in a["sources"] if s)
            lines.append(f"  {a['model']} [{a['detector']}] on {names}: face in "
                         f"{a['frames_with_face']:,} of {a['frames']:,} frames, "
                         f"{a['finished_at']:%Y-%m-%d %H:%M}")
            lines.append(f"    table: {a['output']}")
    if info.get("live_sessions"):
        lines += ["", f"Live recordings ({len(info['live_sessions'])}): "
                  + ", ".join(f"{s['session_id']} ({s['predictions']:,} predictions)"
                              for s in info["live_sessions"])]
    return "\n".join(lines)
