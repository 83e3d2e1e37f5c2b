#!/usr/bin/env bash
# A stand-in for ptxas (EINLOOM_PTXAS) in tests that need spills on demand:
# it writes a placeholder cubin and reports, in ptxas -v's words, each
# kernel entry of the PTX as spilling 64 bytes when its body matches the
# extended regular expression FAKE_PTXAS_SPILL_ON, and as spill-free
# otherwise. Each call appends a line to FAKE_PTXAS_CALLS, when set.
# Arguments as the compiler passes them: -arch=sm_XX -v -O3 in.ptx -o out.cubin
set -euo pipefail
in=$4 out=$6
[ -n "${FAKE_PTXAS_CALLS:-}" ] && echo call >> "$FAKE_PTXAS_CALLS"
printf 'not a cubin\n' > "$out"
awk -v pat="${FAKE_PTXAS_SPILL_ON:-^$}" -v arch="${1#-arch=}" '
  function report() {
    if (name == "") return
    printf "ptxas info    : Compiling entry function '\''%s'\'' for '\''%s'\''\n", name, arch
    printf "ptxas info    : Function properties for %s\n", name
    printf "    0 bytes stack frame, %d bytes spill stores, %d bytes spill loads\n", spill, spill
  }
  /\.entry / { report(); name = $0; sub(/.*\.entry /, "", name); sub(/\(.*/, "", name); spill = 0; next }
  name != "" && $0 ~ pat { spill = 64 }
  END { report() }
' "$in" >&2
