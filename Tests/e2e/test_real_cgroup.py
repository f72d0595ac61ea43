"""kubemeter against the real kernel: a kubepods-like tree made under a real cgroup v2 mount, a
process burning CPU inside one "container", and the agent's numbers checked against the kernel's
own accounting. Skips where no writable cgroup v2 mount exists; removes every cgroup it made."""
import os
import subprocess
import sys
import time
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

BURNER = r"""
import os, resource, sys, time
sys.stdin.readline()                      # wait until moved into the cgroup
end = time.process_time() + float(sys.argv[1])
x = 0
while time.process_time() < end:
    x += 1
r = resource.getrusage(resource.RUSAGE_SELF)
print(r.ru_utime + r.ru_stime, flush=True)
"""


def cgroup2_mount():
    for path in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(path, "cgroup.controllers")) and os.access(path, os.W_OK):
            return path
    return None


def usage_usec(cgroup):
    with open(os.path.join(cgroup, "cpu.stat")) as f:
        for line in f:
            k, v = line.split()
            if k == "usage_usec":
                return int(v)
    raise AssertionError("no usage_usec")


@pytest.fixture
def real_tree(tmp_path):
    mount = cgroup2_mount()
    if mount is None:
        pytest.skip("no writable cgroup v2 mount here (needs root and /sys/fs/cgroup or /sys/fs/cgroup/unified)")
    base = os.path.join(mount, f"kubemeter-test-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    made = []

    def mkdir(*parts):
        path = os.path.join(base, *parts)
        os.mkdir(path)
        made.append(path)
        return path
    try:
        os.mkdir(base)
    except OSError as e:
        pytest.skip(f"cannot create a cgroup under {mount}: {e}")
    made.append(base)
    try:
        yield base, mkdir, tmp_path
    finally:
        for path in reversed(made):
            # Processes have exited; move any straggler to the parent before removing.
            try:
                with open(os.path.join(path, "cgroup.procs")) as f:
                    pids = f.read().split()
                for pid in pids:
                    with open(os.path.join(os.path.dirname(path), "cgroup.procs"), "w") as f:
                        f.write(pid)
            except OSError:
                pass
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass  # the test removed it itself
            except OSError as e:
                print(f"could not remove {path}: {e}", file=sys.stderr)
        assert not os.path.exists(base), f"left {base} behind"


def test_container_and_pod_cpu_match_the_kernel(kubemeter_bin, real_tree):
    base, mkdir, tmp = real_tree
    uid = str(uuid.uuid4())
    app_id, sandbox_id = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    mkdir("kubepods.slice")
    mkdir("kubepods.slice", "kubepods-burstable.slice")
    pod_slice = f"kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    pod = mkdir("kubepods.slice", "kubepods-burstable.slice", pod_slice)
    app = mkdir("kubepods.slice", "kubepods-burstable.slice", pod_slice, f"cri-containerd-{app_id}.scope")
    mkdir("kubepods.slice", "kubepods-burstable.slice", pod_slice, f"cri-containerd-{sandbox_id}.scope")

    logs = tmp / "var/log"
    pod_dir = logs / "pods" / f"burn-ns_burner-7d9f_{uid}" / "burn"
    pod_dir.mkdir(parents=True)
    (pod_dir / "0.log").write_text("")
    (logs / "containers").mkdir()
    os.symlink(str(pod_dir / "0.log"), logs / "containers" / f"burner-7d9f_burn-ns_burn-{app_id}.log")

    burner = subprocess.Popen([sys.executable, "-c", BURNER, "0.6"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with open(os.path.join(app, "cgroup.procs"), "w") as f:
        f.write(str(burner.pid))
    burner.stdin.write("go\n")
    burner.stdin.flush()
    rusage_seconds = float(burner.stdout.readline())
    assert burner.wait(timeout=30) == 0

    before_app, before_pod = usage_usec(app), usage_usec(pod)
    out = subprocess.run([kubemeter_bin, "snapshot", "--cgroup-path", base,
                          "--pod-log-path", str(logs / "pods"), "--container-log-path", str(logs / "containers")],
                         check=True, capture_output=True, text=True).stdout
    after_app, after_pod = usage_usec(app), usage_usec(pod)

    got = {}
    for fam in text_string_to_metric_families(out):
        for s in fam.samples:
            got[(s.name, tuple(sorted(s.labels.items())))] = s.value
    container = got[("container_cpu_usage_seconds_total", (("container", "burn"), ("namespace", "burn-ns"), ("pod", "burner-7d9f")))]
    pod_cpu = got[("pod_cpu_usage_seconds_total", (("namespace", "burn-ns"), ("pod", "burner-7d9f")))]
    # The process has exited: the kernel's counters are final, so the readings are exact.
    assert before_app == after_app and before_pod == after_pod
    assert container == after_app / 1e6
    assert pod_cpu == after_pod / 1e6
    assert pod_cpu >= container, "the pod cgroup is hierarchical: it holds the container"
    # And the kernel agrees with the burner's own getrusage (CPU it burnt, plus interpreter start-up).
    assert container >= 0.6
    assert abs(container - rusage_seconds) <= 0.05 + 0.05 * rusage_seconds, (container, rusage_seconds)
    # Only the app container is a row: the sandbox (no log path) is not.
    assert sum(1 for k in got if k[0] == "container_cpu_usage_seconds_total") == 1


def scrape(agent, path="/metrics/resource"):
    return agent.metrics(path)


def open_paths(pid):
    """What the process has open; an fd closed between the listing and its readlink (the scrape's
    connection, closing as we look) is skipped, not an error."""
    paths = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            paths.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return paths


def test_kept_open_files_stay_fresh_and_removed_cgroups_vanish(agent, real_tree):
    """The agent keeps cgroup files open between scrapes and re-reads them with pread at offset 0.
    On the real kernel that must give fresh values (kernfs regenerates on every read) and a
    removed cgroup must turn into a skipped, counted container, never an error."""
    base, mkdir, tmp = real_tree
    uid = str(uuid.uuid4())
    ids = [uuid.uuid4().hex * 2 for _ in range(2)]
    mkdir("kubepods")
    pod = mkdir("kubepods", f"pod{uid}")
    app, other = (mkdir("kubepods", f"pod{uid}", i) for i in ids)
    logs = tmp / "var/log"
    (logs / "containers").mkdir(parents=True)
    for name, cid in zip(["app", "other"], ids):
        d = logs / "pods" / f"ns_p_{uid}" / name
        d.mkdir(parents=True)
        (d / "0.log").write_text("")
        os.symlink(str(d / "0.log"), logs / "containers" / f"p_ns_{name}-{cid}.log")
    a = agent("--cgroup-path", base, "--pod-log-path", str(logs / "pods"), "--container-log-path", str(logs / "containers"))
    key = ("container_cpu_usage_seconds_total", (("container", "app"), ("namespace", "ns"), ("pod", "p")))
    first = scrape(a)
    assert first[key] == usage_usec(app) / 1e6

    fds = open_paths(a.proc.pid)
    assert os.path.join(app, "cpu.stat") in fds, "cpu.stat is kept open between scrapes"

    burner = subprocess.Popen([sys.executable, "-c", BURNER, "0.3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with open(os.path.join(app, "cgroup.procs"), "w") as f:
        f.write(str(burner.pid))
    burner.stdin.write("go\n")
    burner.stdin.flush()
    burner.stdout.readline()
    assert burner.wait(timeout=30) == 0
    second = scrape(a)
    assert second[key] >= first[key] + 0.3, "the kept fd must read the new usage"
    assert second[key] == usage_usec(app) / 1e6

    os.rmdir(other)
    os.unlink(logs / "containers" / f"p_ns_other-{ids[1]}.log")
    third = scrape(a)
    assert ("container_cpu_usage_seconds_total", (("container", "other"), ("namespace", "ns"), ("pod", "p"))) not in third
    assert third[("resource_scrape_error", ())] == 0
    assert third[key] == usage_usec(app) / 1e6
    assert third[("pod_cpu_usage_seconds_total", (("namespace", "ns"), ("pod", "p")))] == usage_usec(pod) / 1e6
    fds = open_paths(a.proc.pid)
    assert not any(p.startswith(other) for p in fds), "the removed cgroup's fds are closed"


def test_a_cgroup_removed_and_another_created_between_scrapes(agent, real_tree):
    """kernfs keeps a directory's link count when one child goes and another comes: the cached
    listing must not hide the new container (the removed one's ENODEV forces a new listing)."""
    base, mkdir, tmp = real_tree
    uid = str(uuid.uuid4())
    old, new = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    mkdir("kubepods")
    mkdir("kubepods", f"pod{uid}")
    old_dir = mkdir("kubepods", f"pod{uid}", old)
    logs = tmp / "var/log"
    (logs / "containers").mkdir(parents=True)
    d = logs / "pods" / f"ns_p_{uid}" / "app"
    d.mkdir(parents=True)
    (d / "0.log").write_text("")
    os.symlink(str(d / "0.log"), logs / "containers" / f"p_ns_app-{old}.log")
    # Listings of directories changed in the last 2 s are not trusted (coarse mtimes); let the
    # pod directory age so that its listing is cached, which is the case under test.
    time.sleep(2.5)
    a = agent("--cgroup-path", base, "--pod-log-path", str(logs / "pods"), "--container-log-path", str(logs / "containers"))
    key = ("container_cpu_usage_seconds_total", (("container", "app"), ("namespace", "ns"), ("pod", "p")))
    assert key in scrape(a)
    os.rmdir(old_dir)
    mkdir("kubepods", f"pod{uid}", new)
    (d / "1.log").write_text("")
    os.symlink(str(d / "1.log"), logs / "containers" / f"p_ns_app-{new}.log")
    got = scrape(a)
    assert key in got, "the restarted container is seen at the very next scrape"
    health = scrape(a, "/metrics")
    assert health[("kubemeter_cgroups_vanished_total", ())] >= 1
