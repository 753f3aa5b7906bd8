"""image_detail: one image's AffectNet row and crowd votes, checked against the raw files.

References are computed independently from the CSVs with pandas: the AffectNet row from
``training.csv`` (data row i is line i + 2), the vote counts from the C25 CSV row, the
majority from pandas ``mode`` on the raw C25 codes (the authors' rule), the V/A spread
from pandas row reductions. The sample index draws images for the first rows only, so
building it stays fast; the real C25 votes (ties included) come from ``shared/data``.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from faceexplorer.core.errors import FaceExplorerError
from faceexplorer.core.vocab import C25_CODES, EXPRESSIONS
from faceexplorer.datasets.registry import import_path
from faceexplorer.index.store import connect
from faceexplorer.reports.image_detail import image_detail

#: Rows of each sample split that get a drawn image file (the others have none).
IMAGE_ROWS = 24


def shared_data() -> Path:
    """``../shared/data`` beside the checkout, else the workplace copy."""
    beside = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


REAL_C25 = shared_data() / "affectnetc25"


def build_sample_indexes(root: Path) -> dict[str, Path]:
    """Sample AffectNet (images for the first rows) + sample C25, and variants.

    Returns ``{"sample": index with both, "no_c25": AffectNet only, "real_c25": the real
    C25 votes only (None when absent), "root": sample root}``.
    """
    from faceexplorer.samples import affectnet, affectnet_c25

    rng = np.random.default_rng(0)
    written = affectnet.write_affectnet(root, "small", rng, images=True, image_rows=IMAGE_ROWS)
    affectnet_c25.write_c25(root, written, rng)
    out: dict[str, Path] = {"root": root}
    out["sample"] = root / "sample.duckdb"
    import_path(out["sample"], root / "AffectNet", "affectnet")
    import_path(out["sample"], root / "AffectNetC25", "affectnet-c25")
    out["no_c25"] = root / "no_c25.duckdb"
    import_path(out["no_c25"], root / "AffectNet", "affectnet")
    if (REAL_C25 / "expression_set1_C25.csv").is_file():
        out["real_c25"] = root / "real_c25.duckdb"
        import_path(out["real_c25"], REAL_C25, "affectnet-c25")
    return out


def sample_indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """:func:`build_sample_indexes` once per test run, shared by this module and the GUI's.

    The indexes are opened read-only by the tests, so one build serves every module; the
    ``done`` marker is written last, so an interrupted build is never reused.
    """
    root = tmp_path_factory.getbasetemp() / "image-detail-samples"
    done = root / "done"
    if not done.exists():
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        build_sample_indexes(root)
        done.touch()
    out = {"root": root, "sample": root / "sample.duckdb", "no_c25": root / "no_c25.duckdb"}
    if (root / "real_c25.duckdb").exists():
        out["real_c25"] = root / "real_c25.duckdb"
    return out


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return sample_indexes(tmp_path_factory)


@pytest.fixture
def open_index(indexes):
    cons = []

    def open_(name: str):
        if name not in indexes:
            pytest.skip(f"real AffectNetC25 files not found in {REAL_C25}")
        cons.append(connect(indexes[name], read_only=True))
        return cons[-1]

    yield open_
    for c in cons:
        c.close()


def raw_c25(folder: Path, task: str, c25_set: int) -> pd.DataFrame:
    return pd.read_csv(folder / f"{task}_set{c25_set}_C25.csv").set_index("index")


def training_csv(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "AffectNet" / "Manually_Annotated" / "training.csv",
                       keep_default_na=False, dtype=str)


def test_affectnet_row_matches_training_csv(indexes, open_index) -> None:
    con = open_index("sample")
    csv = training_csv(indexes["root"])
    checked = 0
    for i in (0, 5, IMAGE_ROWS - 1, 1000, len(csv) - 1):
        raw = csv.iloc[i]
        if "NULL" in raw.values or raw["face_width"] == "0":
            continue  # a documented dirty row: not in the index
        a = image_detail(con, "train", i).affectnet
        assert a is not None and a.row_index == i
        assert a.sub_path == raw["subDirectory_filePath"]
        assert a.filename == raw["subDirectory_filePath"].rsplit("/", 1)[-1]
        assert a.image_path == (indexes["root"] / "AffectNet" / "Manually_Annotated"
                                / "Manually_Annotated_Images" / a.sub_path).resolve()
        assert a.image_path.is_file() == (i < IMAGE_ROWS)
        assert a.face_box == tuple(int(float(raw[c])) for c in (
            "face_x", "face_y", "face_width", "face_height"))
        expected_lm = np.array(raw["facial_landmarks"].split(";"), float).reshape(68, 2)
        np.testing.assert_allclose(a.landmarks, expected_lm, atol=1e-3)
        assert a.expression_raw == int(raw["expression"])
        assert a.expression == (EXPRESSIONS + ("none", "uncertain", "no-face"))[a.expression_raw]
        for task in ("valence", "arousal"):
            value = float(raw[task])
            assert getattr(a, task) == (None if value == -2 else pytest.approx(value))
        assert Path(a.source_file).name == "training.csv" and a.source_line == i + 2
        checked += 1
    assert checked >= 4


def test_sample_c25_image_votes_match_raw_csv(indexes, open_index) -> None:
    con = open_index("sample")
    folder = indexes["root"] / "AffectNetC25"
    expr = raw_c25(folder, "expression", 1)
    val, aro = raw_c25(folder, "valence", 1), raw_c25(folder, "arousal", 1)
    for image_index in expr.index[:5]:
        d = image_detail(con, "train", int(image_index))
        assert d.crowd is not None and d.crowd_sets == (1,) and d.crowd.c25_set == 1
        codes = expr.loc[image_index].drop("filename").astype(int)
        labels = [C25_CODES[c] for c in codes]
        assert d.crowd.counts == {e: labels.count(e) for e in EXPRESSIONS}
        assert list(d.crowd.counts) == list(EXPRESSIONS)  # canonical order
        assert d.crowd.majority == C25_CODES[int(codes.mode().iloc[0])]
        assert [v.annotator for v in d.crowd.votes] == [f"set1/participant{k}" for k in range(25)]
        assert [v.expression for v in d.crowd.votes] == labels
        assert [v.valence for v in d.crowd.votes] == val.loc[image_index].drop(
            "filename").astype(float).tolist()
        assert [v.arousal for v in d.crowd.votes] == aro.loc[image_index].drop(
            "filename").astype(float).tolist()
        # Linked: the AffectNet row is the same image, so no link problem.
        assert d.affectnet is not None and d.link_problem is None
        assert d.crowd.filename == d.affectnet.filename == expr.loc[image_index, "filename"]
        assert d.majority_differs == (d.crowd.majority != d.affectnet.expression)


@pytest.mark.parametrize("c25_set", [1, 2])
def test_real_tie_images_and_spread(open_index, c25_set: int) -> None:
    con = open_index("real_c25")
    expr = raw_c25(REAL_C25, "expression", c25_set).drop(columns="filename")
    modes = expr.mode(axis=1)
    tied = modes.index[modes.notna().sum(axis=1) > 1]
    assert len(tied) > 0, "the real sets contain ties"
    val = raw_c25(REAL_C25, "valence", c25_set).drop(columns="filename")
    for image_index in list(tied[:3]) + [expr.index[0]]:
        d = image_detail(con, "train", int(image_index))
        c = d.crowd
        assert c is not None and d.affectnet is None  # AffectNet is not in this index
        row_modes = modes.loc[image_index].dropna().astype(int)
        assert c.majority == C25_CODES[int(row_modes.iloc[0])]
        assert c.tie == (len(row_modes) > 1)
        assert sorted(c.tied_labels) == sorted(C25_CODES[k] for k in row_modes)
        assert c.tied_labels[0] == c.majority
        counts = expr.loc[image_index].map(C25_CODES).value_counts()
        assert c.plurality_share == pytest.approx(counts.max() / 25)
        assert c.agreement == counts.max()
        p = counts / 25
        assert c.entropy == pytest.approx(float(-(p * np.log(p)).sum() / np.log(8)))
        assert sum(c.soft_label.values()) == pytest.approx(1.0)
        v = val.loc[image_index].astype(float)
        assert c.valence.mean == pytest.approx(v.mean())
        assert c.valence.median == pytest.approx(v.median())
        assert c.valence.std == pytest.approx(v.std())
        assert c.valence.iqr == pytest.approx(v.quantile(0.75) - v.quantile(0.25))
        assert c.valence.majority == pytest.approx(v.mode().iloc[0])


def test_non_c25_and_no_c25_index(indexes, open_index) -> None:
    con = open_index("sample")
    assert image_detail(con, "val", 3).crowd is None
    in_c25 = {int(r[0]) for r in con.execute("SELECT image_index FROM c25_images").fetchall()}
    plain = next(i for i in range(100) if i not in in_c25 and
                 con.execute("SELECT 1 FROM affectnet_images WHERE split = 'train' "
                             "AND row_index = ?", [i]).fetchone())
    d = image_detail(con, "train", plain)
    assert d.crowd is None and d.crowd_sets == () and d.majority_differs is None
    # The same C25 image in an index without C25 tables: AffectNet part only, no failure.
    no_c25 = open_index("no_c25")
    d = image_detail(no_c25, "train", min(in_c25))
    assert d.crowd is None and d.affectnet is not None


def test_unknown_image_and_wrong_set(open_index) -> None:
    con = open_index("sample")
    with pytest.raises(FaceExplorerError, match="no image train row 9999999"):
        image_detail(con, "train", 9_999_999)
    some = int(con.execute("SELECT min(image_index) FROM c25_images WHERE c25_set = 1"
                           ).fetchone()[0])
    with pytest.raises(FaceExplorerError, match="set 2 has no image"):
        image_detail(con, "train", some, c25_set=2)
    with pytest.raises(FaceExplorerError, match="not an AffectNetC25 image"):
        image_detail(con, "val", 0, c25_set=1)



def test_kept_catalog_and_c25_names_give_the_same_detail(open_index) -> None:
    """What the panel keeps per connection changes no answer, errors included."""
    from faceexplorer.reports.image_detail import c25_image_names, index_tables

    con = open_index("sample")
    tables, names = index_tables(con), c25_image_names(con)
    in_both = con.execute("SELECT image_index FROM c25_images GROUP BY 1 "
                          "HAVING count(DISTINCT c25_set) > 1 LIMIT 3").fetchall()
    keys = [("train", int(r[0])) for r in con.execute(
        "SELECT DISTINCT image_index FROM c25_images ORDER BY 1 LIMIT 8").fetchall()]
    keys += [("train", int(r[0])) for r in in_both] + [("train", 0), ("train", 1),
                                                         ("val", 3)]
    for split, index in keys:
        for c25_set in (None, 1, 2):
            try:
                expected = image_detail(con, split, index, c25_set)
            except FaceExplorerError as exc:
                with pytest.raises(FaceExplorerError, match=str(exc)[:30]):
                    image_detail(con, split, index, c25_set, tables, names)
                continue
            got = image_detail(con, split, index, c25_set, tables, names)
            assert got.crowd == expected.crowd and got.crowd_sets == expected.crowd_sets
            assert (got.affectnet is None) == (expected.affectnet is None)

# --- stored model predictions --------------------------------------------------------
def add_expression_run(db: Path, split: str, row_index: int, name: str, seed: int) -> dict:
    """Store one prediction of a fake expression/VA model for one image; return its row."""
    from faceexplorer.index import predictions as pr

    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(EXPRESSIONS)))
    row = {"run_id": "", "dataset": "affectnet", "item": f"{split}/{row_index}",
           "split": split, "row_index": row_index, "valid": True,
           "predicted": EXPRESSIONS[int(probs.argmax())],
           "valence": float(rng.uniform(-1, 1)), "arousal": float(rng.uniform(-1, 1)),
           **{f"p_{e}": float(p) for e, p in zip(EXPRESSIONS, probs, strict=True)}}
    con = connect(db)
    try:
        sha = hashlib.sha256(name.encode()).hexdigest()
        run_id, _ = pr.start_run(con, sha, f"/models/{name}.onnx",
                                 {"name": name, "outputs": []}, "affectnet", (), 1)
        row["run_id"] = run_id
        pr.write_chunk(con, run_id, [row])
        pr.finish_run(con, run_id, "finished")
    finally:
        con.close()
    return row


def test_predictions_beside_the_votes(indexes, tmp_path) -> None:
    db = tmp_path / "runs.duckdb"
    shutil.copy(indexes["sample"], db)
    con = connect(db, read_only=True)
    image = int(con.execute("SELECT min(image_index) FROM c25_images").fetchone()[0])
    assert image_detail(con, "train", image).predictions == ()  # no runs table yet
    con.close()
    row = add_expression_run(db, "train", image, "tiny-expr", 7)
    con = connect(db, read_only=True)
    try:
        d = image_detail(con, "train", image)
    finally:
        con.close()
    (p,) = d.predictions
    assert p.model_name == "tiny-expr" and p.predicted == row["predicted"] and p.valid
    assert p.expression == pytest.approx({e: row[f"p_{e}"] for e in EXPRESSIONS})
    # JS divergence (bits) = squared SciPy Jensen-Shannon distance with base 2
    import scipy.spatial.distance as ssd
    q = np.array([d.crowd.counts[e] for e in EXPRESSIONS], dtype=float)
    pv = np.array([row[f"p_{e}"] for e in EXPRESSIONS])
    assert d.divergence(p) == pytest.approx(ssd.jensenshannon(pv, q, base=2) ** 2)
