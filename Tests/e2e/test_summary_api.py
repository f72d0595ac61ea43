"""/stats/summary and /pods on fake-node trees: the shape checked against the Go types
(kubelet_schema.py, transcribed from k8s.io/kubelet stats/v1alpha1 and k8s.io/api core/v1), and
every value against the tree's truth.json (or, for statfs figures, against os.statvfs)."""
import calendar
import json
import os
import subprocess
import sys
import time

import pytest

import kubelet_schema
from conftest import FAKE_NODE

LAYOUTS = [("systemd", "containerd"), ("systemd", "crio"), ("systemd", "docker"), ("cgroupfs", "containerd"),
           ("cgroupfs", "crio")]
ID_SCHEMES = {"containerd": "containerd", "crio": "cri-o", "docker": "docker"}


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


def get_json(agent, path):
    status, headers, body = agent.get(path)
    assert status == 200, (path, status, body[:300])
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def truth_of(tree):
    with open(os.path.join(tree, "truth.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("driver,runtime", LAYOUTS)
def test_documents_have_the_go_types_shape(agent, fake_node, driver, runtime):
    tree = fake_node(pods=6, containers=3, driver=driver, runtime=runtime)
    a = agent("--host-root", tree, "--node-name", "node-a")
    time.sleep(1.1)  # past the shortest rate window, so that usageNanoCores is written too
    for path, type_name in [("/stats/summary", "Summary"), ("/stats/summary?only_cpu_and_memory=true", "Summary"),
                            ("/pods", "PodList")]:
        document = get_json(a, path)
        assert kubelet_schema.violations(document, type_name) == [], path
    summary = get_json(a, "/stats/summary")
    assert len(summary["pods"]) == 6
    assert "usageNanoCores" in summary["node"]["cpu"]
    assert all("usageNanoCores" in c["cpu"] for p in summary["pods"] for c in p["containers"])


def test_summary_values_equal_the_truth(agent, fake_node):
    tree = fake_node(pods=8, containers=2)
    truth = truth_of(tree)
    a = agent("--host-root", tree, "--node-name", "node-a")
    summary = get_json(a, "/stats/summary")
    node, t = summary["node"], truth["node"]
    assert node["nodeName"] == "node-a"
    assert node["startTime"] == rfc3339(t["boot_time_seconds"])
    assert node["cpu"]["usageCoreNanoSeconds"] == round(t["cpu_seconds_cgroup"] * 1e9)
    assert node["memory"]["workingSetBytes"] == t["working_set_bytes"]
    assert node["memory"]["availableBytes"] == t["memory_total_bytes"] - t["working_set_bytes"]
    assert node["memory"]["usageBytes"] == t["usage_bytes"]
    assert node["memory"]["rssBytes"] == t["rss_bytes"]
    assert node["rlimit"]["maxpid"] == t["task_limit"] and node["rlimit"]["curproc"] == t["tasks"]
    # eth0 inline, cni0 listed, lo left out (cAdvisor's isIgnoredDevice).
    assert node["network"]["name"] == "eth0" and node["network"]["rxBytes"] == t["eth0_rx_bytes"]
    assert [i["name"] for i in node["network"]["interfaces"]] == ["eth0", "cni0"]
    # statfs of the kubelet's and the runtime's directories: the file system the tree is on.
    for document, directory in [(node["fs"], "var/lib/kubelet"), (node["runtime"]["imageFs"], "var/lib/containerd")]:
        fs = os.statvfs(os.path.join(tree, directory))
        assert document["capacityBytes"] == fs.f_blocks * fs.f_frsize
        assert document["inodes"] == fs.f_files
        assert abs(document["availableBytes"] - fs.f_bavail * fs.f_frsize) < 64 * 2**20
    assert "usedBytes" not in node["runtime"]["imageFs"]  # the images' size is the runtime's to say
    systems = {s["name"]: s for s in node["systemContainers"]}
    assert set(systems) == {"kubelet", "runtime", "pods"}
    for name, expected in truth["system_containers"].items():
        assert systems[name]["cpu"]["usageCoreNanoSeconds"] == round(expected["cpu_seconds"] * 1e9), name
        assert systems[name]["memory"]["workingSetBytes"] == expected["working_set_bytes"], name
        assert systems[name]["memory"]["usageBytes"] == expected["memory_usage_bytes"], name
        assert systems[name]["startTime"] == rfc3339(expected["start_time_seconds"]), name

    pods = {p["podRef"]["uid"]: p for p in summary["pods"]}
    assert set(pods) == {p["uid"] for p in truth["pods"]}
    for tp in truth["pods"]:
        p = pods[tp["uid"]]
        assert p["podRef"] == {"name": tp["name"], "namespace": tp["namespace"], "uid": tp["uid"]}
        assert p["startTime"] == rfc3339(tp["start_time_seconds"])
        assert p["cpu"]["usageCoreNanoSeconds"] == round(tp["cpu_seconds"] * 1e6) * 1000
        assert p["memory"]["workingSetBytes"] == tp["working_set_bytes"]
        assert p["memory"]["usageBytes"] == tp["memory_usage_bytes"]
        assert p["network"]["name"] == "eth0"
        assert p["network"]["rxBytes"] == tp["rx_bytes"] and p["network"]["txBytes"] == tp["tx_bytes"]
        containers = {c["name"]: c for c in p["containers"]}
        assert set(containers) == {c["name"] for c in tp["containers"]}
        for tc in tp["containers"]:
            c = containers[tc["name"]]
            assert c["startTime"] == rfc3339(tc["start_time_seconds"])
            assert c["cpu"]["usageCoreNanoSeconds"] == round(tc["cpu_seconds"] * 1e6) * 1000
            assert c["memory"]["workingSetBytes"] == tc["working_set_bytes"]
            if tc["memory_limit_bytes"] is None:
                assert "availableBytes" not in c["memory"]
            else:
                # Floored at 0 (the kubelet's uint64 would wrap; the generator's limits are not enforced).
                assert c["memory"]["availableBytes"] == max(0, tc["memory_limit_bytes"] - tc["working_set_bytes"])


def test_only_cpu_and_memory_keeps_what_the_kubelet_keeps(agent, fake_node):
    a = agent("--host-root", fake_node(pods=3, containers=2), "--node-name", "node-a")
    summary = get_json(a, "/stats/summary?only_cpu_and_memory=true")
    assert set(summary["node"]) <= {"nodeName", "startTime", "cpu", "memory", "swap", "systemContainers"}
    for pod in summary["pods"]:
        assert set(pod) <= {"podRef", "startTime", "containers", "cpu", "memory", "swap"}
        for c in pod["containers"]:
            assert set(c) <= {"name", "startTime", "cpu", "memory", "swap"}
            assert "psi" not in c["cpu"] and "psi" not in c["memory"]
    # The kubelet takes only the exact value `true`; anything else is the whole summary.
    assert "network" in get_json(a, "/stats/summary?only_cpu_and_memory=1")["node"]


def test_every_caller_gets_the_rate_over_at_least_a_second(agent, fake_node):
    """usageNanoCores = Δusage / Δt between this collection and an earlier one at least 1 s older:
    a second caller right after the first gets a rate too (the kubelet's CRI provider gives it 0,
    kubernetes#122092)."""
    tree = fake_node(pods=2, containers=1)
    a = agent("--host-root", tree)
    time.sleep(1.1)
    before = truth_of(tree)
    t0 = time.time()
    get_json(a, "/stats/summary")  # a reading of the counters as they were
    t1 = time.time()
    subprocess.run([sys.executable, FAKE_NODE, tree, "--advance", "30"], check=True, stdout=subprocess.DEVNULL)
    after = truth_of(tree)
    time.sleep(1.1)
    t2 = time.time()
    first = get_json(a, "/stats/summary")
    second = get_json(a, "/stats/summary")  # right after: its window starts at the same reading
    t3 = time.time()
    grown = {c["id"]: (c2["cpu_seconds"] - c1["cpu_seconds"]) * 1e9
             for p1, p2 in zip(before["pods"], after["pods"]) for c1, c2 in zip(p1["containers"], p2["containers"])
             for c in [c2]}
    names = {c["name"]: c["id"] for p in after["pods"] for c in p["containers"]}
    for document in (first, second):
        for pod in document["pods"]:
            for c in pod["containers"]:
                rate = c["cpu"]["usageNanoCores"]
                # The window runs from the reading (t0..t1) to this collection (t2..t3).
                assert grown[names[c["name"]]] / (t3 - t0) <= rate <= grown[names[c["name"]]] / (t2 - t1), c["name"]


@pytest.mark.parametrize("driver,runtime", LAYOUTS)
def test_pods_is_a_pod_list_of_what_the_node_knows(agent, fake_node, driver, runtime):
    tree = fake_node(pods=8, containers=3, driver=driver, runtime=runtime)
    truth = truth_of(tree)
    a = agent("--host-root", tree, "--node-name", "node-a")
    pods = get_json(a, "/pods")
    assert pods["kind"] == "PodList" and pods["apiVersion"] == "v1" and pods["metadata"] == {}
    items = {p["metadata"]["uid"]: p for p in pods["items"]}
    assert set(items) == {p["uid"] for p in truth["pods"]}
    for tp in truth["pods"]:
        item = items[tp["uid"]]
        assert (item["metadata"]["name"], item["metadata"]["namespace"]) == (tp["name"], tp["namespace"])
        assert item["spec"]["nodeName"] == "node-a"
        assert item["status"]["qosClass"] == {"guaranteed": "Guaranteed", "burstable": "Burstable",
                                              "besteffort": "BestEffort"}[tp["qos"]]
        assert item["status"]["phase"] == "Running"
        assert item["status"]["startTime"] == rfc3339(tp["start_time_seconds"])
        spec = {c["name"]: c for c in item["spec"]["containers"]}
        statuses = {c["name"]: c for c in item["status"]["containerStatuses"]}
        for tc in tp["containers"]:
            status = statuses[tc["name"]]
            assert status["containerID"] == f"{ID_SCHEMES[runtime]}://{tc['id']}"
            assert status["state"]["running"]["startedAt"] == rfc3339(tc["start_time_seconds"])
            assert status["restartCount"] == tc["restart_count"]
            resources = spec[tc["name"]]["resources"]
            limits = {}
            if tc["cpu_limit_millicores"]:
                limits["cpu"] = f"{tc['cpu_limit_millicores']}m"
            if tc["memory_limit_bytes"]:
                limits["memory"] = {256 * 2**20: "256Mi", 2**30: "1Gi", 4 * 2**30: "4Gi"}[tc["memory_limit_bytes"]]
            assert resources.get("limits", {}) == limits, tc["name"]
            if tp["qos"] == "guaranteed":
                requests = limits
            else:
                requests = {} if not tc["cpu_request_millicores"] else {
                    "cpu": f"{tc['cpu_request_millicores'] // 1000}" if tc["cpu_request_millicores"] % 1000 == 0
                    else f"{tc['cpu_request_millicores']}m"}
            assert resources.get("requests", {}) == requests, tc["name"]


@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_cpu_requests_come_back_from_either_runtime_formula(agent, tmp_path, weights):
    """runc < 1.3.2 writes cpu.weight by a linear formula, later ones by a quadratic one; the
    kubelet's own pod cgroups stay linear, which tells them apart (--cpu-weight-conversion auto)."""
    tree = str(tmp_path / "node")
    subprocess.run([sys.executable, FAKE_NODE, tree, "--pods", "12", "--containers", "2", "--weights", weights],
                   check=True, stdout=subprocess.DEVNULL)
    truth = truth_of(tree)
    a = agent("--host-root", tree)
    items = {p["metadata"]["uid"]: p for p in get_json(a, "/pods")["items"]}
    checked = 0
    for tp in truth["pods"]:
        if tp["qos"] != "burstable":
            continue
        spec = {c["name"]: c for c in items[tp["uid"]]["spec"]["containers"]}
        for tc in tp["containers"]:
            milli = tc["cpu_request_millicores"]
            got = spec[tc["name"]]["resources"].get("requests", {}).get("cpu")
            assert got == (None if not milli else f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"), tc
            checked += milli is not None
    assert checked >= 3


def test_what_each_reader_needs_is_there(agent, fake_node):
    """The fields the readers in docs/consumers.md take, and the joins they make between
    /stats/summary and /pods (kubeletstats: metadata.uid and container name; Datadog: a Running
    pod, a containerID and state.running.startedAt for each container), over gzip as Go's
    transport asks for it."""
    import gzip
    tree = fake_node(pods=5, containers=2)
    a = agent("--host-root", tree)
    time.sleep(1.1)
    status, headers, body = a.get("/stats/summary", headers={"Accept-Encoding": "gzip", "Content-Type": "application/json"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    summary = json.loads(gzip.decompress(body))
    node = summary["node"]
    # kubeletstats' node metrics; Metricbeat's node and system metricsets.
    for group, fields in {"cpu": ["usageNanoCores", "usageCoreNanoSeconds"],
                          "memory": ["availableBytes", "usageBytes", "workingSetBytes", "rssBytes", "pageFaults",
                                     "majorPageFaults"],
                          "fs": ["availableBytes", "capacityBytes", "usedBytes", "inodes", "inodesFree", "inodesUsed"],
                          "network": ["name", "rxBytes", "txBytes", "rxErrors", "txErrors"]}.items():
        assert all(f in node[group] for f in fields), (group, node[group])
    assert all(f in node["runtime"]["imageFs"] for f in ["availableBytes", "capacityBytes"])
    # Datadog's kubernetes.kubelet.* and kubernetes.runtime.*.
    systems = {s["name"]: s for s in node["systemContainers"]}
    for name in ("kubelet", "runtime"):
        assert {"usageNanoCores"} <= set(systems[name]["cpu"]) and {"rssBytes", "usageBytes"} <= set(systems[name]["memory"])
    pod_list = json.loads(a.get("/pods")[2])
    items = {p["metadata"]["uid"]: p for p in pod_list["items"]}
    for pod in summary["pods"]:
        assert {"name", "namespace", "uid"} <= set(pod["podRef"]) and pod["containers"]
        assert {"usageNanoCores", "usageCoreNanoSeconds"} <= set(pod["cpu"])
        assert {"usageBytes", "workingSetBytes", "rssBytes"} <= set(pod["memory"])
        item = items[pod["podRef"]["uid"]]  # kubeletstats' join
        assert item["status"]["phase"] == "Running"  # Datadog emits nothing for a pod that is not
        statuses = {s["name"]: s for s in item["status"]["containerStatuses"]}
        spec = {c["name"] for c in item["spec"]["containers"]}
        for c in pod["containers"]:
            assert {"usageNanoCores", "usageCoreNanoSeconds"} <= set(c["cpu"])
            assert {"usageBytes", "workingSetBytes"} <= set(c["memory"])
            assert c["name"] in spec
            assert statuses[c["name"]]["containerID"].startswith("containerd://")
            assert statuses[c["name"]]["state"]["running"]["startedAt"]
    # Readers probe these; Datadog adds ?verbose.
    assert a.get("/healthz?verbose")[0] == 200
    assert a.get("/stats/summary?only_cpu_and_memory=true&foo=bar")[0] == 200
