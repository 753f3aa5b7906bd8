"""The browse table stored at import: same rows as the old TEMP table, replaced with its
sources in one transaction, and an index made before it still browses (then upgrades)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from faceexplorer.datasets import affectnet
from faceexplorer.datasets.registry import import_path
from faceexplorer.index import browse_table
from faceexplorer.index import faces_query as fq
from faceexplorer.index.faces_page import image_page
from faceexplorer.index.store import connect
from faceexplorer.samples.generate import write_samples

ALL = f"SELECT * FROM {browse_table.TABLE} ORDER BY pos"


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browse-table")
    write_samples(root, "small", seed=1, only=["affectnet-c25"], images=False)
    return root


@pytest.fixture(scope="module")
def index(samples: Path) -> Path:
    db = samples / "both.duckdb"
    import_path(db, samples / "AffectNet", "affectnet")
    import_path(db, samples / "AffectNetC25", "affectnet-c25")
    return db


def _temp_rows(db: Path) -> list[tuple]:
    """What a connection builds for itself (the only table before this change)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        browse_table.build(con, temporary=True)
        return con.execute(f"SELECT * FROM temp.{browse_table.TABLE} ORDER BY pos").fetchall()
    finally:
        con.close()


def _as_old_index(db: Path, copy: Path) -> Path:
    """A copy of ``db`` as an index made before the table was stored."""
    shutil.copyfile(db, copy)
    con = duckdb.connect(str(copy))
    con.execute(f"DROP TABLE {browse_table.TABLE}")
    con.execute(f"DROP TABLE {browse_table.INFO_TABLE}")
    con.close()
    return copy


def test_import_stores_the_table_the_connection_used_to_build(index: Path) -> None:
    con = duckdb.connect(str(index), read_only=True)
    try:
        assert browse_table.is_stored(con)
        assert not browse_table.needs_upgrade(con)
        stored = con.execute(ALL).fetchall()
        columns = [d[0] for d in con.execute(ALL).description]
        types = con.execute(f"SELECT column_name, data_type FROM information_schema.columns "
                            f"WHERE table_name = '{browse_table.TABLE}' "
                            "ORDER BY ordinal_position").fetchall()
        n_images = con.execute("SELECT count(*) FROM affectnet_images").fetchone()[0]
    finally:
        con.close()
    assert stored == _temp_rows(index)
    assert len(stored) >= n_images > 0
    assert columns == ["pos", *browse_table.ROW_FIELDS, *browse_table.PAGE_EXTRA,
                       *browse_table.SORT_KEYS.values()]
    assert tuple(columns[1:1 + len(fq._ROW_FIELDS)]) == fq._ROW_FIELDS
    assert dict(types)["expression"].startswith("ENUM")


def test_a_read_only_connection_builds_nothing_when_the_table_is_stored(index: Path) -> None:
    con = duckdb.connect(str(index), read_only=True)
    try:
        src = fq.prepare_browse(con)
        assert src.affectnet and src.c25 and src.c25_stats
        assert not fq.table_exists_temp(con, fq.BROWSE_TABLE)
        page = image_page(con, fq.ImageFilter(), fq.ImageSort("valence", True), 0, 50)
        assert len(page.rows) == 50 and page.rows[0].in_affectnet
        assert page.rows[0].image_path is not None
    finally:
        con.close()


def test_rows_link_to_their_affectnet_rows_after_commit(index: Path) -> None:
    # rowids of rows inserted in the import transaction change at commit: the table
    # must carry what it needs (path, box) instead of pointing at them
    con = duckdb.connect(str(index), read_only=True)
    try:
        wrong = con.execute(f"""
            SELECT count(*) FROM {browse_table.TABLE} b JOIN affectnet_images a
              ON a.split = b.split::VARCHAR AND a.row_index = b.row_index
            WHERE b.subdir || b.filename <> a.sub_path OR b.image_root::VARCHAR <> a.image_root
               OR b.face_w <> a.face_w OR NOT b.in_affectnet""").fetchone()[0]
        c25_only = con.execute(f"SELECT count(*) FROM {browse_table.TABLE} "
                               "WHERE NOT in_affectnet").fetchone()[0]
        missing = con.execute(f"""
            SELECT count(*) FROM {browse_table.TABLE} b LEFT JOIN affectnet_images a
              ON a.split = b.split::VARCHAR AND a.row_index = b.row_index
            WHERE b.in_affectnet <> (a.split IS NOT NULL)""").fetchone()[0]
    finally:
        con.close()
    assert wrong == 0 and missing == 0
    assert c25_only >= 0


def test_a_failed_reimport_keeps_the_table_and_a_good_one_replaces_it(
        index: Path, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(index, db)
    before = duckdb.connect(str(db), read_only=True)
    old_rows = before.execute(ALL).fetchall()
    before.close()

    # A valid smaller AffectNet: the validation split only.
    small = tmp_path / "AffectNet" / "Manually_Annotated"
    small.mkdir(parents=True)
    src = samples / "AffectNet" / "Manually_Annotated"
    shutil.copyfile(src / "validation.csv", small / "validation.csv")
    lines = (src / "training.csv").read_text().splitlines(keepends=True)
    (small / "training.csv").write_text("".join(lines[:41]))

    real_refresh = browse_table.refresh

    def failing_refresh(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> int:
        real_refresh(con, kind)
        raise RuntimeError("killed after the browse table was rebuilt")

    monkeypatch.setattr(browse_table, "refresh", failing_refresh)
    with pytest.raises(RuntimeError):
        import_path(db, tmp_path / "AffectNet", "affectnet")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute(ALL).fetchall() == old_rows   # rolled back with the records
    con.close()

    monkeypatch.setattr(browse_table, "refresh", real_refresh)
    import_path(db, tmp_path / "AffectNet", "affectnet")
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(ALL).fetchall()
        n_train = con.execute("SELECT count(*) FROM affectnet_images "
                              "WHERE split = 'train'").fetchone()[0]
        assert n_train <= 40
        assert browse_table.is_stored(con)
    finally:
        con.close()
    assert rows != old_rows
    assert rows == _temp_rows(db)


def test_an_old_index_browses_from_a_temp_table_then_upgrades(index: Path,
                                                              tmp_path: Path) -> None:
    db = _as_old_index(index, tmp_path / "old.duckdb")
    expected = _temp_rows(index)
    con = connect(db, read_only=True)
    try:
        assert browse_table.needs_upgrade(con)
        src = fq.prepare_browse(con)    # a locked file: the connection's own copy
        assert src.any and fq.table_exists_temp(con, fq.BROWSE_TABLE)
        assert con.execute(ALL).fetchall() == expected
        assert fq.count_images(con, fq.ImageFilter()) == len(expected)
    finally:
        con.close()

    con = connect(db, read_only=True)
    con = browse_table.opened_for_browsing(con, db)   # what the window does on open
    try:
        assert browse_table.is_stored(con)
        fq.prepare_browse(con)
        assert not fq.table_exists_temp(con, fq.BROWSE_TABLE)
        assert con.execute(ALL).fetchall() == expected
    finally:
        con.close()
    assert not browse_table.upgrade(db)   # once only


def test_an_index_in_use_elsewhere_still_browses(index: Path, tmp_path: Path) -> None:
    db = _as_old_index(index, tmp_path / "busy.duckdb")
    # Another process reads the index: DuckDB lets nobody write it meanwhile.
    other = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; "
         "c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
         "time.sleep(60)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        assert not browse_table.upgrade(db)
        con = browse_table.opened_for_browsing(connect(db, read_only=True), db)
        try:
            assert browse_table.needs_upgrade(con)
            fq.prepare_browse(con)
            assert fq.count_images(con, fq.ImageFilter()) == len(_temp_rows(index))
        finally:
            con.close()
    finally:
        other.kill()
        other.wait()


def test_a_table_of_another_version_is_not_used(index: Path, tmp_path: Path) -> None:
    db = tmp_path / "versioned.duckdb"
    shutil.copyfile(index, db)
    con = duckdb.connect(str(db))
    con.execute(f"UPDATE {browse_table.INFO_TABLE} SET version = version + 1")
    con.execute(f"DELETE FROM {browse_table.TABLE} WHERE pos % 2 = 0")   # wrong rows
    con.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert browse_table.needs_upgrade(con)
        fq.prepare_browse(con)
        assert fq.table_exists_temp(con, fq.BROWSE_TABLE)   # shadows the stale one
        assert con.execute(ALL).fetchall() == _temp_rows(index)
    finally:
        con.close()


def test_other_imports_leave_the_table_alone(index: Path) -> None:
    con = duckdb.connect(":memory:")
    try:
        assert browse_table.refresh(con, "hrm") == -1
        assert browse_table.refresh(con, "affectnet") == 0   # nothing to browse: no table
        assert browse_table.TABLE not in {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert affectnet.KIND in browse_table.SOURCES


def _changed_c25(samples: Path, folder: Path, drop: int, extra_index: int | None = None
                 ) -> Path:
    """A copy of the C25 sample with set 1's last ``drop`` images gone, the expression
    votes of its first 20 images moved one code on, and, with ``extra_index``, one more
    image at that AffectNet row (under a name no AffectNet row has)."""
    folder.mkdir(parents=True)
    for src in sorted((samples / "AffectNetC25").glob("*.csv")):
        lines = src.read_text().splitlines()
        if "set1" in src.name:
            lines = lines[:len(lines) - drop]
            if src.name.startswith("expression"):
                for i in range(1, 21):
                    cells = lines[i].split(",")
                    cells[2:] = [str((int(float(c)) + 1) % 8) for c in cells[2:]]
                    lines[i] = ",".join(cells)
            if extra_index is not None:
                cells = lines[1].split(",")
                lines.append(",".join([str(extra_index), "not_in_affectnet.jpg", *cells[2:]]))
        (folder / src.name).write_text("\n".join(lines) + "\n")
    return folder


def _spy_builds(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    builds: list[bool] = []
    real_build = browse_table.build

    def counting_build(con: duckdb.DuckDBPyConnection, temporary: bool = False) -> int:
        builds.append(temporary)
        return real_build(con, temporary)

    monkeypatch.setattr(browse_table, "build", counting_build)
    return builds


def test_a_c25_reimport_updates_the_crowd_columns_in_place(
        index: Path, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "reimport.duckdb"
    shutil.copyfile(index, db)
    before = duckdb.connect(str(db), read_only=True)
    old_rows = before.execute(ALL).fetchall()
    before.close()
    builds = _spy_builds(monkeypatch)
    import_path(db, _changed_c25(samples, tmp_path / "C25", drop=30), "affectnet-c25")
    assert builds == []   # no rebuild of the whole table
    monkeypatch.undo()
    rows = duckdb.connect(str(db), read_only=True).execute(ALL).fetchall()
    assert rows != old_rows
    assert rows == _temp_rows(db)


def test_a_first_c25_import_onto_affectnet_updates_in_place(
        samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "first.duckdb"
    import_path(db, samples / "AffectNet", "affectnet")
    builds = _spy_builds(monkeypatch)
    import_path(db, samples / "AffectNetC25", "affectnet-c25")
    assert builds == []
    monkeypatch.undo()
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(ALL).fetchall()
    differs = con.execute(f"SELECT count(*) FROM {browse_table.TABLE} "
                          "WHERE majority_differs IS NULL").fetchone()[0]
    con.close()
    assert differs == 0
    assert rows == _temp_rows(db)


def test_new_c25_only_images_rebuild_the_table(
        index: Path, samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "c25-only.duckdb"
    shutil.copyfile(index, db)
    builds = _spy_builds(monkeypatch)
    import_path(db, _changed_c25(samples, tmp_path / "C25", drop=0, extra_index=10_000_000),
                "affectnet-c25")
    assert builds == [False]   # a new C25-only row takes a position: built again
    monkeypatch.undo()
    con = duckdb.connect(str(db), read_only=True)
    extra = con.execute(f"SELECT count(*) FROM {browse_table.TABLE} WHERE row_index = "
                        "10000000 AND NOT in_affectnet").fetchone()[0]
    rows = con.execute(ALL).fetchall()
    con.close()
    assert extra == 1
    assert rows == _temp_rows(db)
