#!/usr/bin/env bash
# make bench: whole-command timings side by side in one run (hyperfine), reported as ratios.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
python3 "$here/bench.py" "$build"
# The AWS CLI with credential_process through tok vs the helper itself: its own section.
/usr/bin/python3 "$here/aws.py" "$build"
# A person's login profile: its cache hit against cat, beside a client-credentials profile.
/usr/bin/python3 "$here/login.py" "$build"
# A GitHub App installation token: its cache hit against cat (the stand-in of GitHub's API).
/usr/bin/python3 "$here/github_app.py" "$build"
# The fleet (a few minutes): its own section of results.md and bench/fleet.png, drawn with
# Debian's python3-matplotlib (hence Debian's python3, whatever python3 comes first on PATH).
exec /usr/bin/python3 "$here/fleet.py" "$build"
