"""Test-wide setup: no display, and never the user's real data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# CI draws the same examples on every run, so a red CI run always means a change broke
# something; on a developer's machine each run draws new ones (a sweep over many seeds:
# ``pytest --hypothesis-seed=N``) and a failing example is kept in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout (CI's layout), else the workplace's copy."""
    for candidate in (REPO.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _private_data_folder(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the user's data folder and default index at a temporary folder."""
    home = tmp_path_factory.mktemp("fe-home")
    monkeypatch.setenv("FACEEXPLORER_HOME", str(home))
    monkeypatch.delenv("FACEEXPLORER_DB", raising=False)
