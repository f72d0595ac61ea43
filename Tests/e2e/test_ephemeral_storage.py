"""Ephemeral storage (docs/metrics.md, "Ephemeral storage"): the agent's background walks of a
fake-node --storage tree, each part and each pod's total against the generator's truth (itself
checked against GNU du in test_fake_node_storage.py), on /metrics/cadvisor, /stats/summary and
/top.json; the walk budget; the features on /metrics."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import kubelet_schema
from conftest import FAKE_NODE, free_port
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
    document = json.loads(body)
    # rootfs, logs, volume[] and ephemeral-storage as the Go types have them.
    assert kubelet_schema.violations(document, "Summary") == []
    summary = {p["podRef"]["uid"]: p for p in document["pods"]}
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


NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
# What the shipped unit and DaemonSet have (no capability), and what reading every part needs.
POSTURES = {
    "nobody-no-capabilities": NOBODY + ["--inh-caps=-all"],
    # deploy/systemd/ephemeral-storage.conf: the dynamic user with that one ambient capability.
    "nobody-with-dac-read-search": NOBODY + ["--inh-caps=-all,+dac_read_search", "--ambient-caps=+dac_read_search"],
    # deploy/kubernetes/overlays/ephemeral-storage: uid 0, its own PID namespace, that one capability.
    "root-with-dac-read-search-only": ["unshare", "--pid", "--fork", "--kill-child=SIGTERM",
                                       "setpriv", "--bounding-set=-all,+dac_read_search", "--inh-caps=-all"],
    # Why the capability: root owns the runtime's directories, but not what a non-root
    # container wrote in its layer.
    "root-no-capabilities": ["unshare", "--pid", "--fork", "--kill-child=SIGTERM",
                             "setpriv", "--bounding-set=-all", "--inh-caps=-all"],
}


@pytest.mark.parametrize("posture", list(POSTURES))
def test_postures_say_what_they_cannot_read(tmp_path, kubemeter_bin, posture):
    """As on a node: containerd's snapshots/ 0700 and the kubelet's pods/ 0750, both root's. Without
    a capability only the logs are walked (and the features say why the rest is not); with
    CAP_DAC_READ_SEARCH alone every part is, and the totals are the truth's."""
    base = tempfile.mkdtemp(prefix="kubemeter-storage-posture-")
    os.chmod(base, 0o755)
    try:
        out = os.path.join(base, "node")
        subprocess.run([sys.executable, FAKE_NODE, out, "--pods", "3", "--containers", "2", "--storage", "--seed", "5"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "truth.json")) as f:
            truth = json.load(f)
        os.chmod(os.path.join(out, "var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots"), 0o700)
        os.chmod(os.path.join(out, "var/lib/kubelet/pods"), 0o750)
        # A directory a container running as uid 1000 made private, in the first pod's first layer.
        first = truth["pods"][0]
        layer = layer_of(out, first["containers"][0]["id"])
        private = os.path.join(layer, "private")
        os.mkdir(private, 0o700)
        with open(os.path.join(private, "secret.bin"), "wb") as f:
            f.write(b"s" * 10_000)
        os.chown(os.path.join(private, "secret.bin"), 1000, 1000)
        os.chown(private, 1000, 1000)
        added = sum(os.lstat(p).st_blocks * 512 for p in (private, os.path.join(private, "secret.bin")))
        es = first["ephemeral_storage"]
        es["containers"][first["containers"][0]["name"]]["rootfs"]["bytes"] += added
        es["containers"][first["containers"][0]["name"]]["rootfs"]["inodes"] += 2
        es["total"]["bytes"] += added
        es["total"]["inodes"] += 2
        port = free_port()
        log_path = os.path.join(base, "agent.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(POSTURES[posture] + [kubemeter_bin, "serve", "--listen-address", f"127.0.0.1:{port}",
                                    "--host-root", out, "--ephemeral-storage-interval", "1",
                                    "--ephemeral-storage-inodes-per-second", "0"], stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            a = _Client(port, proc, log_path)
            m = wait_for_rounds(a, 1)
            features = {f: m[("kubemeter_feature_enabled", (("feature", f),))]
                        for f in ("ephemeral_storage_logs", "ephemeral_storage_rootfs", "ephemeral_storage_volumes")}
            cad = a.metrics("/metrics/cadvisor")
            totals = {dict(k[1])["pod"]: v for k, v in cad.items() if k[0] == "kubemeter_pod_ephemeral_storage_bytes"}
            logs = {(dict(k[1])["pod"], dict(k[1])["container"]): v for k, v in cad.items()
                    if k[0] == "kubemeter_container_logs_bytes"}
            want_logs = {(p["name"], c): parts["logs"]["bytes"]
                         for p in truth["pods"] for c, parts in p["ephemeral_storage"]["containers"].items()}
            assert logs == want_logs
            if posture == "root-no-capabilities":
                # Every directory the runtime and the kubelet own is root's: listed. The private
                # one is not readable: that pod has no total (never one short of it), the others do.
                assert features == {"ephemeral_storage_logs": 1, "ephemeral_storage_rootfs": 1, "ephemeral_storage_volumes": 1}
                assert m[("kubemeter_ephemeral_storage_walk_failures_total", ())] >= 1
                assert first["name"] not in totals
                assert totals == {p["name"]: expected_total(p, "containerd")[0] for p in truth["pods"][1:]}
                assert "Permission denied" in open(log_path).read()
            elif posture == "nobody-no-capabilities":
                assert features == {"ephemeral_storage_logs": 1, "ephemeral_storage_rootfs": 0, "ephemeral_storage_volumes": 0}
                text = open(log_path).read()
                assert "Permission denied" in text and "CAP_DAC_READ_SEARCH" in text
                # No total short of the parts it cannot read, and no failure counted per round for them.
                assert totals == {}
                assert m[("kubemeter_ephemeral_storage_walk_failures_total", ())] == 0
                assert not any(k[0] == "container_fs_usage_bytes" for k in cad)
            else:
                assert features == {"ephemeral_storage_logs": 1, "ephemeral_storage_rootfs": 1, "ephemeral_storage_volumes": 1}
                assert totals == {p["name"]: expected_total(p, "containerd")[0] for p in truth["pods"]}
                assert m[("kubemeter_ephemeral_storage_walk_failures_total", ())] == 0
        finally:
            # unshare --fork ignores SIGTERM: the whole group, so the agent gets it too.
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def layer_of(tree, container_id):
    """The upperdir fake-node's mountinfo gives the container, under the tree."""
    with open(os.path.join(tree, "proc/1/mountinfo")) as f:
        for line in f:
            if f"/k8s.io/{container_id}/rootfs " in line:
                upper = line.split("upperdir=")[1].split(",")[0].strip()
                return os.path.join(tree, upper.lstrip("/"))
    raise AssertionError(f"no rootfs mount of {container_id}")


class _Client:
    """The few calls of conftest's Agent, for an agent started under setpriv."""

    def __init__(self, port, proc, log_path):
        self.base, self.proc, self.log_path = f"http://127.0.0.1:{port}", proc, log_path
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, self.logs()
            time.sleep(0.05)

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return r.status, dict(r.headers), r.read()

    def metrics(self, path="/metrics"):
        _, _, body = self.get(path)
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for fam in text_string_to_metric_families(body.decode()) for s in fam.samples}

    def logs(self):
        return open(self.log_path).read()
