"""A real Prometheus (Debian's package) scrapes the agent on loopback every second, and its own HTTP
API says what it saw: the target is up, every sample of the tree was taken, none was rejected, and
PromQL over the scraped series names the tree's namespaces."""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import expected
from conftest import FAKE_NODE, free_port

# Prometheus's own counters of samples it refused; all must stay 0 for our target.
REJECTION_COUNTERS = [
    "prometheus_target_scrapes_sample_out_of_order_total",
    "prometheus_target_scrapes_sample_duplicate_timestamp_total",
    "prometheus_target_scrapes_sample_out_of_bounds_total",
    "prometheus_target_scrapes_exceeded_sample_limit_total",
    "prometheus_target_scrapes_exceeded_body_size_limit_total",
    "prometheus_target_scrape_pool_exceeded_label_limits_total",
]


def binary(name):
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} missing in CI (Debian package prometheus)")
        pytest.skip(f"{name} (Debian package prometheus) is not installed")
    return path


def api(base, path, **params):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]


def instant(base, query):
    return api(base, "/api/v1/query", query=query)["result"]


@pytest.fixture
def prometheus(tmp_path):
    started = []

    def start(target):
        exe = binary("prometheus")
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: kubemeter\n    metrics_path: /metrics/resource\n"
            f"    static_configs:\n      - targets: ['{target}']\n")
        log = open(tmp_path / "prometheus.log", "w")
        proc = subprocess.Popen([exe, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT)
        started.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return base
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("prometheus did not become ready; log:\n" + (tmp_path / "prometheus.log").read_text())
            time.sleep(0.1)
    yield start
    for proc, log in started:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def own_counter(base, name):
    """Prometheus's self-metric `name` (summed over label sets), read from its own /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    total, seen = 0.0, False
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name:
                total += s.value
                seen = True
    return total if seen else None


def test_prometheus_scrapes_the_agent(fake_node, agent, prometheus):
    tree = fake_node(pods=6, containers=2)
    a = agent("--host-root", tree)
    want = expected.series(tree)
    namespaces = {dict(labels)["namespace"] for (name, labels) in want if name == "container_cpu_usage_seconds_total"}
    base = prometheus(f"127.0.0.1:{a.port}")

    # Let it scrape ~8 times while CPU counters grow, so rate() has something to see.
    deadline = time.time() + 60
    scrapes = 0
    while time.time() < deadline:
        subprocess.run([sys.executable, FAKE_NODE, tree, "--advance", "1"], check=True, stdout=subprocess.DEVNULL)
        time.sleep(1)
        result = instant(base, 'count_over_time(up{job="kubemeter"}[1m])')
        scrapes = int(float(result[0]["value"][1])) if result else 0
        if scrapes >= 8:
            break
    assert scrapes >= 8, "prometheus did not scrape the agent 8 times within a minute"

    targets = api(base, "/api/v1/targets")["activeTargets"]
    assert len(targets) == 1
    assert targets[0]["health"] == "up", targets[0].get("lastError")
    assert targets[0]["lastError"] == ""

    up = instant(base, 'up{job="kubemeter"}')
    assert [r["value"][1] for r in up] == ["1"]
    # Every series of the tree, no more, no fewer (the tree's shape does not change with --advance).
    scraped = instant(base, 'scrape_samples_scraped{job="kubemeter"}')
    assert int(float(scraped[0]["value"][1])) == len(want)
    post = instant(base, 'scrape_samples_post_metric_relabeling{job="kubemeter"}')
    assert int(float(post[0]["value"][1])) == len(want)
    assert instant(base, 'min_over_time(up{job="kubemeter"}[1m])')[0]["value"][1] == "1", "a scrape failed"

    for name in REJECTION_COUNTERS:
        value = own_counter(base, name)
        assert value in (None, 0.0), f"{name} = {value}"

    rates = instant(base, "sum by (namespace) (rate(container_cpu_usage_seconds_total[5s]))")
    got = {r["metric"]["namespace"]: float(r["value"][1]) for r in rates}
    assert set(got) == namespaces
    assert all(v >= 0 for v in got.values())
    assert sum(got.values()) > 0, "CPU advanced between scrapes, so some rate must be positive"

    # The values Prometheus stored are the agent's: compare one pod's memory with the tree's truth.
    pods = instant(base, "pod_memory_working_set_bytes")
    stored = {(r["metric"]["namespace"], r["metric"]["pod"]): float(r["value"][1]) for r in pods}
    truth = {(dict(l)["namespace"], dict(l)["pod"]): v for (n, l), v in want.items() if n == "pod_memory_working_set_bytes"}
    assert stored == {k: float(v) for k, v in truth.items()}

    promtool = binary("promtool")
    status, _, body = a.get("/metrics/resource")
    assert status == 200
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b"", (r.stdout, r.stderr)
