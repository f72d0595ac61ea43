#!/bin/sh
# Runs inside the guest from kubemeter-e2e.service. The test writes out/status itself; this
# fallback covers a runner that died before it could (the host then shows the console tail).
out=/mnt/e2e/out
mkdir -p "$out"
python3 -u /mnt/e2e/guest/node_test.py /mnt/e2e
rc=$?
[ -s "$out/status" ] || echo "crashed: node_test.py exited with $rc before writing its status" >"$out/status"
journalctl -b --no-pager -o short-monotonic >"$out/journal.txt" 2>&1
sync
exit 0
