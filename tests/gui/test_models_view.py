"""The Models view driven as a user would: type a model, pick a dataset, Run, Cancel.

A tiny ONNX named like a public release (``enet_b0_8_va_mtl.onnx``, so its shipped card
applies) runs over a small AffectNet + AffectNetC25 sample (images for the first rows
only) imported into a temporary index. The accuracies the report SHOWS are compared
with pandas computations on the stored predictions and the crowd's votes (majority with
the authors' tie rule: the smallest C25 code wins). The view runs on a real index session
over a copy of the index: the run is a write of the session, which turns the connection
read-write for it and back to read-only after.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import Qt

from faceexplorer.core.vocab import C25_CODES, EXPRESSIONS
from faceexplorer.datasets.registry import import_path
from faceexplorer.gui.models import ModelsView
from faceexplorer.index.store import connect
from faceexplorer.inference import batch as batch_module
from faceexplorer.samples.affectnet import write_affectnet
from faceexplorer.samples.affectnet_c25 import write_c25
from tests.inference.conftest import build_model

IMAGE_ROWS = 20


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    rng = np.random.default_rng(11)
    sample = write_affectnet(root, "small", rng, images=True, image_rows=IMAGE_ROWS)
    write_c25(root, sample, rng)
    db = tmp_path_factory.mktemp("db") / "index.duckdb"
    import_path(db, root / "AffectNet", "affectnet")
    import_path(db, root / "AffectNetC25", "affectnet-c25")
    return db


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model(tmp_path_factory.mktemp("models") / "enet_b0_8_va_mtl.onnx",
                       widths=(10,))


@pytest.fixture
def view(qtbot, sample_index: Path, tmp_path: Path, sessions):
    """A shown ModelsView on a fresh copy of the sample index."""
    db = tmp_path / "index.duckdb"
    db.write_bytes(sample_index.read_bytes())
    v = ModelsView()
    qtbot.addWidget(v)
    v.resize(1400, 900)
    session = sessions(db)
    v.modes = []  # type: ignore[attr-defined]
    session.state_changed.connect(lambda state: v.modes.append(state.value))
    v.attach(session)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.stop_and_wait()


def _run(qtbot, v: ModelsView, model: Path, dataset: str, limit: int) -> object:
    qtbot.keyClicks(v.model_edit, str(model))
    v.dataset_box.setCurrentText(dataset)
    v.limit_spin.setValue(limit)
    with qtbot.waitSignal(v.run_finished, timeout=60_000) as got:
        qtbot.mouseClick(v.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not v.running, timeout=10_000)
    return got.args[0]


def _accuracies(db_con: duckdb.DuckDBPyConnection, run_id: str
                ) -> tuple[float, float, np.ndarray]:
    """Accuracy vs the AffectNet label and vs the crowd majority, and the crowd confusion
    (majority rows, prediction columns), with pandas."""
    pred = db_con.execute("SELECT split, row_index, predicted FROM predictions "
                          "WHERE run_id = ? AND valid AND predicted IS NOT NULL",
                          [run_id]).df()
    labels = db_con.execute("SELECT split, row_index, expression FROM affectnet_images").df()
    vs_label = pred.merge(labels, on=["split", "row_index"])
    vs_label = vs_label[vs_label["expression"].isin(EXPRESSIONS)]
    votes = db_con.execute("SELECT image_index, expression FROM c25_votes "
                           "WHERE task = 'expression' AND expression IS NOT NULL").df()
    counts = votes.groupby(["image_index", "expression"]).size().rename("n").reset_index()
    counts["c25_code"] = counts["expression"].map({e: k for k, e in C25_CODES.items()})
    majority = (counts.sort_values(["image_index", "n", "c25_code"],
                                   ascending=[True, False, True])
                .drop_duplicates("image_index")[["image_index", "expression"]])
    train = pred[pred["split"] == "train"]
    vs_crowd = train.merge(majority, left_on="row_index", right_on="image_index")
    crowd_confusion = pd.crosstab(vs_crowd["expression"], vs_crowd["predicted"]).reindex(
        index=EXPRESSIONS, columns=EXPRESSIONS, fill_value=0)
    return (float((vs_label["predicted"] == vs_label["expression"]).mean()),
            float((vs_crowd["predicted"] == vs_crowd["expression"]).mean()),
            crowd_confusion.to_numpy())


def test_run_lists_and_reports(qtbot, view: ModelsView, model: Path, shoot) -> None:
    assert [view.dataset_box.itemText(i) for i in range(view.dataset_box.count())] == [
        "affectnet", "affectnet-c25"]
    with qtbot.waitSignal(view.report_shown, timeout=30_000):
        result = _run(qtbot, view, model, "affectnet-c25", 30)
    assert result.status == "finished" and result.items_written == 30
    # the session turned writable for the run only, and back to read-only after it
    assert view.modes == ["writable", "read-only"] and not view.session.writing
    assert view.status.text().startswith("Finished: 30 items written")
    assert view.progress.value() == view.progress.maximum() == 30
    # The runs table shows the run as stored.
    assert view.runs_table.rowCount() == 1
    cells = [view.runs_table.item(0, c).text() for c in range(view.runs_table.columnCount())]
    assert cells[2:5] == ["affectnet-c25", "finished", "30"]
    con = view.con
    sha, missing = con.execute("SELECT model_sha256, items_missing FROM model_runs").fetchone()
    assert cells[1] == sha[:12] and cells[6] == f"{missing:,}"
    stored = con.execute("SELECT count(*), count(*) FILTER (WHERE valid) FROM predictions "
                         "WHERE run_id = ?", [result.run_id]).fetchone()
    assert stored[0] == 30 and stored[1] > 0
    # The report shows what pandas computes from the predictions and the votes.
    acc_label, acc_crowd, crowd_confusion = _accuracies(con, result.run_id)
    assert crowd_confusion.sum() > 0
    assert view.report.measure("accuracy", "AffectNet label") == f"{acc_label:.3f}"
    assert view.report.measure("accuracy", "crowd majority") == f"{acc_crowd:.3f}"
    assert view.report.crowd_card.showing_plot and view.report.label_card.showing_plot
    shown = np.array(view.report.crowd_card.cell_texts(), dtype=int)
    np.testing.assert_array_equal(shown, crowd_confusion)
    assert view.report.measure("CCC valence", "AffectNet V/A") not in (None, "")
    assert view.report.measure("JS divergence (bits), mean", "crowd vote shares") is not None
    assert view.message.text() == ""
    assert "press Run" not in view.status.text()
    shoot(view, "models_view_report")
    view.report.tabs.setCurrentIndex(1)
    shoot(view, "models_view_crowd")


def test_cancel_keeps_rows_and_resume_continues(qtbot, view: ModelsView, model: Path,
                                                monkeypatch) -> None:
    monkeypatch.setattr(view.session.tasks, "progress_interval", 0.0)  # every item reports
    at, gate = 300, threading.Event()
    real_run_batch = batch_module.run_batch

    def held_run_batch(*args, progress, **kwargs):
        def hold(done: int, total: int, rate: float) -> None:  # on the worker thread
            progress(done, total, rate)
            if done == at:
                gate.wait(20)
        return real_run_batch(*args, progress=hold, **kwargs)

    monkeypatch.setattr(batch_module, "run_batch", held_run_batch)
    qtbot.keyClicks(view.model_edit, str(model))
    view.dataset_box.setCurrentText("affectnet")
    with qtbot.waitSignal(view.run_finished, timeout=60_000) as got:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: view.progress.value() >= at, timeout=30_000)
        assert view.cancel_button.isEnabled() and not view.run_button.isEnabled()
        qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
        gate.set()
    qtbot.waitUntil(lambda: not view.running, timeout=10_000)
    result = got.args[0]
    assert result.status == "stopped" and result.items_written == at
    assert "press Run again" in view.status.text()
    con = view.con
    assert con.execute("SELECT count(*) FROM predictions").fetchone()[0] == at
    assert view.runs_table.item(0, 3).text() == "stopped"
    assert view.runs_table.item(0, 4).text() == f"{at:,}"
    # Run again with a limit: the same run continues, nothing is duplicated.
    view.limit_spin.setValue(at + 50)
    with qtbot.waitSignal(view.run_finished, timeout=60_000) as again:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.running, timeout=10_000)
    assert again.args[0].items_before == at and again.args[0].items_written == 50
    con = view.con
    assert con.execute("SELECT count(*), count(DISTINCT item) FROM predictions"
                       ).fetchone() == (at + 50, at + 50)
    assert view.runs_table.rowCount() == 1


def test_broken_model_and_missing_inputs_show_messages(qtbot, view: ModelsView,
                                                       tmp_path: Path, shoot) -> None:
    qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    assert "Choose a model file" in view.message.text()
    broken = tmp_path / "enet_b0_8_best_afew.onnx"
    broken.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    qtbot.keyClicks(view.model_edit, str(broken))
    with qtbot.waitSignal(view.run_failed, timeout=30_000):
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.running, timeout=10_000)
    assert "cannot load this file" in view.message.text()
    assert str(broken) in view.message.text()
    assert view.run_button.isEnabled() and view.con is not None
    assert view.runs_table.rowCount() == 0
    shoot(view, "models_view_broken_model")
    # A model without a card: refused with the card message, not a traceback.
    nocard = build_model(tmp_path / "mystery_model.onnx")
    view.model_edit.setText(str(nocard))
    with qtbot.waitSignal(view.run_failed, timeout=30_000) as got:
        qtbot.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.running, timeout=10_000)
    assert "card" in got.args[0].lower() and "Traceback" not in view.message.text()


def test_empty_index_says_what_to_import(qtbot, tmp_path: Path, sessions) -> None:
    db = tmp_path / "empty.duckdb"
    connect(db).close()
    v = ModelsView()
    qtbot.addWidget(v)
    v.attach(sessions(db))
    assert v.dataset_box.count() == 0
    v.model_edit.setText("/nowhere/enet_b0_8_va_mtl.onnx")
    qtbot.mouseClick(v.run_button, Qt.MouseButton.LeftButton)
    assert "No dataset a model can run on" in v.message.text()
    assert v.runs_table.rowCount() == 0 and not v.running


def test_report_numbers_match_headless_report(qtbot, view: ModelsView, model: Path) -> None:
    """Every measure row is the headless report's number, three decimals."""
    from faceexplorer.reports.model_report import model_report

    with qtbot.waitSignal(view.report_shown, timeout=30_000):
        result = _run(qtbot, view, model, "affectnet-c25", 30)
    report = model_report(view.con, result.run_id)
    e = report["expression"]
    expected = {("macro F1", "AffectNet label"): e["vs_affectnet_label"]["macro_f1"],
                ("soft log loss, mean", "crowd vote shares"):
                    e["vs_crowd_votes"]["soft_log_loss_mean"],
                ("CCC arousal", "crowd median V/A"): e["ccc_vs_crowd_median"]["arousal"]}
    for (name, against), value in expected.items():
        text = view.report.measure(name, against)
        assert text == ("n/a" if value is None else f"{value:.3f}"), (name, against)
