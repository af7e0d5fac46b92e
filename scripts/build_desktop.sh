#!/usr/bin/env bash
# Build the desktop app (PyInstaller one-folder, packaging/tv-engine.spec) for this OS, then smoke-test
# the result as a user runs it (packaging/smoke_test.py: start the binary on a free port with a fresh
# data folder, /api/v1/health, the first-run page, a test signal the engine must apply, SIGTERM, both
# processes gone). See docs/desktop.md.
#
#   scripts/build_desktop.sh             build, then smoke-test dist/tv-engine
#   scripts/build_desktop.sh --no-build  smoke-test the existing dist/tv-engine
#
# Run it with the project's venv active; it installs the `desktop` extra (the pinned PyInstaller) if
# PyInstaller is missing. The output (build/, dist/) is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n=== %s (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }

if [ "${1:-}" != "--no-build" ]; then
  if ! python -m PyInstaller --version >/dev/null 2>&1; then
    step "install the desktop extra (pinned PyInstaller)"
    python -m pip install -q -e '.[desktop]'
  fi
  step "build dist/tv-engine with PyInstaller $(python -m PyInstaller --version)"
  build_data="$(mktemp -d)"
  trap 'rm -rf "$build_data"' EXIT
  # PyInstaller's Django hook imports the settings: give them a throwaway data dir.
  DJANGO_SETTINGS_MODULE=engine_site.settings ENGINE_DATA_DIR="$build_data" \
    python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/tv-engine.spec
fi

step "smoke test"
app="dist/tv-engine/tv-engine"
[ -x "$app" ] || { echo "no $app: build it first" >&2; exit 1; }
python packaging/smoke_test.py "$app"

step "done: build and smoke test passed ($(du -sh dist/tv-engine | cut -f1) in dist/tv-engine)"
