"""The agent's HTTP surface as a person with curl, and promtool, see it."""
import shutil
import subprocess

import pytest


class Result:
    def __init__(self, proc):
        # Decoded by hand: text mode would fold the CRLFs this test looks at.
        self.returncode = proc.returncode
        self.stdout = proc.stdout.decode()
        self.stderr = proc.stderr.decode()


def curl(*args):
    return Result(subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=30))


@pytest.fixture
def running(fake_node, agent):
    return agent("--host-root", fake_node(pods=5, containers=2))


def test_status_codes_and_headers(running):
    base = running.base
    r = curl("-i", base + "/metrics/resource")
    head = r.stdout.split("\r\n\r\n", 1)[0]
    assert head.startswith("HTTP/1.1 200")
    assert "Content-Type: text/plain; version=0.0.4; charset=utf-8" in head
    length = int([l for l in head.split("\r\n") if l.lower().startswith("content-length:")][0].split(":")[1])
    assert length == len(r.stdout.split("\r\n\r\n", 1)[1].encode())
    for path, code in [("/healthz", "200"), ("/readyz", "200"), ("/", "200"), ("/nope", "404"),
                       ("/metrics/resource?x=1", "200")]:
        assert curl("-o", "/dev/null", "-w", "%{http_code}", base + path).stdout == code, path
    r = curl("-i", base + "/")
    assert "/metrics/resource" in r.stdout


def test_head_has_headers_and_no_body(running):
    get = curl("-i", running.base + "/healthz").stdout
    head = curl("-I", running.base + "/metrics/resource").stdout
    assert head.startswith("HTTP/1.1 200")
    assert "Content-Length:" in head and head.endswith("\r\n\r\n")
    assert get.startswith("HTTP/1.1 200")


def test_method_not_allowed(running):
    r = curl("-i", "-X", "POST", running.base + "/metrics/resource")
    assert r.stdout.startswith("HTTP/1.1 405")
    assert "Allow: GET, HEAD" in r.stdout


def test_keep_alive_reuses_one_connection(running):
    r = curl("-v", "-o", "/dev/null", "-o", "/dev/null", running.base + "/metrics/resource", running.base + "/healthz")
    assert r.returncode == 0
    assert "Re-using existing connection" in r.stderr or "Reusing existing connection" in r.stderr


def test_http_1_0(running):
    r = curl("-i", "--http1.0", running.base + "/healthz")
    assert r.stdout.startswith("HTTP/1.") and " 200" in r.stdout.splitlines()[0]


def test_ipv6_listener(kubemeter_bin, fake_node, tmp_path):
    import socket
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
    except OSError:
        pytest.skip("no IPv6 loopback here")
    tree = fake_node(pods=1, containers=1)
    proc = subprocess.Popen([kubemeter_bin, "serve", "--host-root", tree, "--listen-address", f"[::1]:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            r = curl("-o", "/dev/null", "-w", "%{http_code}", f"http://[::1]:{port}/healthz")
            if r.stdout == "200":
                break
            import time
            time.sleep(0.05)
        assert r.stdout == "200"
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_promtool_check_metrics_is_clean(running):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed") if not __import__("os").environ.get("CI") \
            else pytest.fail("promtool missing in CI")
    body = curl(running.base + "/metrics/resource").stdout
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", (r.stdout, r.stderr)


def test_gzip_when_asked(running):
    import gzip
    plain_status, plain_headers, plain = running.get("/metrics/resource")
    status, headers, body = running.get("/metrics/resource", {"Accept-Encoding": "gzip"})
    assert status == 200 and plain_status == 200
    assert headers.get("Content-Encoding") == "gzip"
    assert headers.get("Vary") == "Accept-Encoding"
    assert "Content-Encoding" not in plain_headers
    assert gzip.decompress(body) == plain, "the same text, compressed"
    assert len(body) * 4 < len(plain)
    _, refused_headers, refused = running.get("/metrics/resource", {"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused_headers and refused == plain
    # RFC 9110 12.5.3: `*` speaks only for codings not named; gzip refused by name stays refused.
    _, wildcard_headers, wildcard = running.get("/metrics/resource", {"Accept-Encoding": "gzip;q=0, *"})
    assert "Content-Encoding" not in wildcard_headers and wildcard == plain
