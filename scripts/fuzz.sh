#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for SECONDS on its seed corpus
# (tests/fuzz/corpus/<target>; the seeds are copied, so the tree is not modified). A crash, a
# leak or a timeout fails the run and leaves the input in BUILD/crashes/. Prints one line per
# target: seconds, executions, and the size of the corpus it ended with.
#   [TOK_FUZZ_FLAGS="-O1 -g1"] scripts/fuzz.sh [SECONDS=60] [BUILD=build-fuzz]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build="${2:-$here/build-fuzz}"

command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing: run scripts/install-deps.sh" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S "$here" -B "$build" -DTOK_SANITIZE=fuzz -DTOK_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=${TOK_FUZZ_FLAGS:--O1 -g1}" >/dev/null
targets=$(sed -n 's/^  \(fuzz_[a-z_]*\)$/\1/p' "$here/tests/fuzz/CMakeLists.txt")
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $targets >/dev/null

mkdir -p "$build/crashes"
failed=0
printf '%-22s %8s %12s %8s  %s\n' target seconds executions corpus result
for t in $targets; do
  work=$(mktemp -d)
  cp "$here/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  log="$build/$t.log"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" "$work" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
    failed=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-22s %8s %12s %8s  %s\n' "$t" "$seconds" "${runs:-?}" "$(ls "$work" | wc -l)" "$result"
  rm -rf "$work"
done
exit $failed
