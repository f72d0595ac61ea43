"""The flood matrix at the defaults (256 connections, 64 per address, 5 s read timeout, 10 s write
timeout): hostile clients on loopback, their sockets bound to 127.0.0.2 onwards to play many peers,
while a scraper on 127.0.0.1 asks for /metrics/resource every 0.5 s twice over, on a new
connection each time and on one kept-alive connection. Each case: every scrape answered 200 and
exact (against the fake node's truth), p99 under 1 s; afterwards the agent's open descriptors and
RSS back within a small margin of where they were. One agent serves every case, one after the
other. Figures are printed (pytest -s) so they can be quoted; docs/robustness.md has a run's."""
import os
import resource
import selectors
import socket
import threading
import time

import pytest

import expected
from test_resource_metrics import compare, parse

SCRAPE = b"GET /metrics/resource HTTP/1.1\r\nHost: x\r\n\r\n"
SCRAPE_AND_CLOSE = b"GET /metrics/resource HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def source(index, addresses):
    return f"127.0.0.{2 + index % addresses}"


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole head ({len(data)} bytes)")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        body += chunk
    return int(lines[0].split(" ")[1]), body


class Flood:
    """Hostile connections driven from one thread with a selector. kind: "idle" (send nothing,
    reconnect as soon as the agent closes one), "slowloris" (one byte of a never-ending head every
    0.5 s, reconnect when closed), "nonreader" (one GET of /metrics/cadvisor, never read)."""

    def __init__(self, port, kind, count, addresses):
        self.port, self.kind, self.count, self.addresses = port, kind, count, addresses
        self.opened = 0
        self.failed_connects = 0
        self.sockets = {}
        self.stop = threading.Event()
        self.selector = selectors.DefaultSelector()
        for index in range(count):
            self.open(index)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def open(self, index):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.bind((source(index, self.addresses), 0))
            s.connect(("127.0.0.1", self.port))
        except OSError:
            s.close()
            self.failed_connects += 1
            return
        self.opened += 1
        s.setblocking(False)
        if self.kind == "nonreader":
            s.send(b"GET /metrics/cadvisor HTTP/1.1\r\nHost: x\r\n\r\n")
        elif self.kind == "slowloris":
            s.send(b"GET /metrics/resource HTTP/1.1\r\n")
        self.sockets[index] = s
        if self.kind != "nonreader":
            self.selector.register(s, selectors.EVENT_READ, index)

    def run(self):
        next_drip = time.monotonic() + 0.5
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.1):
                index = key.data
                s = self.sockets.pop(index)
                self.selector.unregister(s)
                s.close()  # a 503, a 408 or the end of the stream: the agent let it go
                if not self.stop.is_set():
                    self.open(index)
            if self.kind == "slowloris" and time.monotonic() >= next_drip:
                next_drip += 0.5
                for s in list(self.sockets.values()):
                    try:
                        s.send(b"X")
                    except OSError:
                        pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)
        for s in self.sockets.values():
            s.close()
        self.selector.close()


class Scraper:
    """Scrapes every 0.5 s on a new connection and on a kept-alive one; each answer is compared
    with the fake node's truth."""

    def __init__(self, port, tree):
        self.port = port
        self.want = expected.series(tree)
        self.latencies = {"new": [], "kept": []}
        self.failures = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(kind,), daemon=True) for kind in ("new", "kept")]

    def start(self):
        for t in self.threads:
            t.start()

    def check(self, kind, status, body, began):
        elapsed = time.monotonic() - began
        assert status == 200, f"status {status}: {body[:80]!r}"
        parsed, _ = parse(body)
        compare(parsed, self.want)
        self.latencies[kind].append(elapsed)

    def loop(self, kind):
        kept = None
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                if kind == "new":
                    with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                        s.sendall(SCRAPE_AND_CLOSE)
                        status, body = read_response(s)
                else:
                    if kept is None:
                        kept = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                    kept.sendall(SCRAPE)
                    status, body = read_response(kept)
                self.check(kind, status, body, began)
            except (OSError, AssertionError) as e:
                self.failures.append(f"{kind}: {e!r}"[:300])
                if kept is not None:
                    kept.close()
                    kept = None
            self.stop.wait(max(0.0, 0.5 - (time.monotonic() - began)))
        if kept is not None:
            kept.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


CASES = [
    # (name, kind, connections, addresses, seconds to settle before scraping, seconds of scraping)
    ("1,000 idle reconnecting, 1 address", "idle", 1000, 1, 0.5, 5),
    ("1,000 idle reconnecting, 50 addresses", "idle", 1000, 50, 0.5, 5),
    ("5,000 idle reconnecting, 50 addresses", "idle", 5000, 50, 0.5, 5),
    ("300 slowloris, 50 addresses", "slowloris", 300, 50, 0.5, 6),
    ("300 never reading /metrics/cadvisor, 1 address", "nonreader", 300, 1, 2.5, 5),
    ("300 never reading /metrics/cadvisor, 50 addresses", "nonreader", 300, 50, 2.5, 5),
]


def test_flood_matrix_at_the_defaults(fake_node, agent):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 5000 + 1000
    if hard != resource.RLIM_INFINITY and hard < want:
        pytest.skip(f"open-file limit {hard} is below the {want} the 5,000-connection case needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    tree = fake_node(pods=10, containers=2)
    a = agent("--host-root", tree)
    pid = a.proc.pid
    # Warm: the collector's files are open and both endpoints rendered once.
    for path in ("/metrics/resource", "/metrics/cadvisor", "/metrics/resource"):
        assert a.get(path)[0] == 200
    time.sleep(2.5)  # the probes' lingering connections are gone
    figures = []
    problems = []
    for name, kind, count, addresses, settle, seconds in CASES:
        fds_before, rss_before = open_fds(pid), rss_kib(pid)
        began = time.monotonic()
        flood = Flood(a.port, kind, count, addresses)
        time.sleep(settle)
        scraper = Scraper(a.port, tree)
        scraper.start()
        time.sleep(seconds)
        scraper.finish()
        fds_during, rss_during = open_fds(pid), rss_kib(pid)
        flood.close()
        # Back where it was: the agent sees every close within a poll() round; connections that
        # lingered after a `Connection: close` go within 2 s.
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and open_fds(pid) > fds_before + 4:
            time.sleep(0.1)
        time.sleep(0.5)
        fds_after, rss_after = open_fds(pid), rss_kib(pid)
        lat = scraper.latencies
        scrapes = len(lat["new"]) + len(lat["kept"])
        row = (f"{name}: {flood.opened} connections opened ({flood.failed_connects} connects failed); "
               f"scrapes {scrapes} exact, {len(scraper.failures)} failed; "
               f"new-connection p50 {sorted(lat['new'])[len(lat['new']) // 2] * 1000:.0f} ms "
               f"p99 {p99(lat['new']) * 1000:.0f} ms, kept-alive p50 {sorted(lat['kept'])[len(lat['kept']) // 2] * 1000:.0f} ms "
               f"p99 {p99(lat['kept']) * 1000:.0f} ms; agent fds {fds_before} -> {fds_during} -> {fds_after}, "
               f"RSS {rss_before / 1024:.1f} -> {rss_during / 1024:.1f} -> {rss_after / 1024:.1f} MiB; "
               f"{time.monotonic() - began:.1f} s")
        figures.append(row)
        print("\n" + row, flush=True)
        if scraper.failures:
            problems.append(f"{name}: {scraper.failures[:3]}")
        if len(lat["new"]) < seconds * 2 - 2 or len(lat["kept"]) < seconds * 2 - 2:
            problems.append(f"{name}: too few scrapes {len(lat['new'])}, {len(lat['kept'])}")
        if max(p99(lat["new"]), p99(lat["kept"])) >= 1:
            problems.append(f"{name}: p99 {p99(lat['new']):.2f} s, {p99(lat['kept']):.2f} s")
        if fds_after > fds_before + 4:
            problems.append(f"{name}: fds {fds_before} -> {fds_after}")
        if rss_after > rss_before + 16 * 1024:
            problems.append(f"{name}: RSS {rss_before} -> {rss_after} KiB")
    m = a.metrics()
    counters = {k: v for k, v in m.items() if k[0].startswith("kubemeter_http_")}
    print("\nagent's counters afterwards: " + ", ".join(
        f"{n}{dict(l) if l else ''}={v:g}" for (n, l), v in sorted(counters.items())))
    assert not problems, "\n".join(problems)
