#!/usr/bin/env bash
# Checks deploy/grafana/kubemeter.json: valid JSON with unique panel ids, every panel query and
# template-variable metric is valid PromQL (promtool check rules on the queries, with Grafana's
# variables substituted), and every metric it reads is one kubemeter serves (or Prometheus' own
# up / scrape_duration_seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - deploy/grafana/kubemeter.json "$WORK/queries.yaml" <<'PY'
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
panels = dashboard["panels"]
ids = [p["id"] for p in panels]
assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
served = {"node_cpu_usage_seconds_total", "node_memory_working_set_bytes", "pod_cpu_usage_seconds_total",
          "pod_memory_working_set_bytes", "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
          "resource_scrape_error", "up", "scrape_duration_seconds"}
exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
for v in dashboard["templating"]["list"]:
    if v["type"] == "query":
        m = re.fullmatch(r"label_values\((.*), *\w+\)", v["query"]["query"])
        assert m, v["query"]
        exprs.append(m.group(1))
def substitute(expr):
    return expr.replace("$__rate_interval", "5m").replace("$node", ".*").replace("$namespace", ".*").replace("$pod", ".*")
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, expr in enumerate(exprs):
        names = set(re.findall(r"\b([a-z_]+)\{", expr))
        assert names <= served, f"unknown metric(s) {names - served} in {expr}"
        out.write(f"      - record: dashboard_query_{i}\n        expr: {json.dumps(substitute(expr))}\n")
print(f"grafana: {len(panels)} panels, {len(exprs)} queries, metrics all served by kubemeter")
PY
promtool check rules "$WORK/queries.yaml"
