#!/usr/bin/env bash
# make bench: whole-command timings side by side in one run (hyperfine), reported as ratios.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
exec python3 "$here/bench.py" "$build"
