"""End-to-end tests: the real kubemeter binary on fake-node trees, scraped over HTTP and read back
with a real Prometheus text parser (Debian's python3-prometheus-client)."""
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE_NODE = os.path.join(ROOT, "Tests", "tools", "fake-node")
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session")
def kubemeter_bin():
    path = os.environ.get("KUBEMETER_BIN", os.path.join(ROOT, ".build", "debug", "kubemeter"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"kubemeter binary not found at {path}: run `swift build` (make e2e does)")
    return path


def make_fake_node(out, pods, containers, driver, runtime, seed=1):
    if not os.path.exists(FAKE_NODE):
        pytest.fail(f"fake-node not found at {FAKE_NODE} (the generator is part of the repository)")
    subprocess.run([sys.executable, FAKE_NODE, str(out), "--pods", str(pods), "--containers", str(containers),
                    "--driver", driver, "--runtime", runtime, "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)
    return str(out)


@pytest.fixture
def fake_node(tmp_path):
    counter = iter(range(1000))

    def make(pods=5, containers=2, driver="systemd", runtime="containerd", seed=1):
        return make_fake_node(tmp_path / f"node{next(counter)}", pods, containers, driver, runtime, seed)
    return make


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """A running `kubemeter serve`; stopped with SIGTERM, which must end it with status 0."""

    def __init__(self, binary, args, log_path, descriptor_limit=None, ssl_context=None):
        """ssl_context: the agent serves HTTPS (--web.config.file); requests use this context."""
        self.port = free_port()
        self.ssl_context = ssl_context
        self.base = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = open(log_path, "w")
        # The background ephemeral-storage walks are timing-dependent: off unless a test asks
        # for them (test_ephemeral_storage.py does, with its own interval).
        if "--ephemeral-storage-interval" not in args:
            args = args + ["--ephemeral-storage-interval", "0"]
        self.proc = subprocess.Popen([binary, "serve", "--listen-address", f"127.0.0.1:{self.port}"] + args,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=None if descriptor_limit is None else
                                     lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                                (descriptor_limit, descriptor_limit)))
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2, context=self.ssl_context) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                pytest.fail(f"agent did not come up; log:\n{self.logs()}")
            time.sleep(0.05)

    def get(self, path, headers=None):
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl_context) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def metrics(self, path="/metrics", headers=None):
        """The samples at `path`, read with the real Prometheus parser:
        {(name, ((label, value), ...) sorted): value}."""
        status, _, body = self.get(path, headers)
        assert status == 200, f"GET {path} -> {status}"
        got = {}
        for family in text_string_to_metric_families(body.decode()):
            for s in family.samples:
                got[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return got

    def logs(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("agent did not stop within 15 s of SIGTERM")
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def agent(kubemeter_bin, tmp_path):
    started = []

    def start(*args, descriptor_limit=None, ssl_context=None):
        """descriptor_limit: the agent's RLIMIT_NOFILE, soft and hard (it raises its soft limit).
        ssl_context: the agent serves HTTPS; its readiness and `get` go through this context."""
        a = Agent(kubemeter_bin, list(args), str(tmp_path / f"agent{len(started)}.log"), descriptor_limit, ssl_context)
        started.append(a)
        return a
    yield start
    for a in started:
        code = a.stop()
        assert code == 0, f"agent exited with {code}; log:\n{a.logs()}"
