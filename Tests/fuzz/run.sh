#!/usr/bin/env bash
# Builds the libFuzzer harnesses (swiftc -sanitize=fuzzer,address, straight from the targets'
# Sources, no SwiftPM) and runs every target for a bounded time, then replays every kept crash
# input (Tests/fuzz/regressions/<target>/) once.
#
#   Tests/fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]  # default 20 s, every target; one process
#                                                      # per target, one target at a time
#   Tests/fuzz/run.sh --replay-only [TARGET...]         # only the regression inputs (fast, for CI)
#
# Targets: cpu.stat cpu.max memory.stat memory.events cgroup.events memory.current memory.max
# pressure io.stat proc.stat proc.meminfo proc.net.dev proc.pid.stat http http.response json discovery
# webconfig.
#
# Work files (corpora, logs) go to .build/fuzz/. A new crash is copied into
# Tests/fuzz/regressions/<target>/ so it becomes a regression input; the script then exits 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SWIFTC=${SWIFTC:-swiftc}
OUT=$ROOT/.build/fuzz
FIX=$ROOT/Tests/KubemeterParsersTests/Fixtures
REG=$ROOT/Tests/fuzz/regressions
mkdir -p "$OUT"

SECONDS_PER_TARGET=20
REPLAY_ONLY=0
case "${1:-}" in
  --replay-only) REPLAY_ONLY=1; shift ;;
  "") ;;
  *) SECONDS_PER_TARGET=$1; shift ;;
esac
SELECTED="$*"

build() {  # build NAME MODULE SOURCES HARNESS [DEPENDENCY_SOURCE_DIR...]
  local name=$1 module=$2 dir=$3 harness=$4 bin=$OUT/$1
  shift 4
  # SOURCES is a target's directory (every file), or a list of its files separated by spaces (the
  # ones the harness needs, when the rest import other modules). A dependency's sources are
  # compiled into the same module (its import is then guarded by `#if canImport`).
  local sources=()
  if [ -d "$dir" ]; then sources=("$dir"/*.swift); else read -r -a sources <<<"$dir"; fi
  for extra in "$@"; do sources+=("$extra"/*.swift); done
  local newest
  newest=$(ls -t "${sources[@]}" "$harness" "$0" | head -1)
  if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ]; then
    echo "building $name"
    "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -module-name "$module" \
      -swift-version 6 -package-name kubemeter -enable-upcoming-feature InternalImportsByDefault \
      -enable-upcoming-feature MemberImportVisibility -enable-upcoming-feature ExistentialAny "${sources[@]}" "$harness" -o "$bin"
  fi
}

build parsers KubemeterParsers "$ROOT/Sources/KubemeterParsers" "$ROOT/Tests/fuzz/ParsersFuzzTarget.swift"
build http KubemeterHTTP "$ROOT/Sources/KubemeterHTTP" "$ROOT/Tests/fuzz/HTTPFuzzTarget.swift" "$ROOT/Sources/KubemeterSync"
build http-response KubemeterHTTP "$ROOT/Sources/KubemeterHTTP" "$ROOT/Tests/fuzz/HTTPResponseFuzzTarget.swift" "$ROOT/Sources/KubemeterSync"
build json KubemeterJSON "$ROOT/Sources/KubemeterJSON" "$ROOT/Tests/fuzz/JSONFuzzTarget.swift"
build webconfig KubemeterWebConfig "$ROOT/Sources/KubemeterWebConfig" "$ROOT/Tests/fuzz/WebConfigFuzzTarget.swift"
# The name parsers and what they use; the rest of discovery reads the host (KubemeterHostFiles).
D=$ROOT/Sources/KubemeterDiscovery
build discovery KubemeterDiscovery "$D/CgroupName.swift $D/ContainerLogName.swift $D/ContainerRuntime.swift $D/KubernetesNameRules.swift $D/PodLogDirectoryName.swift $D/QoSClass.swift" \
  "$ROOT/Tests/fuzz/DiscoveryFuzzTarget.swift"

# target -> binary, and the fixture files that seed its corpus.
declare -A BIN SEEDS
for t in cpu.stat cpu.max memory.stat memory.events cgroup.events memory.current memory.max pressure \
         io.stat proc.stat proc.meminfo proc.net.dev proc.pid.stat; do BIN[$t]=parsers; done
BIN[http]=http; BIN[http.response]=http-response; BIN[json]=json; BIN[discovery]=discovery; BIN[webconfig]=webconfig
WC=$ROOT/Tests/KubemeterWebConfigTests/Fixtures
SEEDS[webconfig]="$WC/full.yml $WC/tls-only.yml $WC/basic-auth-only.yml $WC/empty.yml"
SEEDS[cpu.stat]="$FIX/cgroupv2_cpu.stat.txt $FIX/cgroup_unified_cpu.stat.txt"
SEEDS[cpu.max]="$FIX/cgroupv2_cpu.max.txt"
SEEDS[memory.stat]="$FIX/cgroupv2_memory.stat.txt"
SEEDS[memory.events]="$FIX/cgroupv2_memory.events.txt"
SEEDS[cgroup.events]="$FIX/cgroupv2_cgroup.events.txt"
SEEDS[memory.current]="$FIX/cgroupv2_memory.current.txt"
SEEDS[memory.max]="$FIX/cgroupv2_memory.max.txt"
SEEDS[pressure]="$FIX/proc_pressure_cpu.txt $FIX/proc_pressure_io.txt $FIX/proc_pressure_memory.txt $FIX/cgroup_unified_io.pressure.txt"
SEEDS[io.stat]="$FIX/cgroupv2_io.stat.txt"
SEEDS[proc.stat]="$FIX/proc_stat.txt"
SEEDS[proc.meminfo]="$FIX/proc_meminfo.txt"
SEEDS[proc.net.dev]="$FIX/proc_net_dev.txt"
SEEDS[proc.pid.stat]="$FIX/proc_1_stat.txt $FIX/proc_self_stat.txt"
TARGETS="cpu.stat cpu.max memory.stat memory.events cgroup.events memory.current memory.max pressure io.stat proc.stat proc.meminfo proc.net.dev proc.pid.stat http http.response json discovery webconfig"
if [ -n "$SELECTED" ]; then
  for t in $SELECTED; do
    [ -n "${BIN[$t]:-}" ] || { echo "unknown fuzz target: $t (known: $TARGETS)" >&2; exit 2; }
  done
  TARGETS=$SELECTED
fi

seed_extra() {  # seeds that are not fixture files
  local t=$1 dir=$2
  case $t in
    http)
      printf 'GET /metrics/resource HTTP/1.1\r\nHost: x\r\n\r\n' >"$dir/seed-get"
      printf 'HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.1\r\nHost: n\r\n\r\n' >"$dir/seed-pipelined"
      printf 'POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc' >"$dir/seed-post" ;;
    http.response)
      printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' >"$dir/seed-length"
      printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=1\r\nWiki\r\n0\r\nTrailer: t\r\n\r\n' >"$dir/seed-chunked"
      printf 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 503 Service Unavailable\r\n\r\nclosed' >"$dir/seed-close" ;;
    json)
      printf '{"kind":"PodList","items":[{"metadata":{"name":"a"},"spec":{"nodeName":"n"},"status":{"podIP":"10.0.0.1"}}]}' >"$dir/seed-podlist"
      printf '[1,-2.5e3,true,false,null,"\\u00e9\\ud83d\\ude00",{}]' >"$dir/seed-values" ;;
    discovery)
      printf 'checkout-7f4e1_payments_app-%s.log' 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef >"$dir/seed-log"
      printf 'payments_checkout-7f4e1_1b0a3c9d-2e7f-4e1a-9b0a-3c9d2e7f4e1a' >"$dir/seed-poddir"
      printf 'kubepods-burstable-pod1b0a3c9d_2e7f_4e1a_9b0a_3c9d2e7f4e1a.slice' >"$dir/seed-podslice"
      printf 'cri-containerd-%s.scope' 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef >"$dir/seed-scope" ;;
  esac
}

status=0
summary=()
for t in $TARGETS; do
  bin=$OUT/${BIN[$t]}
  reg=$REG/$t
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    FUZZ_TARGET=$t "$bin" -runs=0 "$reg"/* >"$OUT/$t.replay.log" 2>&1 || {
      echo "REGRESSION: $t fails on a kept input; see $OUT/$t.replay.log"; status=1; }
  fi
  [ "$REPLAY_ONLY" = 1 ] && continue
  corpus=$OUT/corpus/$t
  mkdir -p "$corpus" "$OUT/artifacts/$t"
  for f in ${SEEDS[$t]:-}; do cp -n "$f" "$corpus/" 2>/dev/null || true; done
  seed_extra "$t" "$corpus"
  log=$OUT/$t.log
  if FUZZ_TARGET=$t "$bin" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 -max_len=65536 \
       -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$OUT/artifacts/$t/" "$corpus" >"$log" 2>&1; then
    found=0
  else
    found=1; status=1
    mkdir -p "$reg"
    cp "$OUT/artifacts/$t/"* "$reg/" 2>/dev/null || true
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  summary+=("$(printf '%-15s %12s execs  cov %5s  %s' "$t" "$execs" "$cov" "$([ $found = 1 ] && echo "CRASH (kept in $reg)" || echo ok)")")
done
if [ "$REPLAY_ONLY" = 0 ]; then
  echo "fuzzing, $SECONDS_PER_TARGET s per target:"
  printf '  %s\n' "${summary[@]}"
fi
exit $status
