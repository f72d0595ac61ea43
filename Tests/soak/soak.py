#!/usr/bin/python3
"""Bounded soak: a fake-node tree churns (pods replaced, CPU advanced) while clients scrape the agent
without pause. Prints scrapes, errors, mismatches against truth.json, and the agent's RSS at start and
end; exits 1 if errors or mismatches are not 0 or RSS grew beyond noise.

  Tests/soak/soak.py KUBEMETER_BIN [--seconds 120] [--pods 40] [--churn 3]

Two kinds of scrape run at once:
- free scrapes, back to back on one keep-alive connection, racing the churn: each must be a 200 with a
  whole, parseable exposition and `resource_scrape_error 0` (pods that vanish mid-read are skipped);
- checked scrapes, taken while the tree is still between two churn steps: every series must equal
  what truth.json says (Tests/e2e/expected.py, the same oracle as the e2e tests).
"""
import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Tests", "e2e"))
FAKE_NODE = os.path.join(ROOT, "Tests", "tools", "fake-node")

import expected  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def samples(body):
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--pods", type=int, default=40)
    ap.add_argument("--churn", type=int, default=3)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="kubemeter-soak-")
    tree = os.path.join(work, "node")
    subprocess.run([sys.executable, FAKE_NODE, tree, "--pods", str(args.pods), "--containers", "2"],
                   check=True, stdout=subprocess.DEVNULL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(work, "agent.log"), "w")
    agent = subprocess.Popen([args.binary, "serve", "--host-root", tree, "--listen-address", f"127.0.0.1:{port}"],
                             stdout=log, stderr=subprocess.STDOUT)
    for _ in range(400):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.05)
    quiet = threading.Lock()  # held by the churner while it rewrites the tree
    stop = threading.Event()
    stats = {"free": 0, "checked": 0, "errors": 0, "mismatches": 0, "churn_steps": 0, "raced_scrape_error": 0}
    # fake-node rewrites the whole tree at each step (it removes proc/, sys/ and var/ and writes
    # them again, the node's own files last), which a kernel never does: a scrape that overlaps a
    # rewrite finds no node files and rightly reports resource_scrape_error 1 (most free scrapes do,
    # since a step takes seconds). Such scrapes are counted apart; outside a rewrite it is an error.
    writes = {"active": False, "generation": 0}
    problems = []

    def free_scraper():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            try:
                before = (writes["active"], writes["generation"])
                conn.request("GET", "/metrics/resource")
                r = conn.getresponse()
                body = r.read()
                raced = before[0] or writes["active"] or before[1] != writes["generation"]
                got = samples(body)
                scrape_error = got.get(("resource_scrape_error", frozenset()))
                if r.status != 200 or scrape_error is None:
                    raise ValueError(f"status {r.status}, resource_scrape_error {scrape_error}")
                if scrape_error != 0.0:
                    if not raced:
                        raise ValueError("resource_scrape_error 1 while the tree was still")
                    stats["raced_scrape_error"] += 1
                stats["free"] += 1
            except Exception as e:  # any failure is an error of the agent; reconnect and go on
                stats["errors"] += 1
                problems.append(f"free scrape: {e!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def churner():
        step = 0
        while not stop.is_set():
            with quiet:
                writes["active"] = True
                flag = ["--churn", str(args.churn), "--seed", str(1000 + step)] if step % 2 == 0 else ["--advance", "5"]
                subprocess.run([sys.executable, FAKE_NODE, tree] + flag, check=True, stdout=subprocess.DEVNULL)
                stats["churn_steps"] += 1
                writes["generation"] += 1
                writes["active"] = False
            step += 1
            time.sleep(0.2)  # a window for a checked scrape

    rss_start = None
    threads = [threading.Thread(target=free_scraper), threading.Thread(target=churner)]
    started = time.time()
    for t in threads:
        t.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.time() - started < args.seconds:
        with quiet:
            try:
                conn.request("GET", "/metrics/resource")
                r = conn.getresponse()
                body = r.read()
                want = expected.series(tree)
                got = samples(body)
                diff = {k for k in set(want) | set(got) if k not in got or k not in want or got[k] != float(want[k])}
                stats["checked"] += 1
                if r.status != 200 or diff:
                    stats["mismatches"] += 1
                    problems.append(f"checked scrape: status {r.status}, {len(diff)} series differ, e.g. {sorted(diff)[:2]}")
            except Exception as e:
                stats["errors"] += 1
                problems.append(f"checked scrape: {e!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        if rss_start is None and time.time() - started > min(10, args.seconds / 4):
            rss_start = rss_kib(agent.pid)  # after warm-up: buffers and caches have their working size
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    rss_end = rss_kib(agent.pid)
    agent.send_signal(signal.SIGTERM)
    code = agent.wait(timeout=15)
    log.close()
    growth = rss_end - rss_start
    print(f"soak: {args.seconds:.0f} s, {args.pods} pods x 2 containers, churn {args.churn} pods / advance 5 s alternating")
    print(f"  churn steps {stats['churn_steps']}, free scrapes {stats['free']}, checked scrapes {stats['checked']}")
    print(f"  free scrapes overlapping an in-place rewrite that reported resource_scrape_error 1: {stats['raced_scrape_error']}")
    print(f"  errors {stats['errors']}, mismatches {stats['mismatches']}, agent exit {code}")
    print(f"  RSS after warm-up {rss_start} KiB, at end {rss_end} KiB, growth {growth} KiB")
    for p in problems[:10]:
        print("  problem:", p)
    # Noise: allocator slack of a few MiB; a leak per scrape over thousands of scrapes would exceed it.
    ok = stats["errors"] == 0 and stats["mismatches"] == 0 and code == 0 and growth < 4096 and stats["checked"] > 0
    subprocess.run(["rm", "-rf", work])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
