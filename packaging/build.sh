#!/usr/bin/env bash
# Build the one-folder FaceExplorer app: dist/FaceExplorer/ (macOS: dist/FaceExplorer.app),
# and on Linux the installable package dist/FaceExplorer-<version>-linux-x86_64.deb
# (packaging/make_deb.py; skipped with a note where dpkg-deb is missing, or NO_DEB=1).
#
#   packaging/build.sh            # from anywhere; uses the `python` on PATH
#   PYTHON=/path/to/python packaging/build.sh
#
# Needs the build extra in that Python: pip install -e ".[build]" (PyInstaller).
# Work files go to build/pyinstaller/, the app to dist/ (both at the repo root).
# Prints the build time and the folder's size. Git Bash on Windows runs it too.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python}"
cd "$repo"

"$python" -m PyInstaller --version >/dev/null 2>&1 || {
    echo "build.sh: PyInstaller is not installed in $python; run: pip install -e \".[build]\"" >&2
    exit 2
}
start=$(date +%s)
"$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/pyinstaller.spec
# A Python built from source (pyenv) keeps ~18 MB of debug symbols in libpython; strip
# those alone (stripping every library breaks numpy's OpenBLAS, see the spec).
if [ "$(uname -s)" = "Linux" ] && command -v strip >/dev/null; then
    for lib in dist/FaceExplorer/_internal/libpython3*.so*; do
        [ -f "$lib" ] && strip --strip-debug "$lib"
    done
fi
secs=$(( $(date +%s) - start ))

app="dist/FaceExplorer"
[ -d dist/FaceExplorer.app ] && app="dist/FaceExplorer.app"
size_mb=$("$python" - "$app" <<'PY'
import os, sys
total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[1]) for f in fs
            if not os.path.islink(os.path.join(d, f)))
print(f"{total / 1e6:.0f}")
PY
)
echo "build.sh: built $app in ${secs} s; folder size ${size_mb} MB"
if [ "$(uname -s)" = "Linux" ] && [ "${NO_DEB:-0}" != 1 ]; then
    if command -v dpkg-deb >/dev/null; then
        deb_start=$(date +%s)
        "$python" packaging/make_deb.py --app "$app" --out dist
        echo "build.sh: .deb in $(( $(date +%s) - deb_start )) s; total $(( $(date +%s) - start )) s"
    else
        echo "build.sh: dpkg-deb not found: no .deb (apt-get install dpkg)"
    fi
fi
echo "build.sh: check it with: $python packaging/smoke.py"
