#!/usr/bin/env bash
# Installs the Debian packages that the test suite and the demo use:
#   python3-cryptography  an independent Fernet / RSA / AES implementation for interop tests
#   openssl               `openssl speed` and certificate checks
#   nginx                 the TLS reverse-proxy harness
#   swtpm, tpm2-tools     a software TPM and the tools that produce quotes
#   chromium              a headless browser for the dashboard's page tests (driven by playwright-core)
# Needs root (or sudo). Does nothing when everything is already there.
set -euo pipefail

packages=(python3-cryptography openssl nginx swtpm swtpm-tools tpm2-tools chromium)
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: not a Debian or Ubuntu system; install these yourself: ${packages[*]}" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-system-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# nginx must not start a system-wide server on port 80: the tests run their own instances.
$SUDO env RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop nginx 2>/dev/null || true; fi
$SUDO pkill -x nginx 2>/dev/null || true
