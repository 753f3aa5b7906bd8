"""Smoke test of the frozen app: run ``FaceExplorer --selftest`` offscreen in a sandbox.

    python packaging/smoke.py                 # the demo index (built on first run)
    python packaging/smoke.py --quick         # the small index: a minute, not several
    python packaging/smoke.py --measure 3     # then time launch-to-window, frozen vs source

The app runs with ``FACEEXPLORER_HOME`` (its data folder), ``HOME``, ``TMPDIR`` and the
working directory all in a fresh temporary folder. It passes when the selftest exits 0
and nothing was written outside the data folder: on Linux, when ``strace`` is
available, every file opened for writing (and every IP connection) is traced; elsewhere
the other sandbox folders and the app's own folder are compared before and after.

``--measure N`` reruns the selftest N times from the frozen app and N times from the
source install (``python -m faceexplorer.selftest``) on the same, already built index
and reports the median launch-to-window time: from just before the process is started
to the wall-clock time the app prints when its window is first shown.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMING = re.compile(r"timing: window shown ([\d.]+) s after .*\(epoch ([\d.]+)\)")
# strace lines: 123 openat(AT_FDCWD</x>, "/path", O_WRONLY|O_CREAT...) = 3</path>
WRITE_OPEN = re.compile(r'^\d+\s+(?:open|openat|creat)\((?:[^,]+, )?"([^"]+)", ([A-Z_|]+)')
IP_CONNECT = re.compile(r"^\d+\s+connect\(\d+<[^>]*>?, \{sa_family=AF_INET6?")
DIR_FD = re.compile(r'^\d+\s+openat\(\d+<([^>]+)>, "([^"]+)"')


def default_app() -> Path:
    """The frozen executable that packaging/build.sh makes on this platform."""
    if sys.platform == "darwin":
        return REPO / "dist" / "FaceExplorer.app" / "Contents" / "MacOS" / "FaceExplorer"
    return REPO / "dist" / "FaceExplorer" / ("FaceExplorer.exe" if os.name == "nt"
                                             else "FaceExplorer")


def sandbox(root: Path) -> dict[str, str]:
    """Environment whose every writable place lies under ``root``."""
    for sub in ("data", "home", "tmp", "cwd"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "FACEEXPLORER_")) and k not in ("PYTHONPATH",)}
    env.update(FACEEXPLORER_HOME=str(root / "data"), HOME=str(root / "home"),
               USERPROFILE=str(root / "home"), TMPDIR=str(root / "tmp"),
               TEMP=str(root / "tmp"), TMP=str(root / "tmp"), QT_QPA_PLATFORM="offscreen",
               FACEEXPLORER_TIMING="1")
    return env


def snapshot(*folders: Path) -> dict[str, tuple[float, int]]:
    """Every file under ``folders`` with its mtime and size."""
    files = {}
    for folder in folders:
        for dirpath, _dirs, names in os.walk(folder):
            for name in names:
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                files[path] = (st.st_mtime, st.st_size)
    return files


def traced_writes(trace: Path, cwd: Path) -> tuple[set[str], list[str]]:
    """Files opened for writing and IP connections found in an ``strace -y`` log."""
    written, connects = set(), []
    for line in trace.read_text(errors="replace").splitlines():
        if IP_CONNECT.match(line):
            connects.append(line.strip()[:200])
            continue
        m = WRITE_OPEN.match(line)
        if not m or not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", m.group(2)):
            continue
        path = m.group(1)
        if not os.path.isabs(path):
            d = DIR_FD.match(line)
            path = os.path.join(d.group(1) if d else str(cwd), path)
        written.add(os.path.normpath(path))
    return written, connects


def run_smoke(app: Path, root: Path, quick: bool, timeout: float) -> tuple[bool, str]:
    """Run the selftest once in the sandbox under ``root``; (passed, report)."""
    env = sandbox(root)
    data, cwd = root / "data", root / "cwd"
    app_dir = app.parents[2] if app.parent.name == "MacOS" else app.parent
    before = snapshot(root / "home", root / "tmp", cwd, app_dir)
    cmd = [str(app), "--selftest"] + (["--quick"] if quick else [])
    trace = root / "strace.log"
    use_strace = sys.platform.startswith("linux") and shutil.which("strace") is not None
    if use_strace:
        cmd = ["strace", "-f", "-qq", "-y", "-o", str(trace), "-e",
               "trace=open,openat,creat,connect"] + cmd
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    secs = time.perf_counter() - start
    lines = [f"$ {' '.join(cmd[-3:] if use_strace else cmd)}  ({secs:.1f} s, exit "
             f"{proc.returncode})", proc.stdout.rstrip()]
    problems = []
    if proc.returncode != 0 or "selftest: passed" not in proc.stdout:
        problems.append(f"selftest failed (exit {proc.returncode}); stderr:\n"
                        f"{proc.stderr[-3000:]}")
    if use_strace:
        written, connects = traced_writes(trace, cwd)
        # the data folder itself is inside: Qt saves settings.ini through an O_TMPFILE opened
        # on the folder (openat("<data>", O_RDWR|O_TMPFILE)), then links it into place
        outside = sorted(p for p in written if p != str(data)
                         and not p.startswith(str(data) + os.sep) and not p.startswith("/dev/"))
        problems += [f"wrote outside the data folder: {p}" for p in outside[:20]]
        problems += [f"network connection: {c}" for c in connects[:5]]
        lines.append(f"strace: {len(written)} files opened for writing, all under the data "
                     f"folder or /dev: {not outside}; IP connections: {len(connects)}")
    after = snapshot(root / "home", root / "tmp", cwd, app_dir)
    changed = sorted(p for p, v in after.items() if before.get(p) != v)
    problems += [f"file changed outside the data folder: {p}" for p in changed[:20]]
    lines.append(f"files changed in home, tmp, cwd and the app folder: {len(changed)}")
    lines += [f"PROBLEM: {p}" for p in problems]
    return not problems, "\n".join(lines)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def launch_to_window(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float
                     ) -> tuple[float, float, float]:
    """Seconds from starting ``cmd`` to its window's first show, the app's own figure, and
    the CPU seconds the process had used by then (less sensitive to a busy machine)."""
    start = time.time()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            if m := TIMING.search(line):
                return float(m.group(2)) - start, float(m.group(1)), cpu_seconds(proc.pid)
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"no timing line from {cmd}")
    finally:
        proc.terminate()  # the window was shown: the rest of the selftest is not timed
        proc.wait(timeout=30)


def measure(app: Path, root: Path, runs: int, timeout: float) -> str:
    """Median launch-to-window of the frozen app and of the source install."""
    env = sandbox(root)
    source_env = dict(env, PYTHONPATH=str(REPO))
    cmds = {"frozen": ([str(app), "--selftest", "--quick"], env),
            "source": ([sys.executable, "-m", "faceexplorer.selftest", "--quick"], source_env)}
    out = []
    for name, (cmd, e) in cmds.items():
        walls, ages, cpus = [], [], []
        for _ in range(runs):
            wall, age, cpu = launch_to_window(cmd, e, root / "cwd", timeout)
            walls.append(wall)
            ages.append(age)
            cpus.append(cpu)
        out.append(f"launch-to-window {name}: median {statistics.median(walls):.2f} s over "
                   f"{runs} runs (each: {', '.join(f'{w:.2f}' for w in walls)}; app's own "
                   f"figure from process start: median {statistics.median(ages):.2f} s; "
                   f"CPU time to window: median {statistics.median(cpus):.2f} s)")
    out.append(f"load average (1, 5, 15 min) after measuring: "
               f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}" if hasattr(os, "getloadavg")
               else "load average: n/a")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the smoke test (and the measurements); 0 when it passed."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--app", type=Path, default=default_app(), help="the frozen executable")
    p.add_argument("--quick", action="store_true", help="selftest --quick (small index)")
    p.add_argument("--measure", type=int, default=0, metavar="N",
                   help="then time launch-to-window N times, frozen and from source")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds for the selftest")
    p.add_argument("--keep", action="store_true", help="keep the sandbox folder")
    args = p.parse_args(argv)
    if not args.app.is_file():
        print(f"smoke: no frozen app at {args.app}; build it with packaging/build.sh",
              file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="faceexplorer-smoke-"))
    try:
        ok, report = run_smoke(args.app, root, args.quick, args.timeout)
        print(report, flush=True)
        if ok and args.measure:
            # --quick builds its own small index; the demo run above does not, so the
            # first measured run would include building it: build it untimed first.
            if not args.quick:
                subprocess.run([str(args.app), "--selftest", "--quick"], env=sandbox(root),
                               cwd=root / "cwd", capture_output=True, timeout=args.timeout)
            print(measure(args.app, root, args.measure, args.timeout), flush=True)
        print(f"smoke: {'passed' if ok else 'FAILED'} (sandbox {root})", flush=True)
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
