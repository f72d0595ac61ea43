#!/usr/bin/env bash
# `make e2e-node`: kubemeter on a real Linux node. Builds (once, cached) a Debian bookworm guest
# image, boots it under qemu (TCG) on Debian's kernel with the unified cgroup v2 hierarchy, runs
# Tests/e2e-node/guest/node_test.py inside from a oneshot unit, and prints its checks.
# See docs/testing.md. Needs root (apt-get, debootstrap, mkfs.ext4 -d of a root-owned tree).
#
# Environment: KUBEMETER_BIN (skip the build, use this binary), E2E_NODE_TIMEOUT (seconds a guest
# may run, default 720), E2E_NODE_STALL (seconds of console silence that mean a frozen guest,
# default 120), E2E_NODE_ATTEMPTS (boots in all when guests freeze, default 3), E2E_NODE_CACHE
# (default <repo>/.build-e2e-node), E2E_NODE_KERNEL_ARGS (extra guest kernel options, default
# loglevel=4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${E2E_NODE_CACHE:-$repo/.build-e2e-node}
timeout_s=${E2E_NODE_TIMEOUT:-720}
stall_s=${E2E_NODE_STALL:-120}
attempts=${E2E_NODE_ATTEMPTS:-3}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
start=$(date +%s)
say() { echo "e2e-node: $*"; }

mkdir -p "$cache"
# One run at a time per cache: a second run would delete the first one's share under its guest.
exec 9>"$cache/.lock"
flock -n 9 || { echo "e2e-node: another run holds $cache/.lock" >&2; exit 1; }

# 1. Host tools.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. The agent as it ships: release build, static Swift stdlib.
bin=${KUBEMETER_BIN:-}
if [ -z "$bin" ]; then
    say "building the release binary (make release: static Swift runtime, lld, DT_RELR)"
    (cd "$repo" && make -s release 2>&1 | tail -n 1)
    bin=$repo/.build/release/kubemeter
fi

# 3. The guest image, cached under the hash of its recipe.
recipe_hash=$(cat "$here/build-image.sh" "$here/guest/kubemeter-e2e.service" | sha256sum | cut -c1-16)
image=$cache/image-$recipe_hash
mkdir -p "$cache"
if [ ! -f "$image/disk.img" ]; then
    say "building the guest image $image (recipe changed or first run)"
    find "$cache" -maxdepth 1 -name 'image-*' -exec rm -rf {} +
    $SUDO "$here/build-image.sh" "$image.tmp"
    mv "$image.tmp" "$image"
else
    say "guest image cached: $image ($(cat "$image/kernel-version"))"
fi

# 4. The share: the test, the agent, the unit when the repository has one; results come back in out/.
share=$cache/share
rm -rf "$share"
mkdir -p "$share/guest" "$share/bin" "$share/out"
cp "$here/guest/"*.py "$here/guest/"*.sh "$share/guest/"
cp "$bin" "$share/bin/kubemeter"
if [ -f "$repo/deploy/systemd/kubemeter.service" ]; then
    mkdir -p "$share/deploy"
    cp "$repo/deploy/systemd/kubemeter.service" "$share/deploy/"
    [ -f "$repo/deploy/systemd/ephemeral-storage.conf" ] && cp "$repo/deploy/systemd/ephemeral-storage.conf" "$share/deploy/"
    say "deploy/systemd/kubemeter.service found: the guest will also run it as a service"
else
    say "deploy/systemd/kubemeter.service not in this repository: the service checks will be skipped"
fi
# The DaemonSet, as `kubectl apply -k` would create it: each posture's manifests rendered by
# kustomize here, the DaemonSet's pod template as JSON (the guest has no PyYAML). The guest turns
# its container spec into an OCI runtime spec and runs it with runc.
render_daemonset() {  # kustomization directory, output file
    kubectl kustomize "$repo/$1" | python3 -c '
import json, sys, yaml
ds = [d for d in yaml.safe_load_all(sys.stdin) if d and d.get("kind") == "DaemonSet"]
if len(ds) != 1:
    sys.exit(f"expected one DaemonSet, got {len(ds)}")
json.dump({"source": sys.argv[1], "name": ds[0]["metadata"]["name"], "template": ds[0]["spec"]["template"]},
          sys.stdout, indent=1)
' "$1" >"$2"
}
if command -v kubectl >/dev/null && python3 -c 'import yaml' 2>/dev/null && [ -f "$repo/deploy/kubernetes/kustomization.yaml" ]; then
    mkdir -p "$share/deploy"
    render_daemonset deploy/kubernetes "$share/deploy/daemonset.json"
    render_daemonset deploy/kubernetes/overlays/ephemeral-storage "$share/deploy/daemonset-ephemeral-storage.json"
    say "deploy/kubernetes rendered (kubectl kustomize: the base and overlays/ephemeral-storage): the guest will run the DaemonSet's container spec with runc"
else
    say "kubectl or python3-yaml missing: the DaemonSet checks will be skipped"
fi

# 5. Boot. No NIC (-nic none): nothing in the guest can reach a network. The disk is opened with
# snapshot=on, so the cached image stays pristine. A guest whose console stays silent for
# E2E_NODE_STALL seconds is hung (the longest quiet stretch of a good run is about 16 s; the guest's
# own watchdog prints where it is stuck after 60 s): it is killed and booted again (up to E2E_NODE_ATTEMPTS
# boots), and each stall is printed. A guest that finishes with failed checks is never booted again.
console=$cache/console.log
qemu_pid=
# A run stopped from outside (CI cancelled, ^C) takes its guest with it.
trap '[ -z "$qemu_pid" ] || kill -9 "$qemu_pid" 2>/dev/null || true' EXIT
boot_guest() {  # -> qemu_rc, stalled (1 when killed for a silent console)
    local started=$SECONDS last_size=-1 last_change=$SECONDS size pid
    stalled=0
    # 9>&-: the guest must not hold this run's lock after it (see flock above).
    qemu-system-x86_64 \
        -accel tcg,thread=multi -cpu max -smp 2 -m 4096 -nographic -no-reboot \
        -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all ipv6.disable=1 panic=-1 ${E2E_NODE_KERNEL_ARGS:-loglevel=4}" \
        -drive file="$image/disk.img",format=raw,if=virtio,snapshot=on \
        -virtfs local,path="$share",mount_tag=e2e,security_model=none,id=e2e \
        -nic none </dev/null >"$console" 2>&1 9>&- &
    pid=$! qemu_pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        size=$(stat -c %s "$console" 2>/dev/null || echo 0)
        if [ "$size" != "$last_size" ]; then
            last_size=$size last_change=$SECONDS
        elif [ $((SECONDS - last_change)) -ge "$stall_s" ]; then
            say "the guest's console has been silent for $((SECONDS - last_change))s: killing it"
            stalled=1
            break
        fi
        if [ $((SECONDS - started)) -ge "$timeout_s" ]; then
            say "the guest did not finish within ${timeout_s}s: killing it"
            break
        fi
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        sleep 5
        kill -9 "$pid" 2>/dev/null || true
    fi
    set +e
    wait "$pid"
    qemu_rc=$?
    set -e
    qemu_pid=
}

attempt=1
while :; do
    rm -rf "$share/out" && mkdir -p "$share/out"
    say "booting the guest, attempt $attempt of $attempts (qemu TCG, 2 vCPUs, 4 GiB; boot under a minute, the test about 4), timeout ${timeout_s}s, stall ${stall_s}s"
    boot_guest
    [ -s "$share/out/status" ] && break
    if [ "$stalled" = 1 ] && [ "$attempt" -lt "$attempts" ]; then
        cp "$console" "$cache/console-attempt$attempt.log"
        echo "e2e-node: STALL on attempt $attempt (kept in $cache/console-attempt$attempt.log); its console tail:" >&2
        tail -n 40 "$console" | sed 's/^/  | /' >&2
        attempt=$((attempt + 1))
        continue
    fi
    break
done

# 6. Verdict.
status=$(cat "$share/out/status" 2>/dev/null || true)
if [ -s "$share/out/report.txt" ]; then
    cat "$share/out/report.txt"
fi
if [ -s "$share/out/posture-table.txt" ]; then
    echo
    cat "$share/out/posture-table.txt"
fi
elapsed=$(( $(date +%s) - start ))
if [ -z "$status" ]; then
    echo "e2e-node: FAILED: the guest did not finish in $attempt attempt(s) (qemu exit $qemu_rc, after ${elapsed}s in all; the last one killed for a silent console: $stalled). Console tail:" >&2
    tail -n 60 "$console" | sed 's/^/  | /' >&2
    exit 1
fi
# The Summary API documents the real node served, checked on this side against the Go types'
# table (Tests/e2e/kubelet_schema.py): the guest has only the agent and its test.
if [ "$status" = pass ]; then
    if ! python3 - "$share/out" "$repo/Tests/e2e" <<'PY'
import glob, json, sys
sys.path.insert(0, sys.argv[2])
import kubelet_schema
files = sorted(glob.glob(sys.argv[1] + "/summary-*.json"))
bad = {f: kubelet_schema.violations(json.load(open(f)), "Summary") for f in files}
bad = {f: v for f, v in bad.items() if v}
print(f"e2e-node: {len(files)} /stats/summary documents of the real node against the Go types: "
      + ("all conform" if not bad and files else f"violations {bad}" if bad else "none written"))
sys.exit(1 if bad or not files else 0)
PY
    then status="the real node's /stats/summary does not conform to the Go types"; fi
fi
case "$status" in
pass)
    say "PASSED in ${elapsed}s (guest kernel $(cat "$image/kernel-version"); outputs in $share/out)" ;;
*)
    echo "e2e-node: FAILED: $status (outputs in $share/out). Console tail:" >&2
    tail -n 30 "$console" | sed 's/^/  | /' >&2
    exit 1 ;;
esac
