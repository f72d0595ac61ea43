#!/usr/bin/env python3
"""The package graph says what the code does: checks that

1. every module a target's sources import (`import X`, `package import X`, ...) is a dependency
   that target declares in Package.swift (no module reached only through another's dependencies);
2. docs/architecture.md's diagram and its table's "depends on" column are what Package.swift
   declares, no more and no less.

Usage: Tests/architecture/check.py [--update]   (--update rewrites the diagram in the doc)
Reads `swift package dump-package`; exits 1 with each disagreement listed.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "architecture.md")
# Modules of the toolchain and the system: available to every target without a declaration.
SYSTEM = {"Glibc", "Synchronization", "Dispatch", "Testing", "XCTest", "FoundationEssentials", "Foundation", "Musl", "Darwin"}
BEGIN, END = "<!-- diagram: made by Tests/architecture/check.py --update from Package.swift -->", "<!-- end of diagram -->"


def package():
    out = subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    targets = {}
    for t in json.loads(out)["targets"]:
        deps = []
        for d in t.get("dependencies", []):
            (kind, value), = d.items()
            deps.append(value[0])
        path = t.get("path") or os.path.join("Tests" if t["type"] == "test" else "Sources", t["name"])
        targets[t["name"]] = {"type": t["type"], "deps": deps, "path": path}
    return targets


def imports(directory):
    found = {}
    for base, _, files in os.walk(os.path.join(ROOT, directory)):
        for name in files:
            if not name.endswith(".swift"):
                continue
            path = os.path.join(base, name)
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    m = re.match(r"^\s*(?:@testable\s+|@_spi\(\w+\)\s+)?(?:(?:public|package|internal|private|fileprivate)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|typealias)\s+)?(\w+)", line)
                    if m:
                        found.setdefault(m.group(1), f"{os.path.relpath(path, ROOT)}:{number}")
    return found


def diagram(targets):
    lines = ["```mermaid", "graph LR"]
    for name, t in targets.items():
        if t["type"] in ("test",) or name.endswith("TestSupport"):
            continue
        for dep in t["deps"]:
            lines.append(f"    {name} --> {dep}")
    lines.append("```")
    return "\n".join(lines)


def table_dependencies(text):
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^\| `(\w+)` \|.*\| (.*) \|$", line)
        if m:
            rows[m.group(1)] = set(re.findall(r"`(\w+)`", m.group(2)))
    return rows


def main():
    update = "--update" in sys.argv[1:]
    targets = package()
    problems = []
    names = set(targets)
    for name, t in targets.items():
        if t["type"] == "system":
            continue
        for module, where in sorted(imports(t["path"]).items()):
            if module in SYSTEM or module == name:
                continue
            if module not in t["deps"]:
                problems.append(f"{where}: {name} imports {module} but Package.swift does not declare it")
    with open(DOC) as f:
        doc = f.read()
    want = diagram(targets)
    if BEGIN not in doc or END not in doc:
        problems.append(f"docs/architecture.md: no diagram between {BEGIN!r} and {END!r}")
    else:
        current = doc[doc.index(BEGIN) + len(BEGIN):doc.index(END)].strip()
        if current != want:
            if update:
                doc = doc[:doc.index(BEGIN) + len(BEGIN)] + "\n" + want + "\n" + doc[doc.index(END):]
                with open(DOC, "w") as f:
                    f.write(doc)
                print("docs/architecture.md: diagram rewritten from Package.swift")
            else:
                problems.append("docs/architecture.md: the diagram is not Package.swift's graph (run Tests/architecture/check.py --update)")
    declared = table_dependencies(doc)
    for name, t in targets.items():
        if t["type"] == "test":
            continue
        if name not in declared:
            problems.append(f"docs/architecture.md: the table has no row for target {name}")
            continue
        want_deps = {d for d in t["deps"] if d in names or d in ("Logging", "ArgumentParser")}
        got = {d for d in declared[name] if d in names or d in ("Logging", "ArgumentParser")}
        if got != want_deps:
            problems.append(f"docs/architecture.md: {name} depends on {sorted(want_deps)} in Package.swift, the table says {sorted(got)}")
    for name in declared:
        if name not in targets:
            problems.append(f"docs/architecture.md: the table names {name}, which Package.swift does not have")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"architecture: {len(targets)} targets; imports declared; docs/architecture.md matches Package.swift")


if __name__ == "__main__":
    main()
