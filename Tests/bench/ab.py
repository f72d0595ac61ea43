#!/usr/bin/env python3
"""make bench-ab: two kubemeter binaries side by side on the same fake-node trees (an A/B of a
change). Both agents run at once; their scrapes alternate in batches of about equal wall time, so
the VM's drift (±20 % from one minute to the next here) falls on both alike. Per tree it prints
each one's /metrics/resource median and p99, CPU per scrape, RSS after the scrapes, and B/A.

  Tests/bench/ab.py --a OLD_BINARY --b NEW_BINARY [--sizes 110 1000] [--rounds 15]

Each agent gets the flags it understands: --ephemeral-storage-interval 0 (no background walks,
so CPU is the scrapes' alone) only where `serve --help` lists it. Nothing here is a test.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE_NODE = os.path.join(ROOT, "Tests", "tools", "fake-node")
sys.path.insert(0, HERE)
from bench import Process, cpu_seconds, free_port, memory_kib  # noqa: E402


def agent(binary, tree):
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    extra = ["--ephemeral-storage-interval", "0"] if "--ephemeral-storage-interval" in help_text else []
    port = free_port()
    return Process([binary, "serve", "--listen-address", f"127.0.0.1:{port}", "--host-root", tree, *extra],
                   port, "/metrics/resource")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="the baseline binary")
    ap.add_argument("--b", required=True, help="the binary under test")
    ap.add_argument("--sizes", type=int, nargs="+", default=[110, 1000])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="kubemeter-ab-")
    try:
        print(f"A = {args.a}\nB = {args.b}")
        print(f"\n{'tree':>10} {'':2} {'median ms':>10} {'p99 ms':>8} {'cpu ms':>8} {'RSS MiB':>8} {'HWM MiB':>8}")
        for pods in args.sizes:
            tree = os.path.join(workdir, f"node{pods}")
            subprocess.run([sys.executable, FAKE_NODE, tree, "--pods", str(pods), "--containers", "3", "--seed", str(pods)],
                           check=True, stdout=subprocess.DEVNULL)
            os.sync()
            batch = max(2, 4400 // pods)  # ~equal wall time per batch whatever the tree
            agents = {"A": agent(args.a, tree), "B": agent(args.b, tree)}
            try:
                latencies = {k: [] for k in agents}
                cpu = {k: 0.0 for k in agents}
                for a in agents.values():
                    a.scrape(5)
                for _ in range(args.rounds):
                    for key, a in agents.items():
                        before = cpu_seconds(a.proc.pid)
                        latencies[key] += a.scrape(batch)
                        cpu[key] += cpu_seconds(a.proc.pid) - before
                figures = {}
                for key, a in agents.items():
                    lat = sorted(latencies[key])
                    mem = memory_kib(a.proc.pid)
                    figures[key] = (statistics.median(lat), lat[int(len(lat) * 0.99) - 1],
                                    cpu[key] * 1000 / len(lat), mem["VmRSS"] / 1024, mem["VmHWM"] / 1024)
                    print(f"{pods:>6} pods {key:2} {figures[key][0]:10.3f} {figures[key][1]:8.3f} "
                          f"{figures[key][2]:8.3f} {figures[key][3]:8.1f} {figures[key][4]:8.1f}")
                ratio = [b / a if a else float("nan") for a, b in zip(figures["A"], figures["B"])]
                print(f"{'':>10} B/A {ratio[0]:9.2f}x {ratio[1]:7.2f}x {ratio[2]:7.2f}x {ratio[3]:7.2f}x {ratio[4]:7.2f}x")
            finally:
                for a in agents.values():
                    a.stop()
            shutil.rmtree(tree, ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
