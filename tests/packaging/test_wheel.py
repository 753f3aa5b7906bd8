"""The top-level ``resources/`` folder ships inside the wheel and is found from it.

``setup.py`` maps ``resources/`` to ``faceexplorer/resources`` in the wheel; the frozen app
bundles it at the same place (packaging/pyinstaller.spec) and an editable install reads
it in the source tree. :func:`faceexplorer.paths.resource_dir` finds it in each case. The
wheel is built from this checkout without build isolation (no download) and installed
with ``--target`` into a temporary folder, then asked from a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from faceexplorer.inference.cards import shipped_cards
from faceexplorer.paths import resource_dir

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.relative_to(REPO / "resources").as_posix()
                 for p in (REPO / "resources").rglob("*") if p.is_file())


def test_the_source_tree_resources_are_found() -> None:
    # The editable install (and a checkout on PYTHONPATH) reads resources/ in place.
    assert resource_dir() == REPO / "resources"
    assert {c.source for c in shipped_cards()} == {
        f"resources/{p}" for p in SHIPPED if p.startswith("model_cards/") and p.endswith(".json")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out), str(REPO)], check=True, timeout=600)
    [built] = out.glob("faceexplorer-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_every_resource(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert SHIPPED and {f"faceexplorer/resources/{p}" for p in SHIPPED} <= names
    assert not [n for n in names if n.startswith("resources/")]
    assert "faceexplorer/reports/crowd_report.py" in names   # every package, not only data


@pytest.mark.slow
def test_an_installed_wheel_finds_its_resources(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                    "--target", str(target), str(wheel)], check=True, timeout=600)
    probe = ("import json; from faceexplorer.paths import resource_dir; "
             "from faceexplorer.inference.cards import shipped_cards; "
             "print(json.dumps([str(resource_dir()), len(shipped_cards())]))")
    # cwd and PYTHONPATH keep the checkout off the path: the installed copy answers.
    got = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True,
                         capture_output=True, text=True, env={"PYTHONPATH": str(target)},
                         timeout=120)
    where, cards = json.loads(got.stdout)
    assert Path(where) == target / "faceexplorer" / "resources"
    assert cards == sum(p.startswith("model_cards/") and p.endswith(".json") for p in SHIPPED)
