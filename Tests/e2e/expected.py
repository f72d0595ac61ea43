"""What a correct agent serves for a fake-node tree: truth.json, plus the few values truth.json
does not carry (swap) read straight from the tree's files, independently of kubemeter."""
import json
import os
import re

HEX64 = re.compile(r"[0-9a-f]{64}")


def _cgroup_dirs(tree):
    """Maps every container ID and pod UID found in cgroup directory names to the directory."""
    by_id, by_uid = {}, {}
    for dirpath, dirnames, _ in os.walk(os.path.join(tree, "sys/fs/cgroup")):
        for d in dirnames:
            full = os.path.join(dirpath, d)
            m = HEX64.search(d)
            if m and "conmon" not in d:
                by_id[m.group(0)] = full
            m = re.search(r"pod([0-9a-f_-]+?)(\.slice)?$", d)
            if m:
                by_uid[m.group(1).replace("_", "-")] = full
    return by_id, by_uid


def _read_int(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    return None if text == "max" else int(text)


def _meminfo(tree):
    out = {}
    with open(os.path.join(tree, "proc/meminfo")) as f:
        for line in f:
            k, v = line.split(":")
            out[k] = int(v.split()[0]) * 1024
    return out


def series(tree, node_cpu="cgroup", node_memory="cgroup"):
    """{(metric name, frozenset(labels)): value} for every series the agent must serve."""
    with open(os.path.join(tree, "truth.json")) as f:
        truth = json.load(f)
    by_id, by_uid = _cgroup_dirs(tree)
    out = {}

    def put(name, labels, value):
        out[(name, frozenset(labels.items()))] = value

    for pod in truth["pods"]:
        pl = {"namespace": pod["namespace"], "pod": pod["name"]}
        pdir = by_uid[pod["uid"]]
        put("pod_cpu_usage_seconds_total", pl, pod["cpu_seconds"])
        put("pod_memory_working_set_bytes", pl, pod["working_set_bytes"])
        swap = _read_int(os.path.join(pdir, "memory.swap.current"))
        if swap is not None:
            put("pod_swap_usage_bytes", pl, swap)
        for c in pod["containers"]:
            cl = dict(pl, container=c["name"])
            cdir = by_id[c["id"]]
            put("container_cpu_usage_seconds_total", cl, c["cpu_seconds"])
            put("container_memory_working_set_bytes", cl, c["working_set_bytes"])
            put("container_start_time_seconds", cl, c["start_time_seconds"])
            swap = _read_int(os.path.join(cdir, "memory.swap.current"))
            if swap is not None:
                put("container_swap_usage_bytes", cl, swap)
                limit = _read_int(os.path.join(cdir, "memory.swap.max"))
                if limit is not None:
                    put("container_swap_limit_bytes", cl, limit)
    node = truth["node"]
    put("node_cpu_usage_seconds_total", {},
        node["cpu_seconds_cgroup"] if node_cpu == "cgroup" else node["cpu_seconds_proc_stat"])
    if node_memory == "cgroup":
        put("node_memory_working_set_bytes", {}, node["working_set_bytes"])
    else:
        put("node_memory_working_set_bytes", {},
            node["memory_total_bytes"] - node["memory_free_bytes"] - node["memory_inactive_file_bytes"])
    mi = _meminfo(tree)
    put("node_swap_usage_bytes", {}, mi["SwapTotal"] - mi["SwapFree"])
    put("resource_scrape_error", {}, 0)
    return out
