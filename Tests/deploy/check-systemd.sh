#!/usr/bin/env bash
# Checks deploy/systemd: `systemd-analyze verify` (syntax, directives, dependencies, ExecStart
# exists) and `systemd-analyze security --offline` (the hardening exposure score must stay at or
# under a threshold). The units name /usr/local/bin/kubemeter; verify needs that file to exist, so
# the check runs on copies pointing at the binary given (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-.build/debug/kubemeter}")
[ -x "$BIN" ] || { echo "check-systemd: $BIN not built (swift build first)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for unit in kubemeter.service kubemeter.socket; do
    sed "s#/usr/local/bin/kubemeter#$BIN#" "deploy/systemd/$unit" > "$WORK/$unit"
done
# verify prints nothing and exits 0 when both units are clean; any warning is a failure here.
out=$(cd "$WORK" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./kubemeter.socket ./kubemeter.service 2>&1) || {
    echo "$out"; echo "check-systemd: systemd-analyze verify failed" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out"; echo "check-systemd: systemd-analyze verify warned" >&2; exit 1; fi
echo "systemd-analyze verify: kubemeter.service kubemeter.socket OK"
# Exposure: 0 (safe) .. 10 (unsafe). systemd 252's `security --offline` exits 1 whatever the
# score, so the score is read from its report. The threshold is the score these units have today
# (1.6): hardening that regresses fails the check.
THRESHOLD=${SECURITY_THRESHOLD:-1.6}
security=$(cd "$WORK" && systemd-analyze security --offline=true --no-pager ./kubemeter.service 2>&1 || true)
score=$(echo "$security" | sed -n 's/.*Overall exposure level for kubemeter.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "$security" | tail -5; echo "check-systemd: no exposure score" >&2; exit 1; }
echo "systemd-analyze security: exposure $score (threshold $THRESHOLD); not applied:"
echo "$security" | grep "✗" | sed 's/  */ /g; s/^/  /'
awk -v s="$score" -v t="$THRESHOLD" 'BEGIN { exit !(s <= t) }' || {
    echo "check-systemd: exposure $score above $THRESHOLD" >&2; exit 1; }

# The optional ephemeral-storage drop-in (deploy/systemd/ephemeral-storage.conf), applied as it is
# installed (kubemeter.service.d/): still clean, and its exposure within its own threshold (the
# score with CAP_DAC_READ_SEARCH ambient and bounding, 1.9 today).
mkdir -p "$WORK/kubemeter.service.d"
cp deploy/systemd/ephemeral-storage.conf "$WORK/kubemeter.service.d/"
out=$(cd "$WORK" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no ./kubemeter.service 2>&1) || {
    echo "$out"; echo "check-systemd: verify with ephemeral-storage.conf failed" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out"; echo "check-systemd: verify with ephemeral-storage.conf warned" >&2; exit 1; fi
DROPIN_THRESHOLD=${DROPIN_SECURITY_THRESHOLD:-1.9}
security=$(cd "$WORK" && systemd-analyze security --offline=true --no-pager ./kubemeter.service 2>&1 || true)
score=$(echo "$security" | sed -n 's/.*Overall exposure level for kubemeter.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "check-systemd: no exposure score with the drop-in" >&2; exit 1; }
echo "with ephemeral-storage.conf: verify OK, exposure $score (threshold $DROPIN_THRESHOLD)"
awk -v s="$score" -v t="$DROPIN_THRESHOLD" 'BEGIN { exit !(s <= t) }' || {
    echo "check-systemd: exposure with the drop-in $score above $DROPIN_THRESHOLD" >&2; exit 1; }
