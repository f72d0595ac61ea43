"""Ephemeral storage (docs/metrics.md, "Ephemeral storage"): the agent's background walks of a
fake-node --storage tree, each part and each pod's total against the generator's truth (itself
checked against GNU du in test_fake_node_storage.py), on /metrics/cadvisor, /stats/summary and
/top.json; the walk budget; the features on /metrics."""
import json
import subprocess
import sys
import time

import pytest

from conftest import FAKE_NODE
from topview import parse_bytes, rows


def storage_node(tmp_path, runtime, driver="systemd", pods=4, containers=2, seed=7):
    out = tmp_path / f"storage-{runtime}"
    subprocess.run([sys.executable, FAKE_NODE, str(out), "--pods", str(pods), "--containers", str(containers),
                    "--driver", driver, "--runtime", runtime, "--seed", str(seed), "--storage"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(out / "truth.json") as f:
        return str(out), json.load(f)


def wait_for_rounds(a, rounds, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = a.metrics()
        got = m.get(("kubemeter_ephemeral_storage_walk_rounds_total", ()), 0)
        if got >= rounds:
            return m
        time.sleep(0.1)
    pytest.fail(f"fewer than {rounds} walk rounds in {timeout} s; log:\n{a.logs()}")


def by_labels(samples, name, **want):
    return {dict(k[1]).get("container") if "container" in dict(k[1]) else None: v
            for k, v in samples.items() if k[0] == name and all(dict(k[1]).get(l) == x for l, x in want.items())}


def expected_total(pod, runtime):
    es = pod["ephemeral_storage"]
    inodes = es["total"]["inodes"]
    if runtime == "crio":  # the kubelet's cAdvisor provider leaves container log inodes out
        inodes -= sum(c["logs"]["inodes"] for c in es["containers"].values())
    return es["total"]["bytes"], inodes


@pytest.mark.parametrize("runtime,driver", [("containerd", "systemd"), ("crio", "cgroupfs"), ("docker", "systemd")])
def test_every_part_and_total_equals_truth(tmp_path, agent, runtime, driver):
    tree, truth = storage_node(tmp_path, runtime, driver)
    a = agent("--host-root", tree, "--ephemeral-storage-interval", "1", "--ephemeral-storage-inodes-per-second", "0")
    health = wait_for_rounds(a, 1)
    for feature in ("ephemeral_storage_logs", "ephemeral_storage_rootfs", "ephemeral_storage_volumes"):
        assert health[("kubemeter_feature_enabled", (("feature", feature),))] == 1, a.logs()
    assert health[("kubemeter_ephemeral_storage_walk_failures_total", ())] == 0, a.logs()
    assert health[("kubemeter_ephemeral_storage_walk_inodes_total", ())] > 0

    cad = a.metrics("/metrics/cadvisor")
    _, _, body = a.get("/stats/summary")
    summary = {p["podRef"]["uid"]: p for p in json.loads(body)["pods"]}
    assert len(summary) == len(truth["pods"])
    _, _, body = a.get("/top.json")
    top = {(r["namespace"], r["pod"]): r for r in json.loads(body)["pods"]}
    for pod in truth["pods"]:
        es = pod["ephemeral_storage"]
        labels = dict(namespace=pod["namespace"], pod=pod["name"])
        for c in pod["containers"]:
            want = es["containers"][c["name"]]
            fs_usage = by_labels(cad, "container_fs_usage_bytes", container=c["name"], **labels)
            fs_inodes = by_labels(cad, "container_fs_inodes_total", container=c["name"], **labels)
            assert fs_usage == {c["name"]: want["rootfs"]["bytes"]}, (runtime, pod["name"], c["name"])
            assert fs_inodes == {c["name"]: want["rootfs"]["inodes"]}
            assert by_labels(cad, "kubemeter_container_logs_bytes", container=c["name"], **labels) == {c["name"]: want["logs"]["bytes"]}
            assert by_labels(cad, "kubemeter_container_logs_inodes", container=c["name"], **labels) == {c["name"]: want["logs"]["inodes"]}
            sc = next(x for x in summary[pod["uid"]]["containers"] if x["name"] == c["name"])
            assert sc["rootfs"]["usedBytes"] == want["rootfs"]["bytes"]
            assert sc["rootfs"]["inodesUsed"] == want["rootfs"]["inodes"]
            assert sc["logs"]["usedBytes"] == want["logs"]["bytes"]
            assert sc["logs"]["inodesUsed"] == want["logs"]["inodes"]
            assert sc["rootfs"]["capacityBytes"] > 0 and sc["logs"]["capacityBytes"] > 0
        bytes_, inodes = expected_total(pod, runtime)
        key = lambda name: (name, tuple(sorted(labels.items())))
        assert cad[key("kubemeter_pod_ephemeral_storage_bytes")] == bytes_
        assert cad[key("kubemeter_pod_ephemeral_storage_inodes")] == inodes
        walked = cad[key("kubemeter_pod_ephemeral_storage_last_walk_timestamp_seconds")]
        assert time.time() - 120 < walked <= time.time() + 1
        sp = summary[pod["uid"]]
        assert sp["ephemeral-storage"]["usedBytes"] == bytes_
        assert sp["ephemeral-storage"]["inodesUsed"] == inodes
        volumes = {v["name"]: v for v in sp.get("volume", [])}
        for name, want in es["volumes"].items():
            assert volumes[name]["usedBytes"] == want["bytes"] and volumes[name]["inodesUsed"] == want["inodes"]
            part = ("kubemeter_pod_ephemeral_storage_part_bytes",
                    tuple(sorted({**labels, "part": "volume", "volume": name}.items())))
            assert cad[part] == want["bytes"]
        # Secret and projected volumes are listed, never counted.
        assert set(volumes) >= set(es["volumes"])
        for part, want in (("etc_hosts", es["etc_hosts"]), ("pod_logs", es["pod_logs"])):
            k = ("kubemeter_pod_ephemeral_storage_part_bytes", tuple(sorted({**labels, "part": part, "volume": ""}.items())))
            assert cad[k] == want["bytes"], part
        assert top[(pod["namespace"], pod["name"])]["ephemeral_storage_bytes"] == bytes_
    # The table's EPHEM column, sorted by it: largest first, each within its rounding.
    status, _, body = a.get("/top?sort=ephemeral&wide=1")
    assert status == 200
    table = rows(body.decode())
    want = sorted((expected_total(p, runtime)[0], p["name"]) for p in truth["pods"])[::-1]
    assert [r["POD"] for r in table] == [name for _, name in want]
    for row, (bytes_, _) in zip(table, want):
        value, slack = parse_bytes(row["EPHEM"])
        assert abs(value - bytes_) <= slack


def test_the_budget_paces_the_walk(tmp_path, agent):
    tree, truth = storage_node(tmp_path, "containerd", pods=2, containers=2)
    rate = 60
    a = agent("--host-root", tree, "--ephemeral-storage-interval", "3600", "--ephemeral-storage-inodes-per-second", str(rate))
    m = wait_for_rounds(a, 1, timeout=120)
    inodes = m[("kubemeter_ephemeral_storage_walk_inodes_total", ())]
    duration = m[("kubemeter_ephemeral_storage_walk_last_duration_seconds", ())]
    assert inodes > 2 * rate, "the tree is too small to show the budget"
    # The walk sleeps after each part (and every 512 inodes within one) until it is back
    # within the budget, so a round takes at least inodes / rate.
    assert duration >= 0.98 * inodes / rate
    assert duration < inodes / rate + 5
    assert m[("kubemeter_ephemeral_storage_walk_budget_inodes_per_second", ())] == rate
    assert m[("kubemeter_ephemeral_storage_walk_cpu_seconds_total", ())] < duration


def test_a_scrape_during_a_walk_is_not_slowed_and_the_figures_wait(tmp_path, agent):
    tree, truth = storage_node(tmp_path, "containerd", pods=2, containers=2)
    a = agent("--host-root", tree, "--ephemeral-storage-interval", "3600", "--ephemeral-storage-inodes-per-second", "100")
    start = time.time()
    _, _, body = a.get("/stats/summary")
    assert time.time() - start < 2
    # Mid-walk: no pod has a total yet, and none is made up.
    pods = json.loads(body)["pods"]
    assert all("ephemeral-storage" not in p for p in pods)


def test_walks_off_says_so(tmp_path, agent):
    tree, _ = storage_node(tmp_path, "containerd", pods=1, containers=1)
    a = agent("--host-root", tree)  # conftest turns the walks off
    m = a.metrics()
    assert m[("kubemeter_feature_enabled", (("feature", "ephemeral_storage_rootfs"),))] == 0
    assert ("kubemeter_ephemeral_storage_walk_rounds_total", ()) not in m
    cad = a.metrics("/metrics/cadvisor")
    assert not any(k[0].startswith(("kubemeter_pod_ephemeral", "container_fs_usage")) for k in cad)


def test_snapshot_walks_once(tmp_path, kubemeter_bin):
    tree, truth = storage_node(tmp_path, "docker", pods=2, containers=1)
    out = subprocess.run([kubemeter_bin, "snapshot", "--host-root", tree, "--format", "summary"],
                         check=True, capture_output=True, timeout=60).stdout
    pods = {p["podRef"]["uid"]: p for p in json.loads(out)["pods"]}
    for pod in truth["pods"]:
        assert pods[pod["uid"]]["ephemeral-storage"]["usedBytes"] == expected_total(pod, "docker")[0]
