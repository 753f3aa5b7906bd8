"""``faceexplorer analyze`` from the command line: summary, progress, errors, index."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pytest

from faceexplorer.cli import main
from faceexplorer.inference.analyze_cli import ProgressPrinter
from tests.inference.videos import blank_frame, face_video, write_video


@pytest.fixture()
def videos(tmp_path: Path) -> tuple[Path, Path]:
    return (face_video(tmp_path / "face.avi", n=10, faceless_at=(3,)),
            write_video(tmp_path / "empty.avi", [blank_frame(i) for i in range(6)]))


def test_analyze_writes_the_table_and_says_what_it_found(
        models: dict[str, Path], videos: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out, db = tmp_path / "table.parquet", tmp_path / "index.duckdb"
    code = main(["analyze", str(models["va"]), *map(str, videos), "--out", str(out),
                 "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "face.avi: face found in 9 of 10 frames" in err
    assert "empty.avi: no face found in any of the 6 frames" in err
    assert f"16 rows written to {out}" in err
    assert "stored in" in err and "as analysis" in err
    assert "16/16 frames" in err  # piped: plain progress lines, the last at the end
    assert "\r" not in err
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT rows FROM analyses").fetchone()[0] == 16
    con.close()


def test_analyze_options(models: dict[str, Path], videos: tuple[Path, Path], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.csv"
    code = main(["analyze", str(models["logits8"]), str(videos[0]), "--out", str(out),
                 "--frames", "2:9", "--stride", "3", "--no-index"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "face found in 3 of 3 frames" in err and "index" not in err
    assert out.read_text().count("\n") == 4
    assert main(["analyze", str(models["logits8"]), str(videos[0]), "--out", str(out),
                 "--time", "0.2:", "--no-index"]) == 0
    assert "face found in 5 of 5 frames" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "x.txt"], "must end in .csv or .parquet"),
    (["--out", "x.csv", "--detector", "nowhere/yunet.onnx"], "no such YuNet model file"),
])
def test_analyze_errors_are_one_line(models: dict[str, Path], videos: tuple[Path, Path],
                                     tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     args: list[str], message: str) -> None:
    code = main(["analyze", str(models["logits8"]), str(videos[0]), "--no-index", *args])
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err


def test_a_file_that_is_no_yunet_is_refused_before_any_work(
        models: dict[str, Path], videos: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.csv"
    code = main(["analyze", str(models["logits8"]), str(videos[0]), "--out", str(out),
                 "--no-index", "--detector", str(models["logits8"])])
    err = capsys.readouterr().err
    assert code == 1 and "YuNet" in err and "Traceback" not in err
    assert not out.exists()


def test_bad_ranges_are_refused(models: dict[str, Path], videos: tuple[Path, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["analyze", str(models["logits8"]), str(videos[0]), "--out", "x.csv",
              "--frames", "9:2"])
    assert "0 <= START <= STOP" in capsys.readouterr().err


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from faceexplorer.inference import analyze_cli

    stream = io.StringIO()
    bar = ProgressPrinter(stream, tty=True, every_s=0)
    bar(1, 10, Path("clip.mp4"), 0.5)      # the first rate holds the model's loading
    monkeypatch.setattr(analyze_cli, "ETA_AFTER_S", 0.0)
    bar(5, 10, Path("clip.mp4"), 2.0)
    bar(10, 10, Path("clip.mp4"), 2.0)
    bar.end()
    text = stream.getvalue()
    assert "\r[##----------------------] 1/10 frames, 0.5 frames/s (clip.mp4)" in text
    assert "\r[############------------] 5/10 frames, 2.0 frames/s, 0:02 left (clip.mp4)" in text
    assert "[########################] 10/10" in text and text.endswith("\n")


def test_ctrl_c_keeps_the_parts_and_the_same_command_resumes(
        models: dict[str, Path], videos: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from faceexplorer.inference import analyze

    monkeypatch.setattr(analyze, "PART_FRAMES", 4)
    real = analyze.run_analysis
    calls = iter(range(1000))

    def interrupted(*args: object, **kwargs: object) -> analyze.AnalysisResult:
        def ctrl_c() -> bool:
            if next(calls) == 5:
                raise KeyboardInterrupt
            return False
        return real(*args, should_stop=ctrl_c, **kwargs)  # type: ignore[arg-type]

    out = tmp_path / "t.csv"
    argv = ["analyze", str(models["logits8"]), str(videos[0]), "--out", str(out),
            "--no-index"]
    monkeypatch.setattr(analyze, "run_analysis", interrupted)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted (Ctrl-C)" in err and "Resume with the same command" in err
    assert "4 analysed frames are kept beside the output (frames are kept 4 at a time" in err
    assert "face.avi: face found in 3 of 4 frames so far" in err and not out.exists()
    monkeypatch.setattr(analyze, "run_analysis", real)
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "face found in 9 of 10 frames (4 from the earlier run)" in err
    assert out.read_text().count("\n") == 11


def test_a_frame_range_past_the_end_says_so(models: dict[str, Path], videos: tuple[Path, Path],
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "past.csv"
    main(["analyze", str(models["logits8"]), str(videos[0]), "--out", str(out),
          "--no-index", "--frames", "50:60"])
    err = capsys.readouterr().err
    assert "face.avi: no frame analysed" in err and "end of video (10 frames)" in err
    assert "warning: --frames 50:60 is past the end of face.avi" in err
