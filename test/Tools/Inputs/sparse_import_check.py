"""einloom-import --format tiled_csl, bitmap, block_csr and two_four, checked from the outside: random dense
weights (.npy f16, .safetensors bf16 and f32), imported with and without
pruning; the words are decoded with docs/dialect.md's formula (the inverse
of the swizzled slot) into a dense matrix that must equal the input (pruned
as documented: each row keeps its round(K * (1 - S)) largest magnitudes,
ties to the first). Plain Python (no NumPy), as the test runner may lack it.

usage: sparse_import_check.py EINLOOM_IMPORT DIR
       sparse_import_check.py --bad DIR   (writes r3.npy, rank 3, and int.npy)
"""
import ast
import json
import random
import struct
import subprocess
import sys

tool, out = sys.argv[1], sys.argv[2]
rng = random.Random(3)


def write_npy(path, descr, shape, raw):
    header = str({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + raw)


if tool == "--bad":
    write_npy(f"{out}/r3.npy", "<f2", (2, 3, 4), bytes(2 * 24))
    write_npy(f"{out}/int.npy", "<i4", (4, 4), bytes(4 * 16))
    sys.exit(0)


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def bf16_bits(x):
    f = struct.unpack("<I", struct.pack("<f", x))[0]
    return ((f + 0x7FFF + ((f >> 16) & 1)) >> 16) & 0xFFFF


def from_bits(b, stored):
    if stored == "f16":
        return struct.unpack("<e", struct.pack("<H", b))[0]
    return struct.unpack("<f", struct.pack("<I", b << 16))[0]


def write_npy_f16(path, rows):
    write_npy(path, "<f2", (len(rows), len(rows[0])),
              b"".join(struct.pack(f"<{len(r)}e", *r) for r in rows))


def read_npy_flat(path):
    """A .npy file's shape and values, flattened (f16, f32, i16 or i32)."""
    data = open(path, "rb").read()
    hlen = struct.unpack("<H", data[8:10])[0]
    head = ast.literal_eval(data[10:10 + hlen].decode())
    fmt = {"<f2": "e", "<f4": "f", "<i2": "h", "<i4": "i"}[head["descr"]]
    n = 1
    for d in head["shape"]:
        n *= d
    return head["shape"], list(struct.unpack(f"<{n}{fmt}", data[10 + hlen:]))


def read_npy_i32(path):
    return read_npy_flat(path)[1]


def read_npy(path):
    (rows, cols), flat = read_npy_flat(path)
    return [list(flat[r * cols:(r + 1) * cols]) for r in range(rows)]


def write_safetensors(path, name, rows, dtype):
    flat = [v for r in rows for v in r]
    if dtype == "bf16":
        raw = struct.pack(f"<{len(flat)}H", *(bf16_bits(v) for v in flat))
    else:
        raw = struct.pack(f"<{len(flat)}f", *flat)
    head = json.dumps({name: {"dtype": "BF16" if dtype == "bf16" else "F32",
                              "shape": [len(rows), len(rows[0])],
                              "data_offsets": [0, len(raw)]}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + raw)


def write_input(i, kind, dtype, a):
    """Writes weight `a` as case i's input: an f16 .npy, or a .safetensors
    tensor layer.weight of `dtype`; returns its path and the tool's options
    for it."""
    if kind == "npy":
        path = f"{out}/w{i}.npy"
        write_npy_f16(path, a)
        return path, []
    path = f"{out}/w{i}.safetensors"
    write_safetensors(path, "layer.weight", a, dtype)
    return path, ["--prefix", "layer."] + (["--dtype", "f16"] if dtype == "f32" else [])


def import_case(i, fmt, kind, dtype, a, sparsity, extra=()):
    """Case i: weight `a` written as its input, imported to s{i}.* in `fmt`
    (pruned to `sparsity` where given); exits on the tool's failure."""
    path, args = write_input(i, kind, dtype, a)
    if sparsity is not None:
        args += ["--sparsity", str(sparsity)]
    r = subprocess.run([tool, "--format", fmt, *extra, path, "-o", out, "--name", f"s{i}"] + args,
                       capture_output=True, text=True)
    if r.returncode:
        print(f"case {i}: einloom-import failed: {r.stderr}")
        sys.exit(1)
    return r


def pruned_by_row(a, stored, sparsity):
    """What the tool should store for tiled_csl and bitmap: each value
    rounded to the stored type, each row pruned to its round(K * (1 - S))
    largest magnitudes (ties to the first), zeros of either sign as 0."""
    to_bits = f16_bits if stored == "f16" else bf16_bits
    want = [[to_bits(v) for v in row] for row in a]
    if sparsity is not None:
        keep = int(round(len(a[0]) * (1 - sparsity)))
        for row in want:
            order = sorted(range(len(row)), key=lambda j: -abs(from_bits(row[j], stored)))
            for j in order[keep:]:
                row[j] = 0
    return [[0 if b & 0x7FFF == 0 else b for b in row] for row in want]


def decode(words, offsets, n, k, tr, tc):
    dense = [[0] * k for _ in range(n)]
    tiles_k = -(-k // tc)
    for t in range(len(offsets) - 1):
        ti, tj = divmod(t, tiles_k)
        for w in words[offsets[t]:offsets[t + 1]]:
            w &= 0xFFFFFFFF
            slot, bits = w >> 16, w & 0xFFFF
            r, rest = divmod(slot, tc)
            block, within = divmod(rest, 64)
            c = block * 64 + ((within // 8) ^ (r % 8)) * 8 + within % 8
            dense[ti * tr + r][tj * tc + c] = bits
    return dense


cases = [("npy", "f16", 200, 136, 64, None), ("npy", "f16", 70, 100, 128, 0.8),
         ("st", "bf16", 128, 192, 64, 0.5), ("st", "f32", 65, 64, 64, 0.9),
         ("npy", "f16", 64, 64, 64, 0.0)]
failed = False


def report(i, what, ok, want, r, extra=""):
    """Prints case i's verdict (with the weight's non-zeros and `extra`)
    and the tool's summary; returns whether it failed."""
    nz = sum(b != 0 for row in want for b in row)
    print(f"case {i}: {what}: {'PASS' if ok else 'FAIL'} ({nz} non-zeros{extra})")
    print("  " + r.stdout.strip())
    return not ok
for i, (kind, dtype, n, k, tr, sparsity) in enumerate(cases):
    a = [[0.0 if rng.random() < 0.3 else rng.gauss(0, 1) for _ in range(k)] for _ in range(n)]
    stored = "bf16" if dtype == "bf16" else "f16"
    r = import_case(i, "tiled_csl", kind, dtype, a, sparsity, ["--tile-rows", str(tr)])
    words = read_npy_i32(f"{out}/s{i}.words.npy")
    offsets = read_npy_i32(f"{out}/s{i}.offsets.npy")
    # What the tool should have stored: the value rounded to the stored
    # type, then pruned by magnitude row by row.
    to_bits = f16_bits if stored == "f16" else bf16_bits
    want = pruned_by_row(a, stored, sparsity)
    got = decode(words, offsets, n, k, tr, 64)
    ok = got == want and all(o % 4 == 0 for o in offsets) and offsets[-1] == len(words)
    failed |= report(i, f"{kind} {dtype} {n}x{k} tiles {tr}x64 sparsity {sparsity}", ok, want, r,
                     f", {len(words)} words")


# two_four: values (N x K/2) and metadata (N x K/16, i16: group g's two
# positions i0 | i1 << 2 at bits 4 (g % 4)), decoded as docs/dialect.md
# says; 0.5 prunes each group of 4 to its 2 largest magnitudes (ties to the
# first); an already 2:4 weight goes through unpruned.
cases24 = [("npy", "f16", 64, 128, 0.5), ("st", "bf16", 33, 64, 0.5), ("npy", "f16", 16, 32, None)]
for i, (kind, dtype, n, k, sparsity) in enumerate(cases24, start=len(cases)):
    a = [[rng.gauss(0, 1) for _ in range(k)] for _ in range(n)]
    if sparsity is None:  # already 2:4: zero two of every four, at random
        for row in a:
            for g in range(0, k, 4):
                for j in rng.sample(range(4), 2):
                    row[g + j] = 0.0
    stored = "bf16" if dtype == "bf16" else "f16"
    r = import_case(i, "two_four", kind, dtype, a, sparsity)
    to_bits = f16_bits if stored == "f16" else bf16_bits
    want = [[to_bits(v) for v in row] for row in a]
    if sparsity is not None:
        for row in want:
            for g in range(0, k, 4):
                order = sorted(range(4), key=lambda j: -abs(from_bits(row[g + j], stored)))
                for j in order[2:]:
                    row[g + j] = 0
    want = [[0 if b & 0x7FFF == 0 else b for b in row] for row in want]
    values, meta = read_npy(f"{out}/s{i}.values.npy"), read_npy(f"{out}/s{i}.meta.npy")
    got = [[0] * k for _ in range(n)]
    ok = len(values) == n and len(values[0]) == k // 2 and len(meta[0]) == k // 16
    for row in range(n):
        for g in range(k // 4):
            field = ((meta[row][g // 4] & 0xFFFF) >> (4 * (g % 4))) & 0xF
            i0, i1 = field & 3, field >> 2
            ok &= i0 < i1
            for slot, pos in ((0, i0), (1, i1)):
                got[row][4 * g + pos] = to_bits(values[row][2 * g + slot])
    got = [[0 if b & 0x7FFF == 0 else b for b in row] for row in got]
    ok &= got == want
    failed |= report(i, f"two_four {kind} {dtype} {n}x{k} sparsity {sparsity}", ok, want, r)


# bitmap: offsets, masks (two 32-bit words per 8 x 8 block: rows 0-3, 4-7;
# bit q marks row 4h + q // 8, column q % 8 of the block) and the marked
# values in (block, half, bit) order from offsets[t], decoded as
# docs/dialect.md says.
casesbm = [("npy", "f16", 200, 136, 64, None), ("st", "bf16", 130, 192, 128, 0.6),
           ("npy", "f16", 64, 64, 64, 0.0)]
for i, (kind, dtype, n, k, tr, sparsity) in enumerate(casesbm, start=len(cases) + len(cases24)):
    a = [[0.0 if rng.random() < 0.3 else rng.gauss(0, 1) for _ in range(k)] for _ in range(n)]
    stored = "bf16" if dtype == "bf16" else "f16"
    r = import_case(i, "bitmap", kind, dtype, a, sparsity, ["--tile-rows", str(tr)])
    to_bits = f16_bits if stored == "f16" else bf16_bits
    want = pruned_by_row(a, stored, sparsity)
    offsets = read_npy_i32(f"{out}/s{i}.offsets.npy")
    masks = read_npy_i32(f"{out}/s{i}.masks.npy")
    values = read_npy_flat(f"{out}/s{i}.values.npy")[1]
    got = [[0] * k for _ in range(n)]
    tiles_k, blocks = -(-k // 64), tr * 64 // 64
    ok = all(o % 8 == 0 for o in offsets) and offsets[-1] == len(values)
    for t in range(len(offsets) - 1):
        at = offsets[t]
        for b in range(blocks):
            for h in range(2):
                m = masks[2 * (t * blocks + b) + h] & 0xFFFFFFFF
                for q in range(32):
                    if m >> q & 1:
                        row = (t // tiles_k) * tr + 8 * (b // 8) + 4 * h + q // 8
                        col = (t % tiles_k) * 64 + 8 * (b % 8) + q % 8
                        got[row][col] = to_bits(values[at])
                        at += 1
        ok &= at <= offsets[t + 1]
    ok &= got == want
    failed |= report(i, f"bitmap {kind} {dtype} {n}x{k} tiles {tr}x64 sparsity {sparsity}", ok,
                     want, r, f", {len(values)} values")

# block_csr: row pointers, column indices and the stored 64 x 64 blocks
# (row-major); --sparsity S keeps each block row's round(K / 64 * (1 - S))
# blocks of the largest sum of squares (ties: the first).
casesbsr = [("npy", "f16", 128, 256, None), ("st", "bf16", 192, 128, 0.5),
            ("npy", "f16", 64, 320, 0.8)]
for i, (kind, dtype, n, k, sparsity) in enumerate(
        casesbsr, start=len(cases) + len(cases24) + len(casesbm)):
    # Whole blocks of zeros, and blocks of different sizes to prune by.
    a = [[0.0] * k for _ in range(n)]
    for bi in range(n // 64):
        for bj in range(k // 64):
            if sparsity is None and rng.random() < 0.4:
                continue
            scale = rng.choice([0.5, 1.0, 2.0, 4.0])
            for r in range(64):
                for c in range(64):
                    a[bi * 64 + r][bj * 64 + c] = rng.gauss(0, 1) * scale
    stored = "bf16" if dtype == "bf16" else "f16"
    r = import_case(i, "block_csr", kind, dtype, a, sparsity)
    to_bits = f16_bits if stored == "f16" else bf16_bits
    want = [[to_bits(v) for v in row] for row in a]
    if sparsity is not None:
        keep = int(round(k // 64 * (1 - sparsity)))
        for bi in range(n // 64):
            energy = [sum(from_bits(want[bi * 64 + rr][bj * 64 + cc], stored) ** 2
                          for rr in range(64) for cc in range(64)) for bj in range(k // 64)]
            order = sorted(range(k // 64), key=lambda j: -energy[j])
            for bj in order[keep:]:
                for rr in range(64):
                    for cc in range(64):
                        want[bi * 64 + rr][bj * 64 + cc] = 0
    want = [[0 if b & 0x7FFF == 0 else b for b in row] for row in want]
    row_ptr = read_npy_i32(f"{out}/s{i}.row_ptr.npy")
    col_idx = read_npy_i32(f"{out}/s{i}.col_idx.npy")
    blocks = read_npy_flat(f"{out}/s{i}.blocks.npy")[1]
    got = [[0] * k for _ in range(n)]
    ok = len(row_ptr) == n // 64 + 1 and row_ptr[-1] == len(col_idx) == len(blocks) // 4096
    for bi in range(n // 64):
        for s in range(row_ptr[bi], row_ptr[bi + 1]):
            for rr in range(64):
                for cc in range(64):
                    got[bi * 64 + rr][col_idx[s] * 64 + cc] = to_bits(blocks[s * 4096 + rr * 64 + cc])
    got = [[0 if b & 0x7FFF == 0 else b for b in row] for row in got]
    ok &= got == want
    failed |= report(i, f"block_csr {kind} {dtype} {n}x{k} sparsity {sparsity}", ok, want, r,
                     f", {len(col_idx)} blocks")
sys.exit(1 if failed else 0)
