#!/usr/bin/env bash
# Runs Autobahn|Testsuite against our WebSocket client and server, then checks every verdict.
#
#   bash scripts/autobahn/run.sh [OUT_DIR]        (default: target/autobahn)
#
# Phase 1: `wstest -m fuzzingserver` on 127.0.0.1:$AUTOBAHN_PORT, driven by our echo_client.
# Phase 2: our echo_server on a free loopback port, driven by `wstest -m fuzzingclient`.
# Then check.py reads OUT_DIR/reports/{clients,servers}/index.json and exits 1 listing every
# case that is not OK / NON-STRICT / INFORMATIONAL (UNIMPLEMENTED is allowed for 12.x/13.x only).
#
# Environment:
#   AUTOBAHN_VENV           the virtualenv made by install.sh (default ~/.cache/streamcheck/autobahn-venv)
#   AUTOBAHN_CASES          the cases to run, a JSON list (default ["*"]; e.g. '["6.4.*", "7.*"]')
#   AUTOBAHN_PORT           the fuzzingserver's port (default 9001)
#   AUTOBAHN_PHASE_TIMEOUT  seconds each phase may take before it is killed (default 300; a phase takes ~15 s)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$(realpath -m "${1:-$repo/target/autobahn}")
venv=${AUTOBAHN_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/streamcheck/autobahn-venv}
wstest=$venv/bin/wstest
cases=${AUTOBAHN_CASES:-'["*"]'}
port=${AUTOBAHN_PORT:-9001}
phase_timeout=${AUTOBAHN_PHASE_TIMEOUT:-300}
agent=streamcheck
# Twisted on Python 2.7 warns about its own deprecation on every start.
export PYTHONWARNINGS=ignore

say() { echo "run.sh: $*"; }
die() { echo "run.sh: error: $*" >&2; exit 1; }

[ -x "$wstest" ] || die "no wstest at $wstest: run 'bash scripts/autobahn/install.sh' first (or set AUTOBAHN_VENV to its virtualenv)"
command -v python3 >/dev/null || die "python3 is needed to check the reports: install it, then rerun"
python3 -c "import json, sys; assert isinstance(json.loads(sys.argv[1]), list)" "$cases" 2>/dev/null \
  || die "AUTOBAHN_CASES must be a JSON list such as '[\"*\"]' or '[\"6.4.*\"]', got $cases"

# Every background process we start, killed on any exit.
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits for `pid` while printing the latest progress line of `log` (matching `pattern`) every
# 10 s; returns the process's exit status.
watch() {
  local pid=$1 log=$2 pattern=$3 label=$4 last="" now rc=0 next=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    [ "$SECONDS" -ge "$next" ] || continue
    next=$((SECONDS + 10))
    now=$(grep -E "$pattern" "$log" 2>/dev/null | tail -n 1 || true)
    if [ -n "$now" ] && [ "$now" != "$last" ]; then
      say "$label: ${now:0:120}"
      last=$now
    fi
  done
  wait "$pid" || rc=$?
  return "$rc"
}

announced() { grep -oE 'will run [0-9]+ test cases' "$1" | grep -oE '[0-9]+' | head -n 1; }

port_open "$port" && die "127.0.0.1:$port is in use: stop whatever listens there, or set AUTOBAHN_PORT to a free port"

start=$SECONDS
# Only what this script writes is removed: OUT_DIR may be a directory that holds other things.
[ "$out" != "$repo" ] || die "OUT_DIR is the repository itself: pass a directory of its own, e.g. target/autobahn"
rm -rf "$out/reports/clients" "$out/reports/servers" "$out"/{echo_client,echo_client.attempt1,echo_server,fuzzingserver,fuzzingclient}.log "$out/summary.txt"
mkdir -p "$out/reports"

say "building the examples (release)"
(cd "$repo" && cargo build --release -q -p streamcheck-impl --examples) || die "cargo build failed (see above): fix the build, then rerun"
target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/release/examples

# ---- phase 1: our client against the fuzzingserver ------------------------------------------
cat > "$out/fuzzingserver.json" <<EOF
{"url": "ws://127.0.0.1:$port", "outdir": "$out/reports/clients", "cases": $cases, "exclude-cases": [], "exclude-agent-cases": {}}
EOF
phase=$SECONDS
# -u 0: no embedded web server (it would take port 8080).
(cd "$out" && exec timeout "$phase_timeout" "$wstest" -m fuzzingserver -s fuzzingserver.json -u 0) > "$out/fuzzingserver.log" 2>&1 &
pids+=($!)
fuzzer=$!
for _ in $(seq 100); do
  port_open "$port" && break
  kill -0 "$fuzzer" 2>/dev/null || die "wstest fuzzingserver exited at start: see $out/fuzzingserver.log"
  sleep 0.2
done
port_open "$port" || die "wstest fuzzingserver did not listen on 127.0.0.1:$port within 20 s: see $out/fuzzingserver.log"
client_cases=$(announced "$out/fuzzingserver.log")
say "phase 1/2: echo_client against wstest -m fuzzingserver on ws://127.0.0.1:$port, ${client_cases:-?} cases (log: $out/echo_client.log)"
for attempt in 1 2; do
  timeout "$phase_timeout" "$bin/echo_client" "ws://127.0.0.1:$port" "$agent" 2> "$out/echo_client.log" &
  pids+=($!)
  rc=0
  watch $! "$out/echo_client.log" '^case [0-9]+/' "phase 1/2" || rc=$?
  # Seen once under heavy load: the very first connection (getCaseCount) was reset. Before any
  # case has run nothing is lost, so that one failure is retried, and said so.
  if [ "$rc" -ne 0 ] && [ "$attempt" -eq 1 ] && ! grep -q '^case ' "$out/echo_client.log"; then
    mv "$out/echo_client.log" "$out/echo_client.attempt1.log"
    say "phase 1/2: echo_client failed before the first case ($(tail -n 1 "$out/echo_client.attempt1.log")); retrying once"
    sleep 2
    continue
  fi
  break
done
[ "$rc" -eq 124 ] && die "phase 1 took over ${phase_timeout} s and was stopped: see the last lines of $out/echo_client.log and $out/fuzzingserver.log"
[ "$rc" -eq 0 ] || die "echo_client exited with status $rc: see $out/echo_client.log"
kill "$fuzzer" 2>/dev/null || true
say "phase 1/2 done in $((SECONDS - phase)) s: $(tail -n 1 "$out/echo_client.log")"

# ---- phase 2: the fuzzingclient against our server -------------------------------------------
phase=$SECONDS
"$bin/echo_server" 127.0.0.1:0 2> "$out/echo_server.log" &
pids+=($!)
server=$!
server_port=""
for _ in $(seq 100); do
  server_port=$(grep -oE 'listening on ws://127\.0\.0\.1:[0-9]+' "$out/echo_server.log" | grep -oE '[0-9]+$' || true)
  [ -n "$server_port" ] && break
  kill -0 "$server" 2>/dev/null || die "echo_server exited at start: see $out/echo_server.log"
  sleep 0.2
done
[ -n "$server_port" ] || die "echo_server did not report its port within 20 s: see $out/echo_server.log"
cat > "$out/fuzzingclient.json" <<EOF
{"outdir": "$out/reports/servers", "servers": [{"agent": "$agent", "url": "ws://127.0.0.1:$server_port"}], "cases": $cases, "exclude-cases": [], "exclude-agent-cases": {}}
EOF
(cd "$out" && exec timeout "$phase_timeout" "$wstest" -m fuzzingclient -s fuzzingclient.json) > "$out/fuzzingclient.log" 2>&1 &
pids+=($!)
fuzzer=$!
sleep 1
server_cases=$(announced "$out/fuzzingclient.log" || true)
say "phase 2/2: wstest -m fuzzingclient against echo_server on ws://127.0.0.1:$server_port, ${server_cases:-?} cases (log: $out/fuzzingclient.log)"
rc=0
watch "$fuzzer" "$out/fuzzingclient.log" '^Running test case ID' "phase 2/2" || rc=$?
[ "$rc" -eq 124 ] && die "phase 2 took over ${phase_timeout} s and was stopped: see the last lines of $out/fuzzingclient.log and $out/echo_server.log"
[ "$rc" -eq 0 ] || die "wstest fuzzingclient exited with status $rc: see $out/fuzzingclient.log"
server_cases=${server_cases:-$(announced "$out/fuzzingclient.log" || true)}
kill "$server" 2>/dev/null || true
say "phase 2/2 done in $((SECONDS - phase)) s"

# ---- verdicts ---------------------------------------------------------------------------------
say "checking the verdicts (table also in $out/summary.txt); total $((SECONDS - start)) s"
rc=0
python3 "$here/check.py" \
  "client=$out/reports/clients/index.json${client_cases:+:$client_cases}" \
  "server=$out/reports/servers/index.json${server_cases:+:$server_cases}" 2>&1 | tee "$out/summary.txt" || rc=$?
exit "$rc"
