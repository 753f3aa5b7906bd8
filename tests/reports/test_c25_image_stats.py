"""The stored per-image crowd statistics equal ``crowd_report.set_image_stats`` exactly.

``c25_image_stats`` reads each set's votes in one query and lays them into the vote
matrices itself; every column must still be what ``set_image_stats`` (pandas pivots of
``vote_matrix``) gives, to the bit.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from faceexplorer.core.vocab import EXPRESSIONS
from faceexplorer.datasets.registry import import_path
from faceexplorer.reports import c25_image_stats as cis
from faceexplorer.reports import crowd_report
from faceexplorer.samples.generate import write_samples


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("c25-image-stats")
    write_samples(root, "small", seed=3, only=["affectnet-c25"], images=False)
    db = root / "index.duckdb"
    import_path(db, root / "AffectNetC25", "affectnet-c25")
    return db


def _reference(con: duckdb.DuckDBPyConnection, c25_set: int) -> pd.DataFrame:
    s = crowd_report.set_image_stats(con, c25_set, with_dawid_skene=True)
    out = pd.DataFrame({
        "c25_set": s["c25_set"], "image_index": s["image_index"], "filename": s["filename"],
        "n_votes": s["n_votes"], "majority": s["majority_label"], "tie": s["tie"],
        "tied_labels": s["tied_labels"], "plurality_share": s["plurality_share"],
        "entropy": s["entropy"], "agreement": s["agreement"]})
    for e, col in zip(EXPRESSIONS, cis.SOFT_COLUMNS, strict=True):
        out[col] = s[f"soft_{e}"]
    for task in ("valence", "arousal"):
        for mine, theirs in (("mean", "mean"), ("sd", "std"), ("median", "median"),
                             ("iqr", "iqr"), ("agreement", "agreement")):
            out[f"{task}_{mine}"] = s[f"{task}_{theirs}"]
    out["ds_label"] = s["ds_label"]
    out["ds_confidence"] = s["ds_confidence"]
    return out


def test_matrices_equal_vote_matrix(index: Path) -> None:
    with duckdb.connect(str(index), read_only=True) as con:
        for c25_set in crowd_report.c25_sets(con):
            order, _, got, names = cis.set_vote_matrices(con, c25_set)
            votes = crowd_report.set_votes(con, c25_set)
            for task in crowd_report.TASKS:
                ref = crowd_report.vote_matrix(con, c25_set, task)
                if task != "expression":
                    ref = ref.reindex(crowd_report.vote_matrix(con, c25_set, "expression").index)
                np.testing.assert_array_equal(order, ref.index.to_numpy())
                np.testing.assert_array_equal(got[task], ref.to_numpy(dtype=float))
                assert names[task] == list(ref.columns)
                pd.testing.assert_frame_equal(votes[task], ref)


def test_table_equals_set_image_stats(index: Path) -> None:
    with duckdb.connect(str(index), read_only=True) as con:
        sets = crowd_report.c25_sets(con)
        ref = pd.concat([_reference(con, s) for s in sets], ignore_index=True)
        stored = con.execute(f"SELECT * FROM {cis.TABLE} ORDER BY c25_set, rowid").df()
    assert len(stored) == len(ref) > 0
    for column in ref.columns:
        a, b = stored[column].to_numpy(), ref[column].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            np.testing.assert_array_equal(a.astype(float), b.astype(float), err_msg=column)
        else:
            assert [None if pd.isna(x) else x for x in a] == \
                [None if pd.isna(x) else x for x in b], column
