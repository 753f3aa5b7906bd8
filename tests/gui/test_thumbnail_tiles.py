"""Tiles decoded at a reduced JPEG scale show the same face as a full decode."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceexplorer.gui.thumbnails import decode_scale, face_tile
from faceexplorer.media.images import MissingImage, face_thumbnail


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A smooth 1,000 x 800 JPEG (gradients and a disc: comparable after rescaling)."""
    h, w = 800, 1000
    y, x = np.mgrid[0:h, 0:w]
    img = np.dstack([(x * 255 // w), (y * 255 // h), ((x + y) * 255 // (w + h))]).astype(np.uint8)
    cv2.circle(img, (500, 400), 150, (40, 200, 90), -1, cv2.LINE_AA)
    path = tmp_path_factory.mktemp("tiles") / "photo.jpg"
    path.write_bytes(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes())
    return path


@pytest.mark.parametrize("box", [(350, 250, 300, 300), (100, 100, 90, 110), (0, 0, 1000, 800),
                                 (900, 700, 200, 200)])
def test_a_tile_matches_the_full_decode(photo: Path, box: tuple[int, int, int, int]) -> None:
    full = face_thumbnail(photo, box, 128)
    tile = face_tile(photo, box, 128)
    assert isinstance(full, np.ndarray) and isinstance(tile, np.ndarray)
    assert max(tile.shape[:2]) == 128 and abs(tile.shape[0] - full.shape[0]) <= 1
    assert abs(tile.shape[1] - full.shape[1]) <= 1
    h, w = min(tile.shape[0], full.shape[0]), min(tile.shape[1], full.shape[1])
    diff = np.abs(tile[:h, :w].astype(int) - full[:h, :w].astype(int))
    assert diff.mean() < 4


def test_the_scale_keeps_the_tile_sharp() -> None:
    assert decode_scale(None, 128) == 1
    assert decode_scale((0, 0, 80, 80), 128) == 1        # crop 120 px: full decode
    assert decode_scale((0, 0, 200, 100), 128) == 2      # crop 300 px
    assert decode_scale((0, 0, 400, 400), 128) == 4      # crop 600 px
    assert decode_scale((0, 0, 900, 900), 128) == 8


def test_missing_and_unreadable_files_say_why(tmp_path: Path) -> None:
    gone = face_tile(tmp_path / "gone.jpg", (0, 0, 10, 10))
    assert isinstance(gone, MissingImage) and gone.reason == "missing"
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg")
    bad = face_tile(junk, (0, 0, 400, 400))
    assert isinstance(bad, MissingImage) and bad.reason.startswith("unreadable")
    assert isinstance(face_tile(None, None), MissingImage)


def test_two_drains_deliver_every_thumbnail_once(qtbot, photo: Path) -> None:
    """Up to two drain jobs decode at once; every request is answered exactly once, the loader
    is idle afterwards and a second page's request is served from the cache."""
    from faceexplorer.gui.thumbnails import ThumbnailLoader

    loader = ThumbnailLoader(96, workers=2)
    seen: list[object] = []
    loader.ready.connect(lambda key, thumb: seen.append(key))
    running, most = [0], [0]
    real = loader._drain

    def drain() -> None:
        running[0] += 1
        most[0] = max(most[0], running[0])
        try:
            real()
        finally:
            running[0] -= 1

    loader._drain = drain  # type: ignore[method-assign]
    box = (350, 250, 300, 300)
    keys = [f"k{i}" for i in range(40)]
    for key in keys:
        assert loader.request(key, str(photo), box) is None
    qtbot.waitUntil(lambda: len(seen) == len(keys) and loader.idle(), timeout=10000)
    assert sorted(seen) == sorted(keys)                   # each answered once
    assert 1 <= most[0] <= 2                              # never more drains than workers
    assert loader.request("k3", str(photo), box) is not None       # cached
    loader.stop()
    assert loader.idle()


def test_a_pause_holds_every_decoder_until_resumed_or_lapsed(qtbot, photo: Path,
                                                             monkeypatch) -> None:
    """While a click is answered no thumbnail decodes (both cores are the detail panel's)
    and no drain holds a pool thread; resume, or the pause's end, lets both go again."""
    import threading
    import time

    from faceexplorer.gui import thumbnails
    from faceexplorer.gui.thumbnails import ReadyBatches, ThumbnailLoader

    lock, running, most = threading.Lock(), [0], [0]
    real = thumbnails.face_tile

    def slow_tile(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(thumbnails, "face_tile", slow_tile)
    loader = ThumbnailLoader(96, workers=2)
    batches = ReadyBatches(loader, 10)
    seen: list[object] = []
    shown: list[dict] = []
    loader.ready.connect(lambda key, thumb: seen.append(key))
    batches.batch.connect(shown.append)
    box = (350, 250, 300, 300)
    loader.request("first", str(photo), box)
    qtbot.waitUntil(lambda: len(seen) == 1 and loader.idle(), timeout=10000)
    loader.pause(30.0)
    for i in range(30):
        loader.request(f"p{i}", str(photo), box)
    qtbot.wait(150)
    assert len(seen) == 1 and loader.pending() == 30    # paused: nothing decodes
    assert not loader._drains                           # and no pool thread is held
    assert not shown                                    # the grid waits for the click
    loader.resume()
    qtbot.waitUntil(lambda: len(seen) == 31 and loader.idle(), timeout=10000)
    assert most[0] == 2                                 # both decoders again
    qtbot.waitUntil(lambda: sum(len(b) for b in shown) == 31, timeout=5000)
    loader.pause(0.02)                                  # a pause nobody ends lapses
    for i in range(30):
        loader.request(f"q{i}", str(photo), box)
    qtbot.waitUntil(lambda: len(seen) == 61 and loader.idle(), timeout=10000)
    loader.stop()
