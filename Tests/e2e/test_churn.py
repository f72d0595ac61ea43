"""Pods come and go between scrapes: every round's series must match that round's truth."""
import subprocess
import sys

from conftest import FAKE_NODE
import expected
from test_resource_metrics import compare, parse

ROUNDS = 200


def test_churn_rounds_match_truth_every_time(fake_node, agent):
    tree = fake_node(pods=12, containers=2, driver="systemd", runtime="containerd", seed=3)
    a = agent("--host-root", tree)
    failures = 0
    for round_number in range(ROUNDS):
        status, _, body = a.get("/metrics/resource")
        assert status == 200
        got, _ = parse(body)
        compare(got, expected.series(tree))
        assert got[("resource_scrape_error", frozenset())][0] == 0
        args = ["--churn", "2", "--seed", str(round_number + 10)] if round_number % 2 == 0 else ["--advance", "5"]
        subprocess.run([sys.executable, FAKE_NODE, tree, *args], check=True, stdout=subprocess.DEVNULL)
    health_status, _, health = a.get("/metrics")
    assert health_status == 200
    assert b"kubemeter_collection_failures_total 0\n" in health
