"""fake-node --storage: the files of every pod's ephemeral storage (writable layers, logs, volumes,
etc-hosts) and truth.json's "ephemeral_storage", checked against GNU du, which counts as the
kubelet does (allocated blocks, each inode once, the top directory included, symlinks not
followed). No kubemeter binary is needed: this tests the generator's truth itself."""
import json
import os
import re
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE_NODE = os.path.join(ROOT, "Tests", "tools", "fake-node")
RUNTIMES = ["containerd", "crio", "docker"]
TASKS = "/run/containerd/io.containerd.runtime.v2.task/k8s.io/"
SNAPSHOTS = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/"
HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def fake_node(out, *args):
    subprocess.run([sys.executable, FAKE_NODE, str(out), *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return str(out)


def load(tree, name):
    with open(os.path.join(tree, name)) as f:
        return json.load(f)


def sandbox_ids(tree):
    """pod UID -> its sandbox's ID (state.json: truth.json has no sandboxes)."""
    return {p["uid"]: p["sandbox_id"] for p in load(tree, "state.json")["pods"]}


def du(*paths, apparent=False):
    """GNU du's total over the paths (one invocation: hard links counted once across them)."""
    if not paths:
        return {"bytes": 0, "inodes": 0}

    def total(*flags):
        out = subprocess.run(["du", "-s", "-c", *flags, "--", *paths], check=True, capture_output=True, text=True)
        last = out.stdout.splitlines()[-1].split("\t")
        assert last[1] == "total"
        return int(last[0])
    if apparent:
        return total("--apparent-size", "--block-size=1")
    return {"bytes": total("--block-size=1"), "inodes": total("--inodes")}


def files_in(d):
    """What the kubelet measures in a log directory: the entries that are not directories."""
    return [os.path.join(d, n) for n in sorted(os.listdir(d)) if not stat.S_ISDIR(os.lstat(os.path.join(d, n)).st_mode)]


def mountinfo(tree):
    """(mount id, minor, mount point, fs type, super options) per line of OUT/proc/1/mountinfo."""
    rows = []
    with open(os.path.join(tree, "proc/1/mountinfo")) as f:
        for line in f:
            left, right = line.rstrip("\n").split(" - ")
            left, right = left.split(" "), right.split(" ")
            opts = dict(o.split("=", 1) if "=" in o else (o, "") for o in right[2].split(","))
            rows.append((int(left[0]), left[2], left[4], right[0], opts))
    return rows


def layers(tree, runtime):
    """container or sandbox ID -> its writable layer's directory, found as an agent finds it."""
    if runtime == "containerd":
        out = {}
        for _, _, point, fstype, opts in mountinfo(tree):
            if fstype == "overlay" and point.startswith(TASKS):
                cid = point[len(TASKS):].split("/")[0]
                assert point == f"{TASKS}{cid}/rootfs"
                out[cid] = os.path.join(tree, opts["upperdir"].lstrip("/"))
        return out
    if runtime == "crio":
        entries = load(tree, "var/lib/containers/storage/overlay-containers/containers.json")
        return {e["id"]: os.path.join(tree, "var/lib/containers/storage/overlay", e["layer"], "diff") for e in entries}
    mounts = os.path.join(tree, "var/lib/docker/image/overlay2/layerdb/mounts")
    out = {}
    for cid in os.listdir(mounts):
        with open(os.path.join(mounts, cid, "mount-id")) as f:
            out[cid] = os.path.join(tree, "var/lib/docker/overlay2", f.read(), "diff")
    return out


def check_truth_against_du(tree, runtime):
    truth = load(tree, "truth.json")
    by_id = layers(tree, runtime)
    seen = {"pod_logs": 0, "volumes": 0, "configmap": 0}
    for pod in truth["pods"]:
        es = pod["ephemeral_storage"]
        logs = os.path.join(tree, "var/log/pods", f"{pod['namespace']}_{pod['name']}_{pod['uid']}")
        kp = os.path.join(tree, "var/lib/kubelet/pods", pod["uid"])
        assert sorted(es["containers"]) == sorted(c["name"] for c in pod["containers"])
        parts = []
        for c in pod["containers"]:
            got = es["containers"][c["name"]]
            d = by_id[c["id"]]
            assert os.path.isdir(d)
            assert got["rootfs"] == du(d), (pod["name"], c["name"], d)
            assert got["logs"] == du(*files_in(os.path.join(logs, c["name"])))
            parts += [got["rootfs"], got["logs"]]
        assert es["pod_logs"] == du(*files_in(logs))
        seen["pod_logs"] += es["pod_logs"]["inodes"] > 0
        vols = {}
        for kind in ("kubernetes.io~empty-dir", "kubernetes.io~configmap"):
            d = os.path.join(kp, "volumes", kind)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                vols[name] = os.path.join(d, name)
                seen["configmap"] += kind.endswith("configmap")
        assert sorted(es["volumes"]) == sorted(vols)
        for name, d in vols.items():
            assert es["volumes"][name] == du(d), (pod["name"], name)
        seen["volumes"] += len(vols)
        for kind in ("kubernetes.io~secret", "kubernetes.io~projected"):  # tmpfs: not counted
            d = os.path.join(kp, "volumes", kind)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                assert name not in es["volumes"]
        assert es["etc_hosts"] == du(os.path.join(kp, "etc-hosts"))
        parts += list(es["volumes"].values()) + [es["pod_logs"], es["etc_hosts"]]
        assert es["total"] == {"bytes": sum(p["bytes"] for p in parts), "inodes": sum(p["inodes"] for p in parts)}
    return seen


@pytest.fixture(scope="module", params=RUNTIMES)
def tree(request, tmp_path_factory):
    runtime = request.param
    # seed 14: emptyDirs with sparse files and hard links in every runtime (a volume's files depend
    # on the pod alone, not on the runtime), and configmaps, pod-level log files
    return runtime, fake_node(tmp_path_factory.mktemp(runtime) / "node", "--pods", 6, "--containers", 2,
                              "--runtime", runtime, "--seed", 14, "--storage")


def test_truth_equals_du(tree):
    runtime, t = tree
    seen = check_truth_against_du(t, runtime)
    assert seen["pod_logs"] and seen["volumes"] and seen["configmap"], seen
    assert load(t, "state.json")["storage"] is True


def test_layout(tree):
    runtime, t = tree
    truth = load(t, "truth.json")
    by_id = layers(t, runtime)
    containers = {c["id"] for p in truth["pods"] for c in p["containers"]}
    sandboxes = set(sandbox_ids(t).values())
    assert containers | sandboxes <= set(by_id)
    dirs = [by_id[i] for i in containers | sandboxes]
    assert len(set(dirs)) == len(dirs)  # no two share a layer; the pause container's is its own
    for s in sandboxes:
        assert du(by_id[s])["inodes"] > 1  # files an agent must not add to any container's
    if runtime == "containerd":
        rows = mountinfo(t)
        assert [r[2:4] for r in rows[:5]] == [("/", "ext4"), ("/proc", "proc"), ("/sys", "sysfs"),
                                              ("/sys/fs/cgroup", "cgroup2"), ("/run", "tmpfs")]
        assert len({r[0] for r in rows}) == len(rows) and len({r[1] for r in rows}) == len(rows)
        overlays = [r for r in rows if r[3] == "overlay"]
        assert len(overlays) == len(containers | sandboxes)
        for _, _, point, _, opts in overlays:
            up, work = opts["upperdir"], opts["workdir"]
            n = up[len(SNAPSHOTS):].split("/")[0]
            assert up == f"{SNAPSHOTS}{n}/fs" and work == f"{SNAPSHOTS}{n}/work"
            assert os.listdir(os.path.join(t, work.lstrip("/"))) == []
            for lower in opts["lowerdir"].split(":"):  # image layers: exist, hold files, not counted
                assert lower.startswith(SNAPSHOTS) and lower != up
                assert du(os.path.join(t, lower.lstrip("/")))["inodes"] > 1
    elif runtime == "crio":
        entries = load(t, "var/lib/containers/storage/overlay-containers/containers.json")
        ids = [e["id"] for e in entries]
        assert len(ids) == len(set(ids)) == len(containers | sandboxes) + 1
        stale = set(ids) - containers - sandboxes
        assert len(stale) == 1
        for e in entries:
            assert HEX64.match(e["layer"]) and HEX64.match(e["image"]) and e["created"].endswith("Z")
            json.loads(e["metadata"])
            layer = os.path.join(t, "var/lib/containers/storage/overlay", e["layer"])
            assert os.listdir(os.path.join(layer, "work")) == []
            with open(os.path.join(layer, "link")) as f:
                assert re.fullmatch(r"[A-Z0-9]{26}", f.read())
        names = {e["id"]: e["names"][0] for e in entries}
        for p in truth["pods"]:
            assert names[sandbox_ids(t)[p["uid"]]] == f"k8s_POD_{p['name']}_{p['namespace']}_{p['uid']}_0"
            for c in p["containers"]:
                assert names[c["id"]] == (f"k8s_{c['name']}_{p['name']}_{p['namespace']}_{p['uid']}_"
                                          f"{c['restart_count']}")
    else:
        for cid in containers | sandboxes:
            m = os.path.join(t, "var/lib/docker/image/overlay2/layerdb/mounts", cid)
            with open(os.path.join(m, "mount-id")) as f:
                mount_id = f.read()
            assert HEX64.match(mount_id)  # no trailing newline, as dockerd writes it
            with open(os.path.join(m, "init-id")) as f:
                assert f.read() == mount_id + "-init"
            with open(os.path.join(m, "parent")) as f:
                assert re.fullmatch(r"sha256:[0-9a-f]{64}", f.read())
            init = os.path.join(t, "var/lib/docker/overlay2", mount_id + "-init", "diff")
            assert len([f for f in os.listdir(init) if not os.path.isdir(os.path.join(init, f))]) >= 1
    for p in truth["pods"]:
        kp = os.path.join(t, "var/lib/kubelet/pods", p["uid"])
        with open(os.path.join(kp, "etc-hosts")) as f:
            hosts = f.read()
        assert hosts.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
        assert hosts.endswith(f"\t{p['name']}\n")
        assert os.listdir(os.path.join(kp, "plugins")) == []
        for c in p["containers"]:
            assert [len(n) for n in os.listdir(os.path.join(kp, "containers", c["name"]))] == [8]
        cm = os.path.join(kp, "volumes/kubernetes.io~configmap")
        for name in os.listdir(cm) if os.path.isdir(cm) else []:
            d = os.path.join(cm, name)
            data = os.readlink(os.path.join(d, "..data"))
            assert re.fullmatch(r"\.\.2026_11_22_10_00_00\.\d{9}", data)
            for key in os.listdir(os.path.join(d, data)):
                assert os.readlink(os.path.join(d, key)) == f"..data/{key}"


def test_sparse_files_and_hard_links(tree):
    """Allocated bytes, not apparent size; a hard-linked inode once."""
    runtime, t = tree
    truth = load(t, "truth.json")
    by_id = layers(t, runtime)
    measured = [(by_id[c["id"]], p["ephemeral_storage"]["containers"][c["name"]]["rootfs"])
                for p in truth["pods"] for c in p["containers"]]
    for p in truth["pods"]:
        for kind in ("empty-dir", "configmap"):
            d = os.path.join(t, "var/lib/kubelet/pods", p["uid"], "volumes", "kubernetes.io~" + kind)
            measured += [(os.path.join(d, n), p["ephemeral_storage"]["volumes"][n])
                         for n in (os.listdir(d) if os.path.isdir(d) else [])]
    sparse = linked = 0
    for d, got in measured:
        names, has_sparse, links = 1, False, 0
        for base, subdirs, files in os.walk(d):
            names += len(subdirs) + len(files)
            for f in files:
                st = os.lstat(os.path.join(base, f))
                if stat.S_ISREG(st.st_mode) and st.st_size >= 2 * 2**20 and st.st_blocks * 512 <= 64 * 1024:
                    has_sparse = True
                links += stat.S_ISREG(st.st_mode) and st.st_nlink == 2
        if has_sparse:
            sparse += 1
            assert got["bytes"] < du(d, apparent=True)
        if links:
            linked += 1
            assert got["inodes"] == names - links // 2
    assert sparse and linked


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_without_storage_nothing_changes(tmp_path, runtime):
    t = fake_node(tmp_path / "node", "--pods", 3, "--containers", 2, "--runtime", runtime, "--seed", 11)
    assert not os.path.exists(os.path.join(t, "var/lib/kubelet/pods"))
    assert not os.path.exists(os.path.join(t, "proc/1/mountinfo"))
    assert not os.path.exists(os.path.join(t, "var/lib/containers/storage/overlay-containers"))
    assert not os.path.exists(os.path.join(t, "var/lib/docker/overlay2"))
    assert not os.path.exists(os.path.join(t, "var/lib/containerd/io.containerd.snapshotter.v1.overlayfs"))
    assert all("ephemeral_storage" not in p for p in load(t, "truth.json")["pods"])
    assert "storage" not in load(t, "state.json")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_churn_and_restart_keep_storage(tmp_path, runtime):
    t = fake_node(tmp_path / "node", "--pods", 4, "--containers", 2, "--runtime", runtime, "--seed", 12, "--storage")
    before = {p["uid"]: p["ephemeral_storage"] for p in load(t, "truth.json")["pods"]}
    layers_before = layers(t, runtime)
    rows = (lambda: {r[2]: r for r in mountinfo(t)}) if runtime == "containerd" else dict
    mounts_before = rows()
    fake_node(t, "--churn", 2, "--seed", 13)
    after = {p["uid"]: p["ephemeral_storage"] for p in load(t, "truth.json")["pods"]}
    survivors = before.keys() & after.keys()
    assert len(survivors) == 2 and len(after) == 4
    for uid in survivors:
        assert after[uid] == before[uid], uid
    for uid in after.keys() - before.keys():
        assert after[uid]["containers"] and after[uid]["total"]["inodes"] > 0
    truth = load(t, "truth.json")
    layers_after, sandbox, mounts_after = layers(t, runtime), sandbox_ids(t), rows()
    for p in truth["pods"]:
        if p["uid"] in survivors:  # the same layer paths (containerd: the same mountinfo lines)
            for i in [sandbox[p["uid"]]] + [c["id"] for c in p["containers"]]:
                assert layers_after[i] == layers_before[i]
                if runtime == "containerd":
                    assert mounts_after[f"{TASKS}{i}/rootfs"] == mounts_before[f"{TASKS}{i}/rootfs"]
    check_truth_against_du(t, runtime)
    assert load(t, "state.json")["storage"] is True
    if runtime == "containerd":  # a restart: a new instance, a new snapshot, one more log; still exact
        ids = {c["id"] for p in truth["pods"] for c in p["containers"]}
        fake_node(t, "--restart", 1, "--seed", 14)
        new = {c["id"] for p in load(t, "truth.json")["pods"] for c in p["containers"]} - ids
        assert len(new) == 1 and new <= layers(t, runtime).keys()
        check_truth_against_du(t, runtime)
    fake_node(t, "--logs-only")  # rewrites var/log (the pod-level files too): the truth still holds
    check_truth_against_du(t, runtime)
