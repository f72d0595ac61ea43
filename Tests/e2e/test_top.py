"""`kubemeter top` as a person runs it: live in a terminal (tmux, keys sent, screen read back),
piped, and as JSON, on fake-node trees whose truth.json gives the right figures."""
import json
import os
import shutil
import subprocess
import time

import pytest

from topview import assert_pod_rows, parse_bytes, rows, truth


def run_top(binary, tree, *args, env=None):
    proc = subprocess.run([binary, "top", "--host-root", tree, "--interval", "0.2", *args],
                          capture_output=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_piped_prints_one_plain_table_and_exits(kubemeter_bin, fake_node):
    tree = fake_node(pods=4, containers=2)
    out = run_top(kubemeter_bin, tree)
    assert "\x1b" not in out  # no escapes into a pipe
    lines = out.splitlines()
    assert lines[0].startswith("node  cpu 0.000")
    assert lines[1].startswith("rates over ") and "sorted by cpu" in lines[1]
    assert_pod_rows(rows(out), truth(tree))


def test_json_output_has_truths_values(kubemeter_bin, fake_node):
    tree = fake_node(pods=3, containers=3, driver="cgroupfs", runtime="crio")
    data = json.loads(run_top(kubemeter_bin, tree, "--output", "json", "--containers"))
    t = truth(tree)
    assert data["interval_seconds"] > 0
    assert data["node"]["memory_working_set_bytes"] == t["node"]["working_set_bytes"]
    assert data["node"]["cpu_cores"] == 0
    expected = {(p["namespace"], p["name"], c["name"]): c["working_set_bytes"] for p in t["pods"] for c in p["containers"]}
    got = {(r["namespace"], r["pod"], r["container"]): r["memory_working_set_bytes"] for r in data["rows"]}
    assert got == expected
    for r in data["rows"]:
        assert r["cpu_cores"] == 0
        for key in ("cpu_limit_cores", "memory_limit_bytes", "throttled_percent", "oom_kills"):
            assert r[key] is None or r[key] >= 0


def test_filters_sort_and_wide(kubemeter_bin, fake_node):
    tree = fake_node(pods=8, containers=2)
    t = truth(tree)
    namespace = t["pods"][0]["namespace"]
    out = run_top(kubemeter_bin, tree, "--namespace", namespace[:3] + "*", "--sort", "memory")
    got = rows(out)
    want = sorted((p for p in t["pods"] if p["namespace"].startswith(namespace[:3])),
                  key=lambda p: -p["working_set_bytes"])
    assert [r["POD"] for r in got] == [p["name"] for p in want]
    pod = t["pods"][-1]["name"]
    got = rows(run_top(kubemeter_bin, tree, "--pod", pod[2:9], "--containers"))
    assert {r["POD"] for r in got} == {pod} and len(got) == 2
    wide = run_top(kubemeter_bin, tree, "--output", "wide")
    assert "QOS" in wide and "PSI-MEM" in wide
    assert {r["QOS"] for r in rows(wide)} <= {"guaranteed", "burstable", "besteffort"}


def test_columns_env_fits_the_width(kubemeter_bin, fake_node):
    tree = fake_node(pods=3, containers=1)
    out = run_top(kubemeter_bin, tree, env={**os.environ, "COLUMNS": "60"})
    assert all(len(line) <= 60 for line in out.splitlines())


class Tmux:
    """A tmux server of our own (its own socket), one 160x30 pane running a plain bash."""

    def __init__(self, tmp_path):
        self.socket = str(tmp_path / "tmux.sock")
        self.cmd("new-session", "-d", "-x", "160", "-y", "30", "env", "-i", "PATH=/usr/bin:/bin", "TERM=xterm",
                 "bash", "--norc", "--noprofile")
        self.cmd("set-option", "-g", "status", "off")

    def cmd(self, *args):
        return subprocess.run(["tmux", "-S", self.socket, *args], check=True, capture_output=True,
                              timeout=10).stdout.decode()

    def keys(self, *keys):
        self.cmd("send-keys", *keys)

    def screen(self):
        return self.cmd("capture-pane", "-p")

    def wait_for(self, predicate, what):
        deadline = time.time() + 20
        while time.time() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"screen never showed {what}:\n{self.screen()}")

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def tmux(tmp_path):
    if not shutil.which("tmux"):
        pytest.fail("tmux is not installed (make test-deps installs it)")
    t = Tmux(tmp_path)
    yield t
    t.close()


def test_live_view_in_a_terminal(kubemeter_bin, fake_node, tmux):
    tree = fake_node(pods=5, containers=2)
    t = truth(tree)
    tmux.keys(f"{kubemeter_bin} top --host-root {tree} --interval 0.3; echo EXITED $?", "Enter")
    screen = tmux.wait_for(lambda s: "rates over" in s, "a table with rates")
    lines = screen.splitlines()
    assert lines[0].startswith("node  cpu 0.000")
    assert all(len(line) <= 160 for line in lines)
    assert_pod_rows(rows(screen), t)
    assert lines[-1].startswith("q quit")  # the key help sits on the last line

    tmux.keys("m")
    screen = tmux.wait_for(lambda s: "sorted by memory" in s, "the memory sort")
    by_memory = sorted(t["pods"], key=lambda p: -p["working_set_bytes"])
    assert [r["POD"] for r in rows(screen)] == [p["name"] for p in by_memory]

    tmux.keys("e")
    screen = tmux.wait_for(lambda s: "showing 10 containers" in s, "container rows")
    got = rows(screen)
    assert len(got) == 10
    for pod in t["pods"]:
        for c in pod["containers"]:
            row = next(r for r in got if r["POD"] == pod["name"] and r["CONTAINER"] == c["name"])
            value, slack = parse_bytes(row["MEM"])
            assert abs(value - c["working_set_bytes"]) <= slack

    tmux.keys("q")
    screen = tmux.wait_for(lambda s: "EXITED 0" in s, "a clean exit")
    assert "NAMESPACE" not in screen  # the alternate screen is gone, the shell's screen is back
    tmux.keys("echo typed-back", "Enter")  # echo and line editing are restored
    tmux.wait_for(lambda s: "$ echo typed-back" in s or "# echo typed-back" in s, "the typed command echoed")


def test_ctrl_c_leaves_the_terminal_clean(kubemeter_bin, fake_node, tmux):
    tree = fake_node(pods=2, containers=1)
    tmux.keys(f"{kubemeter_bin} top --host-root {tree} --interval 0.3 --sort name; echo EXITED $?", "Enter")
    tmux.wait_for(lambda s: "sorted by name" in s and "rates over" in s, "the table")
    tmux.keys("C-c")
    screen = tmux.wait_for(lambda s: "EXITED 0" in s, "a clean exit")
    assert "NAMESPACE" not in screen
    tmux.keys("echo after-ctrl-c", "Enter")
    tmux.wait_for(lambda s: "echo after-ctrl-c" in s and s.count("after-ctrl-c") >= 2, "echo restored")


def test_narrow_terminal_fits_and_follows_a_resize(kubemeter_bin, fake_node, tmux):
    tree = fake_node(pods=3, containers=1)
    t = truth(tree)
    tmux.keys(f"{kubemeter_bin} top --host-root {tree} --interval 0.3", "Enter")
    wide = tmux.wait_for(lambda s: "rates over" in s and "TX/s" in s, "the full table at 160 columns")
    assert len(rows(wide)) == 3
    tmux.cmd("resize-window", "-x", "70", "-y", "20")
    # A table not cut to 70 columns would wrap in the pane and no longer parse as rows.
    screen = tmux.wait_for(lambda s: "TX/s" not in s and len(rows(s)) == 3, "the table cut to 70 columns")
    assert screen.splitlines()[1].startswith("rates over")  # the node line is cut, not wrapped
    got = rows(screen)
    assert list(got[0])[:6] == ["NAMESPA~", "POD", "CONTAIN~", "CPU", "CPU%LIM", "MEM"]
    for pod in t["pods"]:
        row = next(r for r in got if pod["name"].startswith(r["POD"].rstrip("~")))
        value, slack = parse_bytes(row["MEM"])
        assert abs(value - pod["working_set_bytes"]) <= slack
    tmux.keys("q")
