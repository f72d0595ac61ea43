#!/usr/bin/env bash
# Installs what the deploy checks need, leaving the system Python untouched: Debian packages for
# kubectl-free tools we can get from apt (systemd-analyze, promtool), and a virtualenv under the
# git-ignored .build-venv/ for the PyPI-only checkers (kubernetes-validate, checkov).
# Idempotent: a second run installs nothing. Versions are pinned so CI results are reproducible.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

need_debs=()
command -v systemd-analyze >/dev/null || need_debs+=(systemd)
command -v promtool >/dev/null || need_debs+=(prometheus)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_debs+=(python3-venv)
if [ ${#need_debs[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_debs[@]}"
fi

if ! command -v kubectl >/dev/null; then
    echo "kubectl is not installed (expected at /usr/bin/kubectl); the kustomize render check needs it" >&2
    exit 1
fi

VENV=.build-venv
KUBERNETES_VALIDATE=1.37.0
CHECKOV=3.3.30
if [ ! -x "$VENV/bin/python" ]; then
    /usr/bin/python3 -m venv "$VENV"
fi
if ! "$VENV/bin/pip" show kubernetes-validate 2>/dev/null | grep -qx "Version: $KUBERNETES_VALIDATE" \
   || ! "$VENV/bin/pip" show checkov 2>/dev/null | grep -qx "Version: $CHECKOV"; then
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE" "checkov==$CHECKOV"
fi
echo "deploy tools: $(systemd-analyze --version | head -1); $(promtool --version 2>&1 | head -1);" \
     "kubectl $(kubectl version --client -o yaml | awk '/gitVersion/ {print $2}');" \
     "kubernetes-validate $KUBERNETES_VALIDATE; checkov $CHECKOV"
