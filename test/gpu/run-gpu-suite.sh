#!/usr/bin/env bash
# ctest -L gpu: the GPU suite through the locally built tools. Skips (77),
# saying why, where there is no CUDA driver or device.
set -uo pipefail
BUILD=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
"$BUILD/bin/einloom-compile" --einsum "mk,nk->mn" --sizes m=16,n=16,k=16 -o "$probe/p.bundle" || exit 1
out=$("$BUILD/bin/einloom-run-rt" "$probe/p.bundle" 2>&1)
if echo "$out" | grep -q -e "cannot load the CUDA driver" -e "no CUDA device" -e "CUDA_ERROR_NO_DEVICE"; then
  echo "SKIP: no usable GPU here: $(echo "$out" | grep -m1 '^error:')"
  exit 77
fi
cd "$here"
BUILD="$BUILD" PACK="$probe/pack" bash scripts/build-gpu-pack.sh > /dev/null
OUT="$probe/out" bash scripts/gpu-check "$probe/pack"
