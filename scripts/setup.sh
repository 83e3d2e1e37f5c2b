#!/usr/bin/env bash
# Installs the Debian packages Einloom builds against, only those that are missing.
# Idempotent: when everything is present it returns in well under a second.
set -euo pipefail

packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools python3-numpy python3-pytest
  python3-pip python3-wheel python3-setuptools python3-matplotlib
  libfmt-dev libgtest-dev libfftw3-dev
  cmake ninja-build ccache g++ python3 zstd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
