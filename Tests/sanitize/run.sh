#!/usr/bin/env bash
# The Swift test suite under AddressSanitizer (with LeakSanitizer) and/or ThreadSanitizer.
#
#   Tests/sanitize/run.sh            # address, then thread
#   Tests/sanitize/run.sh address    # one of them (CI runs this one)
#   Tests/sanitize/run.sh thread
#
# Each sanitizer builds into its own scratch path (.build-asan, .build-tsan; git-ignored), never
# .build. A pass is clean only when `swift test` exits 0 AND its output holds no sanitizer report
# (a report inside a process whose status nobody checks would otherwise pass unseen).
# Suppressions are for toolchain reports only, each with its evidence: see the files beside this one.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SWIFT=${SWIFT:-swift}
HERE=$ROOT/Tests/sanitize
LOGS=$ROOT/.build-sanitize-logs
mkdir -p "$LOGS"

run() {  # run SANITIZER SCRATCH [extra build flags...]
  local sanitizer=$1 scratch=$2; shift 2
  local log=$LOGS/$sanitizer.log
  echo "== $sanitizer: build ($scratch)"
  "$SWIFT" build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" "$@"
  echo "== $sanitizer: test (log: $log)"
  local status=0
  "$SWIFT" test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "$@" 2>&1 | tee "$log" || status=$?
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|SUMMARY: (Address|Thread)Sanitizer' "$log"; then
    echo "== $sanitizer: FAILED: sanitizer report(s) in $log" >&2
    grep -E 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|SUMMARY: ' "$log" >&2
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    echo "== $sanitizer: FAILED: swift test exited $status" >&2
    return 1
  fi
  echo "== $sanitizer: clean"
}

address() {
  # detect_leaks is ASan's default on Linux; said here because the leak check is half the point.
  ASAN_OPTIONS=detect_leaks=1 \
  LSAN_OPTIONS=suppressions=$HERE/lsan.supp:print_suppressions=0 \
    run address .build-asan
}

thread() {
  # -D KUBEMETER_TSAN: AnnotatedMutex tells TSan about the lock hand-overs it cannot see (see there).
  TSAN_OPTIONS=suppressions=$HERE/tsan.supp:print_suppressions=0 \
    run thread .build-tsan -Xswiftc -DKUBEMETER_TSAN
}

case "${1:-all}" in
  address) address ;;
  thread) thread ;;
  all) address; thread ;;
  *) echo "usage: $0 [address|thread|all]" >&2; exit 2 ;;
esac
