"""Reading `kubemeter top` tables back, for the e2e tests of `top` and `GET /top`."""
import json
import os

UNITS = {"B": 1, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def truth(tree):
    with open(os.path.join(tree, "truth.json")) as f:
        return json.load(f)


def parse_bytes(text):
    """'712Mi' -> (712 * 2**20, half of the last digit's worth in bytes)."""
    for unit in ("Ki", "Mi", "Gi", "Ti", "B"):
        if text.endswith(unit):
            number = text[: -len(unit)]
            decimals = len(number.split(".")[1]) if "." in number else 0
            return float(number) * UNITS[unit], 0.5 * 10 ** -decimals * UNITS[unit]
    raise AssertionError(f"not a byte figure: {text!r}")


def rows(text):
    """The table's rows as dicts keyed by column title (names have no spaces, so split works)."""
    lines = text.splitlines()
    header_at = next((i for i, l in enumerate(lines) if l.startswith("NAMESPA")), None)
    if header_at is None:
        return []
    titles = lines[header_at].split()
    out = []
    for line in lines[header_at + 1:]:
        cells = line.split()
        if len(cells) != len(titles):
            break
        out.append(dict(zip(titles, cells)))
    return out


def assert_pod_rows(table_rows, tree_truth):
    """Every pod once; memory working set as truth.json says; CPU 0 (the tree does not change);
    RESTARTS the sum of truth.json's restart counts; limit, throttle, OOM, PSI and network columns
    either unknown or a number."""
    by_pod = {(r["NAMESPACE"], r["POD"]): r for r in table_rows}
    assert len(by_pod) == len(table_rows) == len(tree_truth["pods"])
    for pod in tree_truth["pods"]:
        row = by_pod[(pod["namespace"], pod["name"])]
        value, slack = parse_bytes(row["MEM"])
        assert abs(value - pod["working_set_bytes"]) <= slack, (row, pod["working_set_bytes"])
        assert row["CPU"] == "0.000", row
        assert row["CONTAINER"] == f"({len(pod['containers'])})"
        for column in ("CPU%LIM", "MEM%LIM", "THR%", "PSI"):
            assert row[column] == "-" or float(row[column]) >= 0, row
        assert row["OOM"] == "-" or int(row["OOM"]) >= 0
        # The kubelet's restart counts (from the log paths), summed over the pod as kubectl does.
        assert int(row["RESTARTS"]) == sum(c["restart_count"] for c in pod["containers"]), row
        for column in ("RX/s", "TX/s"):
            assert row[column] in ("-", "host") or parse_bytes(row[column])[0] >= 0
