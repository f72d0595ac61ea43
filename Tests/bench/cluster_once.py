#!/usr/bin/env python3
"""make bench-cluster: what `kubectl kubemeter top --once` costs, and where its time goes.

For N agents (`kubemeter serve` on fake-node trees of P pods) behind the stand-in API server of
the e2e tests (Tests/e2e/apiserver_standin.py, HTTPS and a bearer token, pod proxy forwarding),
one of them answering SLOW seconds late, it prints:
  - `kubectl proxy --unix-socket` alone: start until its socket answers, one pod list through it,
    its CPU for the list and N proxied requests;
  - `kubectl kubemeter top --once --output json --timings`: wall time (median of runs), its own
    account of each step (kubectl proxy's start, the pod list, the answers, the rendering) and of
    the CPU it and its kubectl child used, and each node's answer time (the fast ones, the slow one);
  with every agent holding a collection 1 s old (as under a Prometheus scrape), so the agents
  answer from it; without one an agent takes a 1 s sample first (docs/deploy.md).
Everything runs on this machine (2 cores shared by the agents, the stand-in and the plugin), so
the figures are upper bounds for the plugin's own part. Nothing here is a test: it only measures.
"""
import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "e2e"))
from apiserver_standin import Pod, StandInAPIServer, make_certificate, write_kubeconfig  # noqa: E402
from conftest import FAKE_NODE  # noqa: E402  (the same locator the e2e tests use)

TOKEN = "bench-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def unix_get(path, target):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def measure_proxy(env, directory, pods):
    sock = os.path.join(directory, "bench.sock")
    before = children_cpu()
    start = time.monotonic()
    proc = subprocess.Popen(["kubectl", "proxy", f"--unix-socket={sock}", "--api-prefix=/"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(sock)
            break
        except OSError:
            time.sleep(0.005)
    ready = time.monotonic() - start
    start = time.monotonic()
    listed = unix_get(sock, "/api/v1/namespaces/kubemeter/pods?labelSelector=app.kubernetes.io%2Fname%3Dkubemeter")
    list_seconds = time.monotonic() - start
    assert b" 200 " in listed.split(b"\r\n", 1)[0], listed[:200]
    for pod in pods:
        unix_get(sock, f"/api/v1/namespaces/kubemeter/pods/{pod.name}:{pod.port}/proxy/healthz")
    proc.terminate()
    proc.wait()
    return ready, list_seconds, children_cpu() - before


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubemeter", required=True, help="the kubemeter binary (make release's)")
    parser.add_argument("--nodes", default="4,16,32", help="agent counts, comma-separated")
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--slow", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    plugin_dir = tempfile.mkdtemp(prefix="kubemeter-bench-bin-")
    os.symlink(os.path.abspath(args.kubemeter), os.path.join(plugin_dir, "kubectl-kubemeter"))
    print(f"kubectl kubemeter top --once: fake-node trees of {args.pods} pods x 2 containers, "
          f"one node {args.slow} s late, {args.runs} runs each (median)")
    # kubectl finds the plugin, then execs it in the same process: the CPU the plugin reports
    # (RUSAGE_SELF) includes this lookup.
    env = {"PATH": f"{plugin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": plugin_dir}
    lookups = []
    for _ in range(5):
        before = children_cpu()
        subprocess.run(["kubectl", "kubemeter", "version"], env=env, check=True, capture_output=True)
        lookups.append(children_cpu() - before)
    print(f"  kubectl's plugin lookup and exec (`kubectl kubemeter version`): {statistics.median(lookups) * 1000:.0f} ms CPU, "
          f"counted in the plugin's CPU below")
    for count in [int(n) for n in args.nodes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="kubemeter-bench-cluster-") as directory:
            cert, key = make_certificate(directory)
            api = StandInAPIServer(cert, key, TOKEN).start()
            agents, pods = [], []
            try:
                for i in range(count):
                    tree = os.path.join(directory, f"node{i}")
                    subprocess.run([sys.executable, FAKE_NODE, tree, "--pods", str(args.pods), "--containers", "2",
                                    "--seed", str(i + 1)], check=True, stdout=subprocess.DEVNULL)
                    port = free_port()
                    agents.append((port, subprocess.Popen([args.kubemeter, "serve", "--host-root", tree, "--listen-address",
                                                           f"127.0.0.1:{port}", "--log-level", "error"])))
                    pods.append(api.add(Pod(f"kubemeter-{i:03d}", f"node-{i:03d}", port,
                                            delay=args.slow if i == count - 1 else 0)))
                for port, _ in agents:
                    for _ in range(200):
                        try:
                            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                            break
                        except OSError:
                            time.sleep(0.05)
                env = {"PATH": f"{plugin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": directory, "TMPDIR": directory,
                       "KUBECONFIG": write_kubeconfig(directory, api.url, cert, TOKEN)}
                ready, list_seconds, proxy_cpu = measure_proxy(env, directory, pods)
                walls, fast, slow, steps = [], [], [], []
                for _ in range(args.runs):
                    for port, _ in agents:  # a collection 1 s old on every agent, as a scrape leaves
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics/cadvisor", timeout=10).read()
                    time.sleep(1)
                    start = time.monotonic()
                    proc = subprocess.run(["kubectl", "kubemeter", "top", "--once", "--output", "json", "--timeout", "10",
                                           "--timings"], env=env, capture_output=True)
                    walls.append(time.monotonic() - start)
                    steps.append(proc.stderr.decode())
                    assert proc.returncode == 0, proc.stderr.decode()
                    nodes = json.loads(proc.stdout)["nodes"]
                    assert all(n["status"] == "ok" for n in nodes), [n["status"] for n in nodes]
                    answers = sorted(n["answer_seconds"] for n in nodes)
                    fast.append(answers[-2] if len(answers) > 1 else 0)
                    slow.append(answers[-1])
                rows = sum(1 for _ in json.loads(proc.stdout)["rows"])
                median = sorted(range(len(walls)), key=lambda i: walls[i])[len(walls) // 2]
                print(f"  {count:3d} agents, {rows:4d} pods: wall {statistics.median(walls):.2f} s "
                      f"(slowest fast node {statistics.median(fast):.3f} s, slow node {statistics.median(slow):.3f} s); "
                      f"kubectl proxy alone: ready {ready * 1000:.0f} ms, pod list {list_seconds * 1000:.1f} ms, "
                      f"CPU for list + {count} small proxied requests {proxy_cpu * 1000:.0f} ms")
                for line in steps[median].splitlines():
                    print("        " + line)
            finally:
                for _, proc in agents:
                    proc.terminate()
                    proc.wait()
                api.stop()


if __name__ == "__main__":
    main()
