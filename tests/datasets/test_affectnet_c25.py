"""AffectNetC25 importer: exact counts, code mapping and majority on the real files
(checked against pandas reading the raw CSVs), the AffectNet link on small hand-made files,
and bad files that name file and line and leave the index as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceexplorer.core.errors import DatasetFormatError
from faceexplorer.core.vocab import C25_CODES
from faceexplorer.datasets import affectnet, affectnet_c25
from faceexplorer.datasets.registry import import_path

from .conftest import expect_failed_import, index_snapshot, write_csv

TASKS = ("expression", "valence", "arousal")


def query(db_path: Path, sql: str):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def real_index(c25_real_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("c25") / "index.duckdb"
    import_path(db, c25_real_dir, "affectnet-c25")
    return db


def test_real_counts(real_index: Path) -> None:
    con = duckdb.connect(str(real_index), read_only=True)
    try:
        counts = affectnet_c25.summary(con)
    finally:
        con.close()
    assert counts == {"images": 1600, "votes_expression": 40000, "votes_valence": 40000,
                      "votes_arousal": 40000, "annotators": 50, "linked": 0,
                      "missing_in_affectnet": 0, "filename_mismatch": 0}
    assert query(real_index, "SELECT c25_set, count(*) FROM c25_images GROUP BY 1 ORDER BY 1") \
        == [(1, 800), (2, 800)]
    # participant0 of set 1 and of set 2 are different people.
    assert query(real_index, "SELECT count(DISTINCT annotator) FROM c25_votes "
                             "WHERE annotator LIKE '%/participant0'") == [(2,)]


def test_real_codes_and_values_match_raw_files(real_index: Path, c25_real_dir: Path) -> None:
    for c25_set in (1, 2):
        for task in TASKS:
            raw = pd.read_csv(c25_real_dir / f"{task}_set{c25_set}_C25.csv")
            long = raw.melt(id_vars=["index", "filename"], var_name="participant",
                            value_name="cell")
            got = pd.DataFrame(query(real_index, f"""
                SELECT image_index, split_part(annotator, '/', 2), vote_raw, expression, value
                FROM c25_votes WHERE c25_set = {c25_set} AND task = '{task}'"""),
                columns=["index", "participant", "vote_raw", "expression", "value"])
            merged = long.merge(got, on=["index", "participant"], how="outer", validate="1:1")
            assert len(merged) == 800 * 25 and merged["vote_raw"].notna().all()
            assert (merged["cell"] == merged["vote_raw"]).all()
            if task == "expression":
                assert (merged["expression"] == merged["cell"].map(C25_CODES)).all()
                assert merged["value"].isna().all()
                happy = merged[merged["cell"] == 0]["expression"].unique().tolist()
                neutral = merged[merged["cell"] == 7]["expression"].unique().tolist()
                assert happy == ["happy"] and neutral == ["neutral"]
            else:
                assert (merged["value"] == merged["cell"]).all()
                assert merged["expression"].isna().all()
        images = query(real_index, f"SELECT image_index, filename, line FROM c25_images "
                                   f"WHERE c25_set = {c25_set} ORDER BY line")
        assert [(i, f) for i, f, _ in images] == list(zip(raw["index"], raw["filename"],
                                                          strict=True))
        assert [line for *_, line in images] == list(range(2, 802))


def test_real_majority_equals_pandas_mode(real_index: Path, c25_real_dir: Path) -> None:
    majority = dict(((s, i), m) for s, i, m in query(real_index, """
        SELECT c25_set, image_index, arg_min(vote_raw, (-n, vote_raw)) FROM (
            SELECT c25_set, image_index, vote_raw, count(*) AS n FROM c25_votes
            WHERE task = 'expression' GROUP BY ALL)
        GROUP BY ALL"""))
    for c25_set in (1, 2):
        raw = pd.read_csv(c25_real_dir / f"expression_set{c25_set}_C25.csv")
        mode = raw.filter(like="participant").mode(axis=1)[0]
        for index, expected in zip(raw["index"], mode, strict=True):
            assert majority[(c25_set, index)] == expected


# --- small hand-made C25 + AffectNet --------------------------------------------------

PARTICIPANTS = [f"participant{i}" for i in range(25)]
HEADER = ["index", "filename", *PARTICIPANTS]
IMAGES_SET1 = [(1, "img0001.jpg"), (3, "img0003.jpg"), (4, "img0004.jpg"), (9, "img0009.jpg")]


def c25_rows(task: str, images=IMAGES_SET1, seed: int = 0) -> list[list[object]]:
    rows = []
    for k, (index, name) in enumerate(images):
        if task == "expression":
            votes = [(seed + k + p) % 8 for p in range(25)]
        else:
            votes = [((seed + k * 3 + p) % 9 - 4) / 4 for p in range(25)]
        rows.append([index, name, *votes])
    return rows


def write_c25(folder: Path, newline: str = "\r\n", sets=(1,), overrides=None) -> Path:
    """A tiny C25 folder (CRLF like the real files); ``overrides[(set, task)]`` = rows."""
    overrides = overrides or {}
    for c25_set in sets:
        for task in TASKS:
            rows = overrides.get((c25_set, task), c25_rows(task, seed=c25_set))
            write_csv(folder / f"{task}_set{c25_set}_C25.csv", HEADER, rows, newline)
    return folder


def write_training(root: Path, n: int = 8, rename: dict[int, str] | None = None) -> Path:
    """training.csv with rows 0..n-1 named imgNNNN.jpg (``rename`` changes some names)."""
    lm = ";".join(["1.5"] * 136)
    rows = [[f"{i % 3}/{(rename or {}).get(i, f'img{i:04d}.jpg')}", 1, 2, 30, 40, lm, 1, 0.1, 0.2]
            for i in range(n)]
    write_csv(root / "Manually_Annotated" / "training.csv", affectnet.HEADER, rows)
    return root


def summary(db_path: Path) -> dict[str, int]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return affectnet_c25.summary(con)
    finally:
        con.close()


def problems(db_path: Path) -> list[dict]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return affectnet_c25.link_problems(con)
    finally:
        con.close()


def test_link_counts_and_mismatch_either_import_order(tmp_path: Path) -> None:
    c25 = write_c25(tmp_path / "C25")
    an = write_training(tmp_path / "AffectNet", rename={4: "other.jpg"})
    expected = {"linked": 2, "missing_in_affectnet": 1, "filename_mismatch": 1}
    for order in ((c25, an), (an, c25)):
        db = tmp_path / f"{order[0].name}.duckdb"
        import_path(db, order[0], "affectnet-c25" if order[0] == c25 else "affectnet")
        import_path(db, order[1], "affectnet" if order[1] == an else "affectnet-c25")
        counts = summary(db)
        assert {k: counts[k] for k in expected} == expected
        assert counts["images"] == 4 and counts["annotators"] == 25
        assert problems(db) == [
            {"c25_set": 1, "image_index": 4, "filename": "img0004.jpg",
             "problem": "filename_mismatch", "affectnet_filename": "other.jpg",
             "affectnet_line": 6},
            {"c25_set": 1, "image_index": 9, "filename": "img0009.jpg",
             "problem": "missing_in_affectnet", "affectnet_filename": None,
             "affectnet_line": None}]


def test_sample_writers_link_fully(tmp_path: Path, db_path: Path) -> None:
    an = pytest.importorskip("faceexplorer.samples.affectnet", reason="no AffectNet sample writer")
    c25 = pytest.importorskip("faceexplorer.samples.affectnet_c25", reason="no C25 sample writer")
    rng = np.random.default_rng(5)
    sample = an.write_affectnet(tmp_path, "small", rng, images=False)
    votes = c25.write_c25(tmp_path, sample, rng)
    import_path(db_path, votes.folder, "affectnet-c25")
    import_path(db_path, sample.training.csv.parent, "affectnet")
    counts = summary(db_path)
    n = sum(votes.rows.values())
    assert counts["images"] == n and counts["votes_expression"] == 25 * n
    assert (counts["linked"], counts["missing_in_affectnet"], counts["filename_mismatch"]) \
        == (n, 0, 0)


def test_without_affectnet_nothing_is_linked(tmp_path: Path, db_path: Path) -> None:
    import_path(db_path, write_c25(tmp_path / "C25", sets=(1, 2)), "affectnet-c25")
    counts = summary(db_path)
    assert counts["images"] == 8 and counts["annotators"] == 50
    assert (counts["linked"], counts["missing_in_affectnet"], counts["filename_mismatch"]) \
        == (0, 0, 0)
    assert problems(db_path) == []


def test_lf_and_crlf_agree_and_set_may_be_absent(tmp_path: Path) -> None:
    tables = []
    for newline in ("\n", "\r\n"):
        db = tmp_path / f"{len(newline)}.duckdb"
        folder = write_c25(tmp_path / f"c{len(newline)}", newline=newline, sets=(2,))
        assert affectnet_c25.detect(folder)
        import_path(db, folder, "affectnet-c25")
        tables.append(query(db, "SELECT * FROM c25_votes ORDER BY ALL"))
    assert tables[0] == tables[1] and len(tables[0]) == 3 * 4 * 25
    assert {r[0] for r in tables[0]} == {2}


def _with(task: str, line: int, column: str, value: object) -> dict:
    rows = c25_rows(task, seed=1)
    rows[line - 2][HEADER.index(column)] = value
    return {(1, task): rows}


BAD = {
    "code 8": (_with("expression", 3, "participant4", 8), "expression", 3, "C25 code 0..7"),
    "code 2.5": (_with("expression", 2, "participant0", 2.5), "expression", 2, "2.5"),
    "valence 1.25": (_with("valence", 4, "participant9", 1.25), "valence", 4, "[-1, 1]"),
    "arousal text": (_with("arousal", 5, "participant3", "high"), "arousal", 5,
                     "'high' is not a number"),
    "empty vote": (_with("valence", 2, "participant24", ""), "valence", 2, "empty cell"),
    "duplicate index": (_with("expression", 5, "index", 3), "expression", 5, "appears twice"),
    "files disagree": (_with("arousal", 4, "filename", "x.jpg"), "arousal", 4,
                       "share rows"),
    "short file": ({(1, "valence"): c25_rows("valence", seed=1)[:3]}, "valence", 5,
                   "ends before"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_cells_name_file_and_line(case: str, tmp_path: Path, db_path: Path) -> None:
    import_path(db_path, write_training(tmp_path / "AffectNet"), "affectnet")
    import_path(db_path, write_c25(tmp_path / "good"), "affectnet-c25")
    overrides, task, line, words = BAD[case]
    folder = write_c25(tmp_path / "bad", overrides=overrides)
    err = expect_failed_import(db_path, folder, "affectnet-c25")
    assert err.path.name == f"{task}_set1_C25.csv" and err.line == line, str(err)
    assert words in err.problem, str(err)


def test_bad_files(tmp_path: Path, db_path: Path) -> None:
    import_path(db_path, write_training(tmp_path / "AffectNet"), "affectnet")
    folder = write_c25(tmp_path / "bad")
    csv = folder / "valence_set1_C25.csv"
    good = csv.read_bytes()

    csv.write_bytes(good.replace(b"participant7", b"participant_7", 1))
    err = expect_failed_import(db_path, folder, "affectnet-c25")
    assert err.path == csv and err.line == 1 and "participant7" in err.problem

    csv.write_bytes(good[: len(good.rstrip()) - 7])
    err = expect_failed_import(db_path, folder, "affectnet-c25")
    assert err.path == csv and err.line == 5 and "truncated" in err.problem, str(err)

    csv.write_bytes(bytes(range(256)) * 4)
    assert "binary" in expect_failed_import(db_path, folder, "affectnet-c25").problem

    csv.write_bytes(b"")
    assert "empty" in expect_failed_import(db_path, folder, "affectnet-c25").problem

    csv.unlink()
    err = expect_failed_import(db_path, folder, "affectnet-c25")
    assert err.path == csv and "missing" in err.problem

    assert query(db_path, "SELECT count(*) FROM affectnet_images") == [(8,)]


# --- randomised broken files ----------------------------------------------------------

@pytest.fixture(scope="module")
def base_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base")
    db = root / "index.duckdb"
    import_path(db, write_training(root / "AffectNet"), "affectnet")
    import_path(db, write_c25(root / "C25"), "affectnet-c25")
    return db


_edit = st.tuples(st.sampled_from(["delete", "insert", "truncate", "swap"]),
                  st.integers(0, 20_000), st.binary(min_size=1, max_size=3))


def _damage(data: bytes, edits) -> bytes:
    for kind, pos, chunk in edits:
        pos %= len(data) + 1
        if kind == "delete":
            data = data[:pos] + data[pos + len(chunk):]
        elif kind == "insert":
            data = data[:pos] + chunk + data[pos:]
        elif kind == "truncate":
            data = data[:pos]
        else:  # swap two neighbouring fields of one line
            lines = data.split(b"\r\n")
            k = pos % len(lines)
            fields = lines[k].split(b",")
            if len(fields) > 1:
                j = chunk[0] % (len(fields) - 1)
                fields[j], fields[j + 1] = fields[j + 1], fields[j]
            lines[k] = b",".join(fields)
            data = b"\r\n".join(lines)
    return data


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=st.sampled_from(TASKS), edits=st.lists(_edit, min_size=1, max_size=3))
def test_random_damage_is_a_format_error_or_fine(task, edits, base_index: Path,
                                                 tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("fuzz")
    db = work / "index.duckdb"
    shutil.copy(base_index, db)
    folder = write_c25(work / "C25")
    csv = folder / f"{task}_set1_C25.csv"
    csv.write_bytes(_damage(csv.read_bytes(), edits))
    before = index_snapshot(db)
    try:
        import_path(db, folder, "affectnet-c25")
    except DatasetFormatError:
        assert index_snapshot(db) == before
    else:
        counts = summary(db)
        assert counts["images"] == 4 and counts["votes_expression"] == 100
