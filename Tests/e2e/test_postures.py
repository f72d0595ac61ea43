"""Per-pod network on the real kernel, in the postures the agent ships in, played on this host:
root in the host's PID namespace; `nobody` in the host's PID namespace (the systemd unit's
DynamicUser); `nobody` in a PID namespace of its own reading the host's procfs (the DaemonSet,
hostPID false). Pods are real cgroups under a cgroup v2 mount holding real processes in real
network namespaces fed a known number of Ethernet frames: a pod with one interface, a pod with
two (multus-style eth0 and net1), a hostNetwork pod, and a pod whose sandbox is replaced between
two scrapes. The agent's numbers are checked against each namespace's own /proc/<pid>/net/dev,
read just before and just after the scrape. Needs root; skips where no writable cgroup v2 mount
exists; removes every cgroup, process and link it made."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

import kubelet_schema
from conftest import free_port
from test_real_cgroup import cgroup2_mount

FRAME = 1000          # bytes per frame
NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all"]
POSTURES = {
    "root": [],
    "nobody": NOBODY,
    # The DaemonSet: its own PID namespace (cgroup.procs reads 0 for every host process there),
    # the host's procfs read as it is mounted, as nobody.
    "nobody-own-pid-namespace": ["unshare", "--pid", "--fork", "--kill-child=SIGTERM"] + NOBODY,
}


def sh(*args):
    return subprocess.run(list(args), check=True, capture_output=True, text=True).stdout


def net_dev(pid):
    stats = {}
    with open(f"/proc/{pid}/net/dev") as f:
        for line in f.read().splitlines()[2:]:
            name, _, rest = line.partition(":")
            fields = [int(x) for x in rest.split()]
            stats[name.strip()] = {"rx_bytes": fields[0], "rx_packets": fields[1]}
    return stats


class Node:
    """Pods laid out as the kubelet and containerd's cgroupfs driver would, under a test cgroup."""

    def __init__(self, base, logs):
        self.base, self.logs = base, logs
        self.made, self.procs, self.links = [], [], []
        os.makedirs(os.path.join(logs, "pods"))
        os.makedirs(os.path.join(logs, "containers"))
        self.mkdir("kubepods")
        self.mkdir("kubepods", "burstable")

    def mkdir(self, *parts):
        path = os.path.join(self.base, *parts)
        os.mkdir(path)
        self.made.append(path)
        return path

    def spawn(self, cgroup, argv):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        self.procs.append(p)
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(p.pid))
        return p

    def pod(self, name, host_network=False):
        uid = str(uuid.uuid4())
        pod_dir = self.mkdir("kubepods", "burstable", f"pod{uid}")
        pod = {"name": name, "uid": uid, "dir": pod_dir, "interfaces": {}}
        self.sandbox(pod, host_network)
        app_id = uuid.uuid4().hex * 2
        app = self.mkdir("kubepods", "burstable", f"pod{uid}", app_id)
        ns = ["nsenter", "-t", str(pod["pid"]), "-n"] if not host_network else []
        self.spawn(app, ns + ["sleep", "1000"])
        log_dir = os.path.join(self.logs, "pods", f"net_{name}_{uid}", "app")
        os.makedirs(log_dir)
        open(os.path.join(log_dir, "0.log"), "w").close()
        os.symlink(os.path.join(log_dir, "0.log"), os.path.join(self.logs, "containers", f"{name}_net_app-{app_id}.log"))
        return pod

    def sandbox(self, pod, host_network):
        sandbox_id = uuid.uuid4().hex * 2
        cgroup = self.mkdir("kubepods", "burstable", f"pod{pod['uid']}", sandbox_id)
        argv = ["sleep", "1000"] if host_network else ["unshare", "--net", "sleep", "1000"]
        p = self.spawn(cgroup, argv)
        # `unshare` execs sleep: the same pid, now in its own network namespace.
        deadline = time.time() + 10
        while not host_network and os.readlink(f"/proc/{p.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            assert time.time() < deadline, "the sandbox did not get its own network namespace"
            time.sleep(0.02)
        pod.update(sandbox_id=sandbox_id, sandbox_cgroup=cgroup, sandbox=p, pid=p.pid, interfaces={})

    def interface(self, pod, name):
        """A veth pair, the pod's end named `name` in its namespace, IPv6 off on both ends (no
        autoconfiguration traffic: every frame counted is one this test sent)."""
        host = f"km{uuid.uuid4().hex[:10]}"
        peer = f"kp{uuid.uuid4().hex[:10]}"
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
        self.links.append(host)
        for end in (host, peer):
            with open(f"/proc/sys/net/ipv6/conf/{end}/disable_ipv6", "w") as f:
                f.write("1")
        sh("ip", "link", "set", peer, "netns", str(pod["pid"]))
        enter = ["nsenter", "-t", str(pod["pid"]), "-n"]
        sh(*enter, "ip", "link", "set", peer, "name", name)
        sh(*enter, "ip", "link", "set", name, "up")
        sh("ip", "link", "set", host, "up")
        pod["interfaces"][name] = host

    def feed(self, pod, name, frames):
        link = sh("nsenter", "-t", str(pod["pid"]), "-n", "ip", "-o", "link", "show", name)
        dst = bytes.fromhex(link.split("link/ether ")[1].split()[0].replace(":", ""))
        host = pod["interfaces"][name]
        with open(f"/sys/class/net/{host}/address") as f:
            src = bytes.fromhex(f.read().strip().replace(":", ""))
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((host, 0))
        # EtherType 0x88b5 (IEEE local experimental): counted in rx_bytes, then dropped.
        frame = dst + src + b"\x88\xb5" + bytes(FRAME - 14)
        for _ in range(frames):
            s.send(frame)
        s.close()

    def replace_sandbox(self, pod):
        """The kubelet's sandbox restart: the old sandbox and its namespace go, a new one comes."""
        pod["sandbox"].kill()
        pod["sandbox"].wait()
        for p in self.procs:
            if p.poll() is None and p is not pod["sandbox"] and p.args[:3] == ["nsenter", "-t", str(pod["pid"])]:
                p.kill()
                p.wait()
        os.rmdir(pod["sandbox_cgroup"])
        self.made.remove(pod["sandbox_cgroup"])
        self.sandbox(pod, host_network=False)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        for path in reversed(self.made):
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass


@pytest.fixture
def node():
    mount = cgroup2_mount()
    if mount is None or os.geteuid() != 0 or not shutil.which("ip"):
        if os.environ.get("CI"):
            pytest.fail("CI runs as root with a writable cgroup v2 mount and iproute2")
        pytest.skip("needs root, a writable cgroup v2 mount and iproute2")
    base = os.path.join(mount, f"kubemeter-postures-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    os.mkdir(base)
    # Readable by nobody, as /var/log/pods is on a node (pytest's own tmp_path is 0700).
    logs = tempfile.mkdtemp(prefix="kubemeter-postures-")
    os.chmod(logs, 0o755)
    n = Node(base, logs)
    try:
        yield n
    finally:
        n.cleanup()
        os.rmdir(base)
        shutil.rmtree(logs)


class PostureAgent:
    def __init__(self, kubemeter_bin, prefix, node, log_path):
        self.port = free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        args = [kubemeter_bin, "serve", "--listen-address", f"127.0.0.1:{self.port}", "--cgroup-path", node.base,
                "--pod-log-path", os.path.join(node.logs, "pods"),
                "--container-log-path", os.path.join(node.logs, "containers")]
        self.proc = subprocess.Popen(prefix + args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert self.proc.poll() is None and time.time() < deadline, f"agent did not come up:\n{self.logs()}"
            time.sleep(0.05)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self, path):
        status, body = self.get(path)
        assert status == 200
        got = {}
        for fam in text_string_to_metric_families(body):
            for s in fam.samples:
                got[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return got

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def received(got, pod_name):
    """{interface: rx bytes} of one pod from /metrics/cadvisor."""
    return {dict(labels)["interface"]: v for (name, labels), v in got.items()
            if name == "container_network_receive_bytes_total" and dict(labels).get("pod") == pod_name}


@pytest.mark.parametrize("posture", list(POSTURES))
def test_pod_network_in_every_posture(kubemeter_bin, node, tmp_path, posture):
    single = node.pod("single")
    node.interface(single, "eth0")
    double = node.pod("double")
    node.interface(double, "eth0")
    node.interface(double, "net1")
    host = node.pod("host-network", host_network=True)
    replaced = node.pod("replaced")
    node.interface(replaced, "eth0")
    node.feed(single, "eth0", 137)
    node.feed(double, "eth0", 29)
    node.feed(double, "net1", 61)
    node.feed(replaced, "eth0", 11)

    agent = PostureAgent(kubemeter_bin, POSTURES[posture], node, str(tmp_path / "agent.log"))
    try:
        def check(expected_frames):
            before = {p["name"]: net_dev(p["pid"]) for p in (single, double, replaced)}
            got = agent.metrics("/metrics/cadvisor")
            after = {p["name"]: net_dev(p["pid"]) for p in (single, double, replaced)}
            for pod_name, frames in expected_frames.items():
                served = received(got, pod_name)
                assert set(served) == set(frames), f"{posture}: {pod_name} interfaces {sorted(served)}\n{agent.logs()}"
                for interface, count in frames.items():
                    lo, hi = before[pod_name][interface]["rx_bytes"], after[pod_name][interface]["rx_bytes"]
                    assert lo <= served[interface] <= hi, (posture, pod_name, interface, served[interface], lo, hi)
                    assert after[pod_name][interface]["rx_packets"] >= count, "the frames reached the namespace"
                    assert served[interface] >= count * FRAME
            assert received(got, "host-network") == {}, f"{posture}: the hostNetwork pod's traffic is the node's"
            return got

        check({"single": {"eth0": 137}, "double": {"eth0": 29, "net1": 61}, "replaced": {"eth0": 11}})

        pods = {p["name"]: p for p in json.loads(agent.get("/snapshot.json")[1])["pods"]}
        assert pods["host-network"]["host_network"] is True
        assert pods["host-network"]["network"] is None
        assert pods["single"]["host_network"] is False and pods["double"]["host_network"] is False
        top = [line.split() for line in agent.get("/top?sort=name")[1].splitlines()]
        row = next(r for r in top if len(r) > 1 and r[1] == "host-network")
        assert row[-2:] == ["host", "host"], f"/top says the pod is on the host network: {row}"

        # The Summary API and /pods read the same namespaces, in this posture too.
        before = {p["name"]: net_dev(p["pid"]) for p in (single, double)}
        status, body = agent.get("/stats/summary")
        after = {p["name"]: net_dev(p["pid"]) for p in (single, double)}
        summary = json.loads(body)
        assert status == 200 and kubelet_schema.violations(summary, "Summary") == [], posture
        by_name = {p["podRef"]["name"]: p for p in summary["pods"]}
        for pod_name, interfaces in (("single", ["eth0"]), ("double", ["eth0", "net1"])):
            network = by_name[pod_name]["network"]
            assert [i["name"] for i in network["interfaces"]] == interfaces, (posture, network)
            assert before[pod_name]["eth0"]["rx_bytes"] <= network["rxBytes"] <= after[pod_name]["eth0"]["rx_bytes"]
        node_interfaces = [i["name"] for i in summary["node"]["network"].get("interfaces", [])]
        assert [i["name"] for i in by_name["host-network"]["network"].get("interfaces", [])] == node_interfaces
        pod_list = json.loads(agent.get("/pods")[1])
        assert kubelet_schema.violations(pod_list, "PodList") == [], posture
        host_network = {p["metadata"]["name"]: p["spec"].get("hostNetwork", False) for p in pod_list["items"]}
        assert host_network == {"single": False, "double": False, "host-network": True, "replaced": False}, posture

        # The sandbox is replaced: the next scrape reads the new namespace, nothing of the old.
        node.replace_sandbox(replaced)
        node.interface(replaced, "eth0")
        node.feed(replaced, "eth0", 5)
        check({"replaced": {"eth0": 5}})

        health = agent.metrics("/metrics")
        assert health[("kubemeter_feature_enabled", (("feature", "pod_network"),))] == 1, agent.logs()
        assert health[("kubemeter_files_unreadable_total", ())] == 0, agent.logs()
        for stage in ("node", "discovery", "cgroups"):
            assert health[("kubemeter_collector_success", (("collector", stage),))] == 1, (stage, agent.logs())
        how = "cgroup.procs" if posture != "nobody-own-pid-namespace" else "/cgroup (the agent's PID namespace is not the host's)"
        assert how in agent.logs(), agent.logs()
    finally:
        agent.stop()
