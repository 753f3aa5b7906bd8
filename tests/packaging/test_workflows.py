"""The GitHub Actions workflow for the Windows and macOS installers is valid and complete.

It cannot run here (no Windows or macOS): this checks it parses as YAML, builds with
packaging/build.sh, wraps the app (Inno Setup installer, .dmg) and runs the installed
app's selftest on each platform, and that the Inno Setup script it uses exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow")

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "installers.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_workflow_is_valid_yaml_with_both_platforms() -> None:
    flow = _workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "workflow_dispatch" in triggers
    jobs = flow["jobs"]
    assert jobs["windows"]["runs-on"].startswith("windows")
    assert jobs["macos"]["runs-on"].startswith("macos")
    for job in jobs.values():
        assert all("uses" in step or "run" in step for step in job["steps"])


@pytest.mark.parametrize("job, wrapper", [("windows", "ISCC.exe"), ("macos", "hdiutil create")])
def test_each_job_builds_wraps_and_selftests(job: str, wrapper: str) -> None:
    runs = "\n".join(step.get("run", "") for step in _workflow()["jobs"][job]["steps"])
    assert "bash packaging/build.sh" in runs
    assert "packaging/smoke.py --quick" in runs
    assert wrapper in runs
    assert "--selftest" in runs


def test_inno_setup_script_names_the_artefact() -> None:
    iss = (REPO / "packaging" / "windows" / "faceexplorer.iss").read_text()
    assert "OutputBaseFilename=FaceExplorer-{#AppVersion}-windows-x86_64" in iss
    assert (REPO / "packaging" / "icons" / "faceexplorer.ico").is_file()
