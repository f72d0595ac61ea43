#!/usr/bin/env bash
# Measures what the DaemonSet's requests/limits are derived from (docs/deploy.md): kubemeter's
# memory and CPU on a fake node of 110 pods (the kubelet's default max-pods), scraped N times.
#   Tests/deploy/measure-footprint.sh [BINARY] [SCRAPES] [PODS]
# Prints VmRSS/VmHWM after startup and after the scrapes, and utime+stime (from /proc/<pid>/stat,
# in clock ticks) per scrape. Traffic goes to 127.0.0.1 only; the run is bounded by SCRAPES.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-.build/release/kubemeter}")
SCRAPES=${2:-200}
PODS=${3:-110}
FAKE_NODE=${FAKE_NODE:-$(cd "$(dirname "$0")/../tools" && pwd)/fake-node}
WORK=$(mktemp -d)
PORT=${PORT:-18265}
python3 "$FAKE_NODE" "$WORK/tree" --pods "$PODS" --containers 2 >/dev/null
# A steady node: written back, and older than discovery's 2 s racy window (see Tests/bench/bench.py).
sync; sleep 3
"$BIN" serve --host-root "$WORK/tree" --listen-address "127.0.0.1:$PORT" --log-level warning &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }   # utime + stime, after the ")" field
mem() { awk '/^(VmRSS|VmHWM)/ {printf "%s %s kB  ", $1, $2}' "/proc/$PID/status"; }
HZ=$(getconf CLK_TCK)
echo "pods=$PODS containers=$((PODS * 2)) binary=$BIN size=$(stat -c %s "$BIN") bytes"
echo "after start:        $(mem) cpu $(ticks) ticks"
before=$(ticks)
bytes=0
for _ in $(seq "$SCRAPES"); do
    n=$(curl -sf "127.0.0.1:$PORT/metrics/resource" | wc -c)
    bytes=$n
done
after=$(ticks)
echo "after $SCRAPES scrapes: $(mem) cpu $after ticks"
awk -v b="$before" -v a="$after" -v n="$SCRAPES" -v hz="$HZ" \
    'BEGIN { printf "cpu for %d scrapes: %d ticks = %.3f s, %.2f ms per scrape (CLK_TCK %d)\n", n, a - b, (a - b) / hz, (a - b) / hz / n * 1000, hz }'
echo "response size: $bytes bytes"
