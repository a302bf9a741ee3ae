#!/usr/bin/env bash
# Installs SoftHSM 2 (Debian/Ubuntu package softhsm2) when softhsm2-util is missing.
# The PKCS#11 signer tests create their own token directory and SOFTHSM2_CONF, so nothing
# else is configured here. Safe to run more than once. Run it; do not source it.
set -euo pipefail

if ! command -v softhsm2-util >/dev/null 2>&1; then
  echo "ci: installing softhsm2"
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    sudo_cmd="sudo"
  fi
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends softhsm2 >/dev/null
fi

softhsm2-util --version >/dev/null
for module in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
  if [ -f "$module" ]; then
    echo "ci: SoftHSM $(softhsm2-util --version) at $module"
    break
  fi
done
