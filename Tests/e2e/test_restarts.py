"""Restart counts from the node alone: `kubemeter_container_restarts_total` on /metrics/cadvisor
(and RESTARTS in /top.json) is the kubelet's restart count, `n` of the
/var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log each container's /var/log/containers link
points at (kubelet kuberuntime helpers.go `buildContainerLogsPath`), compared with fake-node's
truth.json; and a container the kubelet restarts between two scrapes counts one more."""
import json
import os
import subprocess
import sys

import pytest

from conftest import FAKE_NODE

FAMILY = "kubemeter_container_restarts_total"


def restarts(agent):
    """{(namespace, pod, container, id): count} from /metrics/cadvisor."""
    got = {}
    for (name, labels), value in agent.metrics("/metrics/cadvisor").items():
        if name != FAMILY:
            continue
        l = dict(labels)
        assert l["container"] != "", f"a pod series: {l}"
        assert set(l) == {"container", "id", "name", "namespace", "pod"}, l
        key = (l["namespace"], l["pod"], l["container"], l["name"])
        assert key not in got, f"two series for {key}"
        got[key] = value
    return got


def truth_restarts(node):
    truth = json.load(open(os.path.join(node, "truth.json")))
    return {(p["namespace"], p["name"], c["name"], c["id"]): float(c["restart_count"])
            for p in truth["pods"] for c in p["containers"]}


@pytest.mark.parametrize("driver,runtime", [("systemd", "containerd"), ("cgroupfs", "crio")])
def test_the_family_equals_truth(fake_node, agent, driver, runtime):
    node = fake_node(pods=8, containers=3, driver=driver, runtime=runtime)
    want = truth_restarts(node)
    # The tree has both kinds, and older and rotated logs beside each live one.
    assert 0.0 in want.values() and any(v > 0 for v in want.values())
    assert restarts(agent("--host-root", node)) == want


def test_a_restart_between_two_scrapes_counts_one_more(fake_node, agent):
    node = fake_node(pods=4, containers=2)
    a = agent("--host-root", node)
    before = restarts(a)
    assert before == truth_restarts(node)

    # The kubelet restarts one container: a new ID and cgroup, <n+1>.log, a link to it, the old
    # link removed.
    subprocess.run([sys.executable, FAKE_NODE, node, "--restart", "1", "--seed", "9"], check=True, stdout=subprocess.DEVNULL)
    links = os.listdir(os.path.join(node, "var/log/containers"))
    assert len(links) == len(before), "the old link is gone, the new one there"

    after = restarts(a)
    assert after == truth_restarts(node)
    gone = set(before) - set(after)
    new = set(after) - set(before)
    assert len(gone) == 1 and len(new) == 1
    (ns, pod, container, old_id), = gone
    (ns2, pod2, container2, new_id), = new
    assert (ns, pod, container) == (ns2, pod2, container2) and old_id != new_id
    assert after[(ns, pod, container, new_id)] == before[(ns, pod, container, old_id)] + 1
    # Every other container kept its count.
    assert {k: v for k, v in after.items() if k not in new} == {k: v for k, v in before.items() if k not in gone}

    # /top.json says the same: each container row its count, each pod row their sum.
    status, _, body = a.get("/top.json")
    assert status == 200
    pods = json.loads(body)["pods"]
    for p in pods:
        counts = [c["restarts"] for c in p["containers"]]
        assert counts == [after[k] for c in p["containers"] for k in after if k[:3] == (p["namespace"], p["pod"], c["container"])]
        assert p["restarts"] == sum(counts)
    assert any(c["restarts"] == after[(ns, pod, container, new_id)]
               for p in pods if (p["namespace"], p["pod"]) == (ns, pod) for c in p["containers"] if c["container"] == container)
