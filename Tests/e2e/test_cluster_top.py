"""`kubectl kubemeter top` as a person runs it: a real kubectl (its plugin lookup, its kubeconfig,
TLS and bearer-token code, its `kubectl proxy`) in front of a stand-in API server
(apiserver_standin.py: there is no API server here) that lists the agents' pods and forwards the
pod-proxy paths to real `kubemeter serve` agents on fake-node trees. One agent is stopped, one
answers slowly, one is "old" (it has no /top.json), one pod is still Pending, and two pods that
the label selector or the namespace must leave out are there too. Figures are checked against
each tree's truth.json and the agents' own /top.json; timings only against generous bounds."""
import json
import os
import shutil
import subprocess
import time

import pytest

from apiserver_standin import RBAC, Pod, StandInAPIServer, make_certificate, write_kubeconfig
from conftest import ROOT
from test_top import Tmux
from topview import parse_bytes, truth

TOKEN = "e2e-viewer-token"
# The Role and RoleBinding deploy/ ships for the view: the stand-in authorizes every request with them.
SHIPPED_RBAC = os.path.join(ROOT, "deploy", "kubernetes", "rbac-viewer")
SLOW = 2.0  # seconds the stand-in waits before forwarding to the slow node's agent


class Cluster:
    def __init__(self, tmp_path, kubemeter_bin, fake_node, agent, slow=SLOW, rbac=None):
        if not shutil.which("kubectl"):
            pytest.fail("kubectl is not installed: the cluster view runs `kubectl proxy` (the machine ships kubectl 1.32)")
        cert, key = make_certificate(str(tmp_path))
        self.api = StandInAPIServer(cert, key, TOKEN, rbac=rbac or RBAC.load(SHIPPED_RBAC)).start()
        self.kubeconfig = write_kubeconfig(str(tmp_path), self.api.url, cert, TOKEN)
        self.trees = {}
        self.agents = {}
        for i, (node, pods) in enumerate([("node-a", 4), ("node-b", 3), ("node-c", 5), ("node-slow", 2), ("node-old", 2), ("node-dead", 2)]):
            tree = fake_node(pods=pods, containers=2, seed=i + 1)
            running = agent("--host-root", tree)
            self.trees[node] = tree
            self.agents[node] = running
            self.api.add(Pod(f"kubemeter-{node}", node, running.port, delay=slow if node == "node-slow" else 0,
                             old_version=node == "node-old"))
        self.agents["node-dead"].stop()  # its pod is still listed as Running: the DaemonSet has not noticed
        self.api.add(Pod("kubemeter-pending", None, 1, phase="Pending"))
        # Neither is an agent of this DaemonSet: another app in its namespace, an agent elsewhere.
        self.api.add(Pod("grafana-0", "node-a", self.agents["node-a"].port, labels={"app.kubernetes.io/name": "grafana"}))
        self.api.add(Pod("kubemeter-x", "node-x", self.agents["node-a"].port, namespace="other"))
        self.live = ["node-a", "node-b", "node-c", "node-slow"]
        # kubectl finds plugins in PATH; the binary answers to the plugin's name through a link.
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        os.symlink(kubemeter_bin, self.bin / "kubectl-kubemeter")
        self.tmp = tmp_path / "runtime"
        self.tmp.mkdir()
        self.env = {"PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin", "KUBECONFIG": self.kubeconfig,
                    "HOME": str(tmp_path), "TMPDIR": str(self.tmp)}

    def run(self, *args, timeout=60):
        start = time.monotonic()
        proc = subprocess.run(["kubectl", "kubemeter", "top", *args], capture_output=True, timeout=timeout, env=self.env)
        return proc, time.monotonic() - start

    def stop(self):
        self.api.stop()


@pytest.fixture
def cluster(tmp_path, kubemeter_bin, fake_node, agent):
    c = Cluster(tmp_path, kubemeter_bin, fake_node, agent)
    yield c
    c.stop()


def nodes_by_name(data):
    return {n["node"]: n for n in data["nodes"]}


def test_once_lists_every_pod_of_every_live_agent_and_marks_the_others(cluster):
    proc, seconds = cluster.run("--once", "--output", "json", "--containers", "--timeout", "10")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    nodes = nodes_by_name(data)
    assert {n: nodes[n]["status"] for n in nodes} == {
        "node-a": "ok", "node-b": "ok", "node-c": "ok", "node-slow": "ok",
        "node-old": "old-version", "node-dead": "unreachable", "(kubemeter-pending)": "Pending"}
    assert "connection refused" in nodes["node-dead"]["error"]
    assert "predates" in nodes["node-old"]["error"]
    assert nodes["node-slow"]["answer_seconds"] >= SLOW

    # Every container of every live agent, on its node, with the working set truth.json says.
    expected = {(node, p["namespace"], p["name"], c["name"]): c["working_set_bytes"]
                for node in cluster.live for p in truth(cluster.trees[node])["pods"] for c in p["containers"]}
    got = {(r["node"], r["namespace"], r["pod"], r["container"]): r["memory_working_set_bytes"] for r in data["rows"]}
    assert got == expected
    assert all(r["cpu_cores"] == 0 for r in data["rows"])  # the trees do not change
    for node in cluster.live:
        t = truth(cluster.trees[node])
        assert nodes[node]["summary"]["memory_working_set_bytes"] == t["node"]["working_set_bytes"]
        assert nodes[node]["summary"]["pods"] == len(t["pods"])
        # The node's figures are the agent's own: the same as its /top.json asked directly.
        status, _, body = cluster.agents[node].get("/top.json")
        own = json.loads(body)
        assert status == 200 and own["agent_version"] == nodes[node]["agent_version"]
        for key in ("memory_working_set_bytes", "memory_total_bytes", "cpus", "pods", "containers"):
            assert nodes[node]["summary"][key] == own["node"][key], key
    total = data["total"]
    assert total["pods"] == sum(len(truth(cluster.trees[n])["pods"]) for n in cluster.live)
    assert total["memory_working_set_bytes"] == sum(truth(cluster.trees[n])["node"]["working_set_bytes"] for n in cluster.live)

    # As kubectl asked it: the pod list by label, then each agent through the pod proxy, with the token.
    lists = cluster.api.requested(r"/pods\?labelSelector=")
    assert [r["path"] for r in lists] == ["/api/v1/namespaces/kubemeter/pods?labelSelector=app.kubernetes.io%2Fname%3Dkubemeter"]
    proxied = cluster.api.requested(r"/proxy/")
    assert sorted(r["path"] for r in proxied) == sorted(
        f"/api/v1/namespaces/kubemeter/pods/kubemeter-{n}:{cluster.agents[n].port}/proxy/top.json"
        for n in ["node-a", "node-b", "node-c", "node-slow", "node-old", "node-dead"])
    assert all(r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in lists + proxied)
    # kubectl's transport asks for gzip (the agent then compresses /top.json) and undoes it itself.
    assert all(r["headers"].get("accept-encoding") == "gzip" for r in proxied)
    # All at once: every proxied request arrived before the slow one could have answered.
    arrivals = [r["time"] for r in proxied]
    assert max(arrivals) - min(arrivals) < SLOW / 2
    # No longer than the slowest live node (its delay, the agent's 1 s sample, kubectl proxy's start).
    assert SLOW <= seconds < SLOW + 1 + 6, seconds


def test_rates_are_the_agents_own_between_its_collections(cluster):
    # Each agent collects (as a Prometheus scrape would), then its node's CPU counters grow; the
    # plugin's request then gets rates since that collection: the growth over the agent's interval.
    import sys
    from conftest import FAKE_NODE
    before = {}
    for node in cluster.live:
        assert cluster.agents[node].get("/metrics/cadvisor")[0] == 200
        before[node] = truth(cluster.trees[node])
        subprocess.run([sys.executable, FAKE_NODE, cluster.trees[node], "--advance", "3"], check=True, stdout=subprocess.DEVNULL)
    time.sleep(0.6)  # the agents use a previous collection at least 0.5 s old
    proc, _ = cluster.run("--once", "--output", "json", "--containers", "--timeout", "10")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    nodes = nodes_by_name(data)
    moved = 0
    for node in cluster.live:
        interval = nodes[node]["interval_seconds"]
        assert nodes[node]["rates_from"] == "since the previous collection" and interval >= 0.5
        after = truth(cluster.trees[node])
        old = {(p["name"], c["name"]): c["cpu_seconds"] for p in before[node]["pods"] for c in p["containers"]}
        for p in after["pods"]:
            for c in p["containers"]:
                row = next(r for r in data["rows"] if r["node"] == node and r["pod"] == p["name"] and r["container"] == c["name"])
                want = (c["cpu_seconds"] - old[(p["name"], c["name"])]) / interval
                assert abs(row["cpu_cores"] - want) < 1e-3, (node, p["name"], c["name"], row["cpu_cores"], want)
                moved += want > 0
    assert moved > 0


def test_a_node_past_the_timeout_is_marked_and_bounds_the_wait(tmp_path, kubemeter_bin, fake_node, agent):
    c = Cluster(tmp_path, kubemeter_bin, fake_node, agent, slow=30)
    try:
        proc, seconds = c.run("--once", "--output", "json", "--timeout", "1.5")
        assert proc.returncode == 0, proc.stderr.decode()
        nodes = nodes_by_name(json.loads(proc.stdout))
        assert nodes["node-slow"]["status"] == "timeout" and nodes["node-slow"]["error"] == "no answer within 1.5 s"
        assert sorted(n for n in nodes if nodes[n]["status"] == "ok") == ["node-a", "node-b", "node-c"]
        pods = {(r["node"], r["pod"]) for r in json.loads(proc.stdout)["rows"]}
        assert pods == {(n, p["name"]) for n in ["node-a", "node-b", "node-c"] for p in truth(c.trees[n])["pods"]}
        assert 1.5 <= seconds < 1.5 + 6, seconds  # the timeout, not the 30 s the node would take
    finally:
        c.stop()


def test_the_table_has_a_node_column_and_a_status_column(cluster):
    proc, _ = cluster.run("--once", "--sort", "memory", "--namespace", "*", "--timeout", "10",
                          "--node", "node-[ab]*")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0].startswith("cluster  nodes 2  cpu 0.000/")
    assert "sorted by memory; node~node-[ab]* namespace~*; showing 7 pods" in lines[1]
    header = lines[3].split()
    assert header == ["NODE", "CPU", "CPU%", "MEM", "MEM%", "PODS", "PSI", "RX/s", "TX/s", "ANSWER", "STATUS"]
    node_lines = {l.split()[0]: l.split() for l in lines[4:6]}
    assert set(node_lines) == {"node-a", "node-b"} and all(v[-1] == "ok" for v in node_lines.values())
    for node, cells in node_lines.items():
        value, slack = parse_bytes(cells[3])
        assert abs(value - truth(cluster.trees[node])["node"]["working_set_bytes"]) <= slack
    rows_header = lines[7].split()
    assert rows_header[:4] == ["NODE", "NAMESPACE", "POD", "CONTAINER"]
    rows = [dict(zip(rows_header, l.split())) for l in lines[8:]]
    pods = {(p["name"]): (n, p["working_set_bytes"]) for n in ["node-a", "node-b"] for p in truth(cluster.trees[n])["pods"]}
    assert sorted(r["POD"] for r in rows) == sorted(pods)
    memory = []
    for r in rows:
        node, bytes_ = pods[r["POD"]]
        assert r["NODE"] == node
        value, slack = parse_bytes(r["MEM"])
        assert abs(value - bytes_) <= slack
        memory.append(bytes_)
    assert memory == sorted(memory, reverse=True)


def test_kubectls_credentials_decide(cluster, tmp_path):
    bad = write_kubeconfig(str(tmp_path / "runtime"), cluster.api.url,
                           str(tmp_path / "apiserver.crt"), "not-the-token")
    cluster.env["KUBECONFIG"] = bad
    proc, _ = cluster.run("--once")
    assert proc.returncode == 1
    assert "cannot list pods in namespace kubemeter: HTTP 401: Unauthorized" in proc.stdout.decode()


def test_the_shipped_role_is_needed_whole(tmp_path, kubemeter_bin, fake_node, agent):
    shipped = RBAC.load(SHIPPED_RBAC)
    assert shipped.allows("viewer", ["kubemeter-viewers"], "list", "pods", "kubemeter")
    assert shipped.allows("viewer", ["kubemeter-viewers"], "get", "pods/proxy", "kubemeter")
    assert not shipped.allows("viewer", ["kubemeter-viewers"], "get", "pods/proxy", "default")
    assert not shipped.allows("viewer", ["someone-else"], "list", "pods", "kubemeter")
    # Without its pods/proxy rule the agents are listed but every node is forbidden, with the reason.
    for role in shipped.roles.values():
        role[:] = [rule for rule in role if "pods/proxy" not in rule["resources"]]
    c = Cluster(tmp_path, kubemeter_bin, fake_node, agent, rbac=shipped)
    try:
        proc, _ = c.run("--once", "--output", "json")
        assert proc.returncode == 0, proc.stderr.decode()
        nodes = nodes_by_name(json.loads(proc.stdout))
        running = [n for n in nodes if n != "(kubemeter-pending)"]
        assert {nodes[n]["status"] for n in running} == {"forbidden"}
        assert 'User "viewer" cannot get resource "pods" with subresource "proxy"' in nodes["node-a"]["error"]
    finally:
        c.stop()


def test_kubectl_proxy_and_its_socket_go_with_the_plugin(cluster):
    proc, _ = cluster.run("--once", "--timeout", "10")
    assert proc.returncode == 0, proc.stderr.decode()
    assert os.listdir(cluster.tmp) == []  # the private directory, socket and log removed
    leftovers = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(cluster.tmp).encode() in f.read():
                    leftovers.append(pid)
        except OSError:
            pass
    assert leftovers == []


def test_live_view_in_a_terminal(cluster, tmp_path):
    tmux = Tmux(tmp_path)
    try:
        env = " ".join(f"{k}={v}" for k, v in cluster.env.items())
        tmux.keys(f"env {env} kubectl kubemeter top --interval 0.5 --timeout 5; echo EXITED $?", "Enter")
        screen = tmux.wait_for(lambda s: "node-slow" in s and "old-version" in s and "unreachable" in s
                               and "rates by each agent" in s and "showing 14 pods" in s, "every node's status")
        lines = screen.splitlines()
        assert lines[0].startswith("cluster  nodes 7 (4 answering)")
        assert all(len(line) <= 160 for line in lines)
        assert lines[-1].startswith("q quit")
        with open(tmp_path / "capture.txt", "w") as f:
            f.write(screen)
        tmux.keys("e")
        screen = tmux.wait_for(lambda s: "showing 28 containers" in s, "container rows")
        tmux.keys("m")
        screen = tmux.wait_for(lambda s: "sorted by memory" in s, "the memory sort")
        tmux.keys("q")
        screen = tmux.wait_for(lambda s: "EXITED 0" in s, "a clean exit")
        assert "NAMESPACE" not in screen
    finally:
        tmux.close()


def test_agents_serving_tls_are_read_through_the_pod_proxy_with_agent_scheme_https(tmp_path, kubemeter_bin, fake_node, agent):
    """The tls overlay's agents answer only HTTPS: `--agent-scheme https` asks the pod proxy for
    `https:<pod>:<port>` and every pod is there; without it each agent refuses the plain request
    (400) and the node is marked, never a silent blank."""
    import ssl
    if not shutil.which("kubectl"):
        pytest.fail("kubectl is not installed")
    certs = tmp_path / "agent-tls"
    certs.mkdir()
    agent_cert, agent_key = make_certificate(str(certs))
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config:\n  cert_file: {agent_cert}\n  key_file: {agent_key}\n")
    context = ssl.create_default_context(cafile=agent_cert)
    cert, key = make_certificate(str(tmp_path))
    api = StandInAPIServer(cert, key, TOKEN, rbac=RBAC.load(SHIPPED_RBAC)).start()
    try:
        kubeconfig = write_kubeconfig(str(tmp_path), api.url, cert, TOKEN)
        trees = {}
        for i, node in enumerate(["node-a", "node-b"]):
            trees[node] = fake_node(pods=3, containers=2, seed=20 + i)
            running = agent("--host-root", trees[node], "--web.config.file", str(web), ssl_context=context)
            api.add(Pod(f"kubemeter-{node}", node, running.port))
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        os.symlink(kubemeter_bin, bin_dir / "kubectl-kubemeter")
        env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "KUBECONFIG": kubeconfig, "HOME": str(tmp_path),
               "TMPDIR": str(tmp_path)}

        def top(*args):
            proc = subprocess.run(["kubectl", "kubemeter", "top", "--once", "--output", "json", *args],
                                  capture_output=True, timeout=60, env=env)
            assert proc.returncode == 0, proc.stderr.decode()
            return json.loads(proc.stdout)

        data = top("--agent-scheme", "https")
        assert {n["node"]: n["status"] for n in data["nodes"]} == {"node-a": "ok", "node-b": "ok"}
        assert {(r["node"], r["pod"]) for r in data["rows"]} == {
            (node, p["name"]) for node, tree in trees.items() for p in truth(tree)["pods"]}
        plain = top()
        assert all(n["status"] != "ok" for n in plain["nodes"]), plain["nodes"]
        assert plain["rows"] == []
    finally:
        api.stop()
