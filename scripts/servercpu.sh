#!/usr/bin/env bash
# Server CPU per 64 MiB PUT (each payload kind) and GET on a fresh single
# node (four drive folders, EC 2+2), by scripts/servercpu.go.
#
#   scripts/servercpu.sh [BINARY] [server flags...]   e.g. bin/filesphere --bitrot sha256
#   PERF=dir   also write a perf(1) profile per mode and its top symbols
#   N=6        timed operations per mode
set -euo pipefail
BIN=${1:-bin/filesphere}
shift || true
N=${N:-6}
PERF=${PERF:-}
export FILESPHERE_ROOT_USER=servercpu FILESPHERE_ROOT_PASSWORD=servercpu-secret
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
[ -n "$PERF" ] && mkdir -p "$PERF"
"$BIN" server --address 127.0.0.1:$port --data "$tmp" --log-level error "$@" > /dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
go build -o "$tmp/servercpu" scripts/servercpu.go
for mode in put-signed-md5 put-signed-sha256 put-unsigned put-unsigned-crc32 get; do
  args=(-endpoint "http://127.0.0.1:$port" -pid $pid -mode $mode -n "$N")
  [ -n "$PERF" ] && args+=(-perf "$PERF/$mode.data")
  "$tmp/servercpu" "${args[@]}"
  if [ -n "$PERF" ]; then
    perf report -i "$PERF/$mode.data" --no-children --sort symbol --stdio > "$PERF/$mode.report" 2>/dev/null
    awk '/^ +[0-9.]+%/ && n++ < 12' "$PERF/$mode.report" > "$PERF/$mode.top"
  fi
done
