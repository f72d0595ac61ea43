"""Hostile host files under some containers of a fake-node tree: each bad container loses exactly
the series its bad file feeds (absent, never 0 and never a made-up number), and every other
container, pod and the node keep their exact values."""
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

import expected
from test_resource_metrics import parse

CPU = "container_cpu_usage_seconds_total"
MEM = "container_memory_working_set_bytes"
BIG = 16 * 1024 * 1024  # bigger than any read buffer the agent could reasonably keep

# (file, contents, the series it feeds). Contents are bytes, or a callable taking the good bytes.
CASES = {
    "cpu-empty": ("cpu.stat", b"", CPU),
    "cpu-garbage": ("cpu.stat", b"\x00\xff\x13garbage \x01\x02\n\n\xfe", CPU),
    "cpu-truncated": ("cpu.stat", lambda good: good.split(b"\n")[0][:7], CPU),
    "cpu-negative": ("cpu.stat", b"usage_usec -5\nuser_usec 1\nsystem_usec 1\n", CPU),
    "cpu-overflow": ("cpu.stat", b"usage_usec 99999999999999999999999\nuser_usec 1\nsystem_usec 1\n", CPU),
    "cpu-max-word": ("cpu.stat", b"usage_usec max\nuser_usec 1\nsystem_usec 1\n", CPU),
    "cpu-duplicate": ("cpu.stat", b"usage_usec 5\nusage_usec 7\nuser_usec 1\nsystem_usec 1\n", CPU),
    "cpu-missing-field": ("cpu.stat", b"user_usec 1\nsystem_usec 1\n", CPU),
    "cpu-huge": ("cpu.stat", b"x" * BIG, CPU),
    "cpu-huge-lines": ("cpu.stat", b"nr_periods 1\n" * (BIG // 13), CPU),
    "mem-current-garbage": ("memory.current", b"lots\n", MEM),
    "mem-current-negative": ("memory.current", b"-4096\n", MEM),
    "mem-current-max": ("memory.current", b"max\n", MEM),
    "mem-current-overflow": ("memory.current", b"18446744073709551616\n", MEM),
    "cpu-absent": ("cpu.stat", None, CPU),
    "mem-current-directory": ("memory.current", "dir", MEM),
    # Bigger than the agent reads: a memory.stat it cannot read gives no working set at all.
    "mem-stat-huge-duplicates": ("memory.stat", b"anon 1\n" * (BIG // 7), MEM),
    "mem-stat-garbage": ("memory.stat", bytes(range(256)) * 64, MEM),
}


# memory.stat that parses but has no `inactive_file`: cAdvisor subtracts nothing, so the working set
# is memory.current exactly (CgroupSample.workingSet says so too). Checked against the file itself.
NO_INACTIVE_FILE = {
    "mem-stat-missing": b"anon 4096\nfile 4096\n",
    "mem-stat-duplicated-inactive": b"anon 4096\ninactive_file 1\ninactive_file 2\n",
}


def corrupt(cdir, name, contents):
    path = os.path.join(cdir, name)
    good = open(path, "rb").read()
    os.remove(path)
    if contents is None:
        return
    if contents == "dir":
        os.mkdir(path)
        return
    with open(path, "wb") as f:
        f.write(contents(good) if callable(contents) else contents)


def containers(tree):
    """[(labels dict, cgroup dir)] for every container in the tree's truth."""
    by_id, _ = expected._cgroup_dirs(tree)
    import json
    truth = json.load(open(os.path.join(tree, "truth.json")))
    return [({"namespace": p["namespace"], "pod": p["name"], "container": c["name"]}, by_id[c["id"]])
            for p in truth["pods"] for c in p["containers"]]


def check(got, want, broken):
    """`broken` maps frozenset(container labels) -> the series name that must be absent."""
    wrong, missing, invented = [], [], []
    for key, value in want.items():
        name, labels = key
        if broken.get(labels) == name:
            if key in got:
                invented.append((key, got[key][0]))
            continue
        if key not in got:
            missing.append(key)
        elif got[key][0] != float(value):
            wrong.append((key, got[key][0], value))
    extra = set(got) - set(want)
    assert not invented, f"a series fed by a bad file was served: {invented[:3]}"
    assert not missing, f"good series missing: {missing[:3]}"
    assert not wrong, f"good series wrong: {wrong[:3]}"
    assert not extra, f"unexpected series: {sorted(extra)[:3]}"


def test_bad_files_lose_only_their_own_series(fake_node, agent):
    tree = fake_node(pods=len(CASES), containers=2, seed=5)
    want = expected.series(tree)
    ctrs = containers(tree)
    broken = {}
    # The first container of each pod gets one bad file; the second stays good.
    for (case, (name, contents, series)), (labels, cdir) in zip(CASES.items(), ctrs[::2]):
        corrupt(cdir, name, contents)
        broken[frozenset(labels.items())] = series
    a = agent("--host-root", tree)
    for _ in range(2):  # twice: the second scrape reuses whatever buffers the first grew
        status, _, body = a.get("/metrics/resource")
        assert status == 200
        got, _ = parse(body)
        check(got, want, broken)
    assert a.get("/healthz")[0] == 200


def test_memory_stat_without_inactive_file_gives_memory_current(fake_node, agent):
    tree = fake_node(pods=len(NO_INACTIVE_FILE), containers=2, seed=8)
    want = expected.series(tree)
    usage = {}
    for (case, contents), (labels, cdir) in zip(NO_INACTIVE_FILE.items(), containers(tree)[::2]):
        corrupt(cdir, "memory.stat", contents)
        key = (MEM, frozenset(labels.items()))
        usage[key] = int(open(os.path.join(cdir, "memory.current")).read())
        assert usage[key] != want[key], "the tree must have inactive_file > 0 for this to tell"
    a = agent("--host-root", tree)
    got, _ = parse(a.get("/metrics/resource")[2])
    for key, value in usage.items():
        assert got[key][0] == float(value)
    check({k: v for k, v in got.items() if k not in usage}, {k: v for k, v in want.items() if k not in usage}, {})


def test_unparsable_memory_stat_drops_the_working_set(fake_node, agent):
    tree = fake_node(pods=2, containers=2, seed=9)
    want = expected.series(tree)
    (labels, cdir) = containers(tree)[0]
    corrupt(cdir, "memory.stat", bytes(range(256)) * 64)
    a = agent("--host-root", tree)
    got, _ = parse(a.get("/metrics/resource")[2])
    check(got, want, {frozenset(labels.items()): MEM})


def test_crlf_files_give_the_true_value_or_none(fake_node, agent):
    tree = fake_node(pods=4, containers=2, seed=6)
    want = expected.series(tree)
    for labels, cdir in containers(tree)[::2]:
        for name in ("cpu.stat", "memory.stat", "memory.current"):
            path = os.path.join(cdir, name)
            data = open(path, "rb").read()
            open(path, "wb").write(data.replace(b"\n", b"\r\n"))
    a = agent("--host-root", tree)
    got, _ = parse(a.get("/metrics/resource")[2])
    for key, value in want.items():
        if key in got:
            assert got[key][0] == float(value), (key, got[key][0], value)
        else:
            assert key[0] in (CPU, MEM), f"only series fed by a CRLF file may be absent: {key}"


def test_unreadable_files_as_a_non_root_agent(kubemeter_bin, fake_node, agent, tmp_path):
    """chmod 000 stops only a non-root reader, so the agent runs as nobody (setpriv)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    if os.geteuid() != 0:
        pytest.skip("needs root to switch the agent to uid 65534")
    # The tree and the binary must be readable by nobody; pytest's tmp_path is not.
    base = tempfile.mkdtemp(prefix="kubemeter-hostile-", dir="/tmp")
    try:
        os.chmod(base, 0o755)
        tree = expected_tree = fake_node(pods=4, containers=2, seed=7)
        tree = shutil.copytree(expected_tree, os.path.join(base, "node"), symlinks=True)
        # Symlinks in var/log/containers point into the original tree; repoint them.
        logs = os.path.join(tree, "var/log/containers")
        for n in os.listdir(logs):
            p = os.path.join(logs, n)
            target = os.readlink(p)
            os.remove(p)
            os.symlink(target.replace(expected_tree, tree), p)
        binary = os.path.join(base, "kubemeter")
        shutil.copy(kubemeter_bin, binary)
        wrapper = os.path.join(base, "as-nobody")
        with open(wrapper, "w") as f:
            f.write(f"#!/bin/sh\nexec {setpriv} --reuid 65534 --regid 65534 --clear-groups {binary} \"$@\"\n")
        os.chmod(wrapper, 0o755)
        subprocess.run(["chmod", "-R", "a+rX", base], check=True)

        want = expected.series(tree)
        ctrs = containers(tree)
        broken = {}
        (l0, d0), (l1, d1) = ctrs[0], ctrs[2]
        os.chmod(os.path.join(d0, "cpu.stat"), 0)
        broken[frozenset(l0.items())] = CPU
        os.chmod(os.path.join(d1, "memory.current"), 0)
        broken[frozenset(l1.items())] = MEM
        # A whole container directory unreadable: nothing of it can be read, and the rest is exact.
        (l2, d2) = ctrs[4]
        os.chmod(d2, 0)

        from conftest import Agent
        a = Agent(wrapper, ["--host-root", tree], str(tmp_path / "nobody.log"))
        try:
            got, _ = parse(a.get("/metrics/resource")[2])
        finally:
            assert a.stop() == 0, a.logs()
        gone = {k for k in want if dict(k[1]).get("container") == l2["container"]
                and dict(k[1])["pod"] == l2["pod"]}
        for k in gone:
            if k in got:
                # Series not read from the container's cgroup (start time comes from elsewhere) may stay.
                assert got[k][0] == float(want[k]) and k[0] not in (CPU, MEM), (k, got[k])
        check({k: v for k, v in got.items() if k not in gone}, {k: v for k, v in want.items() if k not in gone}, broken)
    finally:
        subprocess.run(["chmod", "-R", "u+rwX", base])
        shutil.rmtree(base, ignore_errors=True)
