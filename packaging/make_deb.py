"""Wrap the frozen folder into a Debian package: FaceExplorer-<version>-linux-x86_64.deb.

    python packaging/make_deb.py [--app dist/FaceExplorer] [--out dist]

``packaging/build.sh`` runs it on Linux after PyInstaller. The package installs without
Python (the frozen folder carries it) and asks the system only for what a frozen Qt app
cannot carry: the X11/xcb, OpenGL, font and keyboard libraries Qt's platform plugins link
against (``DEPENDS``; ``packaging/test_stock_linux.sh`` proves on a stock Debian 12 root
that nothing else is missing: every bundled library resolves and the selftest passes).

Layout (what ``apt install ./FaceExplorer-...deb`` puts where):

* ``/opt/faceexplorer/``: the frozen folder, unchanged (third-party software, FHS 3.13);
* ``/usr/bin/faceexplorer``: a launcher script (``exec /opt/faceexplorer/FaceExplorer``);
* ``/usr/share/applications/faceexplorer.desktop``: the menu entry;
* ``/usr/share/icons/hicolor/256x256/apps/faceexplorer.png``: its icon
  (``packaging/icons/``, drawn by ``packaging/make_icon.py``).

The app writes only to the user's data folder (``~/.local/share/faceexplorer``), never
under /opt, so the package needs no maintainer scripts; ``apt remove faceexplorer``
removes every file it installed. The version comes from ``pyproject.toml``. Compression:
xz (every dpkg reads it; the smallest of gzip/xz/zstd here), multi-threaded.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "faceexplorer"
PREFIX = "opt/faceexplorer"

#: Debian 12 packages of the system libraries the bundled Qt needs and cannot carry:
#: libqxcb.so and libQt6XcbQpa (the X11 platform), libqwayland.so (Wayland), libQt6Gui's
#: OpenGL/EGL/fontconfig links and libxkbcommon's keyboard data. (PyInstaller also copies
#: some of these from the build machine; depending on them costs a user nothing.)
#: Checked by packaging/test_stock_linux.sh (ldd on every bundled library inside a stock
#: Debian 12 root shows no "not found").
DEPENDS = [
    "libegl1", "libgl1", "libopengl0", "libglib2.0-0", "libdbus-1-3", "libfontconfig1",
    "libfreetype6", "libx11-6", "libx11-xcb1", "libxcb1", "libxcb-cursor0",
    "libxcb-glx0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1", "libxcb-randr0",
    "libxcb-render0", "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0",
    "libxcb-sync1", "libxcb-util1", "libxcb-xfixes0", "libxcb-xinerama0", "libxcb-xkb1",
    "libxkbcommon0", "libxkbcommon-x11-0",
    "libwayland-client0", "libwayland-cursor0", "libwayland-egl1",
]

DESKTOP = """\
[Desktop Entry]
Type=Application
Name=FaceExplorer
GenericName=Facial-affect dataset explorer
Comment=Browse facial-affect datasets, crowd labels and model predictions
Exec=faceexplorer
Icon=faceexplorer
Terminal=false
Categories=Science;Education;Graphics;
Keywords=faces;affect;emotion;dataset;AffectNet;
StartupNotify=true
"""

LAUNCHER = f"""\
#!/bin/sh
# FaceExplorer launcher (Debian package): the frozen app lives in /{PREFIX}.
exec /{PREFIX}/FaceExplorer "$@"
"""


def glibc_needed(app: Path) -> str:
    """The newest GLIBC_2.N symbol version any bundled ELF file asks for.

    glibc is not bundled: the libraries PyInstaller copies from the build machine (libpython,
    libstdc++, libexpat ... on Debian 12: GLIBC_2.36) set the oldest system the package runs
    on, so the Depends says it. Needs objdump (binutils); without it, the build's own glibc.
    """
    versions = set()
    if shutil.which("objdump"):
        elves = [str(p) for p in app.rglob("*") if p.is_file() and not p.is_symlink()
                 and (".so" in p.name or p.name == "FaceExplorer")]
        for i in range(0, len(elves), 100):
            out = subprocess.run(["objdump", "-T", *elves[i:i + 100]], capture_output=True,
                                 text=True).stdout
            versions |= {int(m) for m in re.findall(r"GLIBC_2\.(\d+)", out)}
    if not versions:
        import platform

        return platform.libc_ver()[1] or "2.36"
    return f"2.{max(versions)}"


def project_version() -> str:
    """The version in pyproject.toml."""
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def artefact_name(version: str, ext: str = "deb") -> str:
    """FaceExplorer-<version>-linux-x86_64.<ext>."""
    return f"FaceExplorer-{version}-linux-x86_64.{ext}"


def control(version: str, installed_kb: int, glibc: str = "2.36") -> str:
    """The DEBIAN/control file."""
    return (
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        "Architecture: amd64\n"
        "Maintainer: FaceExplorer developers <faceexplorer@localhost>\n"
        f"Installed-Size: {installed_kb}\n"
        f"Depends: libc6 (>= {glibc}), {', '.join(DEPENDS)}\n"
        "Section: science\n"
        "Priority: optional\n"
        "Description: desktop explorer for facial-affect datasets\n"
        " FaceExplorer browses facial-affect datasets (AffectNet, AffectNetC25, HRM,\n"
        " AffectNet-D/RaFD-D, FACES) on a local DuckDB index: images, crowd labels,\n"
        " agreement statistics and ONNX model predictions. Self-contained: Python,\n"
        " Qt, OpenCV, onnxruntime and DuckDB are bundled under /opt/faceexplorer.\n"
        " Works offline; writes only to ~/.local/share/faceexplorer.\n"
    )


def stage(app: Path, root: Path, version: str) -> None:
    """Lay out the package tree under ``root``.

    The app is copied, not hard-linked: a link shares its inode (mode, ctime) with dist/,
    so the chmod below, or a rebuild while dpkg-deb runs, would change files under tar
    ("file changed as we read it").
    """
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(app, root / PREFIX, symlinks=True)
    launcher = root / "usr" / "bin" / PACKAGE
    launcher.parent.mkdir(parents=True)
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    apps = root / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / f"{PACKAGE}.desktop").write_text(DESKTOP)
    icons = root / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    icons.mkdir(parents=True)
    shutil.copy(REPO / "packaging" / "icons" / "faceexplorer.png", icons / f"{PACKAGE}.png")
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                # whatever the build's umask: 755 for programs, 644 for the rest
                path.chmod(0o755 if path.stat().st_mode & 0o100 else 0o644)
    kb = sum((Path(d) / f).lstat().st_size for d, _, fs in os.walk(root) for f in fs) // 1024
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(control(version, kb, glibc_needed(app)))


def build(app: Path, out: Path, work: Path) -> Path:
    """Stage and build the .deb; its path."""
    version = project_version()
    root = work / "root"
    stage(app, root, version)
    deb = out / artefact_name(version)
    out.mkdir(parents=True, exist_ok=True)
    cmd = ["dpkg-deb", "--root-owner-group", "-Zxz", "-z6"]
    helps = subprocess.run(["dpkg-deb", "--help"], capture_output=True, text=True).stdout
    if "--threads-max" in helps:  # dpkg 1.21.9+ (older ones use one thread)
        cmd.append(f"--threads-max={os.cpu_count() or 1}")
    subprocess.run(cmd + ["--build", str(root), str(deb)], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(root)
    return deb


def main(argv: list[str] | None = None) -> int:
    """Build the package and print its size and the time it took."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--app", type=Path, default=REPO / "dist" / "FaceExplorer")
    p.add_argument("--out", type=Path, default=REPO / "dist")
    p.add_argument("--work", type=Path, default=REPO / "build" / "deb")
    args = p.parse_args(argv)
    if shutil.which("dpkg-deb") is None:
        print("make_deb: dpkg-deb not found (apt-get install dpkg); no .deb built",
              file=sys.stderr)
        return 2
    if not (args.app / "FaceExplorer").is_file():
        print(f"make_deb: no frozen app in {args.app}; run packaging/build.sh", file=sys.stderr)
        return 2
    start = time.perf_counter()
    deb = build(args.app, args.out, args.work)
    print(f"make_deb: built {deb} in {time.perf_counter() - start:.0f} s; "
          f"{deb.stat().st_size / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
