#!/usr/bin/python3
"""kubemeter end to end on a real node: runs inside the e2e-node guest (see docs/testing.md).

Lays pods out as the kubelet would (containerd + runc, no kubelet): pod sandboxes holding the
network namespace, app containers joined to it, the CRI log files and /var/log/containers links.
Then runs the shipped agent and checks each family it serves against the kernel's own files, read
just before and just after the scrape. One line per check group goes to out/report.txt; the
verdict goes to out/status ("pass" or "fail: ...").

Usage: node_test.py SHARE   (SHARE holds bin/kubemeter, optionally deploy/kubemeter.service, out/)
"""
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

SHARE = sys.argv[1] if len(sys.argv) > 1 else "/mnt/e2e"
OUT = os.path.join(SHARE, "out")
AGENT = os.path.join(SHARE, "bin", "kubemeter")
UNIT = os.path.join(SHARE, "deploy", "kubemeter.service")
CG = "/sys/fs/cgroup"
WORK = "/var/lib/e2e"
MiB = 1 << 20

# Workload sizes the checks rely on.
HOLD_BYTES = 64 * MiB          # the memory holder's anonymous string
OOM_LIMIT = 32 * MiB           # memory.max of the OOM container, below its 64 MiB allocation
THROTTLE_QUOTA = (10000, 100000)  # cpu.max of the throttled container: 10 % of one CPU
SWAP_LIMIT = 48 * MiB          # memory.swap.max written on one container, for container_swap_limit_bytes
FRAME_SIZE, FRAME_COUNT = 1000, 137  # frames fed to each pod's eth0 from the host end of its veth

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
                 exits=False):
        self.pod, self.name, self.argv = pod, name, argv
        self.cpu_quota, self.memory_limit, self.swap_limit = cpu_quota, memory_limit, swap_limit
        self.restart_argv, self.exits = restart_argv, exits
        self.id = secrets.token_hex(32)
        self.instance = 0
        self.dead_ids = []


class Pod:
    def __init__(self, namespace, name, qos, uid=None, exits=False):
        self.namespace, self.name, self.qos = namespace, name, qos
        self.uid = uid or str(uuid.uuid4())
        self.exits = exits
        self.containers = []
        self.sandbox_id = secrets.token_hex(32)
        self.sandbox_pid = None
        self.host_veth = None
        self.frames_sent = 0

    def add(self, *a, **kw):
        self.containers.append(Container(self, *a, **kw))
        return self

    @property
    def log_dir(self):
        return f"/var/log/pods/{self.namespace}_{self.name}_{self.uid}"


def make_pods():
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
    ]


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


def task_pid(cid):
    for line in sh("ctr", "task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return int(f[1]), f[2]
    return None, None


def run_container(layout, pod, cid, argv, *, log_path=None, netns_pid=None, c=None):
    flags = ["-d", "--rootfs"] + layout.ctr_flags(pod, cid)
    if log_path:
        flags += ["--log-uri", f"file://{log_path}"]
    if netns_pid:
        flags += ["--with-ns", f"network:/proc/{netns_pid}/ns/net"]
    if c is not None and c.cpu_quota:
        flags += ["--cpu-quota", str(c.cpu_quota[0]), "--cpu-period", str(c.cpu_quota[1])]
    if c is not None and c.memory_limit:
        flags += ["--memory-limit", str(c.memory_limit)]
    sh("ctr", "run", *flags, make_rootfs(cid), cid, *argv)


def start_pod(layout, pod):
    # The sandbox: holds the pod's network namespace (ctr's default spec makes a new one), no log.
    run_container(layout, pod, pod.sandbox_id, ["/bin/sleep", "1000000"])
    pod.sandbox_pid, _ = task_pid(pod.sandbox_id)
    # eth0: a veth pair, as a CNI plugin makes it; the host end stays here to feed frames.
    short = pod.sandbox_id[:8]
    pod.host_veth = f"veth{short}"
    sh("ip", "link", "add", pod.host_veth, "type", "veth", "peer", "name", f"pe{short}")
    sh("ip", "link", "set", f"pe{short}", "netns", str(pod.sandbox_pid))
    sh("nsenter", "-t", str(pod.sandbox_pid), "-n", "ip", "link", "set", f"pe{short}", "name", "eth0")
    sh("nsenter", "-t", str(pod.sandbox_pid), "-n", "ip", "link", "set", "eth0", "up")
    sh("ip", "link", "set", pod.host_veth, "up")
    for c in pod.containers:
        start_container(layout, pod, c)


def start_container(layout, pod, c):
    argv = c.argv if c.instance == 0 else c.restart_argv
    log_dir = os.path.join(pod.log_dir, c.name)
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, f"{c.instance}.log")
    run_container(layout, pod, c.id, argv, log_path=log_path, netns_pid=pod.sandbox_pid, c=c)
    if not os.path.exists(log_path):  # the runtime writes it; make sure the kubelet's link has a target
        open(log_path, "a").close()
    # The kubelet's link, made after the container starts, only when the log file exists.
    os.symlink(log_path, f"/var/log/containers/{pod.name}_{pod.namespace}_{c.name}-{c.id}.log")
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


def feed_frames(pod):
    """Sends FRAME_COUNT Ethernet frames of FRAME_SIZE bytes into the pod's eth0 from the host end.
    EtherType 0x88b5 (IEEE local experimental): counted in eth0's rx_bytes, then dropped."""
    # (sysfs shows the netns it was mounted in, so ask ip inside the pod's netns for eth0's MAC.)
    link = sh("nsenter", "-t", str(pod.sandbox_pid), "-n", "ip", "-o", "link", "show", "eth0").stdout
    dst = bytes.fromhex(re.search(r"link/ether ([0-9a-f:]{17})", link).group(1).replace(":", ""))
    src = bytes.fromhex(read(f"/sys/class/net/{pod.host_veth}/address").strip().replace(":", ""))
    frame = dst + src + b"\x88\xb5" + bytes(FRAME_SIZE - 14)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((pod.host_veth, 0))
    for _ in range(FRAME_COUNT):
        s.send(frame)
    s.close()
    pod.frames_sent += FRAME_COUNT


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
        got = after["net"][p.uid].get("eth0")
        want = (p.frames_sent * FRAME_SIZE, p.frames_sent)
        if got is None or (got["rx_bytes"], got["rx_packets"]) != want:
            bad.append(f"{p.name}: expected rx {want}, got {got}")
    record(f"{tag} network feed", not bad,
           f"each pod's eth0 received exactly {FRAME_COUNT} x {FRAME_SIZE}-byte frames (/proc/<sandbox>/net/dev)"
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
        nb, na = before["net"][pod.uid]["eth0"]["rx_bytes"], after["net"][pod.uid]["eth0"]["rx_bytes"]
        if rx is None or not between(rx, nb, na, 0):
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


def unit_exec_path(unit_text):
    for line in unit_text.splitlines():
        if line.startswith("ExecStart="):
            return line.split("=", 1)[1].strip().lstrip("-@!+:").split()[0]
    return None


def unit_port(unit_text):
    m = re.search(r"--listen-address[= ]\S*:(\d+)", unit_text)
    return int(m.group(1)) if m else 10265


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
    status = None
    for _ in range(30):
        try:
            status, _ = scrape_http(port, "/readyz")
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(1)
    before = readings(layout, pods)
    code, body = scrape_http(port, "/metrics/resource")
    after = readings(layout, pods)
    record(f"{tag} http", code == 200, f"GET :{port}/metrics/resource -> {code}, /readyz -> {status}")
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
        with open(os.path.join(OUT, "summary-service.json"), "w") as f:
            f.write(sbody)
        check_summary(tag, sbody, sb, sa, pods)
    else:
        record(f"{tag} summary", False, f"GET :{port}/stats/summary -> {scode}")
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
    sh("systemctl", "stop", "kubemeter.service", check=False)


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
        layout, pods = Layout("systemd"), make_pods()
        run_layout(layout, pods)
        run_service(layout, pods)
    except Exception as e:  # a broken setup is a failure of its own, with its message
        record("[setup]", False, f"{type(e).__name__}: {e}")
    finally:
        if pods:  # containers left running would hold up the guest's poweroff
            teardown(layout, pods)
    verdict = "pass" if not failures else f"fail: {len(failures)} check groups failed: {', '.join(failures)}"
    with open(os.path.join(OUT, "status"), "w") as f:
        f.write(verdict + "\n")
    log(verdict)


if __name__ == "__main__":
    main()
