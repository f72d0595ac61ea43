#!/usr/bin/env bash
# Checks deploy/kubernetes: every kustomization renders (`kubectl kustomize`), every rendered
# object validates against the Kubernetes OpenAPI schemas (kubernetes-validate, strict, offline),
# and checkov's Kubernetes policies report no failed check (the ones skipped are justified in
# checkov.io/skipN annotations on the objects). Run Tests/deploy/install-tools.sh first.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.build-venv
K8S_VERSION=${K8S_VERSION:-1.32.0}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
status=0
for dir in deploy/kubernetes deploy/kubernetes/overlays/prometheus-operator deploy/kubernetes/overlays/kube-rbac-proxy deploy/kubernetes/overlays/tls deploy/kubernetes/overlays/ephemeral-storage deploy/kubernetes/rbac-viewer; do
    name=$(echo "$dir" | tr / _)
    mkdir -p "$OUT/$name"
    if ! kubectl kustomize "$dir" > "$OUT/$name/rendered.yaml"; then
        echo "FAIL render: $dir"; status=1; continue
    fi
    kinds=$(grep -E '^kind: ' "$OUT/$name/rendered.yaml" | sed 's/kind: //' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
    echo "render: $dir -> ${kinds%, }"
    # Custom resources (ServiceMonitor) have no schema in kubernetes-validate; it warns and skips them.
    if ! validation=$("$VENV/bin/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$OUT/$name/rendered.yaml" 2>&1); then
        echo "$validation"; echo "FAIL kubernetes-validate: $dir"; status=1
    else
        passed=$("$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "$OUT/$name/rendered.yaml" 2>&1 | grep -c ' passed for resource ' || true)
        echo "kubernetes-validate $K8S_VERSION (strict): $passed objects passed${validation:+; $(echo "$validation" | sed 's/.*WARN [^ ]* //' | tr '\n' ' ')}"
    fi
    # --skip-download: no network; the policies ship in the package.
    if ! report=$("$VENV/bin/checkov" -d "$OUT/$name" --framework kubernetes --compact --quiet --skip-download 2>&1); then
        echo "$report"; echo "FAIL checkov: $dir"; status=1
    else
        echo "checkov: $(echo "$report" | grep -E 'Passed checks' || echo "$report" | tail -3)"
    fi
done
exit $status
