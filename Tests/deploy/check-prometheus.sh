#!/usr/bin/env bash
# Checks deploy/prometheus/rules.yaml (promtool check rules), its unit tests (promtool test
# rules: every alert fires where it must and stays silent where it must not), and the scrape
# config example of docs/prometheus.md (extracted and checked with promtool check config).
set -euo pipefail
cd "$(dirname "$0")/../.."
promtool check rules deploy/prometheus/rules.yaml
promtool test rules deploy/prometheus/rules_test.yaml
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The first ```yaml block of docs/prometheus.md is a complete prometheus.yml.
awk '/^```yaml$/ { inside = 1; next } /^```$/ && inside { exit } inside' docs/prometheus.md > "$WORK/prometheus.yml"
cp deploy/prometheus/rules.yaml "$WORK/rules.yaml"
[ -s "$WORK/prometheus.yml" ] || { echo "check-prometheus: no yaml block in docs/prometheus.md" >&2; exit 1; }
if promtool check config "$WORK/prometheus.yml" > "$WORK/check.log" 2>&1; then
    cat "$WORK/check.log"
elif grep -q "field kubernetes_sd_configs not found" "$WORK/check.log"; then
    # Debian's promtool is built without Kubernetes service discovery. Check everything else
    # (relabelling, paths, rule files) on a copy whose kubernetes_sd_configs become static
    # targets, after checking the discovery blocks' own fields here.
    echo "promtool here lacks kubernetes_sd; checking kubernetes_sd_configs fields, then the rest with static targets"
    .build-venv/bin/python - "$WORK/prometheus.yml" <<'PY'
import sys, yaml
path = sys.argv[1]
config = yaml.safe_load(open(path))
roles = {"node", "pod", "service", "endpoints", "endpointslice", "ingress"}
for job in config["scrape_configs"]:
    for sd in job.pop("kubernetes_sd_configs", []):
        unknown = set(sd) - {"role", "namespaces", "selectors", "api_server", "kubeconfig_file", "attach_metadata"}
        assert not unknown, f"{job['job_name']}: unknown kubernetes_sd field(s) {unknown}"
        assert sd["role"] in roles, f"{job['job_name']}: role {sd['role']}"
        for selector in sd.get("selectors", []):
            assert set(selector) <= {"role", "label", "field"} and selector["role"] in roles, selector
        assert set(sd.get("namespaces", {})) <= {"names", "own_namespace"}, sd["namespaces"]
        job.setdefault("static_configs", []).append({"targets": ["node-a:10265"]})
yaml.safe_dump(config, open(path, "w"))
print("kubernetes_sd_configs fields: OK")
PY
    promtool check config "$WORK/prometheus.yml"
else
    cat "$WORK/check.log"; exit 1
fi
