"""The detail panel driven as a user would, checked against the raw files.

What the widgets SHOW (bar heights, marked bars, VA points and marker sizes, statistics
text, the votes table, the face overlays) is compared with references computed here
from the CSVs with pandas (vote counts, ``mode`` for the majority, V/A means) and scipy
(entropy). Screenshots go to /tmp/shots.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.spatial.distance
import scipy.stats
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from faceexplorer.core.vocab import C25_CODES, EXPRESSIONS
from faceexplorer.gui.detail import DetailPanel, plotting
from faceexplorer.gui.detail.crowd_stats import TIE_RULE
from faceexplorer.gui.detail.plotting import save_png
from faceexplorer.gui.detail.va_plane import marker_size
from faceexplorer.index.store import connect
from tests.reports.test_image_detail import IMAGE_ROWS, REAL_C25, raw_c25, sample_indexes


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return sample_indexes(tmp_path_factory)


@pytest.fixture
def panel(qtbot, sessions):
    """``panel(index_path)``: a shown DetailPanel on that index, closed after the test."""
    made = []

    def make(db: Path | None) -> DetailPanel:
        p = DetailPanel()
        qtbot.addWidget(p)
        p.resize(1400, 820)
        con = connect(db, read_only=True) if db is not None else None
        p.attach(sessions(con))
        p.show()
        qtbot.waitExposed(p)
        made.append((p, con))
        return p

    yield make
    for p, con in made:
        p.attach(None)
        if con is not None:
            con.close()


def show(qtbot, p: DetailPanel, split: str, row: int):
    with qtbot.waitSignal(p.shown, timeout=20_000):
        p.show_image(split, row)
    return p.current


def sample_votes(indexes, c25_set: int, image_index: int) -> dict:
    folder = indexes["root"] / "AffectNetC25"
    return {t: raw_c25(folder, t, c25_set).loc[image_index].drop("filename")
            for t in ("expression", "valence", "arousal")}


def first_c25_image(indexes, with_file: bool) -> tuple[int, int]:
    """(set, image_index) of a sample C25 image with (or without) a drawn image file."""
    for c25_set in (1, 2):
        expr = raw_c25(indexes["root"] / "AffectNetC25", "expression", c25_set)
        for image_index in expr.index:
            if (image_index < IMAGE_ROWS) == with_file:
                return c25_set, int(image_index)
    raise AssertionError("no such sample C25 image")


def test_c25_image_shows_votes_as_counted_from_the_csv(qtbot, panel, indexes, shoot) -> None:
    c25_set, image_index = first_c25_image(indexes, with_file=True)
    p = panel(indexes["sample"])
    d = show(qtbot, p, "train", image_index)
    raw = sample_votes(indexes, c25_set, image_index)
    labels = raw["expression"].astype(int).map(C25_CODES)
    training = pd.read_csv(indexes["root"] / "AffectNet" / "Manually_Annotated"
                           / "training.csv").iloc[image_index]

    # Histogram: bar heights, majority (pandas mode on the raw C25 codes), AffectNet label.
    expected = tuple(int((labels == e).sum()) for e in EXPRESSIONS)
    assert p.histogram.heights == expected
    # horizontal bars as drawn: their pixel lengths on the votes axis are the counts
    scale = p.histogram.frame().scale_x()
    assert [r.width() / scale for r in p.histogram.bar_rects()] == pytest.approx(expected)
    majority = C25_CODES[int(raw["expression"].astype(int).mode().iloc[0])]
    assert p.histogram.majority_index == EXPRESSIONS.index(majority)
    code = int(training["expression"])
    assert p.histogram.affectnet_index == (code if code < 8 else None)
    assert list(p.histogram.count_texts) == [str(n) if n else "" for n in expected]

    # VA plane: one point per distinct (valence, arousal) vote, sized and labelled by count.
    pairs = Counter(zip(raw["valence"].astype(float), raw["arousal"].astype(float),
                        strict=True))
    assert {(v, a): n for v, a, n in p.va.points} == dict(pairs)
    counts = np.array([n for _, _, n in p.va.points])
    np.testing.assert_allclose(p.va.sizes, marker_size(counts))
    assert p.va.count_texts == [str(n) if n > 1 else "" for n in counts]
    assert p.va.mean_point == pytest.approx((raw["valence"].astype(float).mean(),
                                            raw["arousal"].astype(float).mean()))
    assert p.va.affectnet_point == pytest.approx((training["valence"], training["arousal"]))

    # Statistics text, from the counts computed here.
    n = len(labels)
    top = max(expected)
    assert p.stats.text("plurality") == f"{top / n:.0%}"
    h = scipy.stats.entropy(np.array(expected) / n) / np.log(8)
    assert p.stats.text("entropy").startswith(f"{h:.3f}")
    assert p.stats.text("majority") == f"{majority} ({top} of {n} votes)"
    assert p.stats.text("agreement").startswith(f"{top} of {n} annotators")
    assert p.stats.shown("tie") == d.crowd.tie and p.stats.isVisibleTo(p)

    # Who voted what: one row per annotator, the votes of the CSV row.
    model = p.votes_model
    assert model.rowCount() == 25
    assert [model.data(model.index(r, 0)) for r in range(25)] == [
        f"set{c25_set}/participant{k}" for k in range(25)]
    assert [model.data(model.index(r, 1)) for r in range(25)] == labels.tolist()
    assert p.votes_view.model().rowCount() == 25

    # The face: image, box and landmarks from the AffectNet row; toggles and zoom.
    f = p.face
    assert f.has_image and not f.placeholder.isVisibleTo(p)
    box = tuple(int(training[c]) for c in ("face_x", "face_y", "face_width", "face_height"))
    g = f.graphics
    assert f.face_box == box and f.landmarks_visible and f.box_visible
    # where the box and the points land in widget pixels: the data mapped by the view
    k, origin = g.scale(), g.to_px(0, 0)
    assert g.box_rect_px().getRect() == pytest.approx(
        (origin.x() + box[0] * k, origin.y() + box[1] * k, box[2] * k, box[3] * k))
    lm = np.array(training["facial_landmarks"].split(";"), float).reshape(68, 2)
    assert g.landmarks_px() == pytest.approx(lm * k + [origin.x(), origin.y()])
    assert len(g.landmarks_px()) == 68
    assert p.crowd.isVisibleTo(p)
    shoot(p, "detail_c25")

    qtbot.mouseClick(f.landmarks_check, Qt.MouseButton.LeftButton)
    assert not f.landmarks_visible and not g.show_landmarks and f.box_visible
    qtbot.mouseClick(f.zoom_button, Qt.MouseButton.LeftButton)
    shown = g.visible_rect()
    (x0, x1), (y0, y1) = (shown.left(), shown.right()), (shown.top(), shown.bottom())
    assert x0 <= box[0] and x1 >= box[0] + box[2] and y0 <= box[1] and y1 >= box[1] + box[3]
    assert (x1 - x0) < 2 * box[2] + 1 or (y1 - y0) < 2 * box[3] + 1  # zoomed, not whole image
    shoot(p, "detail_c25_zoom_no_landmarks")
    qtbot.mouseClick(f.landmarks_check, Qt.MouseButton.LeftButton)
    assert f.landmarks_visible


def test_save_plot_png(qtbot, panel, indexes, tmp_path, monkeypatch) -> None:
    _, image_index = first_c25_image(indexes, with_file=True)
    p = panel(indexes["sample"])
    show(qtbot, p, "train", image_index)
    out = save_png(p.va_card.export, tmp_path / "va")
    assert out.suffix == ".png" and not QImage(str(out)).isNull()
    # The button asks for a name (dialog stubbed), then saves there.
    target = tmp_path / "hist.png"
    class Dialog:  # what the user would answer
        @staticmethod
        def getSaveFileName(*args, **kwargs):  # noqa: N802
            return str(target), "PNG image (*.png)"

    monkeypatch.setattr(plotting, "QFileDialog", Dialog)
    qtbot.mouseClick(p.histogram_card.save_button, Qt.MouseButton.LeftButton)
    img = QImage(str(target))
    assert not img.isNull() and img.width() > 200


@pytest.mark.skipif(not (REAL_C25 / "expression_set1_C25.csv").is_file(),
                    reason=f"real AffectNetC25 files not found in {REAL_C25}")
def test_real_tie_image_shows_the_tie(qtbot, panel, indexes, shoot) -> None:
    expr = raw_c25(REAL_C25, "expression", 1).drop(columns="filename")
    modes = expr.mode(axis=1)
    tie_index = int(modes.index[modes.notna().sum(axis=1) > 1][0])
    tied = {C25_CODES[int(c)] for c in modes.loc[tie_index].dropna()}
    p = panel(indexes["real_c25"])
    d = show(qtbot, p, "train", tie_index)
    assert d.crowd.tie and d.affectnet is None
    h = p.histogram
    shown_tied = {EXPRESSIONS[k] for k in h.tied_indices}
    assert shown_tied == tied
    assert EXPRESSIONS[h.majority_index] == C25_CODES[int(modes.loc[tie_index, 0])]
    for k in h.tied_indices:
        assert h.count_texts[k].endswith("tie")
    assert "tie" in p.histogram_card.title.text()
    assert p.stats.shown("tie") and p.stats.isVisibleTo(p)
    assert TIE_RULE in p.stats.text("tie")
    # No AffectNet row in this index: the face part says so, the crowd part still shows.
    assert p.face.placeholder.isVisibleTo(p)
    assert "not in the index" in p.face.placeholder.text()
    assert not p.face.graphics.isVisibleTo(p) and p.crowd.isVisibleTo(p)
    assert h.affectnet_index is None and p.va.affectnet_point is None
    shoot(p, "detail_tie")


def test_non_c25_image_hides_the_crowd(qtbot, panel, indexes, shoot) -> None:
    p = panel(indexes["sample"])
    d = show(qtbot, p, "val", 3)
    assert d.crowd is None and not p.crowd.isVisibleTo(p)
    assert p.face_card.isVisibleTo(p) and p.face.has_image
    assert "AffectNet label" in p.subtitle.text()
    shoot(p, "detail_val")
    # An index without C25 data: a C25 image shows its AffectNet part only, no failure.
    _, image_index = first_c25_image(indexes, with_file=True)
    q = panel(indexes["no_c25"])
    d = show(qtbot, q, "train", image_index)
    assert d.crowd is None and not q.crowd.isVisibleTo(q) and q.face.has_image


def test_missing_image_file_names_the_path(qtbot, panel, indexes, shoot) -> None:
    _, image_index = first_c25_image(indexes, with_file=False)
    p = panel(indexes["sample"])
    d = show(qtbot, p, "train", image_index)
    assert not d.affectnet.image_path.exists()
    f = p.face
    assert f.placeholder.isVisibleTo(p) and not f.has_image
    assert str(d.affectnet.image_path) in f.placeholder.text()
    # The rest still shows: overlays on an empty canvas, the crowd panels.
    assert f.graphics.isVisibleTo(p) and f.box_visible and f.landmarks_visible
    assert p.crowd.isVisibleTo(p) and sum(p.histogram.heights) == 25
    shoot(p, "detail_missing_image")
    # Browsing goes on: the next image shows normally.
    _, with_file = first_c25_image(indexes, with_file=True)
    show(qtbot, p, "train", with_file)
    assert f.has_image and not f.placeholder.isVisibleTo(p)


def test_unknown_image_no_index_and_newest_request_wins(qtbot, panel, indexes) -> None:
    p = panel(indexes["sample"])
    assert show(qtbot, p, "train", 9_999_999) is None
    assert "Cannot show" in p.title.text() and "9999999" in p.subtitle.text()
    # Many quick requests (a held arrow key): the last one is what ends up shown.
    rows = [r for r in range(IMAGE_ROWS) if r % 7 == 0]
    with qtbot.waitSignal(p.shown, timeout=20_000, check_params_cb=lambda d: (
            d is not None and d.row_index == rows[-1])):
        for r in rows:
            p.show_image("train", r)
    assert p.current.row_index == rows[-1]
    p.attach(None)
    assert show(qtbot, p, "train", 0) is None
    assert "No index open" in p.title.text()


def test_model_predictions_beside_the_votes(qtbot, panel, indexes, tmp_path, shoot) -> None:
    import shutil

    from faceexplorer.gui.detail.model_predictions import HEADER
    from tests.reports.test_image_detail import add_expression_run

    db = tmp_path / "runs.duckdb"
    shutil.copy(indexes["sample"], db)
    c25_set, image_index = first_c25_image(indexes, with_file=True)
    rows = [add_expression_run(db, "train", image_index, name, seed)
            for name, seed in (("tiny-expr", 3), ("other-net", 11))]
    p = panel(db)
    d = show(qtbot, p, "train", image_index)
    assert p.models_card.isVisible()
    n_votes = int(sample_votes(indexes, c25_set, image_index)["expression"].notna().sum())
    # thin bars: probability x votes, as stored
    for shown, row in zip(p.histogram.model_heights, rows, strict=True):
        assert shown == pytest.approx([row[f"p_{e}"] * n_votes for e in EXPRESSIONS])
    scale = p.histogram.frame().scale_x()
    drawn = [r.width() / scale for r in p.histogram.model_bar_rects()[0]]
    assert drawn == pytest.approx([rows[0][f"p_{e}"] * n_votes for e in EXPRESSIONS])
    # stars at the stored V/A, named in the legend
    assert [n for n, _, _ in p.va.model_points] == ["tiny-expr", "other-net"]
    f = p.va.frame()
    assert [f.px(v, a) for _, v, a in p.va.model_points] == [
        f.px(r["valence"], r["arousal"]) for r in rows]
    assert [v for _, v, _ in p.va.model_points] == pytest.approx([r["valence"] for r in rows])
    assert [a for _, _, a in p.va.model_points] == pytest.approx([r["arousal"] for r in rows])
    assert "tiny-expr" in p.va.model_legend.text() and "other-net" in p.va.model_legend.text()
    # table: label and JS divergence recomputed with scipy from the raw CSV votes
    votes = sample_votes(indexes, c25_set, image_index)["expression"].dropna().astype(int)
    counts = Counter(C25_CODES[int(v)] for v in votes)
    q = np.array([counts.get(e, 0) for e in EXPRESSIONS], dtype=float)
    assert len(p.models.rows) == 2
    for cells, row in zip(p.models.rows, rows, strict=True):
        assert dict(zip(HEADER, cells, strict=True))["predicted"] == row["predicted"]
        pv = np.array([row[f"p_{e}"] for e in EXPRESSIONS])
        js = scipy.spatial.distance.jensenshannon(pv, q, base=2) ** 2
        assert cells[2] == f"{js:.3f}"
    assert d.predictions[0].model_name == "tiny-expr"
    shoot(p, "detail_model_predictions")
    # an image no run predicted: the model parts are hidden
    other = next(i for i in range(IMAGE_ROWS) if i != image_index)
    show(qtbot, p, "train", other)
    assert not p.models_card.isVisible() and not p.histogram.model_legend.isVisible()


def test_votes_table_keeps_its_order_across_sets_and_images(qtbot) -> None:
    """Rows are updated in place: the sorted view must follow new names and new votes."""
    from faceexplorer.gui.detail.crowd_stats import VotesModel, votes_table
    from faceexplorer.reports.image_detail import Vote

    model = VotesModel()
    view = votes_table(model)
    qtbot.addWidget(view)
    proxy = view.model()

    def votes(prefix: str, valences: list[float]) -> tuple[Vote, ...]:
        return tuple(Vote(f"{prefix}/participant{k}", "happy" if k % 2 else "sad", v, None)
                     for k, v in enumerate(valences))

    def shown(col: int) -> list[str]:
        return [proxy.data(proxy.index(r, col)) for r in range(proxy.rowCount())]

    model.set_votes(votes("set1", [0.5, -0.25, 1.0] + [0.0] * 8), "happy")
    assert shown(0)[:3] == ["set1/participant0", "set1/participant1", "set1/participant2"]
    assert shown(0)[-2:] == ["set1/participant9", "set1/participant10"]  # by number
    model.set_votes(votes("set2", [0.25] * 11), "sad")   # same count, other annotators
    assert shown(0)[0] == "set2/participant0" and len(shown(0)) == 11
    assert shown(1)[0] == "sad" and model.item(0, 1).font().bold()
    view.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    model.set_votes(votes("set2", [0.5, -1.0, 0.75] + [0.0] * 8), "sad")
    assert shown(2)[0] == "−1.00" and shown(2)[-1] == "+0.75"
    model.set_votes(votes("set1", [0.0, 0.25]), None)   # fewer annotators: new rows
    assert shown(0) == ["set1/participant0", "set1/participant1"]
    assert model.item(0, 1).font().bold() is False


def test_statistics_png_holds_every_line(qtbot, panel, indexes, tmp_path) -> None:
    """Saved statistics are the whole text, also when the card is too short to show it."""
    _, image_index = first_c25_image(indexes, with_file=True)
    p = panel(indexes["sample"])
    show(qtbot, p, "train", image_index)
    p.stats.setFixedHeight(60)   # scrolls: most lines are out of view
    qtbot.wait(10)
    out = save_png(p.stats_card.export, tmp_path / "stats")
    saved = QImage(str(out))
    assert saved.height() > 3 * 60 and saved.width() == p.stats.viewport().width()
