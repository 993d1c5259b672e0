#!/usr/bin/env bash
# make bench: whole-command timings side by side in one run (hyperfine), reported as ratios.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$here/bench.py" "${1:-build}"
