#!/usr/bin/env bash
# Proves that loopback verdicts are stable: runs the whole corpus N times in a row (default 20)
# against one target while another process keeps a core busy, and checks that every run gives
# every scenario the same verdict.
#   bash scripts/loopback-stability.sh                      # the reference, through its adapter
#   bash scripts/loopback-stability.sh 20 --impl cpython-3.13
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
shift || true
target=("$@")
[ ${#target[@]} -gt 0 ] || target=(--adapter "cmd:target/release/streamcheck adapter reference")
cargo build --release -p streamcheck >/dev/null 2>&1
out=$(mktemp -d)
# The other core, kept busy for the whole proof.
( while :; do :; done ) &
hog=$!
trap 'kill $hog 2>/dev/null; rm -rf "$out"' EXIT
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  target/release/streamcheck run "${target[@]}" --out "$out/$i" >/dev/null 2>&1 || true
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("\n".join(s["id"]+" "+s["verdict"] for s in r["scenarios"]))' "$out/$i/report.json" > "$out/$i.verdicts"
  printf 'run %2d: %s (%.1fs)\n' "$i" "$(cut -d' ' -f2 "$out/$i.verdicts" | sort | uniq -c | tr -s ' ' | tr '\n' ',' )" "$(echo "$(date +%s.%N) - $start" | bc)"
done
differ=0
for i in $(seq 2 "$runs"); do
  if ! diff -q "$out/1.verdicts" "$out/$i.verdicts" >/dev/null; then
    differ=1
    echo "run $i differs from run 1:"
    diff "$out/1.verdicts" "$out/$i.verdicts" | head -20
  fi
done
[ $differ -eq 0 ] && echo "all $runs runs gave every scenario the same verdict"
exit $differ
