"""The agent's views for a person with curl: GET /top (the table), GET /snapshot.json (what the agent
thinks is on the node), the index at /, and `kubemeter snapshot` in its three formats."""
import json
import os
import subprocess
import time

import pytest

from topview import assert_pod_rows, parse_bytes, rows, truth


@pytest.fixture
def node(fake_node, agent):
    tree = fake_node(pods=6, containers=2)
    return tree, agent("--host-root", tree)


def text(a, path):
    status, headers, body = a.get(path)
    return status, headers, body.decode()


def test_index_lists_top_and_pods(node):
    _, a = node
    status, _, body = text(a, "/")
    assert status == 200
    assert any(l.startswith("/top ") for l in body.splitlines())
    assert any(l.startswith("/pods ") for l in body.splitlines())
    assert any(l.startswith("/stats/summary ") for l in body.splitlines())
    assert any(l.startswith("/snapshot.json ") for l in body.splitlines())


def test_top_without_a_usable_previous_collection_samples_and_says_so(node):
    tree, a = node
    # The agent's start-up collection is normally a few ms old, too close to compute rates over;
    # on a slow machine it may be usable. Either way the output says where the rates come from.
    status, headers, body = text(a, "/top")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    line = body.splitlines()[1]
    assert "(a sample taken for this request: " in line or "(since the previous collection)" in line
    assert_pod_rows(rows(body), truth(tree))


def test_top_uses_the_previous_collection(node):
    tree, a = node
    # A /metrics/cadvisor scrape reads everything /top shows (network, PSI, OOM counters): /top
    # computes its rates against it instead of sampling for a second.
    assert a.get("/metrics/cadvisor")[0] == 200
    time.sleep(0.7)  # rates over less than 0.5 s are refused as noise
    status, _, body = text(a, "/top")
    assert status == 200
    assert "(since the previous collection)" in body.splitlines()[1]
    assert_pod_rows(rows(body), truth(tree))


def test_top_samples_after_a_resource_only_collection(node):
    tree, a = node
    # /metrics/resource reads only the kubelet's files: too little for /top's rates.
    assert a.get("/metrics/resource")[0] == 200
    time.sleep(0.7)
    status, _, body = text(a, "/top")
    assert status == 200
    assert "(a sample taken for this request: no previous collection)" in body.splitlines()[1]
    assert_pod_rows(rows(body), truth(tree))


def test_top_query_parameters(node):
    tree, a = node
    t = truth(tree)
    _, _, body = text(a, "/top?sort=memory")
    assert [r["POD"] for r in rows(body)] == [p["name"] for p in sorted(t["pods"], key=lambda p: -p["working_set_bytes"])]
    namespace = t["pods"][0]["namespace"]
    _, _, body = text(a, f"/top?namespace={namespace}&containers=1")
    got = rows(body)
    want = {(p["name"], c["name"]): c["working_set_bytes"] for p in t["pods"] if p["namespace"] == namespace
            for c in p["containers"]}
    assert {(r["POD"], r["CONTAINER"]) for r in got} == set(want)
    for r in got:
        value, slack = parse_bytes(r["MEM"])
        assert abs(value - want[(r["POD"], r["CONTAINER"])]) <= slack
    _, _, body = text(a, "/top?width=70")
    assert all(len(l) <= 70 for l in body.splitlines())
    assert a.get("/top?sort=bogus")[0] == 400
    assert a.get("/top?nope=1")[0] == 400


def test_snapshot_json_is_what_the_agent_sees(node):
    tree, a = node
    t = truth(tree)
    status, headers, body = a.get("/snapshot.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    data = json.loads(body)
    assert data["node"]["memory_working_set_bytes"] == t["node"]["working_set_bytes"]
    assert data["node"]["cpu_usage_seconds"] == pytest.approx(t["node"]["cpu_seconds_cgroup"], abs=1e-6)
    by_uid = {p["uid"]: p for p in data["pods"]}
    assert set(by_uid) == {p["uid"] for p in t["pods"]}
    for want in t["pods"]:
        got = by_uid[want["uid"]]
        assert (got["namespace"], got["name"]) == (want["namespace"], want["name"])
        assert got["qos_class"] == want["qos"]
        assert os.path.isdir(got["cgroup_path"]) and got["cgroup_path"].startswith(tree)
        assert got["memory_working_set_bytes"] == want["working_set_bytes"]
        assert got["cpu_usage_seconds"] == pytest.approx(want["cpu_seconds"], abs=1e-6)
        assert got["memory_limit_bytes"] is None or got["memory_limit_bytes"] > 0
        assert got["oom_kills"] is None or got["oom_kills"] >= 0
        containers = {c["id"]: c for c in got["containers"]}
        assert set(containers) == {c["id"] for c in want["containers"]}
        for wc in want["containers"]:
            gc = containers[wc["id"]]
            assert gc["name"] == wc["name"] and gc["runtime"] == "containerd"
            assert gc["cgroup_path"].startswith(got["cgroup_path"] + "/") and wc["id"] in gc["cgroup_path"]
            assert gc["memory_working_set_bytes"] == wc["working_set_bytes"]
            assert gc["cpu_usage_seconds"] == pytest.approx(wc["cpu_seconds"], abs=1e-6)
            assert gc["start_time_seconds"] == pytest.approx(wc["start_time_seconds"])


def snapshot(binary, tree, *args):
    proc = subprocess.run([binary, "snapshot", "--host-root", tree, *args], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def test_snapshot_formats(kubemeter_bin, node):
    tree, a = node
    prom = snapshot(kubemeter_bin, tree)
    assert prom == snapshot(kubemeter_bin, tree, "--format", "prom")
    assert prom == a.get("/metrics/resource")[2]  # the tree does not change: the same bytes
    data = json.loads(snapshot(kubemeter_bin, tree, "--format", "json"))
    assert {p["uid"]: p["memory_working_set_bytes"] for p in data["pods"]} == \
        {p["uid"]: p["working_set_bytes"] for p in truth(tree)["pods"]}
    table = snapshot(kubemeter_bin, tree, "--format", "table").decode()
    assert "no rates: one collection only" in table
    got = rows(table)
    assert len(got) == 6 and all(r["CPU"] == "-" for r in got)
    assert [(r["NAMESPACE"], r["POD"]) for r in got] == sorted((r["NAMESPACE"], r["POD"]) for r in got)
