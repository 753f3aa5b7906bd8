"""The browse queries the window uses: overview, columns, counts, pages, name checks."""

from __future__ import annotations

import json
import types
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.datasets import overview, registry
from faceexplorer.index import browse
from faceexplorer.index.store import connect

ROWS = 450


def build_index(db: Path) -> None:
    """A small index as run_import leaves it: a dataset row, skipped rows, two tables."""
    con = connect(db)
    con.execute("CREATE TABLE toyset_images (id INTEGER, file VARCHAR, valence DOUBLE, "
                "landmarks FLOAT[])")
    con.execute(f"INSERT INTO toyset_images SELECT i, 'img_' || i || '.jpg', "
                f"CASE WHEN i % 7 = 0 THEN NULL ELSE i / {ROWS}.0 END, "
                f"CASE WHEN i % 5 = 0 THEN NULL ELSE [i, i + 0.5, 1, 2, 3, 4] END "
                f"FROM range({ROWS}) t(i)")
    con.execute("CREATE TABLE toyset_votes (id INTEGER, rater INTEGER)")
    con.execute("INSERT INTO toyset_votes SELECT i // 3, i % 3 FROM range(30) t(i)")
    con.execute("INSERT INTO datasets VALUES (?, ?, ?, ?, ?)",
                ["toyset", "/data/toy", datetime(2024, 5, 1, 12, 0),
                 json.dumps({"images": ROWS, "votes": 30}), json.dumps(["one warning"])])
    con.executemany("INSERT INTO skipped_rows VALUES (?, ?, ?, ?, ?)",
                    [["toyset", "training.csv", "literal NULL face box", 12, 57],
                     ["toyset", "training.csv", "face_width 0", 3, 811]])
    con.close()


@pytest.fixture
def con(tmp_path: Path):
    db = tmp_path / "index.duckdb"
    build_index(db)
    c = connect(db, read_only=True)
    yield c
    c.close()


def test_overview_falls_back_to_stored_counts_and_prefix_tables(con) -> None:
    [ds] = overview.datasets_overview(con)
    assert ds.kind == "toyset" and ds.title == "toyset"
    assert ds.source == "/data/toy" and ds.imported_at == "2024-05-01T12:00:00"
    assert ds.counts == {"images": ROWS, "votes": 30} and not ds.counts_live
    assert [(s.reason, s.rows, s.first_line) for s in ds.skipped] == [
        ("literal NULL face box", 12, 57), ("face_width 0", 3, 811)]
    assert ds.skipped_total == 15
    assert ds.warnings == ("one warning",)
    assert ds.tables == ("toyset_images", "toyset_votes")


@pytest.fixture
def fake_importer(monkeypatch):
    """Register a 'toyset' importer module whose summary can be made to fail."""
    mod = types.ModuleType("fake_toyset")
    mod.KIND, mod.TITLE = "toyset", "Toy Set"
    mod.TABLES = ("toyset_votes", "toyset_missing", "toyset_images")
    mod.fail = False

    def summary(c: duckdb.DuckDBPyConnection) -> dict[str, int]:
        if mod.fail:
            raise RuntimeError("broken importer")
        return {"votes": int(c.execute("SELECT count(*) FROM toyset_votes").fetchone()[0])}

    mod.summary = summary
    known = registry.importer   # the registry knows only real kinds: answer for the toy one
    monkeypatch.setattr(registry, "importer",
                        lambda kind: mod if kind == "toyset" else known(kind))
    return mod


def test_overview_uses_importer_title_tables_and_live_summary(con, fake_importer) -> None:
    [ds] = overview.datasets_overview(con)
    assert ds.title == "Toy Set"
    assert ds.counts == {"votes": 30} and ds.counts_live
    # Declared order kept, tables not in the index dropped.
    assert ds.tables == ("toyset_votes", "toyset_images")


def test_failing_summary_keeps_dataset_with_stored_counts(con, fake_importer) -> None:
    fake_importer.fail = True
    [ds] = overview.datasets_overview(con)
    assert ds.counts == {"images": ROWS, "votes": 30} and not ds.counts_live
    assert ds.skipped_total == 15


def test_empty_and_schema_less_index(tmp_path: Path) -> None:
    connect(tmp_path / "a.duckdb").close()          # common schema, nothing imported
    duckdb.connect(str(tmp_path / "b.duckdb")).close()  # a bare DuckDB file
    for name in ("a.duckdb", "b.duckdb"):
        c = connect(tmp_path / name, read_only=True)
        assert overview.datasets_overview(c) == []
        c.close()


def test_columns_count_and_pages(con) -> None:
    cols = browse.table_columns(con, "toyset_images")
    assert [(c.name, c.type) for c in cols] == [
        ("id", "INTEGER"), ("file", "VARCHAR"), ("valence", "DOUBLE"), ("landmarks", "FLOAT[]")]
    assert [c.is_numeric for c in cols] == [True, False, True, False]
    assert cols[3].is_list
    assert browse.row_count(con, "toyset_images") == ROWS
    first = browse.page(con, "toyset_images", 0, 200)
    assert first.offset == 0 and len(first.rows) == 200 and first.columns == tuple(cols)
    assert [r[0] for r in first.rows] == list(range(200))
    assert first.rows[0][2] is None and first.rows[0][3] is None   # NULLs come through
    assert first.rows[1][3] == pytest.approx([1, 1.5, 1, 2, 3, 4])
    last = browse.page(con, "toyset_images", 400, 200)
    assert [r[0] for r in last.rows] == list(range(400, ROWS))
    assert browse.page(con, "toyset_images", 10_000, 200).rows == ()


def test_page_of_chosen_columns(con) -> None:
    part = browse.page(con, "toyset_images", 5, 3, columns=["valence", "id"])
    assert [c.name for c in part.columns] == ["valence", "id"]
    assert [r[1] for r in part.rows] == [5, 6, 7]
    for bad in ['id" FROM datasets --', "nope", 'id"', '"']:
        with pytest.raises(FaceExplorerError, match="not found"):
            browse.page(con, "toyset_images", 0, 3, columns=[bad])


@pytest.mark.parametrize("bad", [
    "nope", 'toyset_images"; DROP TABLE toyset_images; --', "toyset_images --", "", "DATASETS "])
def test_unknown_or_hostile_table_names_are_refused(con, bad: str) -> None:
    for call in (lambda: browse.table_columns(con, bad), lambda: browse.row_count(con, bad),
                 lambda: browse.page(con, bad, 0, 10)):
        with pytest.raises(FaceExplorerError, match="no table named"):
            call()
    assert browse.row_count(con, "toyset_images") == ROWS


@pytest.mark.parametrize("keep_order", [True, False])
def test_pages_follow_rowid_order_after_deletes(tmp_path: Path, keep_order: bool) -> None:
    # An import deletes a dataset's rows and inserts new ones: pages must still be the
    # table in rowid order, with either query plan.
    db = tmp_path / "index.duckdb"
    c = connect(db)
    c.execute("CREATE TABLE t (id INTEGER, v FLOAT[])")
    c.execute("INSERT INTO t SELECT i, [i] FROM range(130000) r(i)")
    c.execute("DELETE FROM t WHERE id % 3 = 0 OR id BETWEEN 5000 AND 70000")
    c.execute("INSERT INTO t SELECT 1000000 + i, NULL FROM range(4000) r(i)")
    c.close()
    c = connect(db, read_only=True)
    c.execute(f"SET preserve_insertion_order = {str(keep_order).lower()}")
    expected = [r[0] for r in c.execute("SELECT id FROM t ORDER BY rowid").fetchall()]
    n = browse.row_count(c, "t")
    got = [r[0] for off in range(0, n, 20000) for r in browse.page(c, "t", off, 20000).rows]
    assert got == expected
    c.close()


def test_negative_offsets_are_refused(con) -> None:
    with pytest.raises(ValueError):
        browse.page(con, "toyset_images", -1, 10)


def test_list_tables_are_persistent_tables_only(con) -> None:
    con.execute("CREATE TEMP TABLE scratch (x INTEGER)")
    assert browse.list_tables(con) == [
        "datasets", "skipped_rows", "toyset_images", "toyset_votes"]
    with pytest.raises(FaceExplorerError):
        browse.row_count(con, "scratch")
