#!/usr/bin/env bash
# scripts/gpu-check's suite selection on this machine (no GPU): a fake
# runner and nvidia-smi stand in for the device. The default CASES ("*")
# must run every suite bundle even where the current folder has files (it
# once expanded to their names and ran none), a pattern must pick its
# cases only, and a CASES that matches nothing must fail the check.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/pack/suite" "$t/pack/bin" "$t/fakebin" "$t/cwd"
for n in alpha_one alpha_two beta_one; do printf 'HEADER\npayload %s\n' "$n" > "$t/pack/suite/$n.bundle"; done
cat > "$t/pack/bin/einloom-run-rt" <<'SH'
#!/usr/bin/env bash
label=
while [ $# -gt 0 ]; do case $1 in --label) label=$2; shift;; esac; shift; done
[ -z "$label" ] && { echo "error: not a bundle (fake runner)"; exit 1; }
echo "RESULT $label PASS rel=0 ms=nan tflops=nan"
SH
printf '#!/bin/sh\necho "name"\necho "Fake GPU"\n' > "$t/fakebin/nvidia-smi"
chmod +x "$t/pack/bin/einloom-run-rt" "$t/fakebin/nvidia-smi"
touch "$t/cwd/afile" "$t/cwd/another"
fail=0
check() { # what, expected rc (0 or nonzero), grep pattern, CASES...
  local what=$1 want=$2 pat=$3
  shift 3
  out=$(cd "$t/cwd" && PATH="$t/fakebin:$PATH" OUT="$t/out" PARTS=suite "$@" bash "$here/scripts/gpu-check" "$t/pack" 2>&1)
  rc=$?
  if { [ "$want" = 0 ] && [ $rc -ne 0 ]; } || { [ "$want" != 0 ] && [ $rc -eq 0 ]; }; then
    echo "FAIL $what: exit status $rc"; echo "$out" | tail -12; fail=1
  elif ! echo "$out" | grep -q -- "$pat"; then
    echo "FAIL $what: no '$pat' in"; echo "$out" | tail -12; fail=1
  else
    echo "ok $what"
  fi
}
check "default CASES runs every case" 0 "): 3 cases run" env
check "a pattern picks its cases" 0 "): 2 cases run" env CASES="alpha_*"
check "two patterns" 0 "): 2 cases run" env CASES="alpha_one beta_*"
check "no match fails" 1 "suite-cases *NONE" env CASES="gamma_*"
check "the summary times the parts" 0 "seconds per part: suite [0-9]" env
exit $fail
