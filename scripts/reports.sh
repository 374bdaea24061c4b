#!/usr/bin/env bash
# Regenerates every published report: the reference in the simulation, then each implementation
# of implementations.yaml (installed first) over loopback, held against its expected.yaml, then
# reports/README.md and reports/index.html. Exits non-zero if any report has an unexplained FAIL or ERROR, or a stale
# expectation. Takes about a minute once the implementations are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p streamcheck
bin=target/release/streamcheck
status=0
echo "== reference (simulation)"
# The last differential fuzzing run against CPython 3.13 (bash scripts/differential.sh) is one of its notes.
note=()
[ -f reports/reference/differential.txt ] && note=(--note "$(cat reports/reference/differential.txt)")
$bin run --out reports/reference "${note[@]}" >/dev/null || status=1
for name in $($bin list --implementations); do
  echo "== $name"
  $bin install "$name"
  expect=()
  [ -f "reports/$name/expected.yaml" ] && expect=(--expect "reports/$name/expected.yaml")
  $bin run --impl "$name" --jobs 2 "${expect[@]}" 2>/dev/null | tail -n 4 || status=1
done
$bin matrix --write
echo "== reports/README.md and reports/index.html written"
exit $status
