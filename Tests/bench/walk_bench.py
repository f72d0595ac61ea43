#!/usr/bin/env python3
"""make bench, part 2: what the ephemeral-storage walks cost (docs/performance.md).

For trees of 10^4, 10^5 and 10^6 files in one container's writable layer (a fake-node --storage
node of one pod; the files empty, 1,000 to a directory, as a node_modules or a cache makes them),
it prints, from the agent's own /metrics:
  - an unpaced walk (--ephemeral-storage-inodes-per-second 0): wall time, CPU, inodes per CPU second;
    warm (dentries and inodes cached) and, as root, cold (after drop_caches);
  - the default budget (20,000 inodes/s): the round's wall time and its CPU share of one core;
  - /metrics/resource scrapes while a paced walk runs beside them, against the same scrapes with
    the walks off: median and p99;
  - the agent's peak RSS (VmHWM) after walking the tree.
Nothing here is a test: it only measures.
"""
import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE_NODE = os.path.join(ROOT, "Tests", "tools", "fake-node")
sys.path.insert(0, HERE)
from bench import Process, free_port, memory_kib  # noqa: E402


def upperdir(tree):
    with open(os.path.join(tree, "proc/1/mountinfo")) as f:
        for line in f:
            m = re.search(r"/io\.containerd\.runtime\.v2\.task/k8s\.io/\S+/rootfs .*[ ,]upperdir=([^,\s]+)", line)
            if m and "/snapshots/" in m.group(1):
                last = m.group(1)
    return os.path.join(tree, last.lstrip("/"))  # the last task is the app container's


def make_tree(workdir, files):
    tree = os.path.join(workdir, f"walk{files}")
    subprocess.run([sys.executable, FAKE_NODE, tree, "--pods", "1", "--containers", "1", "--storage", "--seed", "3"],
                   check=True, stdout=subprocess.DEVNULL)
    layer = upperdir(tree)
    for d in range(files // 1000):
        sub = os.path.join(layer, "bench", f"d{d:04d}")
        os.makedirs(sub)
        for i in range(1000):
            os.close(os.open(os.path.join(sub, f"f{i:04d}"), os.O_CREAT | os.O_WRONLY, 0o644))
    return tree


def metrics(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    conn.close()
    out = {}
    for line in body.splitlines():
        if line.startswith("kubemeter_ephemeral_storage_walk_"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def walk_once(kubemeter, tree, rate, scrapes_during=0):
    """One agent, one round at `rate` inodes/s; returns the round's figures (and scrape latencies taken during it)."""
    port = free_port()
    agent = Process([kubemeter, "serve", "--listen-address", f"127.0.0.1:{port}", "--host-root", tree,
                     "--ephemeral-storage-interval", "3600", "--ephemeral-storage-inodes-per-second", str(rate)],
                    port, "/metrics/resource")
    try:
        latencies = agent.scrape(scrapes_during) if scrapes_during else []
        if scrapes_during:
            during = metrics(port).get("kubemeter_ephemeral_storage_walk_rounds_total", 0) == 0
        else:
            during = None
        deadline = time.time() + 3600
        while time.time() < deadline:
            m = metrics(port)
            if m.get("kubemeter_ephemeral_storage_walk_rounds_total", 0) >= 1:
                break
            time.sleep(0.2)
        return {"seconds": m["kubemeter_ephemeral_storage_walk_last_duration_seconds"],
                "cpu": m["kubemeter_ephemeral_storage_walk_cpu_seconds_total"],
                "inodes": m["kubemeter_ephemeral_storage_walk_inodes_total"],
                "hwm_mib": memory_kib(agent.proc.pid)["VmHWM"] / 1024,
                "latencies": sorted(latencies), "scrapes_ended_mid_walk": during}
    finally:
        agent.stop()


def scrapes_without_walks(kubemeter, tree, count):
    port = free_port()
    agent = Process([kubemeter, "serve", "--listen-address", f"127.0.0.1:{port}", "--host-root", tree,
                     "--ephemeral-storage-interval", "0"], port, "/metrics/resource")
    try:
        return sorted(agent.scrape(count))
    finally:
        agent.stop()


def drop_caches():
    if os.geteuid() != 0:
        return False
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")
    return True


def p99(values):
    return values[max(0, int(len(values) * 0.99) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubemeter", default=os.path.join(ROOT, ".build/release/kubemeter"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--scrapes", type=int, default=300)
    a = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="kubemeter-walk-bench-")
    started = time.time()
    rows = []
    try:
        for files in a.sizes:
            t0 = time.time()
            tree = make_tree(workdir, files)
            made = time.time() - t0
            warm = walk_once(a.kubemeter, tree, 0)  # the first walk warms the caches...
            warm = walk_once(a.kubemeter, tree, 0)  # ...the second is the warm figure
            cold = walk_once(a.kubemeter, tree, 0) if drop_caches() else None
            paced = walk_once(a.kubemeter, tree, 20_000, scrapes_during=a.scrapes)
            quiet = scrapes_without_walks(a.kubemeter, tree, a.scrapes)
            rows.append((files, made, warm, cold, paced, quiet))
            shutil.rmtree(tree, ignore_errors=True)
        print(f"\n{'files':>9} {'inodes':>9} {'warm s':>7} {'cpu s':>6} {'inodes/cpu-s':>12} {'cold s':>7} "
              f"{'20k/s round s':>13} {'cpu %core':>9} {'scrape med/p99 walking':>23} {'walks off':>16} {'HWM MiB':>8}")
        for files, made, warm, cold, paced, quiet in rows:
            lat = paced["latencies"]
            mid = "" if paced["scrapes_ended_mid_walk"] else " (walk ended first)"
            print(f"{files:9,d} {warm['inodes']:9,.0f} {warm['seconds']:7.3f} {warm['cpu']:6.3f} "
                  f"{warm['inodes'] / max(warm['cpu'], 1e-9):12,.0f} "
                  f"{cold['seconds'] if cold else float('nan'):7.3f} {paced['seconds']:13.2f} "
                  f"{100 * paced['cpu'] / paced['seconds']:9.2f} "
                  f"{statistics.median(lat):10.3f}/{p99(lat):.3f} ms{mid} "
                  f"{statistics.median(quiet):7.3f}/{p99(quiet):.3f} ms "
                  f"{max(warm['hwm_mib'], paced['hwm_mib']):8.1f}")
        print(f"(tree made in {', '.join(f'{m:.0f} s' for _, m, *_ in rows)}; cold: after drop_caches, as root only)")
        print(f"walk bench took {time.time() - started:.0f} s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
