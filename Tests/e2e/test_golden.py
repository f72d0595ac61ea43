"""Golden end-to-end outputs (node_exporter's end-to-end-test.sh habit): the agent serves a small
checked-in node (Tests/golden/node, written once by `Tests/tools/fake-node --pods 2 --containers 1
--seed 7`; kept as written, since the generator's pressure figures are not all seeded; only its
var/log and truth.json's restart counts are rewritten, by `fake-node Tests/golden/node --logs-only`,
when the generator's log paths change) and every document must equal the one checked in under Tests/golden/expected, so any change
in what the agent serves shows as a diff in review.

After an intended change, rewrite the expected files and review the diff:
    KUBEMETER_UPDATE_GOLDEN=1 make e2e     (or: make golden-update)
Only what differs between two runs is normalised: the collection's wall-clock time, the rate
interval, and the path to the tree.

Git keeps no mtimes, and a container's start time is the mtime of its cgroup directory (cAdvisor's
way), so the test serves a copy of the tree whose cgroup directories get back the creation
times the generator recorded in truth.json ("created"); a clean clone then serves what the goldens
hold."""
import json
import os
import re
import shutil

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(os.path.dirname(HERE), "golden")
TREE = os.path.join(GOLDEN, "node")
UPDATE = os.environ.get("KUBEMETER_UPDATE_GOLDEN") == "1"

# endpoint -> (expected file, kind)
DOCUMENTS = {
    "/metrics/resource": ("metrics_resource.txt", "text"),
    "/metrics/cadvisor": ("metrics_cadvisor.txt", "text"),
    "/snapshot.json": ("snapshot.json", "json"),
    "/stats/summary": ("summary.json", "json"),
    "/pods": ("pods.json", "json"),
    "/top.json": ("top.json", "json"),
    "/top": ("top.txt", "text"),
}
# Fields whose values are the moment of the request, not the node's state: zeroed. The Summary
# API's `time` is each reading's; `usageNanoCores` a rate over the request's own window (left out
# by a request less than a second after the first collection); the node's `fs` and `imageFs` are
# statfs of the disk the checkout is on.
MOMENT_FIELDS = {"timestamp_ms", "interval_seconds", "time"}
DROPPED_FIELDS = {"usageNanoCores"}
MACHINE_OBJECTS = {"fs", "imageFs"}


def normalised_json(body, tree):
    def walk(value, machine=False):
        if isinstance(value, dict):
            return {k: (0 if k in MOMENT_FIELDS or (machine and not isinstance(v, dict)) else walk(v, k in MACHINE_OBJECTS))
                    for k, v in value.items() if k not in DROPPED_FIELDS}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return value.replace(tree, "$TREE")
        return value
    return json.dumps(walk(json.loads(body)), indent=1) + "\n"


def normalised_text(body, tree):
    # The table's rate interval is the request's own ("rates over 1.00 s").
    return re.sub(r"rates over \d+\.\d+ s", "rates over N s", body.replace(tree, "$TREE"))


def tree_with_recorded_start_times(destination):
    """A copy of the golden tree whose cgroup directories (and their cgroup.events) carry the
    creation times truth.json records, as the generator set them."""
    shutil.copytree(TREE, destination, symlinks=True)
    with open(os.path.join(TREE, "truth.json")) as f:
        truth = json.load(f)
    # Every directory whose creation time the generator set, by path under the tree.
    created = truth["created"]
    for relative, t in created.items():
        os.utime(os.path.join(destination, relative, "cgroup.events"), (t, t))
        os.utime(os.path.join(destination, relative), (t, t))
    wanted = {c["id"] for pod in truth["pods"] for c in pod["containers"]}
    assert all(any(i in path for path in created) for i in wanted), "a container's directory has no recorded time"
    return str(destination)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return tree_with_recorded_start_times(tmp_path_factory.mktemp("golden") / "node")


@pytest.mark.parametrize("path", list(DOCUMENTS))
def test_served_document_equals_its_golden(agent, tree, path):
    a = agent("--host-root", tree, "--node-name", "golden-node")
    status, _, body = a.get(path)
    assert status == 200
    name, kind = DOCUMENTS[path]
    text = body.decode()
    got = normalised_json(text, tree) if kind == "json" else normalised_text(text, tree)
    expected_path = os.path.join(GOLDEN, "expected", name)
    if UPDATE:
        os.makedirs(os.path.dirname(expected_path), exist_ok=True)
        with open(expected_path, "w") as f:
            f.write(got)
    with open(expected_path) as f:
        expected = f.read()
    assert got == expected, f"{path} differs from {expected_path}; if intended: KUBEMETER_UPDATE_GOLDEN=1 make e2e"

