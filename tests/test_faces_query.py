"""Browser queries against pandas on the sample CSVs: filters, sorts, search, pages, export."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from faceexplorer.core.vocab import AFFECTNET_CODES, C25_CODES
from faceexplorer.datasets.registry import import_path
from faceexplorer.index.faces_export import export_selection
from faceexplorer.index.faces_page import image_page
from faceexplorer.index.faces_query import ImageFilter, ImageSort, count_images, find_position
from faceexplorer.reports.c25_image_stats import SOFT_COLUMNS, materialize_image_stats
from faceexplorer.samples.generate import write_samples


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faces-query")
    write_samples(root, "small", seed=0, only=["affectnet-c25"], images=False)
    return root


def _index(root: Path, name: str, kinds: tuple[str, ...]) -> Path:
    db = root / f"{name}.duckdb"
    if "affectnet" in kinds:
        import_path(db, root / "AffectNet", "affectnet")
    if "c25" in kinds:
        import_path(db, root / "AffectNetC25", "affectnet-c25")
        con = duckdb.connect(str(db))
        materialize_image_stats(con)
        con.close()
    return db


@pytest.fixture(scope="module")
def con(samples: Path):
    db = _index(samples, "both", ("affectnet", "c25"))
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def expected(samples: Path) -> pd.DataFrame:
    """The browser's rows computed with pandas straight from the CSVs."""
    folder = samples / "AffectNet" / "Manually_Annotated"
    parts = []
    for split, name in (("train", "training.csv"), ("val", "validation.csv")):
        df = pd.read_csv(folder / name, na_values=["NULL"], keep_default_na=False)
        df["split"], df["row_index"] = split, np.arange(len(df))
        # Documented dirty rows are skipped by the importer: empty cells, zero-size faces.
        df = df[df.notna().all(axis=1) & (df["face_width"] > 0) & (df["face_height"] > 0)]
        parts.append(df)
    a = pd.concat(parts, ignore_index=True)
    a["filename"] = a["subDirectory_filePath"].str.split("/").str[-1]
    a["label"] = a["expression"].astype(int).map(AFFECTNET_CODES)
    for c in ("valence", "arousal"):
        a[c] = a[c].where(a[c] != -2)
    crowd = []
    for s in (1, 2):
        votes = pd.read_csv(samples / "AffectNetC25" / f"expression_set{s}_C25.csv")
        codes = votes[[f"participant{i}" for i in range(25)]]
        mode = codes.mode(axis=1)[0]  # the authors' rule
        crowd.append(pd.DataFrame({
            "row_index": votes["index"], "c25_set": s, "majority": mode.map(C25_CODES),
            "agreement": codes.eq(mode, axis=0).sum(axis=1)}))
    c = pd.concat(crowd, ignore_index=True)
    c["split"] = "train"
    return a.merge(c, on=["split", "row_index"], how="left")


def test_stats_table_matches_pandas_mode(con, expected) -> None:
    got = con.execute("SELECT c25_set, image_index, majority, agreement, "
                      f"{' + '.join(SOFT_COLUMNS)} FROM c25_image_stats").df()
    assert len(got) == 1600
    merged = got.merge(expected.dropna(subset=["c25_set"]), left_on="image_index",
                       right_on="row_index", suffixes=("", "_pd"))
    assert len(merged) == 1600
    assert (merged["majority"] == merged["majority_pd"]).all()
    assert (merged["agreement"] == merged["agreement_pd"]).all()
    assert np.allclose(got.iloc[:, -1], 1.0)


@pytest.mark.parametrize("flt, pick", [
    (ImageFilter(), lambda e: e.index == e.index),
    (ImageFilter(expressions=("happy",)), lambda e: e["label"] == "happy"),
    (ImageFilter(expressions=("sad", "no-face")), lambda e: e["label"].isin(["sad", "no-face"])),
    (ImageFilter(valence=(0.0, 0.5)), lambda e: e["valence"].between(0, 0.5)),
    (ImageFilter(arousal=(-0.3, 0.2)), lambda e: e["arousal"].between(-0.3, 0.2)),
    (ImageFilter(splits=("val",)), lambda e: e["split"] == "val"),
    (ImageFilter(c25_set=2), lambda e: e["c25_set"] == 2),
    (ImageFilter(has_votes=True), lambda e: e["c25_set"].notna()),
    (ImageFilter(has_votes=False), lambda e: e["c25_set"].isna()),
    (ImageFilter(agreement=(15, 25)), lambda e: e["agreement"].between(15, 25)),
    (ImageFilter(majority_differs=True),
     lambda e: e["majority"].notna() & (e["majority"] != e["label"])),
    (ImageFilter(expressions=("anger",), has_votes=True, agreement=(10, 18), valence=(-1, 0)),
     lambda e: (e["label"] == "anger") & e["c25_set"].notna()
     & e["agreement"].between(10, 18) & e["valence"].between(-1, 0)),
])
def test_filter_counts_match_pandas(con, expected, flt, pick) -> None:
    want = expected[pick(expected)]
    assert count_images(con, flt) == len(want) > 0
    page = image_page(con, flt, ImageSort(), 0, 5000)
    assert [(r.split, r.row_index) for r in page.rows] == sorted(
        zip(want["split"], want["row_index"], strict=True))


def test_search_by_filename_and_row_index(con, expected) -> None:
    name = expected["filename"].iloc[123]
    part = name[5:11].upper()  # case-insensitive
    want = expected[expected["filename"].str.contains(part.lower(), regex=False)]
    assert count_images(con, ImageFilter(search=part)) == len(want) >= 1
    rows = image_page(con, ImageFilter(search="1234")).rows
    assert ("train", 1234) in [(r.split, r.row_index) for r in rows]
    assert all(r.row_index == 1234 or "1234" in r.filename for r in rows)


@pytest.mark.parametrize("column", ["valence", "entropy", "agreement", "expression",
                                    "filename", "majority"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_orders(con, column, descending) -> None:
    rows = image_page(con, ImageFilter(), ImageSort(column, descending), 0, 10_000).rows
    values = [r.value(column) for r in rows]
    present = [v for v in values if v is not None]
    assert values[len(present):] == [None] * (len(values) - len(present))  # NULLs last
    if column in ("expression", "majority"):
        from faceexplorer.core.vocab import EXPRESSION_LABELS
        present = [EXPRESSION_LABELS.index(v) for v in present]  # canonical order
    assert present == sorted(present, reverse=descending)


def test_pages_tile_the_selection(con) -> None:
    flt, sort = ImageFilter(expressions=("happy", "sad")), ImageSort("valence", True)
    total = count_images(con, flt)
    whole = image_page(con, flt, sort, 0, total + 10).rows
    assert len(whole) == total
    pages = [image_page(con, flt, sort, off, 97, total=total).rows
             for off in range(0, total, 97)]
    assert [r.key for p in pages for r in p] == [r.key for r in whole]
    assert len(pages[-1]) == total - 97 * (len(pages) - 1)
    assert image_page(con, flt, sort, total, 97, total=total).rows == ()
    key = whole[500]
    assert find_position(con, flt, sort, key.split, key.row_index) == 500


@pytest.mark.parametrize("column", ["key", "valence", "majority", "c25_set", "filename",
                                    "majority_differs"])
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_walk_the_offset_pages(con, column, descending) -> None:
    """Next/previous pages read from the edge row equal the OFFSET pages, NULLs included."""
    flt, sort = ImageFilter(splits=("train",)), ImageSort(column, descending)
    total = count_images(con, flt)
    whole = [r.key for r in image_page(con, flt, sort, 0, total).rows]
    size, forward = 89, []
    page = image_page(con, flt, sort, 0, size, total=total)
    while page.rows:
        forward += [r.key for r in page.rows]
        page = image_page(con, flt, sort, page.offset + size, size, total=total,
                          after=page.rows[-1].pos)
    assert forward == whole
    last = (total - 1) // size * size
    page, backward = image_page(con, flt, sort, last, size, total=total), []
    while page.rows:
        backward = [r.key for r in page.rows] + backward
        page = image_page(con, flt, sort, max(0, page.offset - size), size, total=total,
                          before=page.rows[0].pos)
    assert backward == whole


def test_export_round_trip(con, tmp_path) -> None:
    flt = ImageFilter(has_votes=True, expressions=("anger", "fear"))
    sort = ImageSort("entropy", descending=True)
    want = [r.key for r in image_page(con, flt, sort, 0, 5000).rows]
    for fmt in ("csv", "parquet"):
        path = tmp_path / f"sel.{fmt}"
        assert export_selection(con, flt, sort, path, fmt) == len(want)
        back = duckdb.sql(f"SELECT * FROM '{path}'").df()
        assert [f"{s}/{i}" for s, i in zip(back["split"], back["row_index"],
                                           strict=True)] == want
        assert {"majority", "entropy", "p_happy", "expression_p0", "valence_p24",
                "arousal_p3", "image_root", "sub_path"} <= set(back.columns)
        row = back.iloc[0]
        vote = con.execute(
            "SELECT expression FROM c25_votes WHERE c25_set = ? AND image_index = ? AND "
            "task = 'expression' AND annotator = ?",
            [int(row["c25_set"]), int(row["row_index"]),
             f"set{int(row['c25_set'])}/participant0"]).fetchone()[0]
        assert row["expression_p0"] == vote


def test_affectnet_only_and_c25_only(samples) -> None:
    only_a = duckdb.connect(str(_index(samples, "a_only", ("affectnet",))), read_only=True)
    total = count_images(only_a, ImageFilter())
    assert total == 2691
    assert count_images(only_a, ImageFilter(has_votes=True)) == 0
    assert count_images(only_a, ImageFilter(has_votes=False)) == total
    assert image_page(only_a, ImageFilter(), ImageSort("entropy"), 0, 3).rows[0].majority is None
    only_a.close()
    only_c = duckdb.connect(str(_index(samples, "c_only", ("c25",))), read_only=True)
    assert count_images(only_c, ImageFilter()) == 1600
    rows = image_page(only_c, ImageFilter(c25_set=1), ImageSort("agreement", True), 0, 5).rows
    assert all(r.split == "train" and not r.in_affectnet and r.image_path is None
               for r in rows)
    assert rows[0].agreement >= rows[-1].agreement
    only_c.close()
