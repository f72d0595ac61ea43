#!/usr/bin/python3
"""kubemeter end to end on a real node: runs inside the e2e-node guest (see docs/testing.md).

Lays pods out as the kubelet would (containerd + runc, no kubelet): pod sandboxes holding the
network namespace, app containers joined to it, the CRI log files and /var/log/containers links.
Then runs the shipped agent and checks each family it serves against the kernel's own files, read
just before and just after the scrape. On the systemd layout, one pod runs from an image imported
into containerd (overlayfs snapshotter, so its containers have writable layers) with the kubelet's
volumes and etc-hosts: its ephemeral storage is checked part by part against GNU du, and a
crash-looping container's restart count. Last, the DaemonSet's container spec (the base and the
ephemeral-storage overlay, rendered on the host by kubectl kustomize) runs under runc as the kubelet
and containerd would run it, against the same pods. One line per check group goes to
out/report.txt; the verdict goes to out/status ("pass" or "fail: ...").

Usage: node_test.py SHARE   (SHARE holds bin/kubemeter, optionally deploy/kubemeter.service and
deploy/daemonset*.json, out/)
"""
import hashlib
import io
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
import uuid

SHARE = sys.argv[1] if len(sys.argv) > 1 else "/mnt/e2e"
OUT = os.path.join(SHARE, "out")
AGENT = os.path.join(SHARE, "bin", "kubemeter")
UNIT = os.path.join(SHARE, "deploy", "kubemeter.service")
DROPIN = os.path.join(SHARE, "deploy", "ephemeral-storage.conf")
CG = "/sys/fs/cgroup"
WORK = "/var/lib/e2e"
MiB = 1 << 20

# Workload sizes the checks rely on.
HOLD_BYTES = 64 * MiB          # the memory holder's anonymous string
OOM_LIMIT = 32 * MiB           # memory.max of the OOM container, below its 64 MiB allocation
THROTTLE_QUOTA = (10000, 100000)  # cpu.max of the throttled container: 10 % of one CPU
SWAP_LIMIT = 48 * MiB          # memory.swap.max written on one container, for container_swap_limit_bytes
FRAME_SIZE, FRAME_COUNT = 1000, 137  # frames fed to each pod's eth0 from the host end of its veth

# The storage pod (systemd layout only): what its containers write, all of it exactly measured by du.
IMAGE_REF = "docker.io/e2e/busybox:local"  # imported from an OCI layout built in the guest
LAYER_WRITE = (3 * MiB, 50)    # the writer's dd into its writable layer, then that many small files
VOLUME_WRITE = (2 * MiB, 20)   # the same into its emptyDir "scratch"
SANDBOX_WRITE = 1 * MiB        # into the sandbox's own layer: must never count as an app container's
LOG_LINES = 100                # lines the writer prints before its "writes done"
CRASH_RESTARTS = 2             # the crash-looper exits this many times, restarted each time
STORAGE_PORT = 10266           # a root `kubemeter serve` of our own, walking every second
KUBELET_PODS = "/var/lib/kubelet/pods"

# Tolerances for gauges (stated in every report line that uses them).
CONTAINER_GAUGE_TOL = (1 * MiB, 0.01)   # absolute, relative: outside [min, max] of the readings
NODE_GAUGE_TOL = (32 * MiB, 0.02)       # the node moves more: the agent itself runs in between

failures = []
report_lines = []

# The watchdog's view of the run: when it last moved on, and to what. A step that makes no
# progress for STALL_SECONDS gets one dump of the guest's processes and the kernel's blocked
# tasks on the console, so a hang says where it is (the host kills a guest whose console is
# silent for longer still, and boots it again once).
STALL_SECONDS = 60
progress = {"at": time.monotonic(), "step": "start", "reported": False}


def moved_on(step):
    progress.update(at=time.monotonic(), step=step, reported=False)


def log(msg):
    moved_on(msg)
    print(f"e2e-node: {msg}", flush=True)


def record(group, ok, what):
    moved_on(group)
    line = f"{'PASS' if ok else 'FAIL'} {group}: {what}"
    report_lines.append(line)
    print(f"E2E| {line}", flush=True)
    if not ok:
        failures.append(group)
    with open(os.path.join(OUT, "report.txt"), "a") as f:
        f.write(line + "\n")


def skip(group, why):
    line = f"SKIP {group}: {why}"
    report_lines.append(line)
    print(f"E2E| {line}", flush=True)
    with open(os.path.join(OUT, "report.txt"), "a") as f:
        f.write(line + "\n")


def sh(*args, check=True, timeout=120):
    command = shlex.join(args)
    moved_on(command)
    child = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        dump_processes(f"{command} still running after {timeout} s")
        child.kill()
        try:
            child.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pass  # stuck in the kernel past SIGKILL: left behind, the run goes on to report it
        raise RuntimeError(f"{command} timed out after {timeout} s")
    p = subprocess.CompletedProcess(list(args), child.returncode, out, err)
    if check and p.returncode != 0:
        raise RuntimeError(f"{command} -> {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
    return p


def dump_processes(why):
    """Every process's state and wait channel, then the kernel's blocked tasks (sysrq w), on the console."""
    print(f"e2e-node: WATCHDOG: {why}; processes (pid ppid state wchan command):", flush=True)
    for pid in sorted((d for d in os.listdir("/proc") if d.isdigit()), key=int):
        try:
            stat = read(f"/proc/{pid}/stat")
            wchan = read(f"/proc/{pid}/wchan") or "-"
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if (pid == "2" or ppid == "2") and state != "D":  # kernel threads, unless blocked
            continue
        print(f"e2e-node: WATCHDOG:   {pid} {ppid} {state} {wchan} {comm}", flush=True)
    # The blocked-task dump is logged at KERN_INFO, below the console's level (loglevel=4): raise
    # the level for the dump, or only its header would reach the serial console.
    try:
        levels = read("/proc/sys/kernel/printk").split()
        with open("/proc/sys/kernel/printk", "w") as f:
            f.write("8")
        try:
            with open("/proc/sysrq-trigger", "w") as f:
                f.write("w")
        finally:
            with open("/proc/sys/kernel/printk", "w") as f:
                f.write(levels[0])
    except (OSError, IndexError) as e:
        print(f"e2e-node: WATCHDOG: sysrq w: {e}", flush=True)


def watchdog():
    while True:
        time.sleep(5)
        idle = time.monotonic() - progress["at"]
        if idle > STALL_SECONDS and not progress["reported"]:
            progress["reported"] = True
            step = progress["step"][:160]
            # A verdict first, on the share: if the step never comes back, the host finds a hang
            # inside a live guest (a failure, with the dump below as evidence), not a frozen
            # machine to boot again. The run overwrites it with its own when the step recovers.
            try:
                with open(os.path.join(OUT, "status"), "w") as f:
                    f.write(f"fail: no progress for over {STALL_SECONDS} s in: {step}\n")
            except OSError:
                pass
            dump_processes(f"no progress for {idle:.0f} s in: {step}")


def read(path):
    with open(path) as f:
        return f.read()


def kv(path):
    out = {}
    for line in read(path).splitlines():
        k, _, v = line.partition(" ")
        out[k] = int(v)
    return out


# ---------------------------------------------------------------- pods, laid out as the kubelet does

class Container:
    def __init__(self, pod, name, argv, cpu_quota=None, memory_limit=None, swap_limit=None, restart_argv=None,
                 exits=False, image=False, mounts=(), crash_loops=0):
        self.pod, self.name, self.argv = pod, name, argv
        self.cpu_quota, self.memory_limit, self.swap_limit = cpu_quota, memory_limit, swap_limit
        self.restart_argv, self.exits = restart_argv, exits
        # image: run from IMAGE_REF on the overlayfs snapshotter (a writable layer), not --rootfs.
        # mounts: (host path, container path, options) bind mounts. crash_loops: exits that many
        # times (each instance restarted), the last instance sleeps.
        self.image, self.mounts, self.crash_loops = image, mounts, crash_loops
        self.id = secrets.token_hex(32)
        self.instance = 0
        self.dead_ids = []       # dead instances whose link and log stay
        self.collected_ids = []  # dead instances garbage-collected: link and log removed

    def argv_now(self):
        if self.crash_loops:
            last = self.instance >= self.crash_loops
            return ["/bin/sh", "-c", f"echo crash-looper attempt {self.instance}; "
                    + ("exec sleep 1000000" if last else "exit 1")]
        return self.argv if self.instance == 0 else (self.restart_argv or self.argv)

    def link(self, cid=None):
        """The kubelet's /var/log/containers link of this container's instance `cid` (default: the live one)."""
        return f"/var/log/containers/{self.pod.name}_{self.pod.namespace}_{self.name}-{cid or self.id}.log"


class Pod:
    def __init__(self, namespace, name, qos, uid=None, exits=False, image=False, sandbox_argv=None,
                 kubelet_files=False, host_network=False, feeds=None, replaced=False):
        self.namespace, self.name, self.qos = namespace, name, qos
        self.uid = uid or str(uuid.uuid4())
        self.exits = exits
        # image: the sandbox too runs from IMAGE_REF (its own writable layer); kubelet_files: the
        # pod has the kubelet's /var/lib/kubelet/pods/<uid> (volumes, etc-hosts) and a pod log file.
        self.image, self.sandbox_argv, self.kubelet_files = image, sandbox_argv, kubelet_files
        self.containers = []
        self.sandbox_id = secrets.token_hex(32)
        self.sandbox_pid = None
        self.host_veth = None
        # host_network: the sandbox in the host's network namespace (no interfaces of its own).
        # feeds: frames each interface of the sandbox gets from its host end (eth0 first; a second
        # one is a multus-style net1). replaced: its sandbox is replaced in every posture.
        self.host_network, self.replaced = host_network, replaced
        self.feeds = {} if host_network else dict(feeds or {"eth0": FRAME_COUNT})
        self.host_ends = {}      # interface -> its host end
        self.frames = {}         # interface -> frames sent into it since the sandbox started
        self.replacements = 0

    @property
    def frames_sent(self):
        return self.frames.get("eth0", 0)

    def add(self, *a, **kw):
        self.containers.append(Container(self, *a, **kw))
        return self

    @property
    def log_dir(self):
        return f"/var/log/pods/{self.namespace}_{self.name}_{self.uid}"

    @property
    def kubelet_dir(self):
        return os.path.join(KUBELET_PODS, self.uid)

    def volume_dir(self, plugin, name):
        return os.path.join(self.kubelet_dir, "volumes", f"kubernetes.io~{plugin}", name)


# The storage pod's files on the host, as the kubelet lays them out (names the checks use).
SCRATCH = ("empty-dir", "scratch")                 # an emptyDir on disk: ephemeral
TOKEN = ("projected", "kube-api-access-e2e")       # the service account token: a tmpfs, not ephemeral
POD_LOG_FILE = "e2e-pod-file.log"                   # a file directly in the pod's log directory


def storage_pod():
    """e2e/storage-writer: its containers run from the imported image on the overlayfs snapshotter.
    writer: LAYER_WRITE into its writable layer (/data), VOLUME_WRITE into the emptyDir at /scratch,
    LOG_LINES lines to stdout, then sync and sleep. crash-looper: exits CRASH_RESTARTS times and is
    restarted each time (the kubelet's way), then sleeps. The sandbox writes SANDBOX_WRITE into its layer."""
    def writes(directory, size, files):
        return (f"mkdir -p {directory}; dd if=/dev/zero of={directory}/big bs=1048576 count={size // MiB} 2>/dev/null; "
                f"for i in $(seq 1 {files}); do echo small file $i > {directory}/small-$i; done; ")
    writer = ["/bin/sh", "-c", "set -e; " + writes("/data", *LAYER_WRITE) + writes("/scratch", *VOLUME_WRITE)
              + f"for i in $(seq 1 {LOG_LINES}); do echo storage writer log line $i; done; "
              + "sync; echo writes done; exec sleep 1000000"]
    sandbox = ["/bin/sh", "-c", f"dd if=/dev/zero of=/sandbox-data bs=1048576 count={SANDBOX_WRITE // MiB} "
               "2>/dev/null; sync; exec sleep 1000000"]
    pod = Pod("e2e", "storage-writer", "burstable", image=True, sandbox_argv=sandbox, kubelet_files=True)
    mounts = [(pod.volume_dir(*SCRATCH), "/scratch", "rbind:rw"),
              (pod.volume_dir(*TOKEN), "/var/run/secrets/kubernetes.io/serviceaccount", "rbind:ro"),
              (os.path.join(pod.kubelet_dir, "etc-hosts"), "/etc/hosts", "rbind:ro")]
    return pod.add("writer", writer, image=True, mounts=mounts).add("crash-looper", None, image=True,
                                                                    crash_loops=CRASH_RESTARTS)


NET_PODS = ("host-network", "two-interfaces", "replaced-sandbox")
TWO_FEEDS = {"eth0": 29, "net1": 61}     # frames into each interface of the two-interface pod
REPLACED_FEEDS = (11, 5, 7, 13, 17, 19)  # the replaced pod's eth0: its first sandbox, then each new one
NODE_PAIR = ("e2enode0", "e2enode1")     # a veth pair in the host's namespace (not veth*: node interfaces)
NODE_FRAMES = 23                         # sent from e2enode1 into e2enode0: the node's (and a hostNetwork pod's) rx


def network_pods():
    """The systemd layout's network cases: a hostNetwork pod, a multus-style pod with eth0 and net1,
    and a pod whose sandbox is replaced in each posture (between two scrapes)."""
    sleep = ["/bin/sleep", "1000000"]
    return [Pod("e2e", "host-network", "besteffort", host_network=True).add("app", sleep),
            Pod("e2e", "two-interfaces", "besteffort", feeds=TWO_FEEDS).add("app", sleep),
            Pod("e2e", "replaced-sandbox", "besteffort", feeds={"eth0": REPLACED_FEEDS[0]}, replaced=True)
            .add("app", sleep)]


def make_pods(storage=False, network=False):
    spin = ["/bin/sh", "-c", "while :; do :; done"]
    sleep = ["/bin/sleep", "1000000"]
    hold = ["/bin/awk", f'BEGIN {{ s = sprintf("%{HOLD_BYTES}s", "x"); system("exec sleep 1000000") }}']
    grow = ["/bin/awk", f'BEGIN {{ s = sprintf("%{2 * OOM_LIMIT}s", "x"); print length(s) }}']
    grow_then_sleep = ["/bin/sh", "-c", shlex.join(grow) + "; echo survived the OOM kill; exec sleep 1000000"]
    static_uid = secrets.token_hex(16)  # a static pod's UID: md5 of its manifest, 32 hex digits
    return [
        Pod("e2e", "cpu-burner", "guaranteed").add("burn", spin),
        Pod("e2e", "memory-holder", "burstable").add("hold", hold, swap_limit=SWAP_LIMIT),
        Pod("e2e", "throttled", "besteffort").add("spin", spin, cpu_quota=THROTTLE_QUOTA),
        Pod("e2e", "oom-victim", "burstable").add("grow", grow, memory_limit=OOM_LIMIT, restart_argv=grow_then_sleep),
        Pod("e2e", "finished-job", "besteffort", exits=True).add("once", ["/bin/sh", "-c", "echo job done"], exits=True),
        Pod("kube-system", "static-web-e2e-node", "burstable", uid=static_uid)
            .add("web", sleep).add("log-tailer", sleep),
    ] + ([storage_pod()] if storage else []) + (network_pods() if network else [])


class Layout:
    """Where the kubelet's cgroup driver puts a pod and a container, and what ctr must be told."""

    def __init__(self, driver):
        self.driver = driver

    def pod_parts(self, pod):
        return ["kubepods"] + ([] if pod.qos == "guaranteed" else [pod.qos]) + [f"pod{pod.uid}"]

    def pod_dir(self, pod):
        parts = self.pod_parts(pod)
        if self.driver == "cgroupfs":
            return os.path.join(CG, *parts)
        # systemd: a-b-c.slice lives at a.slice/a-b.slice/a-b-c.slice, with '-' in names as '_'.
        names = [p.replace("-", "_") for p in parts]
        dirs = ["-".join(names[:i + 1]) + ".slice" for i in range(len(names))]
        return os.path.join(CG, *dirs)

    def pod_slice(self, pod):
        return "-".join(p.replace("-", "_") for p in self.pod_parts(pod)) + ".slice"

    def ctr_flags(self, pod, cid):
        if self.driver == "cgroupfs":
            return ["--cgroup", "/" + "/".join(self.pod_parts(pod) + [cid])]
        return ["--runc-systemd-cgroup", "--cgroup", f"{self.pod_slice(pod)}:cri-containerd:{cid}"]

    def container_dir(self, pod, cid):
        leaf = cid if self.driver == "cgroupfs" else f"cri-containerd-{cid}.scope"
        return os.path.join(self.pod_dir(pod), leaf)


def make_rootfs(cid):
    """A container root filesystem from the guest's busybox-static: /bin/busybox and its applets."""
    root = os.path.join(WORK, "rootfs", cid)
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    sh("cp", "/bin/busybox", os.path.join(root, "bin", "busybox"))
    for applet in sh("/bin/busybox", "--list").stdout.split():
        link = os.path.join(root, "bin", applet)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    return root


def import_image():
    """IMAGE_REF into containerd, from an OCI image layout tarball built here (no network): one
    uncompressed layer holding make_rootfs' busybox tree, its config and manifest, an index naming
    it, every blob under its sha256. `ctr image import` unpacks it for the overlayfs snapshotter."""
    root = make_rootfs("image")
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                info = t.gettarinfo(full, arcname=os.path.relpath(full, root))
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if info.isreg():
                    with open(full, "rb") as f:
                        t.addfile(info, f)
                else:
                    t.addfile(info)
    blobs = {}

    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest, len(data)

    layer_digest, layer_size = blob(layer.getvalue())
    platform = {"architecture": "amd64", "os": "linux"}
    config_digest, config_size = blob(json.dumps({
        **platform, "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }).encode())
    manifest_digest, manifest_size = blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
    }).encode())
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest_size,
        "platform": platform,
        "annotations": {"io.containerd.image.name": IMAGE_REF, "org.opencontainers.image.ref.name": "local"}}]}
    archive = os.path.join(WORK, "image.tar")
    with tarfile.open(archive, "w") as t:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        add("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        add("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            add("blobs/sha256/" + digest.split(":", 1)[1], data)
    sh("ctr", "image", "import", archive)
    images = sh("ctr", "image", "ls", "-q").stdout.split()
    if IMAGE_REF not in images:
        raise RuntimeError(f"ctr image import: {IMAGE_REF} not among the images {images}")
    log(f"image {IMAGE_REF} imported: one {layer_size}-byte layer {layer_digest[:19]}")


def task_pid(cid):
    for line in sh("ctr", "task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return int(f[1]), f[2]
    return None, None


def run_container(layout, pod, cid, argv, *, log_path=None, netns_pid=None, c=None, image=False, mounts=(),
                  net_host=False):
    # image: an overlay rootfs on a snapshot of IMAGE_REF (what a kubelet always gets); else a plain
    # directory (--rootfs), which no snapshotter mounts: no writable layer to find.
    flags = ["-d"] + (["--snapshotter", "overlayfs"] if image else ["--rootfs"]) + layout.ctr_flags(pod, cid)
    for src, dst, options in mounts:
        flags += ["--mount", f"type=bind,src={src},dst={dst},options={options}"]
    if log_path:
        flags += ["--log-uri", f"file://{log_path}"]
    if net_host:
        flags += ["--net-host"]
    elif netns_pid:
        flags += ["--with-ns", f"network:/proc/{netns_pid}/ns/net"]
    if c is not None and c.cpu_quota:
        flags += ["--cpu-quota", str(c.cpu_quota[0]), "--cpu-period", str(c.cpu_quota[1])]
    if c is not None and c.memory_limit:
        flags += ["--memory-limit", str(c.memory_limit)]
    sh("ctr", "run", *flags, IMAGE_REF if image else make_rootfs(cid), cid, *argv)


def make_kubelet_files(pod):
    """What the kubelet makes for a pod before its containers start: /var/lib/kubelet/pods/<uid>
    (0750, as the kubelet's pods directory: unlistable for the shipped unit's DynamicUser), an
    emptyDir, a projected token volume on a tmpfs (atomic-writer layout: ..data and links), etc-hosts.
    And a file directly in the pod's log directory (counted as the pod's log files)."""
    for d in ("/var/lib/kubelet", KUBELET_PODS, pod.kubelet_dir):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o750)
    scratch = pod.volume_dir(*SCRATCH)
    os.makedirs(scratch, exist_ok=True)
    os.chmod(scratch, 0o777)
    token = pod.volume_dir(*TOKEN)
    os.makedirs(token, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", token)
    stamp = "..2024_01_01_00_00_00.000000001"
    os.makedirs(os.path.join(token, stamp))
    for name, text in (("token", "eyJhbGciOiJSUzI1NiJ9." + "x" * 900), ("ca.crt", "-----BEGIN CERTIFICATE-----\n" * 20),
                       ("namespace", pod.namespace)):
        with open(os.path.join(token, stamp, name), "w") as f:
            f.write(text)
        os.symlink(f"..data/{name}", os.path.join(token, name))
    os.symlink(stamp, os.path.join(token, "..data"))
    with open(os.path.join(pod.kubelet_dir, "etc-hosts"), "w") as f:
        f.write("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
                f"10.244.0.17\t{pod.name}\n")
    os.makedirs(pod.log_dir, exist_ok=True)
    with open(os.path.join(pod.log_dir, POD_LOG_FILE), "w") as f:
        f.write("a pod-level log file\n" * 100)


def start_pod(layout, pod):
    if pod.kubelet_files:
        make_kubelet_files(pod)
    start_sandbox(layout, pod)
    for c in pod.containers:
        start_container(layout, pod, c)


def start_sandbox(layout, pod):
    # The sandbox: holds the pod's network namespace (ctr's default spec makes a new one; a
    # hostNetwork pod's stays in the host's), no log.
    run_container(layout, pod, pod.sandbox_id, pod.sandbox_argv or ["/bin/sleep", "1000000"], image=pod.image,
                  net_host=pod.host_network)
    pod.sandbox_pid, _ = task_pid(pod.sandbox_id)
    pod.host_ends, pod.frames = {}, {}
    # eth0 (and net1): a veth pair each, as a CNI plugin makes it; the host end stays here to feed frames.
    short = pod.sandbox_id[:8]
    for i, name in enumerate(pod.feeds):
        host = f"veth{short}" if i == 0 else f"vn{i}{short}"  # net1's host end is not veth*: a node interface
        sh("ip", "link", "add", host, "type", "veth", "peer", "name", f"pe{i}{short}")
        sh("ip", "link", "set", f"pe{i}{short}", "netns", str(pod.sandbox_pid))
        sh("nsenter", "-t", str(pod.sandbox_pid), "-n", "ip", "link", "set", f"pe{i}{short}", "name", name)
        sh("nsenter", "-t", str(pod.sandbox_pid), "-n", "ip", "link", "set", name, "up")
        sh("ip", "link", "set", host, "up")
        pod.host_ends[name] = host
    pod.host_veth = pod.host_ends.get("eth0")


def start_container(layout, pod, c):
    log_dir = os.path.join(pod.log_dir, c.name)
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, f"{c.instance}.log")
    run_container(layout, pod, c.id, c.argv_now(), log_path=log_path, netns_pid=pod.sandbox_pid, c=c,
                  image=c.image, mounts=c.mounts, net_host=pod.host_network)
    if not os.path.exists(log_path):  # the runtime writes it; make sure the kubelet's link has a target
        open(log_path, "a").close()
    # The kubelet's link, made after the container starts, only when the log file exists.
    os.symlink(log_path, c.link())
    if c.swap_limit:
        if layout.driver == "systemd":
            # Through systemd: a file written behind its back is reset on the next daemon-reload.
            sh("systemctl", "set-property", "--runtime", f"cri-containerd-{c.id}.scope", f"MemorySwapMax={c.swap_limit}")
        else:
            with open(os.path.join(layout.container_dir(pod, c.id), "memory.swap.max"), "w") as f:
                f.write(str(c.swap_limit))


def remove_task(cid):
    sh("ctr", "task", "kill", "-s", "SIGKILL", cid, check=False)
    for _ in range(50):
        _, status = task_pid(cid)
        if status in (None, "STOPPED"):
            break
        time.sleep(0.1)
    sh("ctr", "task", "rm", "-f", cid, check=False)
    sh("ctr", "container", "rm", cid, check=False)


def wait_stopped(cid, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, status = task_pid(cid)
        if status == "STOPPED":
            return True
        time.sleep(0.5)
    return False


def settle_workloads(layout, pods):
    """OOM victim: wait for the kernel's kill, then restart it as the kubelet would (a new container
    instance, 1.log, a new link; the dead instance's link stays). Finished job: wait for its exit,
    then remove its containers and pod cgroup as the kubelet does for a terminated pod; its logs stay."""
    for pod in pods:
        for c in pod.containers:
            if c.restart_argv:
                if not wait_stopped(c.id, 60):
                    raise RuntimeError(f"{pod.name}/{c.name} was not OOM-killed within 60 s")
                remove_task(c.id)
                c.dead_ids.append(c.id)
                c.id = secrets.token_hex(32)
                c.instance = 1
                start_container(layout, pod, c)
            if c.exits:
                if not wait_stopped(c.id, 60):
                    raise RuntimeError(f"{pod.name}/{c.name} did not exit within 60 s")
        if pod.exits:
            for c in pod.containers:
                remove_task(c.id)
            remove_task(pod.sandbox_id)
            remove_pod_cgroup(layout, pod)
    # The restarted OOM victim kills its own child once more, then sleeps: wait for that.
    for pod in pods:
        for c in pod.containers:
            if c.restart_argv:
                events = os.path.join(layout.pod_dir(pod), "memory.events")
                deadline = time.monotonic() + 60
                while kv(events).get("oom_kill", 0) < 2 and time.monotonic() < deadline:
                    time.sleep(0.5)
    for pod in pods:
        for c in pod.containers:
            if c.crash_loops:
                crash_loop(layout, pod, c)
    # The storage pod: every write done (each writer syncs, then execs sleep).
    for pod in pods:
        if not pod.kubelet_files:
            continue
        wait_sleeping(pod.sandbox_id, f"{pod.name} sandbox")
        for c in pod.containers:
            wait_sleeping(c.id, f"{pod.name}/{c.name}")
            # The runtime copies the container's stdout to the log file on its own: wait for the last line.
            last = "writes done" if c.argv else f"crash-looper attempt {c.instance}"
            log_path = os.path.join(pod.log_dir, c.name, f"{c.instance}.log")
            deadline = time.monotonic() + 30
            while not read(log_path).endswith(last + "\n"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{log_path} does not end with {last!r} 30 s after the container wrote it")
                time.sleep(0.2)


def restart_container(layout, pod, c):
    """The kubelet's restart of `c` (already stopped and removed): a new instance with the next
    `<n>.log` and a new link. Its container GC keeps one dead instance a container
    (MaxPerPodContainer 1): an older one is removed with its log file and its link."""
    c.dead_ids.append(c.id)
    c.id = secrets.token_hex(32)
    c.instance += 1
    start_container(layout, pod, c)
    while len(c.dead_ids) > 1:
        old = c.dead_ids.pop(0)
        os.remove(c.link(old))
        os.remove(os.path.join(pod.log_dir, c.name, f"{c.instance - 1 - len(c.dead_ids)}.log"))  # old's
        c.collected_ids.append(old)


def crash_loop(layout, pod, c):
    """Restarts `c` after each exit as the kubelet does: a new container instance with the next
    `<n>.log` and a new link. Its container GC keeps one dead instance a container
    (MaxPerPodContainer 1): an older one is removed with its log file and its link."""
    while c.instance < c.crash_loops:
        if not wait_stopped(c.id, 60):
            raise RuntimeError(f"{pod.name}/{c.name} instance {c.instance} did not exit within 60 s")
        remove_task(c.id)
        restart_container(layout, pod, c)


def wait_sleeping(cid, what, seconds=60):
    """Until the task's process is `sleep` (its script's last step, after its writes and sync)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid, status = task_pid(cid)
        try:
            if status == "RUNNING" and read(f"/proc/{pid}/comm").strip() == "sleep":
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not finish its writes within {seconds} s")


def remove_pod_cgroup(layout, pod):
    if layout.driver == "systemd":
        sh("systemctl", "stop", layout.pod_slice(pod), check=False)
    d = layout.pod_dir(pod)
    for _ in range(50):
        try:
            os.rmdir(d)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def teardown(layout, pods):
    for pod in pods:
        for c in pod.containers:
            remove_task(c.id)
        remove_task(pod.sandbox_id)
    for pod in pods:
        remove_pod_cgroup(layout, pod)
    if layout.driver == "cgroupfs":
        for d in ("kubepods/burstable", "kubepods/besteffort", "kubepods"):
            try:
                os.rmdir(os.path.join(CG, d))
            except OSError:
                pass
    else:
        for s in ("kubepods-burstable.slice", "kubepods-besteffort.slice", "kubepods.slice"):
            sh("systemctl", "stop", s, check=False)
    sh("sh", "-c", "rm -rf /var/log/pods/* /var/log/containers/* " + WORK + "/rootfs")
    for pod in pods:
        if pod.kubelet_files:
            sh("umount", pod.volume_dir(*TOKEN), check=False)


def feed_frames(pod, feeds=None):
    """Sends each interface's number of Ethernet frames (pod.feeds: FRAME_COUNT into eth0 unless
    told) of FRAME_SIZE bytes into the pod from its host end. EtherType 0x88b5 (IEEE local
    experimental): counted in the interface's rx_bytes, then dropped."""
    for name, count in (feeds or pod.feeds).items():
        # (sysfs shows the netns it was mounted in, so ask ip inside the pod's netns for the MAC.)
        link = sh("nsenter", "-t", str(pod.sandbox_pid), "-n", "ip", "-o", "link", "show", name).stdout
        dst = bytes.fromhex(re.search(r"link/ether ([0-9a-f:]{17})", link).group(1).replace(":", ""))
        send_frames(pod.host_ends[name], dst, count)
        pod.frames[name] = pod.frames.get(name, 0) + count


def send_frames(host_end, dst, count):
    src = bytes.fromhex(read(f"/sys/class/net/{host_end}/address").strip().replace(":", ""))
    frame = dst + src + b"\x88\xb5" + bytes(FRAME_SIZE - 14)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((host_end, 0))
    for _ in range(count):
        s.send(frame)
    s.close()


def net_dev(pid):
    stats = {}
    for line in read(f"/proc/{pid}/net/dev").splitlines()[2:]:
        name, _, rest = line.partition(":")
        f = [int(x) for x in rest.split()]
        stats[name.strip()] = {"rx_bytes": f[0], "rx_packets": f[1], "tx_bytes": f[8], "tx_packets": f[9]}
    return stats


# ---------------------------------------------------------------- the kernel's numbers

def cgroup_reading(d):
    r = {}
    cpu = kv(os.path.join(d, "cpu.stat"))
    r["cpu"] = cpu["usage_usec"] / 1e6
    r["nr_throttled"] = cpu.get("nr_throttled")
    r["throttled_usec"] = cpu.get("throttled_usec")
    r["nr_periods"] = cpu.get("nr_periods")
    stat = kv(os.path.join(d, "memory.stat"))
    current = int(read(os.path.join(d, "memory.current")))
    r["ws"] = max(0, current - stat["inactive_file"])
    r["anon"] = stat["anon"]
    sc = os.path.join(d, "memory.swap.current")
    r["swap"] = int(read(sc)) if os.path.exists(sc) else None
    sm = os.path.join(d, "memory.swap.max")
    smv = read(sm).strip() if os.path.exists(sm) else "max"
    r["swap_max"] = None if smv == "max" else int(smv)
    r["oom_kill"] = kv(os.path.join(d, "memory.events")).get("oom_kill")
    st_dir = os.stat(d).st_mtime_ns
    st_ev = os.stat(os.path.join(d, "cgroup.events")).st_mtime_ns
    r["start"] = min(st_dir, st_ev) / 1e9
    return r


def meminfo():
    out = {}
    for line in read("/proc/meminfo").splitlines():
        k, _, v = line.partition(":")
        out[k] = int(v.split()[0]) * 1024
    return out


def node_reading():
    root_cpu = kv(os.path.join(CG, "cpu.stat"))
    stat = kv(os.path.join(CG, "memory.stat"))
    fields = [int(x) for x in read("/proc/stat").splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    mi = meminfo()
    return {
        "cpu": root_cpu["usage_usec"] / 1e6,
        "cpu_proc_stat": (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"),
        "steal": steal / os.sysconf("SC_CLK_TCK"),
        "ws": max(0, stat["anon"] + stat["file"] - stat["inactive_file"]),
        "swap": mi["SwapTotal"] - mi["SwapFree"],
    }


def readings(layout, pods):
    r = {"node": node_reading(), "pods": {}, "containers": {}, "net": {}}
    for pod in running_pods(pods):
        r["pods"][pod.uid] = cgroup_reading(layout.pod_dir(pod))
        r["net"][pod.uid] = net_dev(pod.sandbox_pid)
        for c in pod.containers:
            r["containers"][c.id] = cgroup_reading(layout.container_dir(pod, c.id))
    return r


def running_pods(pods):
    return [p for p in pods if not p.exits]


# ---------------------------------------------------------------- ephemeral storage, as du counts it

def unescape_mount(text):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mountinfo(path="/proc/1/mountinfo"):
    """Each mount in `path`: device (major:minor), mount point, type, source, super options."""
    mounts = []
    for line in read(path).splitlines():
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split(" ")
        options = r[2] if len(r) > 2 else ""
        mounts.append({"dev": f[2], "mountpoint": unescape_mount(f[4]), "fstype": r[0], "source": unescape_mount(r[1]),
                       "super": dict(o.partition("=")[::2] for o in options.split(",") if o)})
    return mounts


def task_rootfs(cid):
    """(the mount at containerd's task rootfs in the host's /proc/1/mountinfo, or None; and the /
    of the container's own mountinfo, for the record when the host's has none)."""
    want = f"/run/containerd/io.containerd.runtime.v2.task/default/{cid}/rootfs"
    for m in mountinfo():
        if m["mountpoint"] == want:
            return m, None
    pid, _ = task_pid(cid)
    own = [m for m in mountinfo(f"/proc/{pid}/mountinfo") if m["mountpoint"] == "/"] if pid else []
    return None, (own[-1] if own else None)


def du(paths):
    """GNU du's (bytes, inodes) of `paths` together (-c), the kubelet's way: allocated blocks
    (--block-size=1) and inodes (--inodes), each inode once, top directory included, symlinks not
    followed, no other file system (-x)."""
    if not paths:
        return 0, 0

    def total(unit):
        return int(sh("du", "-x", "-s", "-c", unit, *paths).stdout.splitlines()[-1].split()[0])
    return total("--block-size=1"), total("--inodes")


def files_in(directory):
    """The entries of `directory` that are not directories (the kubelet's fileMetricsByDir)."""
    return sorted(e.path for e in os.scandir(directory) if not e.is_dir(follow_symlinks=False))


def storage_truth(pod, layers):
    """Every part of the storage pod by du: {(part, name): (bytes, inodes)}, and the sandbox's layer."""
    t = {}
    for c in pod.containers:
        t[("rootfs", c.name)] = du([layers[c.name]])
        t[("logs", c.name)] = du(files_in(os.path.join(pod.log_dir, c.name)))
    t[("volume", SCRATCH[1])] = du([pod.volume_dir(*SCRATCH)])
    t[("volume", TOKEN[1])] = du([pod.volume_dir(*TOKEN)])
    t[("pod_logs", "")] = du(files_in(pod.log_dir))
    t[("etc_hosts", "")] = du([os.path.join(pod.kubelet_dir, "etc-hosts")])
    t[("sandbox", "")] = du([layers["sandbox"]])
    return t


def ephemeral(key):
    """The parts the kubelet sums: layers, logs, pod log files, etc-hosts, the emptyDir (not the tmpfs token)."""
    return key[0] in ("rootfs", "logs", "pod_logs", "etc_hosts") or key == ("volume", SCRATCH[1])


def storage_total(truth):
    parts = [v for k, v in truth.items() if ephemeral(k)]
    return sum(b for b, _ in parts), sum(i for _, i in parts)


def fig(v):
    return "absent" if v is None else f"{v[0]} B/{v[1]} inodes"


# ---------------------------------------------------------------- what kubemeter serves

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\d+))?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """{family: [(labels dict, value)]}, and the TYPE of each family."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, t = line.split(" ", 3)
            types[name] = t
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"unparsable exposition line: {line!r}")
        labels = dict(LABEL.findall(m.group(2) or ""))
        samples.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return samples, types


def scrape_snapshot():
    p = sh(AGENT, "snapshot", timeout=60)
    return p.stdout


def scrape_http(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


# ---------------------------------------------------------------- the checks

def between(v, lo, hi, eps=1e-6):
    return lo - eps <= v <= hi + eps


def within(v, a, b, tol):
    lo, hi = min(a, b), max(a, b)
    slack = tol[0] + tol[1] * hi
    return lo - slack <= v <= hi + slack


def tol_text(tol):
    return f"±({tol[0] // MiB} MiB + {tol[1] * 100:g} %)"


def by_labels(samples, family, keys):
    return {tuple(l.get(k) for k in keys): v for l, v in samples.get(family, [])}


def check_scrape(tag, text, before, after, pods, layout):
    samples, types = parse_exposition(text)
    live = running_pods(pods)
    ckeys = ("namespace", "pod", "container")
    pkeys = ("namespace", "pod")
    want_c = {(p.namespace, p.name, c.name): c for p in live for c in p.containers}
    want_p = {(p.namespace, p.name): p for p in live}

    # Which series exist: exactly the app containers of running pods, no sandbox, no finished pod.
    for fam in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                "container_start_time_seconds"):
        got = set(by_labels(samples, fam, ckeys))
        ok = got == set(want_c)
        record(f"{tag} series {fam}", ok,
               f"{len(got)} series = the {len(want_c)} app containers of {len(want_p)} running pods"
               if ok else f"expected {sorted(want_c)}, got {sorted(got)}")
    for fam in ("pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes"):
        got = set(by_labels(samples, fam, pkeys))
        ok = got == set(want_p)
        record(f"{tag} series {fam}", ok, f"{len(got)} pods = the running pods (finished-job absent)"
               if ok else f"expected {sorted(want_p)}, got {sorted(got)}")

    def counter(group, fam, keys, objs, field, scale=1.0):
        served = by_labels(samples, fam, keys)
        bad = []
        for key, obj in objs.items():
            b, a = before[obj[0]][obj[1]][field], after[obj[0]][obj[1]][field]
            v = served.get(key)
            if v is None or not between(v, b * scale, a * scale):
                bad.append(f"{'/'.join(key)}: expected in [{b * scale:.6f}, {a * scale:.6f}], got {v}")
        record(f"{tag} {group}", not bad,
               f"{len(objs)} {fam} values within [before, after] of {field} from cpu.stat" if not bad else "; ".join(bad))

    def gauge(group, fam, keys, objs, field, tol, source):
        served = by_labels(samples, fam, keys)
        bad = []
        for key, obj in objs.items():
            b, a = before[obj[0]][obj[1]][field], after[obj[0]][obj[1]][field]
            v = served.get(key)
            if b is None and a is None:
                if v is not None:
                    bad.append(f"{'/'.join(key)}: expected no series ({source} absent), got {v}")
                continue
            if v is None or not within(v, b, a, tol):
                bad.append(f"{'/'.join(key)}: expected {b}..{a} {tol_text(tol)}, got {v}")
        present = sum(1 for key in objs if key in served)
        record(f"{tag} {group}", not bad, f"{present} {fam} series within {tol_text(tol)} of {source}, "
               f"{len(objs) - present} rightly absent" if not bad else "; ".join(bad))

    cobj = {k: ("containers", c.id) for k, c in want_c.items()}
    pobj = {k: ("pods", p.uid) for k, p in want_p.items()}
    counter("container cpu", "container_cpu_usage_seconds_total", ckeys, cobj, "cpu")
    gauge("container working set", "container_memory_working_set_bytes", ckeys, cobj, "ws", CONTAINER_GAUGE_TOL,
          "memory.current - inactive_file")
    counter("pod cpu", "pod_cpu_usage_seconds_total", pkeys, pobj, "cpu")
    gauge("pod working set", "pod_memory_working_set_bytes", pkeys, pobj, "ws", CONTAINER_GAUGE_TOL,
          "memory.current - inactive_file")
    gauge("container swap", "container_swap_usage_bytes", ckeys, cobj, "swap", (0, 0), "memory.swap.current")
    gauge("pod swap", "pod_swap_usage_bytes", pkeys, pobj, "swap", (0, 0), "memory.swap.current")
    gauge("container swap limit", "container_swap_limit_bytes", ckeys, cobj, "swap_max", (0, 0),
          "memory.swap.max (absent when 'max')")

    # Start time: the earlier of the mtimes of the cgroup directory and its cgroup.events.
    served = by_labels(samples, "container_start_time_seconds", ckeys)
    bad = []
    for key, c in want_c.items():
        want = before["containers"][c.id]["start"]
        v = served.get(key)
        if v is None or abs(v - want) > 1e-6:
            bad.append(f"{'/'.join(key)}: expected {want:.9f}, got {v}")
    record(f"{tag} container start time", not bad,
           f"{len(want_c)} values = min(mtime(cgroup dir), mtime(cgroup.events)) to 1 µs" if not bad else "; ".join(bad))

    # Node, by the formulas docs/metrics.md states.
    nb, na = before["node"], after["node"]
    v = by_labels(samples, "node_cpu_usage_seconds_total", ()).get(())
    ok = v is not None and between(v, nb["cpu"], na["cpu"])
    record(f"{tag} node cpu", ok, f"root cpu.stat usage_usec/1e6: {nb['cpu']:.6f} <= {v} <= {na['cpu']:.6f}")
    # The /proc/stat fallback is the same kernel sum in USER_HZ ticks: it must agree to a few ticks per CPU.
    # (6.1 kernels add steal to the root's usage_usec, later ones do not: steal is allowed above.)
    slack = 0.05 * os.cpu_count() + 0.001 * nb["cpu"]
    ok = nb["cpu_proc_stat"] - slack <= nb["cpu"] <= nb["cpu_proc_stat"] + nb["steal"] + slack
    record(f"{tag} node cpu fallback formula", ok,
           f"/proc/stat (user+nice+system+irq+softirq)/USER_HZ = {nb['cpu_proc_stat']:.2f} (steal {nb['steal']:.2f}) "
           f"vs root usage_usec {nb['cpu']:.2f} (tolerance 5 ticks/CPU + 0.1 %)")
    v = by_labels(samples, "node_memory_working_set_bytes", ()).get(())
    ok = v is not None and within(v, nb["ws"], na["ws"], NODE_GAUGE_TOL)
    record(f"{tag} node working set", ok,
           f"root memory.stat anon+file-inactive_file {nb['ws']}..{na['ws']} {tol_text(NODE_GAUGE_TOL)}, got {v}")
    v = by_labels(samples, "node_swap_usage_bytes", ()).get(())
    ok = v is not None and within(v, nb["swap"], na["swap"], (0, 0))
    record(f"{tag} node swap", ok, f"(SwapTotal-SwapFree)x1024 = {nb['swap']}, got {v}")
    v = by_labels(samples, "resource_scrape_error", ()).get(())
    record(f"{tag} resource_scrape_error", v == 0, f"expected 0, got {v}")

    known = {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
             "container_start_time_seconds", "container_swap_usage_bytes", "container_swap_limit_bytes",
             "pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes", "pod_swap_usage_bytes",
             "node_cpu_usage_seconds_total", "node_memory_working_set_bytes", "node_swap_usage_bytes",
             "resource_scrape_error"}
    unchecked = set(types) - known
    record(f"{tag} families", not unchecked,
           f"all {len(types)} served families checked" if not unchecked else f"served but unchecked: {sorted(unchecked)}")


def check_workloads(tag, before, after, pods, layout):
    """The workloads did what the checks assume, as the kernel counts it (independent of kubemeter)."""
    by_name = {p.name: p for p in pods}
    burn = by_name["cpu-burner"].containers[0]
    cpu = after["containers"][burn.id]["cpu"]
    record(f"{tag} workload cpu-burner", cpu > 1.0, f"usage {cpu:.2f} s of CPU (> 1 s)")
    hold = by_name["memory-holder"].containers[0]
    anon = before["containers"][hold.id]["anon"]
    record(f"{tag} workload memory-holder", anon >= HOLD_BYTES, f"anon {anon} >= {HOLD_BYTES} bytes held")
    spin = by_name["throttled"].containers[0]
    t = after["containers"][spin.id]
    record(f"{tag} workload throttled", (t["nr_throttled"] or 0) > 0,
           f"cpu.max {THROTTLE_QUOTA[0]} {THROTTLE_QUOTA[1]}: nr_throttled {t['nr_throttled']} of {t['nr_periods']} "
           f"periods, throttled_usec {t['throttled_usec']}")
    oom = by_name["oom-victim"]
    kills = after["pods"][oom.uid]["oom_kill"]
    logs = sorted(os.listdir(os.path.join(oom.log_dir, "grow")))
    links = [l for l in os.listdir("/var/log/containers") if l.startswith("oom-victim_")]
    record(f"{tag} workload oom-victim", kills == 2 and logs == ["0.log", "1.log"] and len(links) == 2,
           f"pod memory.events oom_kill {kills} (expected 2), logs {logs}, {len(links)} links (dead instance kept)")
    fin = by_name["finished-job"]
    left = os.path.isdir(fin.log_dir) and not os.path.exists(layout.pod_dir(fin))
    record(f"{tag} workload finished-job", left, "logs left behind, pod cgroup gone")
    bad = []
    for p in running_pods(pods):
        for name, sent in p.frames.items():  # (none for a hostNetwork pod)
            got = after["net"][p.uid].get(name)
            want = (sent * FRAME_SIZE, sent)
            if got is None or (got["rx_bytes"], got["rx_packets"]) != want:
                bad.append(f"{p.name} {name}: expected rx {want}, got {got}")
    record(f"{tag} network feed", not bad,
           f"each pod's eth0 received exactly {FRAME_COUNT} x {FRAME_SIZE}-byte frames (/proc/<sandbox>/net/dev)"
           + (", the network pods' interfaces theirs: " + ", ".join(f"{p.name} {p.frames}" for p in pods if p.name in NET_PODS)
              if any(p.name in NET_PODS for p in pods) else "")
           if not bad else "; ".join(bad))


def check_cadvisor(tag, text, before, after, pods):
    """The /metrics/cadvisor families, checked when kubemeter serves them; skipped (said so) when not."""
    if text is None:
        skip(f"{tag} cadvisor network", "kubemeter serves no /metrics/cadvisor here")
        skip(f"{tag} cadvisor oom/throttling", "kubemeter serves no /metrics/cadvisor here")
        return
    samples, _ = parse_exposition(text)
    live = running_pods(pods)
    rx = samples.get("container_network_receive_bytes_total")
    if not rx:
        skip(f"{tag} cadvisor network", "no container_network_receive_bytes_total series")
    else:
        bad = []
        for p in live:
            if p.host_network:
                continue  # its own group: no series at all
            vals = {v for l, v in rx if l.get("pod") == p.name and l.get("namespace") == p.namespace
                    and l.get("interface") == "eth0"}
            b = before["net"][p.uid]["eth0"]["rx_bytes"]
            a = after["net"][p.uid]["eth0"]["rx_bytes"]
            if not vals or any(not between(v, b, a, 0) for v in vals):
                bad.append(f"{p.name}: expected {b} (sent {p.frames_sent * FRAME_SIZE}), got {sorted(vals)}")
        record(f"{tag} cadvisor network", not bad, "container_network_receive_bytes_total{interface=eth0} = bytes sent"
               if not bad else "; ".join(bad))
    thr = samples.get("container_cpu_cfs_throttled_periods_total")
    ooms = samples.get("container_oom_events_total")
    if not thr and not ooms:
        skip(f"{tag} cadvisor oom/throttling", "no container_cpu_cfs_throttled_periods_total / container_oom_events_total")
        return
    bad = []
    for p in live:
        for c in p.containers:
            sel = lambda fam: [v for l, v in (samples.get(fam) or []) if l.get("pod") == p.name
                               and l.get("namespace") == p.namespace and l.get("container") == c.name]
            if thr is not None and c.cpu_quota:
                vs = sel("container_cpu_cfs_throttled_periods_total")
                b, a = before["containers"][c.id]["nr_throttled"], after["containers"][c.id]["nr_throttled"]
                if len(vs) != 1 or not between(vs[0], b, a, 0):
                    bad.append(f"{c.name} throttled periods: expected [{b}, {a}], got {vs}")
            if ooms is not None:
                vs = sel("container_oom_events_total")
                want = after["containers"][c.id]["oom_kill"]
                if len(vs) != 1 or vs[0] != want:
                    bad.append(f"{p.name}/{c.name} oom events: expected {want} (memory.events oom_kill), got {vs}")
    record(f"{tag} cadvisor oom/throttling", not bad, "throttled periods in [before, after] of nr_throttled; "
           "oom events = memory.events oom_kill" if not bad else "; ".join(bad))


def check_summary(tag, text, before, after, pods):
    """/stats/summary against the kernel: each running pod's and container's CPU counter, working
    set and the pod's eth0 bytes within the readings taken just before and just after."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        record(f"{tag} summary", False, f"not JSON: {e}")
        return
    bad = []
    node_cpu = doc["node"].get("cpu", {}).get("usageCoreNanoSeconds")
    if node_cpu is None or not between(node_cpu / 1e9, before["node"]["cpu"], after["node"]["cpu"], 1e-6):
        bad.append(f"node usageCoreNanoSeconds {node_cpu} not in [{before['node']['cpu']}, {after['node']['cpu']}] s")
    served = {p["podRef"]["uid"]: p for p in doc["pods"]}
    checked = 0
    for pod in running_pods(pods):
        got = served.get(pod.uid)
        if got is None:
            bad.append(f"{pod.name}: no pod in the summary")
            continue
        b, a = before["pods"][pod.uid], after["pods"][pod.uid]
        if not between(got["cpu"]["usageCoreNanoSeconds"] / 1e9, b["cpu"], a["cpu"]):
            bad.append(f"{pod.name} cpu {got['cpu']['usageCoreNanoSeconds']} not in [{b['cpu']}, {a['cpu']}] s")
        rx = got.get("network", {}).get("rxBytes")
        nb, na = (0, 0) if pod.host_network else (before["net"][pod.uid]["eth0"]["rx_bytes"],
                                                  after["net"][pod.uid]["eth0"]["rx_bytes"])
        if pod.host_network:
            pass  # the node's interfaces: checked in its own group
        elif rx is None or not between(rx, nb, na, 0):
            bad.append(f"{pod.name} eth0 rxBytes {rx} not in [{nb}, {na}]")
        containers = {c["name"]: c for c in got["containers"]}
        for c in pod.containers:
            gc = containers.get(c.name)
            cb, ca = before["containers"][c.id], after["containers"][c.id]
            if gc is None:
                bad.append(f"{pod.name}/{c.name}: no container in the summary")
                continue
            if not between(gc["cpu"]["usageCoreNanoSeconds"] / 1e9, cb["cpu"], ca["cpu"]):
                bad.append(f"{c.name} cpu {gc['cpu']['usageCoreNanoSeconds']} not in [{cb['cpu']}, {ca['cpu']}] s")
            ws = gc.get("memory", {}).get("workingSetBytes")
            lo, hi = min(cb["ws"], ca["ws"]), max(cb["ws"], ca["ws"])
            if ws is None or not within(ws, lo, hi, (256 * 1024, 0.0)):
                bad.append(f"{c.name} workingSetBytes {ws} not within 256 KiB of [{lo}, {hi}]")
            checked += 1
    record(f"{tag} summary", not bad and checked > 0,
           f"/stats/summary: node and {checked} containers' CPU, working set and eth0 bytes equal the kernel's"
           if not bad else "; ".join(bad[:6]))


# ---------------------------------------------------------------- the network pods (systemd layout)

def node_pair():
    """NODE_PAIR in the host's namespace, NODE_FRAMES sent from its second end into its first: the
    node's interfaces (not lo, not veth*) then have a known receive count, which a hostNetwork pod's
    Summary network must show as the node's."""
    if not os.path.exists("/etc/resolv.conf"):  # ctr run --net-host binds the host's into the container
        open("/etc/resolv.conf", "w").close()
    a, b = NODE_PAIR
    sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
    sh("ip", "link", "set", a, "up")
    sh("ip", "link", "set", b, "up")
    for _ in range(50):  # until both ends have their carrier
        if all(read(f"/sys/class/net/{n}/operstate").strip() == "up" for n in NODE_PAIR):
            break
        time.sleep(0.1)
    send_frames(b, bytes.fromhex(read(f"/sys/class/net/{a}/address").strip().replace(":", "")), NODE_FRAMES)


def replace_sandbox(layout, pod, frames):
    """The kubelet's sandbox change: the app containers are killed, then the sandbox; a new sandbox
    (new ID, new network namespace and pid, a new eth0 fed `frames` frames), then each app container
    restarted joined to it: a new container ID, instance n+1 with its <n+1>.log and link (the dead
    instance's stay; an older one is garbage-collected, as crash_loop does)."""
    for c in pod.containers:
        remove_task(c.id)
    remove_task(pod.sandbox_id)
    pod.sandbox_id = secrets.token_hex(32)
    pod.feeds = {"eth0": frames}
    start_sandbox(layout, pod)
    feed_frames(pod)
    for c in pod.containers:
        restart_container(layout, pod, c)
    pod.replacements += 1


def snapshot_fetch(path):
    """The root posture's documents, from `kubemeter snapshot` (one collection each); None for
    /metrics/cadvisor, which snapshot does not render. /top.json's stand-in is /snapshot.json
    (--format json), which has the same host_network field per pod."""
    fmt = {"/stats/summary": "summary", "/pods": "pods", "/top.json": "json"}.get(path)
    return None if fmt is None else sh(AGENT, "snapshot", "--format", fmt, timeout=60).stdout


def http_fetch(port):
    def fetch(path):
        code, body = scrape_http(port, path)
        if code != 200:
            raise RuntimeError(f"GET :{port}{path} -> {code}")
        return body
    return fetch


def pod_interfaces(doc_pod):
    return {i["name"]: i for i in ((doc_pod or {}).get("network") or {}).get("interfaces") or []}


def rx_of(samples, pod):
    """{interface: [values]} of container_network_receive_bytes_total for `pod`."""
    out = {}
    for l, v in samples.get("container_network_receive_bytes_total", []):
        if l.get("pod") == pod.name and l.get("namespace") == pod.namespace:
            out.setdefault(l.get("interface"), []).append(v)
    return out


def network_checks(tag, fetch, layout, pods):
    try:
        check_network_pods(tag, fetch, layout, pods)
    except Exception as e:  # the next posture still runs
        record(f"{tag} network pods", False, f"{type(e).__name__}: {e}")


def check_network_pods(tag, fetch, layout, pods):
    """The hostNetwork pod, the two-interface pod and the replaced sandbox, against the kernel's
    readings just before and after each document (fetch: path -> body, None where not served)."""
    by = {p.name: p for p in pods}
    if not all(n in by for n in NET_PODS):
        skip(f"{tag} network pods", "no network pods on this run")
        return
    host, two, repl = (by[n] for n in NET_PODS)

    # /metrics/cadvisor: no network series for the hostNetwork pod; both of the other's interfaces.
    b = readings(layout, pods)
    cad = fetch("/metrics/cadvisor")
    a = readings(layout, pods)
    if cad is not None:
        samples, _ = parse_exposition(cad)
        fams = sorted(f for f in samples if f.startswith("container_network_"))
        leaked = sorted({f for f in fams for l, _ in samples[f] if l.get("pod") == host.name})
        others = {p.name for f in fams for l, _ in samples[f] for p in [by.get(l.get("pod"))] if p}
        record(f"{tag} hostNetwork cadvisor", bool(fams) and not leaked and two.name in others,
               f"{len(fams)} container_network_* families, none with pod={host.name} (its traffic is the node's)"
               if not leaked else f"{host.name} has network series: {leaked}")
        served = rx_of(samples, two)
        bad = [] if set(served) == set(two.frames) else [f"interfaces {sorted(served)}, expected {sorted(two.frames)}"]
        figs = []
        for name, sent in two.frames.items():
            lo, hi = b["net"][two.uid][name]["rx_bytes"], a["net"][two.uid][name]["rx_bytes"]
            vs = served.get(name, [])
            if len(vs) != 1 or not between(vs[0], lo, hi, 0):
                bad.append(f"{name}: expected in [{lo}, {hi}] (sent {sent} x {FRAME_SIZE}), got {vs}")
            figs.append(f"{name} {vs} in [{lo}, {hi}] ({sent} frames)")
        record(f"{tag} two interfaces cadvisor", not bad, "container_network_receive_bytes_total: " + "; ".join(figs)
               if not bad else "; ".join(bad))

    # /stats/summary: the hostNetwork pod's network is the node's; the other pod has both interfaces.
    n1b, b = net_dev(1), readings(layout, pods)
    doc = json.loads(fetch("/stats/summary"))
    a, n1a = readings(layout, pods), net_dev(1)
    served_pods = {p["podRef"]["uid"]: p for p in doc["pods"]}
    node_ifs = [i["name"] for i in (doc["node"].get("network") or {}).get("interfaces") or []]
    hifs = pod_interfaces(served_pods.get(host.uid))
    nic = NODE_PAIR[0]
    lo, hi = n1b[nic]["rx_bytes"], n1a[nic]["rx_bytes"]
    got = (hifs.get(nic) or {}).get("rxBytes")
    ok = host.uid in served_pods and list(hifs) == node_ifs and nic in node_ifs and got is not None and between(got, lo, hi, 0)
    record(f"{tag} hostNetwork summary", ok,
           f"pod network interfaces {list(hifs)} = the node's {node_ifs}; {nic} rxBytes {got} in [{lo}, {hi}] "
           f"of /proc/1/net/dev ({NODE_FRAMES} frames sent)")
    tp = served_pods.get(two.uid)
    tifs = pod_interfaces(tp)
    bad = [] if list(tifs) == list(two.frames) else [f"interfaces {list(tifs)}, expected {list(two.frames)}"]
    for name in two.frames:
        lo, hi = b["net"][two.uid][name]["rx_bytes"], a["net"][two.uid][name]["rx_bytes"]
        v = (tifs.get(name) or {}).get("rxBytes")
        if v is None or not between(v, lo, hi, 0):
            bad.append(f"{name} rxBytes {v} not in [{lo}, {hi}]")
    inline = ((tp or {}).get("network") or {}).get("rxBytes")
    if inline != (tifs.get("eth0") or {}).get("rxBytes"):
        bad.append(f"inline rxBytes {inline} is not eth0's")
    record(f"{tag} two interfaces summary", not bad,
           "network.interfaces " + ", ".join(f"{n} {(tifs.get(n) or {}).get('rxBytes')}" for n in two.frames)
           + f" within the kernel's readings, inline = eth0's" if not bad else "; ".join(bad))

    # /pods spec.hostNetwork, and the top view's host_network.
    listing = json.loads(fetch("/pods"))
    want = {p.name: p.host_network for p in running_pods(pods)}
    hn = {i["metadata"]["name"]: i["spec"].get("hostNetwork", False) for i in listing["items"]}
    record(f"{tag} hostNetwork /pods", hn == want,
           f"spec.hostNetwork true for {host.name} alone, of {len(hn)} pods" if hn == want
           else f"expected {want}, got {hn}")
    top = json.loads(fetch("/top.json"))
    rows = {r.get("pod", r.get("name")): r.get("host_network") for r in top["pods"]}
    doc_name = "/top.json" if "schema_version" in top else "snapshot --format json"
    record(f"{tag} hostNetwork top", rows == want,
           f"{doc_name}: host_network true for {host.name} alone, of {len(rows)} pod rows" if rows == want
           else f"{doc_name}: expected {want}, got {rows}")

    # The replaced sandbox: a scrape, the sandbox replaced, a second scrape of the new namespace only.
    c = repl.containers[0]
    old_pid, old_sent, old_id, old_instance = repl.sandbox_pid, repl.frames["eth0"], c.id, c.instance
    b = readings(layout, pods)
    cad1 = fetch("/metrics/cadvisor")
    sum1 = json.loads(fetch("/stats/summary"))
    a = readings(layout, pods)
    lo1, hi1 = b["net"][repl.uid]["eth0"]["rx_bytes"], a["net"][repl.uid]["eth0"]["rx_bytes"]
    fresh = REPLACED_FEEDS[(repl.replacements + 1) % len(REPLACED_FEEDS)]
    replace_sandbox(layout, repl, fresh)
    time.sleep(1)
    b = readings(layout, pods)
    cad2 = fetch("/metrics/cadvisor")
    sum2 = json.loads(fetch("/stats/summary"))
    listing = json.loads(fetch("/pods"))
    a = readings(layout, pods)
    lo2, hi2 = b["net"][repl.uid]["eth0"]["rx_bytes"], a["net"][repl.uid]["eth0"]["rx_bytes"]
    kernel = a["net"][repl.uid]["eth0"]
    setup = (f"sandbox pid {old_pid} -> {repl.sandbox_pid}, eth0 {old_sent} -> {fresh} frames, "
             f"{c.name} {old_id[:12]} -> {c.id[:12]} instance {old_instance} -> {c.instance}")
    setup_ok = repl.sandbox_pid != old_pid and (kernel["rx_bytes"], kernel["rx_packets"]) == (fresh * FRAME_SIZE, fresh)
    if cad1 is not None:
        v1 = rx_of(parse_exposition(cad1)[0], repl)
        v2 = rx_of(parse_exposition(cad2)[0], repl)
        ok = (setup_ok and set(v1) == {"eth0"} and len(v1["eth0"]) == 1 and between(v1["eth0"][0], lo1, hi1, 0)
              and set(v2) == {"eth0"} and len(v2["eth0"]) == 1 and between(v2["eth0"][0], lo2, hi2, 0))
        record(f"{tag} replaced sandbox cadvisor", ok,
               f"{setup}; eth0 before {v1.get('eth0')} in [{lo1}, {hi1}], after {v2.get('eth0')} in [{lo2}, {hi2}] "
               f"(the old one's {old_sent * FRAME_SIZE} or a sum {(old_sent + fresh) * FRAME_SIZE} would fail)")
    r1 = ((next((p for p in sum1["pods"] if p["podRef"]["uid"] == repl.uid), {}).get("network")) or {}).get("rxBytes")
    p2 = next((p for p in sum2["pods"] if p["podRef"]["uid"] == repl.uid), {})
    r2 = (p2.get("network") or {}).get("rxBytes")
    ok = (setup_ok and r1 is not None and between(r1, lo1, hi1, 0) and r2 is not None and between(r2, lo2, hi2, 0)
          and list(pod_interfaces(p2)) == ["eth0"])
    record(f"{tag} replaced sandbox summary", ok,
           f"{setup}; rxBytes before {r1} in [{lo1}, {hi1}], after {r2} in [{lo2}, {hi2}], interfaces {list(pod_interfaces(p2))}")
    statuses = {cs["name"]: cs for i in listing["items"] if i["metadata"].get("uid") == repl.uid
                for cs in i["status"].get("containerStatuses", [])}
    cs = statuses.get(c.name, {})
    cid = cs.get("containerID", "")
    ok = cs.get("restartCount") == c.instance and cid.endswith(c.id)
    record(f"{tag} replaced sandbox restart", ok,
           f"/pods {c.name}: restartCount {cs.get('restartCount')} (expected {c.instance}, its link's {c.instance}.log), "
           f"containerID {cid[:25]}... (expected ...{c.id[:12]}...)")


# ---------------------------------------------------------------- phases

def wait_containerd():
    for _ in range(120):
        if sh("ctr", "version", check=False).returncode == 0:
            return
        time.sleep(1)
    raise RuntimeError("containerd did not answer within 120 s")


def run_layout(layout, pods):
    driver = layout.driver
    log(f"{driver} driver: starting {len(pods)} pods")
    for pod in pods:
        start_pod(layout, pod)
    log(f"{driver} driver: pods started; waiting for the OOM kill and the finished job")
    settle_workloads(layout, pods)
    log(f"{driver} driver: workloads settled; feeding frames and scraping")
    for pod in running_pods(pods):
        feed_frames(pod)
    time.sleep(3)  # let the burner and the throttled spinner accumulate CPU time
    tag = f"[{driver}/snapshot]"
    before = readings(layout, pods)
    text = scrape_snapshot()
    after = readings(layout, pods)
    with open(os.path.join(OUT, f"snapshot-{driver}.txt"), "w") as f:
        f.write(text)
    check_scrape(tag, text, before, after, pods, layout)
    check_workloads(f"[{driver}]", before, after, pods, layout)
    check_cadvisor(tag, None, before, after, pods)
    before = readings(layout, pods)
    summary = sh(AGENT, "snapshot", "--format", "summary", timeout=60).stdout
    after = readings(layout, pods)
    with open(os.path.join(OUT, f"summary-{driver}.json"), "w") as f:
        f.write(summary)
    check_summary(tag, summary, before, after, pods)


def wait_walk_rounds(port, rounds, seconds):
    """/metrics' samples once `kubemeter_ephemeral_storage_walk_rounds_total` >= rounds (else the last)."""
    deadline = time.monotonic() + seconds
    while True:
        code, text = scrape_http(port, "/metrics")
        samples = parse_exposition(text)[0] if code == 200 else {}
        done = by_labels(samples, "kubemeter_ephemeral_storage_walk_rounds_total", ()).get((), 0)
        if done >= rounds or time.monotonic() > deadline:
            return samples
        time.sleep(1)


def wait_ready(port, seconds=30):
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        try:
            status, _ = scrape_http(port, "/readyz")
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(1)
    return status


def compare_parts(label, got, truth, keys):
    """got: {key: (bytes, inodes) or None}; the keys' figures against du's, exactly."""
    bad = [f"{label(k)}: served {fig(got.get(k))}, du {fig(truth[k])}" for k in keys if got.get(k) != truth[k]]
    said = "; ".join(f"{label(k)} {fig(truth[k])}" for k in keys)
    return bad, said


def check_summary_storage(tag, doc, pod, truth):
    """The storage pod's parts in a /stats/summary document against du's figures (`truth`), exactly."""
    names = [c.name for c in pod.containers]
    sandbox = truth[("sandbox", "")]
    served = {p["podRef"]["uid"]: p for p in doc["pods"]}
    sp = served.get(pod.uid)
    if sp is None:
        record(f"{tag} summary", False, f"no pod {pod.uid} in /stats/summary")
    else:
        def fs(o):
            return None if o is None else (o.get("usedBytes"), o.get("inodesUsed"))
        containers = {c["name"]: c for c in sp["containers"]}
        for part, what in (("rootfs", "containers[].rootfs (the writable layer, du of its upperdir)"),
                           ("logs", "containers[].logs (du -c of the files in its log directory)")):
            got = {(part, n): fs(containers.get(n, {}).get(part)) for n in names}
            bad, said = compare_parts(lambda k: k[1], got, truth, [(part, n) for n in names])
            record(f"{tag} summary {part}", not bad, f"{what}: {said}" if not bad else "; ".join(bad))
        vols = {v.get("name"): (v.get("usedBytes"), v.get("inodesUsed")) for v in sp.get("volume", [])}
        keys = [("volume", SCRATCH[1]), ("volume", TOKEN[1])]
        bad, said = compare_parts(lambda k: k[1], {k: vols.get(k[1]) for k in keys}, truth, keys)
        if set(vols) != {k[1] for k in keys}:
            bad.append(f"volume[] names {sorted(vols)}, expected {sorted(k[1] for k in keys)}")
        record(f"{tag} summary volumes", not bad, f"volume[] (emptyDir on disk, projected token on tmpfs), du of each: {said}"
               if not bad else "; ".join(bad))
        total = storage_total(truth)
        got = fs(sp.get("ephemeral-storage"))
        others = [p["podRef"]["name"] for p in doc["pods"] if p["podRef"]["uid"] != pod.uid
                  and ("ephemeral-storage" in p or any("rootfs" in c for c in p["containers"]))]
        bad = []
        if got != total:
            bad.append(f"ephemeral-storage {fig(got)}, expected {fig(total)} (the du sum)")
        if set(containers) != set(names):
            bad.append(f"containers {sorted(containers)}, expected {names} (no sandbox)")
        if others:
            bad.append(f"pods with no writable layer (ctr --rootfs) still have rootfs or ephemeral-storage: {others}")
        record(f"{tag} summary total", not bad,
               f"ephemeral-storage {fig(got)} = du sum of layers + logs + emptyDir + pod log file + etc-hosts "
               f"(not the tmpfs token {fig(truth[('volume', TOKEN[1])])}, not the sandbox's layer {fig(sandbox)}); "
               f"the {len(doc['pods']) - 1} pods without a layer have none" if not bad else "; ".join(bad))


def check_cadvisor_storage(tag, samples, pod, layers, truth, layout):
    """The storage pod's families on /metrics/cadvisor against du's figures (`truth`), exactly."""
    names = [c.name for c in pod.containers]
    writer = pod.containers[0]
    sandbox = truth[("sandbox", "")]

    def series(family, p=pod):
        return [(l, v) for l, v in samples.get(family, []) if l.get("namespace") == p.namespace and l.get("pod") == p.name]

    # Container families: the writable layer (with cAdvisor's labels) and the logs.
    st = os.stat(layers[writer.name]).st_dev
    dev = f"{os.major(st)}:{os.minor(st)}"
    device = next((m["source"] for m in mountinfo() if m["dev"] == dev), dev)
    want_labels = {c.name: {"container": c.name, "device": device, "id": layout.container_dir(pod, c.id)[len(CG):],
                            "name": c.id, "namespace": pod.namespace, "pod": pod.name} for c in pod.containers}
    for fam_bytes, fam_inodes, part in (("container_fs_usage_bytes", "container_fs_inodes_total", "rootfs"),
                                        ("kubemeter_container_logs_bytes", "kubemeter_container_logs_inodes", "logs")):
        by = {l.get("container"): (l, v) for l, v in series(fam_bytes)}
        bi = {l.get("container"): v for l, v in series(fam_inodes)}
        got = {(part, n): (int(by[n][1]), int(bi[n])) if n in by and n in bi else None for n in names}
        bad, said = compare_parts(lambda k: k[1], got, truth, [(part, n) for n in names])
        if part == "rootfs":
            for n in names:
                labels = by.get(n, ({}, 0))[0]
                if labels != want_labels[n]:
                    bad.append(f"{fam_bytes}{{container={n}}} labels {labels}, expected {want_labels[n]}")
            everywhere = sorted(l.get("name") for l, _ in samples.get(fam_bytes, []))
            if everywhere != sorted(c.id for c in pod.containers):
                bad.append(f"{fam_bytes} series for IDs {everywhere}: expected only the storage pod's app containers "
                           f"(sandbox {pod.sandbox_id} and the --rootfs containers have none)")
            said += f"; device {device}, one series per app container, none for the sandbox nor other pods"
        record(f"{tag} cadvisor {part}", not bad, f"{fam_bytes}, {fam_inodes} = du: {said}" if not bad else "; ".join(bad))

    # Pod families: each part, then the total.
    parts = {(l.get("part"), l.get("volume")): v for l, v in series("kubemeter_pod_ephemeral_storage_part_bytes")}
    part_inodes = {(l.get("part"), l.get("volume")): v for l, v in series("kubemeter_pod_ephemeral_storage_part_inodes")}
    summed = {
        ("rootfs", ""): tuple(map(sum, zip(*(truth[("rootfs", n)] for n in names)))),
        ("logs", ""): tuple(map(sum, zip(*(truth[("logs", n)] for n in names)))),
        ("pod_logs", ""): truth[("pod_logs", "")], ("etc_hosts", ""): truth[("etc_hosts", "")],
        ("volume", SCRATCH[1]): truth[("volume", SCRATCH[1])],
    }
    got = {k: (int(parts[k]), int(part_inodes[k])) if k in parts and k in part_inodes else None for k in summed}
    bad, said = compare_parts(lambda k: k[0] + (f"/{k[1]}" if k[1] else ""), got, summed, list(summed))
    if set(parts) != set(summed):
        bad.append(f"parts {sorted(parts)}, expected {sorted(summed)} (the tmpfs token is not ephemeral)")
    record(f"{tag} cadvisor parts", not bad, f"kubemeter_pod_ephemeral_storage_part_bytes/_inodes = du: {said}"
           if not bad else "; ".join(bad))
    total = storage_total(truth)
    tb = series("kubemeter_pod_ephemeral_storage_bytes")
    ti = series("kubemeter_pod_ephemeral_storage_inodes")
    got = (int(tb[0][1]), int(ti[0][1])) if len(tb) == 1 and len(ti) == 1 else None
    with_total = sorted(l.get("pod") for l, _ in samples.get("kubemeter_pod_ephemeral_storage_bytes", []))
    ok = got == total and with_total == [pod.name]
    record(f"{tag} cadvisor total", ok,
           f"kubemeter_pod_ephemeral_storage_bytes/_inodes {fig(got)} = du sum {fig(total)} (sandbox layer "
           f"{fig(sandbox)} not in it); only {pod.name} has a total (the others' layers are unknown)" if ok
           else f"total {fig(got)}, du sum {fig(total)}; pods with a total {with_total}")


def run_storage(layout, pods):
    """The storage pod's ephemeral storage, part by part, against GNU du of the same paths: once from
    `kubemeter snapshot --format summary` (one synchronous walk, as root), once from /metrics/cadvisor
    of a root `kubemeter serve --ephemeral-storage-interval 1`. Exact equality. Then restart counts."""
    tag = "[systemd/storage]"
    pod = next(p for p in pods if p.kubelet_files)
    names = [c.name for c in pod.containers]

    # The writable layers: the overlays containerd mounted, as the agent looks for them.
    layers, bad, seen = {}, [], []
    for name, cid in [("sandbox", pod.sandbox_id)] + [(c.name, c.id) for c in pod.containers]:
        m, own = task_rootfs(cid)
        if m is None or m["fstype"] != "overlay" or "upperdir" not in m["super"]:
            bad.append(f"{name}: no overlay with upperdir= at .../{cid[:12]}.../rootfs in /proc/1/mountinfo "
                       f"(found {m}; the container's own mountinfo has / = {own})")
            if own and "upperdir" in own["super"]:
                layers[name] = own["super"]["upperdir"]
            continue
        layers[name] = m["super"]["upperdir"]
        seen.append(f"{name} {m['super']['upperdir']}")
    record(f"{tag} overlay rootfs", not bad, "host /proc/1/mountinfo has each task's overlay rootfs with upperdir=: "
           + "; ".join(seen) if not bad else "; ".join(bad))
    if len(layers) < 1 + len(pod.containers):
        raise RuntimeError("no writable layer to measure for the storage pod: " + "; ".join(bad))
    pod.layers = layers  # for the DaemonSet's ephemeral-storage posture

    # The workload, as du and the files tell (independent of kubemeter).
    truth = storage_truth(pod, layers)
    writer, looper = pod.containers
    log0 = read(os.path.join(pod.log_dir, writer.name, "0.log")).splitlines()
    looper_dir = os.path.join(pod.log_dir, looper.name)
    looper_logs = sorted(os.listdir(looper_dir))
    looper_lines = [read(os.path.join(looper_dir, f)).strip() for f in looper_logs]
    want_looper = [f"{n}.log" for n in range(1, CRASH_RESTARTS + 1)]
    links = sorted(l for l in os.listdir(os.path.dirname(looper.link()))
                   if l.startswith(f"{pod.name}_{pod.namespace}_{looper.name}-"))
    want_links = sorted(os.path.basename(looper.link(i)) for i in looper.dead_ids + [looper.id])
    layer, volume, sandbox = truth[("rootfs", writer.name)], truth[("volume", SCRATCH[1])], truth[("sandbox", "")]
    ok = (layer[0] >= LAYER_WRITE[0] and layer[1] >= LAYER_WRITE[1] + 2 and volume[0] >= VOLUME_WRITE[0]
          and volume[1] >= VOLUME_WRITE[1] + 2 and sandbox[0] >= SANDBOX_WRITE
          and len(log0) == LOG_LINES + 1 and log0[-1] == "writes done"
          and looper_logs == want_looper and looper_lines == [f"crash-looper attempt {n}" for n in range(1, CRASH_RESTARTS + 1)]
          and links == want_links and len(looper.collected_ids) == CRASH_RESTARTS - 1)
    record("[systemd] workload storage-writer", ok,
           f"writer's layer {fig(layer)} (wrote {LAYER_WRITE[0]} B + {LAYER_WRITE[1]} files), emptyDir {fig(volume)} "
           f"(wrote {VOLUME_WRITE[0]} B + {VOLUME_WRITE[1]} files), log {len(log0)} lines, sandbox layer {fig(sandbox)}; "
           f"crash-looper restarted {looper.instance} times: logs {looper_logs} (expected {want_looper}), "
           f"{len(links)} links (instance 0 garbage-collected with its log, instance 1 kept)")

    # /stats/summary from one synchronous walk.
    summary = sh(AGENT, "snapshot", "--format", "summary", timeout=60).stdout
    again = storage_truth(pod, layers)
    if again != truth:
        moved = {k: (fig(truth[k]), fig(again[k])) for k in truth if truth[k] != again[k]}
        record(f"{tag} stable", False, f"the files moved while the agent walked them (du before, after): {moved}")
    with open(os.path.join(OUT, "summary-storage.json"), "w") as f:
        f.write(summary)
    check_summary_storage(tag, json.loads(summary), pod, truth)

    # Restart counts, /pods' way: n of the <n>.log the live instance's link points at.
    want_restarts = {(p.namespace, p.name, c.name): c.instance for p in running_pods(pods) for c in p.containers}
    listing = json.loads(sh(AGENT, "snapshot", "--format", "pods", timeout=60).stdout)
    got = {(i["metadata"]["namespace"], i["metadata"]["name"], cs["name"]): cs.get("restartCount")
           for i in listing["items"] for cs in i["status"]["containerStatuses"]}
    nonzero = ", ".join(f"{k[1]}/{k[2]} {v}" for k, v in sorted(want_restarts.items()) if v)
    record("[systemd/restarts] pods", got == want_restarts,
           f"restartCount of {len(got)} containers = n of their link's <n>.log: {nonzero}, others 0" if got == want_restarts
           else "; ".join(f"{'/'.join(k)}: expected {want_restarts.get(k)}, got {got.get(k)}"
                          for k in sorted(set(want_restarts) | set(got)) if want_restarts.get(k) != got.get(k)))

    # /metrics/cadvisor of a root agent walking every second.
    serve_log = open(os.path.join(OUT, "serve-storage.log"), "w")
    agent = subprocess.Popen([AGENT, "serve", "--listen-address", f"127.0.0.1:{STORAGE_PORT}",
                              "--ephemeral-storage-interval", "1"], stdout=serve_log, stderr=subprocess.STDOUT)
    try:
        status = wait_ready(STORAGE_PORT)
        scrape_http(STORAGE_PORT, "/metrics/cadvisor")
        health = wait_walk_rounds(STORAGE_PORT, 1, 60)
        code, text = scrape_http(STORAGE_PORT, "/metrics/cadvisor")
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=20)
        except subprocess.TimeoutExpired:
            agent.kill()
        serve_log.close()
    feats = {k[0]: int(v) for k, v in by_labels(health, "kubemeter_feature_enabled", ("feature",)).items()
             if k[0].startswith("ephemeral_storage_")}
    walk = {f: int(by_labels(health, f"kubemeter_ephemeral_storage_walk_{f}_total", ()).get((), -1))
            for f in ("rounds", "inodes", "failures")}
    ok = (feats == {"ephemeral_storage_logs": 1, "ephemeral_storage_rootfs": 1, "ephemeral_storage_volumes": 1}
          and walk["rounds"] >= 1 and walk["inodes"] > 0)
    record(f"{tag} serve walks", ok, f"root serve on :{STORAGE_PORT} (/readyz {status}): features {feats}, walk rounds "
           f"{walk['rounds']}, inodes {walk['inodes']}, failures {walk['failures']} (the --rootfs pods' containers have no layer)")
    if code != 200:
        record(f"{tag} cadvisor", False, f"GET :{STORAGE_PORT}/metrics/cadvisor -> {code}")
        return
    final = storage_truth(pod, layers)
    if final != truth:
        moved = {k: (fig(truth[k]), fig(final[k])) for k in truth if truth[k] != final[k]}
        record(f"{tag} stable", False, f"the files moved since the first du (then, now): {moved}")
    samples, _ = parse_exposition(text)
    check_cadvisor_storage(tag, samples, pod, layers, truth, layout)

    # Restart counts on /metrics/cadvisor.
    restarts = {(l.get("namespace"), l.get("pod"), l.get("container")): int(v)
                for l, v in samples.get("kubemeter_container_restarts_total", [])}
    record("[systemd/restarts] cadvisor", restarts == want_restarts,
           f"kubemeter_container_restarts_total of {len(restarts)} containers: {nonzero}, others 0"
           if restarts == want_restarts else "; ".join(
               f"{'/'.join(k)}: expected {want_restarts.get(k)}, got {restarts.get(k)}"
               for k in sorted(set(want_restarts) | set(restarts)) if want_restarts.get(k) != restarts.get(k)))


def journal_entries():
    """The agent's journal entries under kubemeter.service, as dicts of their fields."""
    entries = []
    for line in sh("journalctl", "_SYSTEMD_UNIT=kubemeter.service", "-o", "json", "--no-pager", check=False).stdout.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def check_service_storage(tag, port, pods, entries=None):
    """The shipped unit's posture (DynamicUser, no capabilities): containerd's snapshots/ (0700) and
    the kubelet's pods/ (0750) are unlistable, so only the logs are walked; the agent says why.
    entries: the agent's log entries as dicts (default: the unit's journal)."""
    pod = next((p for p in pods if p.kubelet_files), None)
    if pod is None:
        return
    # The unit walks every 60 s, the first round at its first collection: by now it has ended.
    health = wait_walk_rounds(port, 1, 90)
    feats = {k[0]: int(v) for k, v in by_labels(health, "kubemeter_feature_enabled", ("feature",)).items()
             if k[0].startswith("ephemeral_storage_")}
    rounds = int(by_labels(health, "kubemeter_ephemeral_storage_walk_rounds_total", ()).get((), -1))
    why = {}
    source = "the journal" if entries is None else "its log"
    for entry in (journal_entries() if entries is None else entries):
        values = [v for v in entry.values() if isinstance(v, str)]
        for feature in ("ephemeral_storage_rootfs", "ephemeral_storage_volumes"):
            if any(feature in v for v in values):
                why[feature] = next((v for v in values if "cannot list" in v), entry.get("MESSAGE"))
    want = {"ephemeral_storage_logs": 1, "ephemeral_storage_rootfs": 0, "ephemeral_storage_volumes": 0}
    ok = feats == want and all("cannot list" in (why.get(f) or "") for f in ("ephemeral_storage_rootfs", "ephemeral_storage_volumes"))
    record(f"{tag} storage features", ok, "kubemeter_feature_enabled " + ", ".join(
        f"{k[len('ephemeral_storage_'):]} {v}" for k, v in sorted(feats.items())) + " (expected logs 1, rootfs 0, volumes 0); "
        f"{source} says why: " + "; ".join(f"{k[len('ephemeral_storage_'):]}: {str(v).split(';')[0][:120]}"
                                             for k, v in sorted(why.items())))
    code, text = scrape_http(port, "/metrics/cadvisor")
    samples = parse_exposition(text)[0] if code == 200 else {}
    logs = {l.get("container"): v for l, v in samples.get("kubemeter_container_logs_bytes", [])
            if l.get("pod") == pod.name and l.get("namespace") == pod.namespace}
    inodes = {l.get("container"): v for l, v in samples.get("kubemeter_container_logs_inodes", [])
              if l.get("pod") == pod.name and l.get("namespace") == pod.namespace}
    bad, said = [], []
    for c in pod.containers:
        want_c = du(files_in(os.path.join(pod.log_dir, c.name)))
        got = (int(logs[c.name]), int(inodes[c.name])) if c.name in logs and c.name in inodes else None
        said.append(f"{c.name} {fig(want_c)}")
        if got != want_c:
            bad.append(f"{c.name}: served {fig(got)}, du {fig(want_c)}")
    layers = samples.get("container_fs_usage_bytes", [])
    totals = samples.get("kubemeter_pod_ephemeral_storage_bytes", [])
    if layers or totals:
        bad.append(f"{len(layers)} container_fs_usage_bytes and {len(totals)} pod totals served without the layers")
    record(f"{tag} storage logs", code == 200 and not bad,
           f"after {rounds} walk rounds: kubemeter_container_logs_bytes/_inodes = du: {'; '.join(said)}; no layer, "
           "no pod total (their parts cannot be read)" if code == 200 and not bad else f"/metrics/cadvisor {code}: " + "; ".join(bad))


def unit_exec_path(unit_text):
    for line in unit_text.splitlines():
        if line.startswith("ExecStart="):
            return line.split("=", 1)[1].strip().lstrip("-@!+:").split()[0]
    return None


def unit_port(unit_text):
    m = re.search(r"--listen-address[= ]\S*:(\d+)", unit_text)
    return int(m.group(1)) if m else 10265


def check_endpoints(tag, port, ready_status, layout, pods, summary_file):
    """/metrics/resource, /metrics/cadvisor and /stats/summary of an agent on `port`, each against
    the kernel's readings just before and after it (the service's and the DaemonSet's checks).
    -> (the summary's status, its body)"""
    before = readings(layout, pods)
    code, body = scrape_http(port, "/metrics/resource")
    after = readings(layout, pods)
    record(f"{tag} http", code == 200, f"GET :{port}/metrics/resource -> {code}, /readyz -> {ready_status}")
    if code == 200:
        check_scrape(tag, body, before, after, pods, layout)
    cb = readings(layout, pods)
    ccode, cbody = scrape_http(port, "/metrics/cadvisor")
    ca = readings(layout, pods)
    check_cadvisor(tag, cbody if ccode == 200 else None, cb, ca, pods)
    sb = readings(layout, pods)
    scode, sbody = scrape_http(port, "/stats/summary")
    sa = readings(layout, pods)
    if scode == 200:
        with open(os.path.join(OUT, summary_file), "w") as f:
            f.write(sbody)
        check_summary(tag, sbody, sb, sa, pods)
    else:
        record(f"{tag} summary", False, f"GET :{port}/stats/summary -> {scode}")
    return scode, sbody


def run_service(layout, pods):
    tag = "[systemd/service]"
    if not os.path.exists(UNIT):
        skip(f"{tag} kubemeter.service", "deploy/systemd/kubemeter.service is not in this repository yet")
        return
    text = read(UNIT)
    exe = unit_exec_path(text)
    os.makedirs(os.path.dirname(exe), exist_ok=True)
    sh("install", "-m", "0755", AGENT, exe)
    sh("install", "-m", "0644", UNIT, "/etc/systemd/system/kubemeter.service")
    sh("systemctl", "daemon-reload")
    p = sh("systemctl", "start", "kubemeter.service", check=False, timeout=120)
    show = sh("systemctl", "show", "-p", "Type,ActiveState,SubState,Result", "kubemeter.service").stdout.split()
    ok = p.returncode == 0 and "ActiveState=active" in show and "Type=notify" in show
    record(f"{tag} active", ok, f"unit as shipped ({exe}): {' '.join(show)}"
           + ("" if p.returncode == 0 else f"; start failed: {p.stderr.strip()}"))
    if not ok:
        log(sh("journalctl", "-u", "kubemeter", "--no-pager", "-n", "40", check=False).stdout)
        return
    port = unit_port(text)
    status = wait_ready(port)
    check_endpoints(tag, port, status, layout, pods, "summary-service.json")
    check_service_storage(tag, port, pods)
    network_checks(tag, http_fetch(port), layout, pods)
    journal = sh("journalctl", "-u", "kubemeter", "--no-pager", "-o", "cat", check=False).stdout.strip().splitlines()
    # The agent's own lines (not systemd's "Starting"/"Started" about the unit).
    own = sh("journalctl", "_SYSTEMD_UNIT=kubemeter.service", "--no-pager", "-o", "cat",
             check=False).stdout.strip().splitlines()
    serving = [l for l in own if "serving" in l]
    record(f"{tag} journal", bool(serving),
           f"journalctl -u kubemeter: {len(journal)} lines, {len(own)} from the agent"
           + (f", e.g. {serving[0][:110]!r}" if serving else ", none saying it is serving"))
    with open(os.path.join(OUT, "kubemeter-journal.txt"), "w") as f:
        f.write("\n".join(journal) + "\n")
    # The unit's hardening is kept as shipped; what the kernel and systemd think of it, for the record.
    sec = sh("systemd-analyze", "security", "--no-pager", "kubemeter.service", check=False).stdout.strip().splitlines()
    if sec:
        log(f"systemd-analyze security: {sec[-1]}")
    run_service_dropin(layout, pods, port)
    sh("systemctl", "stop", "kubemeter.service", check=False)


def run_service_dropin(layout, pods, port):
    """The unit with deploy/systemd/ephemeral-storage.conf installed as its drop-in (CAP_DAC_READ_SEARCH
    ambient for the dynamic user): every storage feature, and the storage pod's parts and total = du."""
    tag = "[systemd/service+ephemeral-storage.conf]"
    if not os.path.exists(DROPIN):
        skip(tag, "deploy/systemd/ephemeral-storage.conf is not in this repository")
        return
    pod = next((p for p in pods if p.kubelet_files), None)
    if pod is None or not getattr(pod, "layers", None):
        skip(tag, "no storage pod with writable layers on this run")
        return
    os.makedirs("/etc/systemd/system/kubemeter.service.d", exist_ok=True)
    sh("install", "-m", "0644", DROPIN, "/etc/systemd/system/kubemeter.service.d/ephemeral-storage.conf")
    try:
        sh("systemctl", "daemon-reload")
        p = sh("systemctl", "restart", "kubemeter.service", check=False, timeout=120)
        caps = sh("systemctl", "show", "-p", "AmbientCapabilities,CapabilityBoundingSet,DynamicUser",
                  "kubemeter.service").stdout.split()
        pid = sh("systemctl", "show", "-p", "MainPID", "--value", "kubemeter.service").stdout.strip()
        status = {k: v.strip() for k, v in (l.split(":", 1) for l in read(f"/proc/{pid}/status").splitlines() if ":" in l)}
        posture = f"uid {status.get('Uid', '?').split()[0]}, CapEff {status.get('CapEff')}, CapAmb {status.get('CapAmb')}"
        ok = p.returncode == 0 and status.get("CapEff", "").endswith("0000000000000004") and status.get("Uid", "0").split()[0] != "0"
        record(f"{tag} active", ok, f"{' '.join(caps)}; the agent: {posture}")
        if not ok:
            return
        wait_ready(port)
        scrape_http(port, "/metrics/cadvisor")  # the first collection hands the walker its pods
        health = wait_walk_rounds(port, 1, 90)
        feats = {k[0]: int(v) for k, v in by_labels(health, "kubemeter_feature_enabled", ("feature",)).items()
                 if k[0].startswith("ephemeral_storage_")}
        want = {"ephemeral_storage_logs": 1, "ephemeral_storage_rootfs": 1, "ephemeral_storage_volumes": 1}
        record(f"{tag} storage features", feats == want, f"kubemeter_feature_enabled {feats} (expected all 1)")
        truth = storage_truth(pod, pod.layers)
        code, text = scrape_http(port, "/metrics/cadvisor")
        scode, sbody = scrape_http(port, "/stats/summary")
        if code == 200:
            check_cadvisor_storage(tag, parse_exposition(text)[0], pod, pod.layers, truth, layout)
        else:
            record(f"{tag} cadvisor", False, f"GET :{port}/metrics/cadvisor -> {code}")
        if scode == 200:
            check_summary_storage(tag, json.loads(sbody), pod, truth)
        else:
            record(f"{tag} summary storage", False, f"GET :{port}/stats/summary -> {scode}")
    finally:
        os.unlink("/etc/systemd/system/kubemeter.service.d/ephemeral-storage.conf")
        sh("systemctl", "daemon-reload", check=False)


# ---------------------------------------------------------------- the DaemonSet, as the kubelet runs it

# The image (Dockerfile): ENTRYPOINT ["/usr/local/bin/kubemeter"], CMD replaced by the manifest's args.
IMAGE_ENTRYPOINT = ["/usr/local/bin/kubemeter"]
IMAGE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]  # debian:bookworm-slim's
DS_RENDERED = os.path.join(SHARE, "deploy")
DS_POSTURES = (("base", "daemonset.json", "[daemonset]"),
               ("ephemeral-storage", "daemonset-ephemeral-storage.json", "[daemonset/ephemeral-storage]"))
DS_SLICE = "system.slice"  # outside kubepods: not counted as a pod
CAP_NUMBERS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_SYS_CHROOT": 18}
# containerd 1.6's RuntimeDefault profile (contrib/seccomp) allows these only with the capability.
SECCOMP_CAP_RULES = {"CAP_DAC_READ_SEARCH": ["open_by_handle_at"], "CAP_SYS_CHROOT": ["chroot"]}


def ds_rootfs():
    """The image's root filesystem, minimal: the agent at the image's entrypoint and the shared
    libraries it links (from the guest's Debian 12, the image's base), nothing else."""
    root = os.path.join(WORK, "daemonset-rootfs")
    if os.path.isdir(root):
        return root
    for d in ("usr/local/bin", "proc", "sys", "dev", "etc", "tmp", "host"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    sh("install", "-m", "0755", AGENT, root + IMAGE_ENTRYPOINT[0])
    for line in sh("ldd", AGENT).stdout.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            dst = root + m.group(1)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            sh("cp", "-L", m.group(1), dst)
    if os.path.exists("/etc/ld.so.cache"):
        sh("cp", "/etc/ld.so.cache", os.path.join(root, "etc", "ld.so.cache"))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    return root


def containerd_seccomp(rootfs, caps):
    """containerd's RuntimeDefault profile, as its own code generates it (the CRI plugin calls the same
    seccomp.WithDefaultProfile): `ctr container create --seccomp` then `ctr container info --spec`.
    ctr's container has containerd's default capabilities, so the rules that depend on a capability
    are set for `caps` (the manifest's) afterwards. -> (profile or None, how)"""
    cid = f"seccomp-probe-{secrets.token_hex(4)}"
    p = sh("ctr", "container", "create", "--seccomp", "--rootfs", rootfs, cid, "/bin/true", check=False)
    if p.returncode != 0:
        return None, f"ctr container create --seccomp failed: {p.stderr.strip()[:200]}"
    try:
        info = sh("ctr", "container", "info", "--spec", cid, check=False)
        spec = json.loads(info.stdout) if info.returncode == 0 else {}
    except ValueError:
        spec = {}
    finally:
        sh("ctr", "container", "rm", cid, check=False)
    profile = spec.get("linux", {}).get("seccomp")
    if not profile:
        return None, "ctr's spec has no seccomp profile"
    had = set(spec["process"]["capabilities"]["bounding"])
    syscalls = profile["syscalls"]
    for cap, names in SECCOMP_CAP_RULES.items():
        rule = [r for r in syscalls if sorted(r["names"]) == sorted(names) and r["action"] == "SCMP_ACT_ALLOW" and not r.get("args")]
        if cap in had and cap not in caps:
            if not rule:
                return None, f"containerd's profile has no rule {names} for {cap} to take out"
            syscalls.remove(rule[0])
        elif cap in caps and cap not in had and not rule:
            syscalls.append({"names": names, "action": "SCMP_ACT_ALLOW"})
    allowed = sum(len(r["names"]) for r in syscalls if r["action"] == "SCMP_ACT_ALLOW")
    return profile, (f"containerd {profile['defaultAction']} profile ({allowed} syscalls allowed; "
                     f"capability rules for {sorted(caps) or 'no capabilities'})")


def oci_spec(tmpl, posture, rootfs, seccomp):
    """The OCI runtime spec containerd's CRI plugin and runc would make from the pod template's first
    container (kubelet + containerd 1.6 on cgroup v2, systemd driver), but in a cgroup outside kubepods."""
    pod = tmpl["spec"]
    c = pod["containers"][0]
    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    uid = csc.get("runAsUser", psc.get("runAsUser", 0))
    gid = csc.get("runAsGroup", psc.get("runAsGroup", 0))
    if psc.get("runAsNonRoot") and uid == 0:
        raise RuntimeError("runAsNonRoot with uid 0: the kubelet would not start it")
    # Capabilities: containerd's defaults, minus drop, plus add ("ALL" drops every one). The kubelet
    # adds nothing for a non-root user with allowPrivilegeEscalation false: containerd sets the
    # sets, and execve as non-root clears permitted and effective (no ambient set is given).
    caps = {"CAP_" + a for a in csc.get("capabilities", {}).get("add", [])}
    if "ALL" not in csc.get("capabilities", {}).get("drop", []):
        raise RuntimeError("the manifest does not drop ALL capabilities: this replay handles only that")
    capset = sorted(caps)
    eff = capset if uid == 0 else []
    env = IMAGE_ENV + [f"HOSTNAME={socket.gethostname()}"]
    for e in c.get("env", []):
        if "value" in e:
            env.append(f"{e['name']}={e['value']}")
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName":
            env.append(f"{e['name']}={socket.gethostname()}")  # the downward API: the Node's name
        else:
            raise RuntimeError(f"env {e['name']}: only value and fieldRef spec.nodeName are replayed")
    files = os.path.join(WORK, f"daemonset-{posture}")
    os.makedirs(files, exist_ok=True)
    # The kubelet's own files (hostNetwork: the node's hosts and hostname), bind-mounted read-write.
    kubelet_files = {"/etc/hosts": read("/etc/hosts"), "/etc/hostname": socket.gethostname() + "\n",
                     "/etc/resolv.conf": "", "/dev/termination-log": ""}
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]
    for dst, text in kubelet_files.items():
        src = os.path.join(files, dst.strip("/").replace("/", "-"))
        with open(src, "w") as f:
            f.write(text)
        mounts.append({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rprivate", "rw"]})
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    rootfs_propagation = None
    described = []
    for vm in c.get("volumeMounts", []):
        v = volumes[vm["name"]]
        prop = {"HostToContainer": "rslave", "Bidirectional": "rshared"}.get(vm.get("mountPropagation"), "rprivate")
        ro = "ro" if vm.get("readOnly") else "rw"
        if "hostPath" in v:
            src = v["hostPath"]["path"]
            kind = v["hostPath"].get("type", "")
            if kind == "Directory" and not os.path.isdir(src):
                raise RuntimeError(f"hostPath {src} (type Directory) is missing: the kubelet would not start the pod")
            mounts.append({"destination": vm["mountPath"], "type": "bind", "source": src, "options": ["rbind", prop, ro]})
        elif "emptyDir" in v:
            if v["emptyDir"].get("medium") == "Memory":
                mounts.append({"destination": vm["mountPath"], "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev", "noexec", "size=" + str(64 * MiB)]})
            else:
                src = os.path.join(files, "empty-dir-" + vm["name"])
                os.makedirs(src, mode=0o777, exist_ok=True)
                mounts.append({"destination": vm["mountPath"], "type": "bind", "source": src, "options": ["rbind", prop, ro]})
        else:
            raise RuntimeError(f"volume {vm['name']}: only hostPath and emptyDir are replayed")
        if prop == "rslave":
            rootfs_propagation = "rslave"  # containerd's CRI plugin, for HostToContainer
        described.append(f"{vm['mountPath']}({','.join(mounts[-1]['options'][1:])})")
    limits = c.get("resources", {}).get("limits", {})
    requests = c.get("resources", {}).get("requests", {})

    def cpu_milli(q):
        return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)

    def mem_bytes(q):
        units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
        return int(q[:-2]) * units[q[-2:]] if q[-2:] in units else int(q)
    resources = {"devices": [{"allow": False, "access": "rwm"}]}
    if "cpu" in limits or "cpu" in requests:
        # The kubelet's CRI: shares from the request (milli * 1024 / 1000, at least 2), quota from the
        # limit over a 100 ms period.
        resources["cpu"] = {"shares": max(2, cpu_milli(requests.get("cpu", limits.get("cpu", "0"))) * 1024 // 1000)}
        if "cpu" in limits:
            resources["cpu"].update(quota=cpu_milli(limits["cpu"]) * 100000 // 1000, period=100000)
    if "memory" in limits:
        # containerd's CRI on cgroup v2: swap = limit (memory.swap.max 0: no swap).
        m = mem_bytes(limits["memory"])
        resources["memory"] = {"limit": m, "swap": m}
    nofile = next((l for l in read(f"/proc/{sh('pidof', 'containerd').stdout.split()[0]}/limits").splitlines()
                   if l.startswith("Max open files")), None)
    soft, hard = (int(x) if x.isdigit() else 1 << 20 for x in nofile.split()[3:5])
    spec = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid, "additionalGids": [gid]},
            "args": (c.get("command") or IMAGE_ENTRYPOINT) + c.get("args", []),
            "env": env, "cwd": "/",
            "capabilities": {"bounding": capset, "effective": eff, "permitted": eff, "inheritable": [], "ambient": []},
            # Inherited from containerd's shim (containerd.service's LimitNOFILE), as CRI containers get it.
            "rlimits": [{"type": "RLIMIT_NOFILE", "soft": soft, "hard": hard}],
            "noNewPrivileges": csc.get("allowPrivilegeEscalation") is False,
            # The kubelet's score for a critical pod (priorityClassName system-node-critical).
            "oomScoreAdj": -997 if pod.get("priorityClassName", "").startswith("system-") else 0,
        },
        "root": {"path": rootfs, "readonly": bool(csc.get("readOnlyRootFilesystem"))},
        "mounts": mounts,
        "linux": {
            "resources": resources,
            "cgroupsPath": f"{DS_SLICE}:kubemeter-daemonset:{posture}",
            # Its own PID, IPC and mount namespaces; the host's network and UTS (hostNetwork: true);
            # a cgroup namespace of its own (containerd's CRI plugin on cgroup v2).
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "mount"}, {"type": "cgroup"}]
                          + ([] if pod.get("hostNetwork") else [{"type": "network"}, {"type": "uts"}]),
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                            "/sys/devices/virtual/powercap"],
            "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    if pod.get("hostPID"):
        spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "pid"]
    if rootfs_propagation:
        spec["linux"]["rootfsPropagation"] = rootfs_propagation
    sc_type = csc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
    if sc_type == "RuntimeDefault" and seccomp is not None:
        spec["linux"]["seccomp"] = seccomp
    elif sc_type not in (None, "Unconfined"):
        raise RuntimeError(f"seccompProfile {sc_type}: not replayed")
    port = next((int(a.rsplit(":", 1)[1]) for a in c.get("args", []) if a.startswith("--listen-address=")), 10265)
    return spec, {"uid": uid, "gid": gid, "caps": capset, "port": port, "mounts": described,
                  "cpu_max": (resources.get("cpu", {}).get("quota"), 100000), "memory_max": resources.get("memory", {}).get("limit")}


def cap_mask(names):
    return sum(1 << CAP_NUMBERS[n] for n in names)


def status_fields(pid):
    return dict(l.split(":\t", 1) for l in read(f"/proc/{pid}/status").splitlines() if ":\t" in l)


def check_ds_posture(tag, pid, want, cgroup_dir, seccomp_how):
    """The running agent's process as the kernel sees it: ids, capability sets, no_new_privs,
    seccomp, namespaces, read-only root and host mounts, its cgroup and that cgroup's limits."""
    st = status_fields(pid)
    bad, said = [], []
    ids = (st["Uid"].split()[:2], st["Gid"].split()[:2])
    if ids != ([str(want["uid"])] * 2, [str(want["gid"])] * 2):
        bad.append(f"Uid/Gid {ids}, expected {want['uid']}/{want['gid']}")
    mask = cap_mask(want["caps"])
    sets = {k: int(st[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    wanted = {"CapInh": 0, "CapPrm": mask, "CapEff": mask, "CapBnd": mask, "CapAmb": 0}
    if want["uid"] != 0:
        wanted.update(CapPrm=0, CapEff=0)
    if sets != wanted:
        bad.append(f"capabilities {({k: hex(v) for k, v in sets.items()})}, expected {({k: hex(v) for k, v in wanted.items()})}")
    said.append(f"uid {want['uid']} gid {want['gid']}, CapBnd/Prm/Eff {hex(mask)} ({','.join(want['caps']) or 'none'}), CapInh/Amb 0")
    if st.get("NoNewPrivs", "").strip() != "1":
        bad.append(f"NoNewPrivs {st.get('NoNewPrivs')}")
    if seccomp_how is not None and st.get("Seccomp", "").strip() != "2":
        bad.append(f"Seccomp {st.get('Seccomp')} (expected 2, a filter)")
    said.append("NoNewPrivs 1" + (f", Seccomp 2 ({seccomp_how})" if seccomp_how else ", no seccomp"))
    nspid = st.get("NSpid", "").split()
    ns = {n: os.readlink(f"/proc/{pid}/ns/{n}") == os.readlink(f"/proc/1/ns/{n}") for n in ("pid", "net", "mnt", "uts", "cgroup")}
    if len(nspid) != 2 or nspid[1] != "1" or ns != {"pid": False, "net": True, "mnt": False, "uts": True, "cgroup": False}:
        bad.append(f"NSpid {nspid}, shares init's namespaces {ns}")
    said.append(f"NSpid {' '.join(nspid)} (own PID, mount, cgroup namespaces; the host's network and UTS)")
    opts = {}
    for line in read(f"/proc/{pid}/mountinfo").splitlines():
        f = line.split(" - ")[0].split()
        opts[unescape_mount(f[4])] = (f[5].split(","), " ".join(f[6:]))
    if "ro" not in opts["/"][0]:
        bad.append(f"/ mounted {opts['/'][0]} (readOnlyRootFilesystem)")
    for d in want["mounts"]:
        path, o = d.split("(")[0], d[:-1].split("(")[1].split(",")
        got = opts.get(path)
        if got is None or ("ro" in o) != ("ro" in got[0]) or (("rslave" in o) != ("master:" in got[1])):
            bad.append(f"{path}: mount {got}, expected {o}")
    said.append(f"/ ro; {len(want['mounts'])} host paths {' '.join(want['mounts'])}")
    cg = read(f"/proc/{pid}/cgroup").strip()
    cpu_max = read(os.path.join(cgroup_dir, "cpu.max")).split()
    mem_max = read(os.path.join(cgroup_dir, "memory.max")).strip()
    if cg != "0::" + cgroup_dir[len(CG):] or cpu_max != [str(want["cpu_max"][0]), str(want["cpu_max"][1])] or mem_max != str(want["memory_max"]):
        bad.append(f"/proc/{pid}/cgroup {cg!r} (expected {cgroup_dir[len(CG):]}), cpu.max {cpu_max}, memory.max {mem_max}")
    said.append(f"cgroup {cgroup_dir[len(CG):]}: cpu.max {' '.join(cpu_max)}, memory.max {mem_max}")
    record(f"{tag} posture", not bad, "; ".join(said) if not bad else "; ".join(bad))


def json_lines(path):
    """The agent's --log-format=json lines in `path`, as dicts (runc's own lines are not JSON)."""
    entries = []
    for line in read(path).splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def runc_state(cid):
    p = sh("runc", "state", cid, check=False)
    return json.loads(p.stdout).get("status") if p.returncode == 0 else None


def kernel_hz():
    try:
        m = re.search(r"^CONFIG_HZ=(\d+)$", read(f"/boot/config-{os.uname().release}"), re.M)
        return int(m.group(1)) if m else 250
    except OSError:
        return 250


def check_ds_footprint(tag, cgroup_dir, started, ready_cpu, want):
    """The agent's peak memory and CPU against its limits, from its cgroup. CPU from readiness on
    (the start, runc's init included, is only reported): at most cpu.max's quota in each
    period the cgroup ran in, and CFS charges runtime at scheduler ticks, so each CPU may overrun a
    period's quota by up to one tick."""
    peak = int(read(os.path.join(cgroup_dir, "memory.peak")))
    events = kv(os.path.join(cgroup_dir, "memory.events"))
    cpu = kv(os.path.join(cgroup_dir, "cpu.stat"))
    wall = time.monotonic() - started
    used = (cpu["usage_usec"] - ready_cpu["usage_usec"]) / 1e6
    periods = cpu["nr_periods"] - ready_cpu["nr_periods"]
    tick = 1e6 / kernel_hz()
    quota = want["cpu_max"][0] / want["cpu_max"][1]
    bound = (want["cpu_max"][0] + os.cpu_count() * tick) * (periods + 1) / 1e6
    ok = peak < want["memory_max"] and events.get("oom_kill", 0) == 0 and events.get("max", 0) == 0 and used <= bound
    record(f"{tag} footprint", ok,
           f"memory.peak {peak} B ({peak / MiB:.1f} MiB) < memory.max {want['memory_max'] // MiB} MiB, memory.events max "
           f"{events.get('max')} oom_kill {events.get('oom_kill')}; CPU since ready {used:.3f} s over {periods} periods of "
           f"cpu.max {quota:g} CPU: <= {bound:.3f} s ({want['cpu_max'][0] // 1000} ms + {os.cpu_count()} CPUs x "
           f"{tick / 1000:g} ms tick a period, +1 period), throttled in {cpu['nr_throttled'] - ready_cpu['nr_throttled']}; "
           f"in all {cpu['usage_usec'] / 1e6:.3f} s in {wall:.1f} s since runc run")


def run_daemonset_posture(layout, pods, posture, rendered, tag):
    pod_spec = rendered["template"]["spec"]
    c = pod_spec["containers"][0]
    rootfs = ds_rootfs()
    caps = {"CAP_" + a for a in c.get("securityContext", {}).get("capabilities", {}).get("add", [])}
    seccomp, seccomp_how = containerd_seccomp(rootfs, caps)
    if seccomp is None:
        log(f"{tag}: no RuntimeDefault seccomp profile: {seccomp_how}")
    spec, want = oci_spec(rendered["template"], posture, rootfs, seccomp)
    bundle = os.path.join(WORK, f"daemonset-{posture}")
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    with open(os.path.join(OUT, f"daemonset-{posture}-config.json"), "w") as f:
        json.dump({**spec, "linux": {**spec["linux"], "seccomp": f"({seccomp_how})"}}, f, indent=1)
    cid = f"kubemeter-daemonset-{posture}"
    cgroup_dir = os.path.join(CG, DS_SLICE, f"kubemeter-daemonset-{posture}.scope")
    log_path = os.path.join(OUT, f"daemonset-{posture}.log")
    agent_log = open(log_path, "w")
    moved_on(f"runc run {cid}")
    started = time.monotonic()
    p = subprocess.run(["runc", "--systemd-cgroup", "run", "-d", "--bundle", bundle, "--pid-file",
                        os.path.join(bundle, "pid"), cid], stdin=subprocess.DEVNULL, stdout=agent_log,
                       stderr=subprocess.STDOUT, timeout=60)
    agent_log.close()
    try:
        if p.returncode != 0:
            record(f"{tag} run", False, f"runc run -> {p.returncode}: {read(log_path)[-600:]}")
            return
        pid = int(read(os.path.join(bundle, "pid")))
        record(f"{tag} run", True, f"{rendered['source']} rendered by kubectl kustomize, its container spec as an OCI "
               f"runtime spec (out/daemonset-{posture}-config.json), runc run -d: pid {pid}, args {' '.join(spec['process']['args'])}")
        check_ds_posture(tag, pid, want, cgroup_dir, seccomp_how if seccomp is not None else None)
        if seccomp is None:
            record(f"{tag} seccomp", False, f"RuntimeDefault: containerd's profile could not be made ({seccomp_how}); ran without one")
        port = want["port"]
        status = wait_ready(port, 90)
        ready_cpu = kv(os.path.join(cgroup_dir, "cpu.stat"))
        if status != 200:
            record(f"{tag} http", False, f"/readyz on :{port} -> {status} after 90 s; its log: {read(log_path)[-800:]}")
            return
        scode, sbody = check_endpoints(tag, port, status, layout, pods, f"summary-daemonset-{posture}.json")
        if scode == 200:
            node_name = json.loads(sbody)["node"].get("nodeName")
            record(f"{tag} node name", node_name == socket.gethostname(),
                   f"/stats/summary nodeName {node_name!r} = NODE_NAME from the downward API (spec.nodeName: the host name here)")
        entries = json_lines(log_path)
        health = wait_walk_rounds(port, 1, 90)
        feats = {k[0]: int(v) for k, v in by_labels(health, "kubemeter_feature_enabled", ("feature",)).items()}
        how = {e.get("feature"): e.get("how") or e.get("why") for e in entries if e.get("feature")}
        storage_on = posture == "ephemeral-storage"
        want_f = {"pod_metrics": 1, "container_names": 1, "pod_network": 1, "node_filesystem": 1, "image_filesystem": 1,
                  "ephemeral_storage_logs": 1, "ephemeral_storage_rootfs": int(storage_on),
                  "ephemeral_storage_volumes": int(storage_on)}
        got_f = {k: feats.get(k) for k in want_f}
        scan = "/host/proc/<pid>/cgroup" in (how.get("pod_network") or "")
        record(f"{tag} features", got_f == want_f and scan and len(entries) > 0,
               f"{len(entries)} JSON log lines; kubemeter_feature_enabled " + ", ".join(f"{k} {v}" for k, v in sorted(feats.items()))
               + f"; pod_network: {how.get('pod_network')!r}" + ("" if got_f == want_f else f"; expected {want_f}"))
        storage_pod = next((p for p in pods if p.kubelet_files), None)
        if storage_pod is None:
            skip(f"{tag} storage", "no storage pod on this run")
        elif not storage_on:
            check_service_storage(tag, port, pods, entries)
        elif not getattr(storage_pod, "layers", None):
            skip(f"{tag} storage", "the [systemd/storage] phase found no writable layers")
        else:
            layers = storage_pod.layers
            truth = storage_truth(storage_pod, layers)
            entries = json_lines(log_path)
            walk = {f: int(by_labels(health, f"kubemeter_ephemeral_storage_walk_{f}_total", ()).get((), -1))
                    for f in ("rounds", "inodes", "failures")}
            # Each app container run from --rootfs has no layer: one failure each, logged with its ID.
            no_layer = sorted(c.id for p in running_pods(pods) for c in p.containers if not c.image)
            logged = sorted({m.group(1) for e in entries for m in [re.search(r"no overlay rootfs of container ([0-9a-f]{64})",
                                                                             str(e.get("error", "")))] if m})
            # The agent logs 8 failures a collection and sums up the rest in one line (Collector.swift's
            # linesPerCollection): with more --rootfs containers than that, the rest are counted there.
            held = sum(int(e.get("count", 0)) for e in entries if e.get("msg") == "more host files cannot be read")
            record(f"{tag} walks", walk["rounds"] >= 1 and walk["inodes"] > 0 and walk["failures"] == len(no_layer)
                   and set(logged) <= set(no_layer) and len(logged) + held == len(no_layer),
                   f"walk rounds {walk['rounds']}, inodes {walk['inodes']}, failures {walk['failures']} = the {len(no_layer)} "
                   f"--rootfs app containers, which have no layer (each logged with its ID: {len(logged)} logged"
                   + (f", {held} summed up in 'more host files cannot be read'" if held else "") + ")")
            code, text = scrape_http(port, "/metrics/cadvisor")
            scode, sbody = scrape_http(port, "/stats/summary")
            final = storage_truth(storage_pod, layers)
            if final != truth:
                moved = {k: (fig(truth[k]), fig(final[k])) for k in truth if truth[k] != final[k]}
                record(f"{tag} stable", False, f"the files moved while it was scraped (du before, after): {moved}")
            if code == 200:
                check_cadvisor_storage(tag, parse_exposition(text)[0], storage_pod, layers, truth, layout)
            else:
                record(f"{tag} cadvisor", False, f"GET :{port}/metrics/cadvisor -> {code}")
            if scode == 200:
                check_summary_storage(tag, json.loads(sbody), storage_pod, truth)
            else:
                record(f"{tag} summary storage", False, f"GET :{port}/stats/summary -> {scode}")
        check_ds_footprint(tag, cgroup_dir, started, ready_cpu, want)
        network_checks(tag, http_fetch(port), layout, pods)
    finally:
        sh("runc", "kill", cid, "SIGTERM", check=False)
        deadline = time.monotonic() + 20
        while runc_state(cid) == "running" and time.monotonic() < deadline:
            time.sleep(0.5)
        stopped = runc_state(cid)
        sh("runc", "delete", "-f", cid, check=False)
        if stopped == "running":
            record(f"{tag} stop", False, "still running 20 s after SIGTERM (terminationGracePeriodSeconds 15)")
        else:
            log(f"{tag}: stopped by SIGTERM (runc state {stopped}); its last log lines: {read(log_path).splitlines()[-2:]}")


def run_daemonset(layout, pods):
    """The DaemonSet's container spec (the base, then the ephemeral-storage overlay), run with runc as
    the kubelet and containerd would, each against the systemd layout's pods."""
    for posture, name, tag in DS_POSTURES:
        path = os.path.join(DS_RENDERED, name)
        if not os.path.exists(path):
            skip(f"{tag} run", f"{name} was not rendered on the host (kubectl or python3-yaml missing there)")
            continue
        try:
            run_daemonset_posture(layout, pods, posture, json.load(open(path)), tag)
        except Exception as e:  # the next posture still runs
            record(f"{tag} setup", False, f"{type(e).__name__}: {e}")


# The postures, as the report's tags name them, in the table's column order.
POSTURE_COLUMNS = (
    ("root", ("[systemd/snapshot]", "[systemd]", "[systemd/storage]", "[systemd/restarts]")),
    ("unit", ("[systemd/service]",)),
    ("unit+dropin", ("[systemd/service+ephemeral-storage.conf]",)),
    ("daemonset", ("[daemonset]",)),
    ("ds+storage", ("[daemonset/ephemeral-storage]",)),
)


def write_posture_table():
    """One table of check groups by posture (the systemd layout's runs): a posture that loses a
    feature shows as a FAIL or an empty cell on its row, not as a passing run that skipped it.
    Printed on the console and appended to the report (out/posture-table.txt too)."""
    cells = {}
    for line in report_lines:
        m = re.match(r"(PASS|FAIL|SKIP) (\[[^\]]+\]) ([^:]+):", line)
        if not m:
            continue
        verdict, tag, group = m.groups()
        for column, tags in POSTURE_COLUMNS:
            if tag in tags:
                key = (group.strip(), column)
                # A group checked twice in one posture (snapshot and serve) fails if either does.
                if cells.get(key) != "FAIL":
                    cells[key] = verdict
    groups = sorted({g for g, _ in cells})
    width = max([len(g) for g in groups] + [5])
    header = f"{'check group':{width}}  " + "  ".join(f"{c:>11}" for c, _ in POSTURE_COLUMNS)
    lines = ["posture table (systemd layout; root = kubemeter as root on the host, unit = deploy/systemd as "
             "shipped, unit+dropin = with ephemeral-storage.conf, daemonset = deploy/kubernetes under runc, "
             "ds+storage = its ephemeral-storage overlay; '-' = not checked in that posture):", header]
    for g in groups:
        lines.append(f"{g:{width}}  " + "  ".join(f"{cells.get((g, c), '-'):>11}" for c, _ in POSTURE_COLUMNS))
    text = "\n".join(lines) + "\n"
    print("\n" + "\n".join(f"E2E| {l}" for l in lines), flush=True)
    with open(os.path.join(OUT, "posture-table.txt"), "w") as f:
        f.write(text)


def main():
    threading.Thread(target=watchdog, daemon=True).start()
    os.makedirs(OUT, exist_ok=True)
    open(os.path.join(OUT, "report.txt"), "w").close()
    os.makedirs("/var/log/containers", exist_ok=True)
    os.makedirs("/var/log/pods", exist_ok=True)
    kernel = os.uname().release
    controllers = read(os.path.join(CG, "cgroup.controllers")).split()
    record("[node] cgroup v2", "memory" in controllers and "cpu" in controllers
           and not os.path.exists("/sys/fs/cgroup/unified"),
           f"kernel {kernel}, unified hierarchy, controllers {' '.join(controllers)}")
    wait_containerd()
    ver = sh("ctr", "version").stdout.split()
    log(f"containerd up: {' '.join(ver[:6])}")
    layout = pods = None
    try:
        layout, pods = Layout("cgroupfs"), make_pods()
        run_layout(layout, pods)
        teardown(layout, pods)
        layout, pods = Layout("systemd"), None
        try:
            import_image()
            storage = True
        except Exception as e:  # the systemd layout still runs, without the storage pod
            record("[systemd/storage] image", False, f"{type(e).__name__}: {e}")
            storage = False
        pods = make_pods(storage=storage, network=True)
        node_pair()
        run_layout(layout, pods)
        if storage:
            try:
                run_storage(layout, pods)
            except Exception as e:  # the service phase still runs
                record("[systemd/storage] setup", False, f"{type(e).__name__}: {e}")
        network_checks("[systemd/snapshot]", snapshot_fetch, layout, pods)
        run_service(layout, pods)
        run_daemonset(layout, pods)
    except Exception as e:  # a broken setup is a failure of its own, with its message
        record("[setup]", False, f"{type(e).__name__}: {e}")
    finally:
        if pods:  # containers left running would hold up the guest's poweroff
            teardown(layout, pods)
    write_posture_table()
    verdict = "pass" if not failures else f"fail: {len(failures)} check groups failed: {', '.join(failures)}"
    with open(os.path.join(OUT, "status"), "w") as f:
        f.write(verdict + "\n")
    log(verdict)


if __name__ == "__main__":
    main()
