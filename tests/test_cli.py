"""The command line as a user runs it: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faceexplorer.cli import main
from tests.conftest import shared_data_dir

C25 = shared_data_dir() / "affectnetc25"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    return subprocess.run([sys.executable, "-m", "faceexplorer", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("sample", "index", "demo", "gui"):
        assert command in result.stdout


def test_sample_options_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Every option of ``sample`` says what it does (issue 14: --scale, --seed had none)."""
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--scale {small,full} small: the demo's size" in out
    assert "full: the real datasets' sizes" in out
    assert "--seed SEED random seed: the same seed writes the same files" in out


def test_info_without_index_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("index", "info", "--db", str(tmp_path / "none.duckdb"))
    assert result.returncode == 1
    assert "no index here yet" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_kind_lists_known_kinds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "i.duckdb")
    assert main(["index", "add", "nonsense", str(tmp_path), "--db", db]) == 1
    err = capsys.readouterr().err
    assert "unknown dataset kind 'nonsense'" in err and "affectnet-c25" in err


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "add", "hrm", str(tmp_path / "nope"), "--db",
                 str(tmp_path / "i.duckdb")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_unrecognised_folder_asks_for_kind(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("hello")
    assert main(["index", "add", str(tmp_path / "data"), "--db", str(tmp_path / "i.duckdb")]) == 1
    assert "not recognised as any dataset" in capsys.readouterr().err


@pytest.mark.skipif(not C25.is_dir(), reason=f"real AffectNetC25 files not found at {C25}")
def test_add_real_c25_then_info_json(tmp_path: Path) -> None:
    db = str(tmp_path / "index.duckdb")
    added = run_cli("index", "add", str(C25), "--db", db)  # kind detected
    assert added.returncode == 0, added.stderr
    info = run_cli("index", "info", "--db", db, "--json")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    (c25,) = data["datasets"]
    assert c25["dataset"] == "affectnet-c25"
    assert c25["counts"]["images"] == 1600
    text = run_cli("index", "info", "--db", db)
    assert "AffectNetC25" in text.stdout


def test_bad_file_names_file_and_line_and_keeps_index(tmp_path: Path) -> None:
    if not C25.is_dir():
        pytest.skip(f"real AffectNetC25 files not found at {C25}")
    db = str(tmp_path / "index.duckdb")
    assert run_cli("index", "add", "affectnet-c25", str(C25), "--db", db).returncode == 0
    before = run_cli("index", "info", "--db", db, "--json").stdout
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in C25.glob("*.csv"):
        (broken / f.name).write_bytes(f.read_bytes())
    target = broken / "expression_set1_C25.csv"
    lines = target.read_bytes().split(b"\r\n")
    lines[5] = lines[5].replace(b",", b",9", 3)  # codes outside 0..7 on data row 4 (line 6)
    target.write_bytes(b"\r\n".join(lines))
    result = run_cli("index", "add", "affectnet-c25", str(broken), "--db", db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "expression_set1_C25.csv, line 6" in result.stderr
    after = run_cli("index", "info", "--db", db, "--json").stdout
    assert json.loads(after)["datasets"][0]["counts"] == json.loads(before)["datasets"][0]["counts"]


@pytest.mark.skipif(not C25.is_dir(), reason=f"real AffectNetC25 files not found at {C25}")
def test_stats_crowd_prints_real_set_figures(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "index.duckdb")
    assert main(["index", "add", "affectnet-c25", str(C25), "--db", db]) == 0
    capsys.readouterr()
    assert main(["stats", "crowd", "--set", "2", "--json", "--db", db]) == 0
    report = json.loads(capsys.readouterr().out)
    # Fleiss' kappa of set 2's expression votes, checked against statsmodels in
    # tests/stats; here: the CLI prints the same figure the library computes.
    import pandas as pd
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
    raw = pd.read_csv(C25 / "expression_set2_C25.csv").iloc[:, 2:].to_numpy()
    expected = fleiss_kappa(aggregate_raters(raw)[0])
    assert report["sets"]["2"]["expression"]["fleiss_kappa"] == pytest.approx(expected, abs=1e-9)
    assert main(["stats", "crowd", "--db", db]) == 0
    text = capsys.readouterr().out
    assert "Fleiss" in text


def test_stats_without_data_is_a_clear_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from faceexplorer.index.store import connect
    db = tmp_path / "index.duckdb"
    connect(db).close()
    assert main(["stats", "crowd", "--db", str(db)]) == 1
    assert "no AffectNetC25 votes" in capsys.readouterr().err
    assert main(["stats", "hrm", "--db", str(db)]) == 1
    assert "no Hugging Rain Man labels" in capsys.readouterr().err
    assert main(["stats", "faces", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "FACES" in err and "Traceback" not in err


def test_stats_hrm_on_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from faceexplorer.samples.generate import write_samples
    out = write_samples(tmp_path / "s", "small", seed=1, images=False, only=["hrm"])
    db = str(tmp_path / "index.duckdb")
    assert main(["index", "add", "hrm", str(out.path("hrm")), "--db", db]) == 0
    capsys.readouterr()
    assert main(["stats", "hrm", "--json", "--db", db]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"]["children"] == 6
    assert main(["stats", "hrm", "--child", "S999", "--db", db]) == 1
    assert "no HRM child 'S999'" in capsys.readouterr().err



def test_readme_stats_example_runs_on_the_demo(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The README's ``stats hrm --child`` example names a child the demo has (issue 14)."""
    import re

    from faceexplorer.samples.generate import write_samples
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    child = re.search(r"stats hrm \[--child (\w+)\]", readme).group(1)  # type: ignore[union-attr]
    out = write_samples(tmp_path / "s", "small", seed=0, images=False, only=["hrm"])
    db = str(tmp_path / "index.duckdb")
    assert main(["index", "add", "hrm", str(out.path("hrm")), "--db", db]) == 0
    capsys.readouterr()
    assert main(["stats", "hrm", "--child", child, "--db", db]) == 0, capsys.readouterr().err
    assert main(["stats", "hrm", "--child", "S1", "--db", db]) == 0
    assert "S1" in capsys.readouterr().out
