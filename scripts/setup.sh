#!/usr/bin/env bash
# Installs what is missing to build and run: the Debian packages Theia's native modules need, and the
# npm dependencies (without downloading browsers or the Electron binary). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libsecret-1-dev libxkbfile-dev libx11-dev pkg-config)
# The in-repo plugins (plugins/): Python debugging (debugpy's adapter), the Python language server (pylsp),
# and Find in Files (ripgrep).
packages+=(python3-debugpy python3-pylsp ripgrep)
# The tests also drive Debian's Chromium and start a real Redis.
if [ -n "${SETUP_TEST_PACKAGES:-}" ]; then
    packages+=(chromium redis-server)
fi
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for package in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
else
    echo "setup: not a Debian-like system; make sure these are installed: ${packages[*]}" >&2
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

export PUPPETEER_SKIP_DOWNLOAD=1 ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [ -d node_modules ] && [ -z "${SETUP_FORCE_INSTALL:-}" ] && npm ls --all >/dev/null 2>&1; then
    echo "setup: npm dependencies are installed (SETUP_FORCE_INSTALL=1 to reinstall them)"
else
    npm ci
fi
