"""``faceexplorer models check`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceexplorer.cli import main


def test_check_prints_card_input_and_timing(models: dict[str, Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", str(models["va"]), "--json", "--runs", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    text = json.dumps(result)
    assert "enet_b0_8_va_mtl" in text
    assert "224" in text  # the input it expects
    assert main(["models", "check", str(models["va"]), "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "ms" in out


@pytest.mark.parametrize("name", ["broken", "truncated", "wrong_size"])
def test_bad_models_are_one_line_errors(name: str, models: dict[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "check", str(models[name]), "--runs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("faceexplorer: error: ") and "Traceback" not in err
    assert models[name].name in err
