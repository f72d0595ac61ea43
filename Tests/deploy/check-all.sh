#!/usr/bin/env bash
# Every deploy check: installs the tools (idempotent), then systemd units, Kubernetes manifests,
# Prometheus rules and scrape config, Grafana dashboard. Needs the debug build (the systemd check
# points the units at it). Ends with "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
Tests/deploy/install-tools.sh || { echo "0 passed, 1 failed"; exit 1; }
passed=0 failed=0
for check in check-systemd check-kubernetes check-prometheus check-grafana; do
    echo "== $check"
    if "Tests/deploy/$check.sh"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $check"; fi
done
echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
