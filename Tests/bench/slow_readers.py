#!/usr/bin/env python3
"""What clients that never read cost the agent, and whether they delay anyone else's scrape.

Starts `kubemeter serve` (at its defaults) on a fake-node tree (110 pods x 3 containers: a
/metrics/cadvisor of about 4.5 MB), opens N connections (300) that each send one
`GET /metrics/cadvisor` and never read a byte, and meanwhile scrapes /metrics/resource every
0.5 s on one kept-alive connection and on a new connection each time. Every second it prints the
agent's RSS and open descriptors, the kernel's TCP memory (/proc/net/sockstat `TCP: mem`, pages of
4 KiB, for the whole machine: the stuck clients' receive queues count there too), and the agent's
write timeouts; at the end the scrape latencies. The non-readers are closed after --hold seconds
and the figures followed until --seconds.

    python3 Tests/bench/slow_readers.py --kubemeter .build/debug/kubemeter [--clients 300] [--seconds 45]

Figures only, nothing asserted (Tests/e2e/test_flood.py asserts). Loopback only.
"""
import argparse
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAKE_NODE = os.path.join(ROOT, "Tests", "tools", "fake-node")
PAGE = 4096


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_mem_pages():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()
                return int(fields[fields.index("mem") + 1])
    return -1


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a head")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        body += chunk
    return int(head.split(b" ")[1]), body


def agent_counter(port, name):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            _, body = read_response(s)
    except OSError:
        return None
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubemeter", required=True)
    parser.add_argument("--pods", type=int, default=110)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--hold", type=float, default=35, help="seconds the non-readers stay connected")
    parser.add_argument("--seconds", type=float, default=45, help="seconds followed in all")
    parser.add_argument("--path", default="/metrics/cadvisor", help="what the non-readers ask for")
    parser.add_argument("--addresses", type=int, default=50,
                        help="the non-readers connect from 127.0.0.2 onwards, this many addresses in turn "
                             "(the scrapers from 127.0.0.1)")
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    work = tempfile.mkdtemp(prefix="kubemeter-slow-readers-")
    tree = os.path.join(work, "node")
    subprocess.run([sys.executable, FAKE_NODE, tree, "--pods", str(args.pods), "--containers", "3"],
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    log = open(os.path.join(work, "agent.log"), "w")
    agent = subprocess.Popen([args.kubemeter, "serve", "--listen-address", f"127.0.0.1:{port}", "--host-root", tree,
                              "--ephemeral-storage-interval", "0"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(f"GET {args.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                    size = len(read_response(s)[1])
                break
            except OSError:
                if time.time() > deadline or agent.poll() is not None:
                    sys.exit("agent did not come up")
                time.sleep(0.1)
        time.sleep(1)
        base = {"rss": rss_kib(agent.pid), "fds": open_fds(agent.pid), "tcp": tcp_mem_pages()}
        print(f"{args.label} {args.clients} non-readers of {args.path} ({size} bytes) from {args.addresses} addresses, "
              f"{args.pods} pods x 3; "
              f"before: RSS {base['rss'] / 1024:.1f} MiB, fds {base['fds']}, TCP mem {base['tcp']} pages")

        stop = threading.Event()
        kept_latencies, new_latencies, failures = [], [], []

        def scrape_kept_alive():
            s = None
            while not stop.is_set():
                begin = time.monotonic()
                try:
                    if s is None:
                        s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    s.sendall(b"GET /metrics/resource HTTP/1.1\r\nHost: x\r\n\r\n")
                    status, body = read_response(s)
                    assert status == 200 and body.endswith(b"resource_scrape_error 0\n"), status
                    kept_latencies.append(time.monotonic() - begin)
                except (OSError, AssertionError) as e:
                    failures.append(f"kept-alive: {e!r}")
                    if s is not None:
                        s.close()
                    s = None
                stop.wait(max(0, 0.5 - (time.monotonic() - begin)))
            if s is not None:
                s.close()

        def scrape_new_connection():
            while not stop.is_set():
                begin = time.monotonic()
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                        s.sendall(b"GET /metrics/resource HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        status, body = read_response(s)
                    assert status == 200 and body.endswith(b"resource_scrape_error 0\n"), status
                    new_latencies.append(time.monotonic() - begin)
                except (OSError, AssertionError) as e:
                    failures.append(f"new connection: {e!r}")
                stop.wait(max(0, 0.5 - (time.monotonic() - begin)))

        scrapers = [threading.Thread(target=scrape_kept_alive, daemon=True),
                    threading.Thread(target=scrape_new_connection, daemon=True)]
        for t in scrapers:
            t.start()
        start = time.monotonic()
        stuck = []
        request = f"GET {args.path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        for index in range(args.clients):
            s = socket.socket()
            s.settimeout(5)
            try:
                s.bind((f"127.0.0.{2 + index % args.addresses}", 0))
                s.connect(("127.0.0.1", port))
                s.sendall(request)
            except OSError:
                pass
            stuck.append(s)
        opened = time.monotonic() - start
        peak = dict(base)
        print(f"  opened {len(stuck)} in {opened:.2f} s")
        print("     t   RSS MiB   fds   TCP mem pages (MiB)   write timeouts")
        released = False
        next_sample = start
        while time.monotonic() - start < args.seconds:
            now = time.monotonic() - start
            if not released and now >= args.hold:
                for s in stuck:
                    s.close()
                released = True
                print(f"  -- the {len(stuck)} non-readers closed at {now:.0f} s --")
            rss, fds, tcp = rss_kib(agent.pid), open_fds(agent.pid), tcp_mem_pages()
            peak = {"rss": max(peak["rss"], rss), "fds": max(peak["fds"], fds), "tcp": max(peak["tcp"], tcp)}
            timeouts = agent_counter(port, 'kubemeter_http_timeouts_total{kind="write"}')
            print(f"  {now:4.0f}   {rss / 1024:7.1f}  {fds:4d}   {tcp:8d} ({tcp * PAGE / 2**20:7.1f})   {timeouts}")
            next_sample += 1
            time.sleep(max(0, next_sample - time.monotonic()))
        stop.set()
        for t in scrapers:
            t.join(timeout=15)
        if not released:
            for s in stuck:
                s.close()
        end = {"rss": rss_kib(agent.pid), "fds": open_fds(agent.pid), "tcp": tcp_mem_pages()}
        print(f"  peak: RSS {peak['rss'] / 1024:.1f} MiB, fds {peak['fds']}, TCP mem {peak['tcp']} pages "
              f"({peak['tcp'] * PAGE / 2**20:.1f} MiB); end: RSS {end['rss'] / 1024:.1f} MiB, fds {end['fds']}, "
              f"TCP mem {end['tcp']} pages")
        for name, values in (("kept-alive", kept_latencies), ("new connection", new_latencies)):
            print(f"  {name} scrapes of /metrics/resource: {len(values)}, p50 {percentile(values, 50) * 1000:.1f} ms, "
                  f"p99 {percentile(values, 99) * 1000:.1f} ms, max {max(values, default=float('nan')) * 1000:.1f} ms")
        print(f"  failed scrapes: {len(failures)} {failures[:5]}")
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=15)
        except subprocess.TimeoutExpired:
            agent.kill()
        log.close()


if __name__ == "__main__":
    main()
