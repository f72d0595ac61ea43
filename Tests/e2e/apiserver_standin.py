"""A stand-in for the Kubernetes API server, owned by the cluster-view tests (there is no API
server here). It serves only what `kubectl kubemeter top` asks of a real one, the way a real one
answers:

- `GET /api/v1/namespaces/<ns>/pods?labelSelector=k=v[,k=v]`: a v1 PodList of the pods it holds
  whose labels match (equality selectors only), each with metadata, spec.nodeName, spec.containers
  [].ports (the DaemonSet's `http-metrics`), status.phase and status.podIP;
- `GET /api/v1/namespaces/<ns>/pods/<name>[:<port>]/proxy/<path>`: the pod proxy. Like the real
  one it forwards to `<podIP>:<port>` (the port from the path, the first container port without
  one), drops the caller's Authorization, passes the agent's status, headers and body back, and
  answers a refused connection with 503 and the Status the real one sends ("error trying to reach
  service: dial tcp ...: connect: connection refused");
- everything else: 404 with a NotFound Status, as for an unknown resource.

It serves HTTPS with a certificate the test makes (openssl) and requires `Authorization: Bearer
<token>`, so kubectl's TLS and credential code runs as against a real cluster. The token is the
user `viewer` in the group `kubemeter-viewers`; given RBAC objects (the rendered
deploy/kubernetes/rbac-viewer), it authorizes each request as the API server's RBAC authorizer
would for these two kinds of request (`list pods`, `get pods/proxy` in a namespace) and answers
403 with the real message otherwise. Per pod it can add
a delay before forwarding (a slow node) or forward to a path the agent does not serve (an agent
older than the endpoint: its answer is the agent's own 404, as an old agent's router gives).
It records every request it gets, for the tests to check what was asked.
"""
import argparse
import http.client
import http.server
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/proxy(/.*)?$")
LIST = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Pod:
    def __init__(self, name, node, port, namespace="kubemeter", ip="127.0.0.1", phase="Running",
                 labels=None, delay=0.0, old_version=False):
        self.name, self.node, self.port, self.namespace, self.ip, self.phase = name, node, port, namespace, ip, phase
        self.labels = labels if labels is not None else {"app.kubernetes.io/name": "kubemeter",
                                                         "app.kubernetes.io/component": "node-agent"}
        self.delay = delay
        self.old_version = old_version

    def manifest(self, uid):
        return {
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": uid, "labels": self.labels,
                         "resourceVersion": "1", "creationTimestamp": "2025-01-01T00:00:00Z",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "kubemeter",
                                              "uid": "00000000-0000-0000-0000-00000000d5e7", "controller": True}]},
            "spec": {
                "nodeName": self.node,
                "hostNetwork": True,
                "containers": [{"name": "kubemeter", "image": "kubemeter:0.1.0",
                                "ports": [{"name": "http-metrics", "containerPort": self.port, "protocol": "TCP"}]}],
            },
            "status": {"phase": self.phase, "hostIP": self.ip,
                       **({"podIP": self.ip, "podIPs": [{"ip": self.ip}]} if self.phase == "Running" else {}),
                       "conditions": [{"type": "Ready", "status": "True" if self.phase == "Running" else "False"}]},
        }


class RBAC:
    """Roles and RoleBindings (namespaced only: all the plugin needs) deciding who may do what."""

    def __init__(self, objects):
        self.roles = {(o["metadata"]["namespace"], o["metadata"]["name"]): o.get("rules", [])
                      for o in objects if o and o.get("kind") == "Role"}
        self.bindings = [o for o in objects if o and o.get("kind") == "RoleBinding"]

    @staticmethod
    def load(kustomization):
        """The objects `kubectl kustomize` renders from a directory."""
        import yaml
        rendered = subprocess.run(["kubectl", "kustomize", kustomization], check=True, capture_output=True, text=True).stdout
        return RBAC(list(yaml.safe_load_all(rendered)))

    def allows(self, user, groups, verb, resource, namespace):
        for binding in self.bindings:
            if binding["metadata"]["namespace"] != namespace or binding["roleRef"]["kind"] != "Role":
                continue
            if not any((s["kind"] == "User" and s["name"] == user) or (s["kind"] == "Group" and s["name"] in groups)
                       for s in binding.get("subjects", [])):
                continue
            for rule in self.roles.get((namespace, binding["roleRef"]["name"]), []):
                if "" in rule.get("apiGroups", []) and resource in rule.get("resources", []) \
                        and (verb in rule.get("verbs", []) or "*" in rule.get("verbs", [])):
                    return True
        return False


class StandInAPIServer:
    def __init__(self, certfile, keyfile, token, rbac=None, user="viewer", groups=("kubemeter-viewers",)):
        self.token = token
        self.rbac, self.user, self.groups = rbac, user, groups
        self.pods = []
        self.requests = []
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        context.set_alpn_protocols(["http/1.1"])  # no HTTP/2: kubectl falls back to 1.1
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, pod):
        self.pods.append(pod)
        return pod

    def requested(self, pattern):
        with self.lock:
            return [r for r in self.requests if re.search(pattern, r["path"])]

    # -- request handling ------------------------------------------------------------------------

    def reply(self, handler, code, body, content_type="application/json", headers=()):
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        handler.send_response(code)
        handler.send_header("Content-Type", content_type)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler):
        url = urllib.parse.urlsplit(handler.path)
        with self.lock:
            self.requests.append({"path": handler.path, "time": time.monotonic(),
                                  "headers": {k.lower(): v for k, v in handler.headers.items()}})
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self.reply(handler, 401, status(401, "Unauthorized", "Unauthorized"))
        match = LIST.match(url.path)
        if match:
            if not self.authorized(handler, "list", "pods", "", match.group(1)):
                return
            return self.list_pods(handler, match.group(1), urllib.parse.parse_qs(url.query))
        match = PROXY.match(url.path)
        if match:
            name = match.group(2).partition(":")[0]
            if not self.authorized(handler, "get", "pods", "proxy", match.group(1), name):
                return
            return self.proxy(handler, match.group(1), match.group(2), match.group(3) or "/", url.query)
        return self.reply(handler, 404, status(404, "NotFound", "the server could not find the requested resource"))

    def authorized(self, handler, verb, resource, subresource, namespace, name=None):
        if self.rbac is None:
            return True
        full = resource + ("/" + subresource if subresource else "")
        if self.rbac.allows(self.user, self.groups, verb, full, namespace):
            return True
        # The API server's own words for a denied request.
        what = f'{resource} "{name}"' if name else resource
        sub = f' with subresource "{subresource}"' if subresource else ""
        self.reply(handler, 403, status(403, "Forbidden",
                                        f'{what} is forbidden: User "{self.user}" cannot {verb} resource "{resource}"'
                                        f'{sub} in API group "" in the namespace "{namespace}"'))
        return False

    def list_pods(self, handler, namespace, query):
        wanted = {}
        for term in ",".join(query.get("labelSelector", [])).split(","):
            if term:
                key, _, value = term.partition("=")
                wanted[key.strip()] = value.lstrip("=").strip()
        items = [p.manifest(f"00000000-0000-0000-0000-{i:012d}") for i, p in enumerate(self.pods)
                 if p.namespace == namespace and all(p.labels.get(k) == v for k, v in wanted.items())]
        self.reply(handler, 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                                  "items": items})

    def proxy(self, handler, namespace, name_port, path, query):
        # [scheme:]name[:port], as the real pod proxy parses it (scheme http or https).
        scheme = "http"
        if name_port.startswith(("https:", "http:")):
            scheme, _, name_port = name_port.partition(":")
        name, _, port = name_port.partition(":")
        pod = next((p for p in self.pods if p.namespace == namespace and p.name == name), None)
        if pod is None:
            return self.reply(handler, 404, status(404, "NotFound", f'pods "{name}" not found'))
        if pod.phase != "Running":
            return self.reply(handler, 400, status(400, "BadRequest", f"address not allowed"))
        port = int(port) if port else pod.port
        if pod.delay:
            time.sleep(pod.delay)
        if pod.old_version:
            path = "/kubemeter-before-" + path.lstrip("/")  # a path the agent has no route for
        forwarded = {k: v for k, v in handler.headers.items()
                     if k.lower() in ("accept", "accept-encoding", "user-agent")}
        try:
            if scheme == "https":
                # The real API server does not verify a pod's certificate on the pod proxy either.
                insecure = ssl.create_default_context()
                insecure.check_hostname = False
                insecure.verify_mode = ssl.CERT_NONE
                upstream = http.client.HTTPSConnection(pod.ip, port, timeout=30, context=insecure)
            else:
                upstream = http.client.HTTPConnection(pod.ip, port, timeout=30)
            upstream.request("GET", path + ("?" + query if query else ""), headers=forwarded)
            response = upstream.getresponse()
            body = response.read()
            headers = [(k, v) for k, v in response.getheaders()
                       if k.lower() in ("content-encoding", "vary")]
            self.reply(handler, response.status, body, response.getheader("Content-Type", "text/plain"), headers)
            upstream.close()
        except ConnectionRefusedError:
            self.reply(handler, 503, status(503, "ServiceUnavailable",
                                            f"error trying to reach service: dial tcp {pod.ip}:{port}: connect: connection refused"))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 and localhost, made with openssl."""
    cert, key = os.path.join(directory, "apiserver.crt"), os.path.join(directory, "apiserver.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=stand-in-apiserver", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def write_kubeconfig(directory, server, ca_file, token):
    """A kubeconfig as a cluster admin would hand out: CA data inline, a bearer token."""
    import base64
    with open(ca_file, "rb") as f:
        ca = base64.b64encode(f.read()).decode()
    path = os.path.join(directory, "kubeconfig")
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "stand-in",
        "clusters": [{"name": "stand-in", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "viewer", "user": {"token": token}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "viewer"}}],
    }
    with open(path, "w") as f:
        json.dump(config, f)  # YAML is a superset of JSON
    os.chmod(path, 0o600)
    return path


def main():
    """A stand-in cluster by hand (for a demo or a capture): agents on fake-node trees behind the
    stand-in; prints the KUBECONFIG to use, runs until interrupted or SIGTERM."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--kubemeter", required=True)
    parser.add_argument("--fake-node", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--pods", type=int, default=4)
    parser.add_argument("--dead", type=int, default=1, help="nodes whose agent is not running (the last ones)")
    parser.add_argument("--old", type=int, default=0, help="nodes whose agent predates /top.json (before the dead)")
    parser.add_argument("--slow", type=float, default=0.0, help="delay of the first node, seconds")
    parser.add_argument("--advance", type=float, default=0.0, help="CPU seconds added to every tree each second")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    cert, key = make_certificate(args.dir)
    token = "stand-in-token"
    api = StandInAPIServer(cert, key, token).start()
    agents, trees = [], []
    for i in range(args.nodes):
        node = f"node-{chr(ord('a') + i)}"
        tree = os.path.join(args.dir, node)
        subprocess.run([sys.executable, args.fake_node, tree, "--pods", str(args.pods), "--containers", "2",
                        "--seed", str(i + 1)], check=True, stdout=subprocess.DEVNULL)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        dead = i >= args.nodes - args.dead
        old = not dead and i >= args.nodes - args.dead - args.old
        if not dead:
            trees.append(tree)
            agents.append(subprocess.Popen([args.kubemeter, "serve", "--host-root", tree, "--listen-address",
                                            f"127.0.0.1:{port}", "--log-level", "error"]))
        api.add(Pod(f"kubemeter-{i:02d}{node[-1]}x7", node, port, delay=args.slow if i == 0 else 0.0, old_version=old))
    print(f"KUBECONFIG={write_kubeconfig(args.dir, api.url, cert, token)}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # SIGTERM also stops the agents
    try:
        while True:
            time.sleep(1)
            for seed, tree in enumerate(trees):
                if args.advance:
                    subprocess.run([sys.executable, args.fake_node, tree, "--advance", str(args.advance),
                                    "--seed", str(int(time.time()) + seed)], check=True, stdout=subprocess.DEVNULL)
    except KeyboardInterrupt:
        pass
    finally:
        for a in agents:
            a.terminate()
            a.wait()
        api.stop()


if __name__ == "__main__":
    main()
