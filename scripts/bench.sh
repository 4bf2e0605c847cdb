#!/usr/bin/env bash
# make bench: the Go benchmarks (short), then `filesphere bench suite --set
# quick` against a fresh single-node server (temp data dir, free loopback
# port, four drive folders, EC 2+2), which prints one table. The server is
# stopped and its data removed at the end.
#
#   BENCHTIME=100ms  -benchtime of the Go benchmarks
#   DURATION=3s      timed phase of each bench profile
#   SET=quick        profile set (standard is the reference measurement)
set -euo pipefail
GO=${GO:-go}
BENCHTIME=${BENCHTIME:-100ms}
DURATION=${DURATION:-3s}
SET=${SET:-quick}

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== Go benchmarks (-benchtime $BENCHTIME)"
$GO test -run '^$' -bench . -benchmem -benchtime "$BENCHTIME" ./erasure/ ./storage/... ./client/bench/ |
  awk '/^(pkg|FAIL|---)/ { print; next }
       /^Benchmark/ { printf "%-60s %14s %s", $1, $3, $4; for (i = 5; i < NF; i += 2) printf "  %12s %s", $i, $(i+1); print "" }'

echo
echo "== filesphere bench suite --set $SET (--duration $DURATION) against a fresh server"
$GO build -o "$tmp/filesphere" ./cmd/filesphere
key() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export FILESPHERE_ROOT_USER="BENCH$(key 8)" FILESPHERE_ROOT_PASSWORD="$(key 20)"
"$tmp/filesphere" server --address 127.0.0.1:0 --console-address "" --data "$tmp/data" --log-level warn >"$tmp/server.out" 2>"$tmp/server.log" &
pid=$!
endpoint=""
for _ in $(seq 1 300); do
  endpoint=$(sed -n 's/^FileSphere S3 endpoint: //p' "$tmp/server.out")
  if [ -n "$endpoint" ] && "$tmp/filesphere" admin cluster status --endpoint "$endpoint" --data "$tmp/data" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$tmp/server.log" >&2
    echo "the server exited" >&2
    exit 1
  fi
  endpoint=""
  sleep 0.2
done
[ -n "$endpoint" ] || { cat "$tmp/server.log" >&2; echo "the server did not become ready" >&2; exit 1; }
AWS_ACCESS_KEY_ID=$FILESPHERE_ROOT_USER AWS_SECRET_ACCESS_KEY=$FILESPHERE_ROOT_PASSWORD \
  "$tmp/filesphere" bench suite --set "$SET" --endpoint "$endpoint" --duration "$DURATION" --server-pid "$pid" --quiet
