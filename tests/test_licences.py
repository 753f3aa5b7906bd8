"""The bundled libraries' licence texts: found installed, bundled for the frozen app."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from faceexplorer import licences
from faceexplorer.licences import BUNDLED_LIBRARIES, FROZEN_FOLDER, licence_files, texts_to_bundle


def test_every_library_but_pyside_installs_its_text() -> None:
    for lib in BUNDLED_LIBRARIES:
        version, files = licence_files(lib.distribution)
        assert version, lib
        if lib.distribution != "PySide6_Essentials":     # its wheels carry none
            assert files and files[0].is_file() and files[0].stat().st_size > 500, lib


def test_the_frozen_app_bundles_one_folder_per_library() -> None:
    bundle = texts_to_bundle()
    folders = {dest for _, dest in bundle}
    wanted = {f"{FROZEN_FOLDER}/{lib.distribution}" for lib in BUNDLED_LIBRARIES
              if lib.distribution != "PySide6_Essentials"}
    assert wanted <= folders
    assert all(Path(src).is_file() for src, _ in bundle)
    if Path("/usr/share/common-licenses/LGPL-3").is_file():      # Debian build machines
        assert f"{FROZEN_FOLDER}/PySide6_Essentials" in folders


def test_a_frozen_app_reads_its_bundled_texts(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / FROZEN_FOLDER / "duckdb"
    folder.mkdir(parents=True)
    (folder / "LICENSE").write_text("MIT License ...")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert licences.frozen_root() == tmp_path
    assert licence_files("duckdb")[1] == [folder / "LICENSE"]
    assert licence_files("numpy")[1] == []                   # not bundled: none claimed
