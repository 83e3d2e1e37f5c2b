"""The a_fragment layout of docs/dialect.md, read back: the codes of an
N x K packed weight, computed with whatever array library holds the words
(NumPy on the host, torch on the GPU), for the benchmarks' references and
their test (test/bench/quant-layout-test.sh)."""


def a_fragment_codes(words, n, k, bits, arange):
    """The N x K unsigned code fields of `words` (the packed int32 words as
    int64 values in [0, 2^32)); `arange(x)` makes 0 .. x-1 in the words'
    library (and device). Signed codes are their fields' two's complement."""
    rows = arange(n).reshape(n, 1)
    ks = arange(k).reshape(1, k)
    nb, row = rows // 16, rows % 16
    kt, kk = ks // 64, ks % 64
    step, kin = kk // 16, kk % 16
    half_k = kin // 8                    # register r // 2
    pair = kin % 8                       # 2 (lane % 4) + h
    h = pair % 2
    lane = (row % 8) * 4 + pair // 2
    r = (row // 8) + 2 * half_k          # register within the k step
    j = 4 * step + r
    base = ((kt * (n // 16) + nb) * 32 + lane) * bits
    if bits == 3:
        # Words 0 and 1: the low bit pairs as 2-bit codes (register 8w + i
        # in fields i and i + 8); word 2: the high bit of register j's half
        # h at bit j + 16 h.
        low = (words[base + j // 8] >> (2 * (j % 8 + 8 * h))) & 3
        high = (words[base + 2] >> (j + 16 * h)) & 1
        return low | (high << 2)
    regs_per_word = 16 // bits if bits < 8 else 2
    i = j % regs_per_word
    shift = bits * (i + regs_per_word * h) if bits < 8 else 8 * (2 * i + h)
    return (words[base + j // regs_per_word] >> shift) & ((1 << bits) - 1)
