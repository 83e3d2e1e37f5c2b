"""Builds small AWQ and GPTQ checkpoints from known integer weights (each
format's documented packing, written here byte by byte), imports them with
einloom-import, and checks the result: the a_fragment words unpack to the
same codes (in act-order's permuted K), the scales and zero points match,
and the CPU reference's GEMM on the imported files (loom.unpack, dequantize,
einsum) equals the product computed here from the original integers.

usage: import_check.py EINLOOM_IMPORT EINLOOM_RUN WORKDIR
Pure Python (no NumPy): prints one line per case and exits 1 on a mismatch.
"""
import json
import os
import random
import struct
import subprocess
import sys

IMPORT, RUN, WORK = sys.argv[1:4]
rng = random.Random(1205)
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def f16(x):
    return struct.unpack("<e", struct.pack("<e", x))[0]


def safetensors(path, tensors):
    """tensors: name -> (dtype, shape, raw bytes)."""
    header, data = {}, b""
    for name, (dt, shape, raw) in tensors.items():
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def i32s(words):
    return struct.pack("<%di" % len(words), *[w - (1 << 32) if w >= 1 << 31 else w for w in words])


def pack_fields(values, bits):
    w = 0
    for i, v in enumerate(values):
        w |= v << (bits * i)
    return w


def pack_stream(values, bits):
    """values as one little-endian bit stream of 32-bit words (GPTQ's
    packing; 3-bit values cross word boundaries)."""
    total = 0
    for i, v in enumerate(values):
        total |= v << (bits * i)
    return [(total >> (32 * w)) & 0xFFFFFFFF for w in range(len(values) * bits // 32)]


def npy_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    hlen = struct.unpack("<H", raw[8:10])[0]
    header = eval(raw[10:10 + hlen].decode())  # a dict literal
    fmt = {"<i4": "i", "<i2": "h", "|i1": "b", "<f2": "e", "<f4": "f", "<f8": "d", "<i8": "q"}[header["descr"]]
    n = 1
    for d in header["shape"]:
        n *= d
    return list(struct.unpack("<%d%s" % (n, fmt), raw[10 + hlen:10 + hlen + n * struct.calcsize(fmt)])), header["shape"]


def npy_write(path, values, shape, descr):
    fmt = {"<f2": "e", "<i4": "i"}[descr]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d," % d for d in shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%d%s" % (len(values), fmt), *values))


def unpack_a_fragment(words, n, k, bits):
    """codes[n][k] from a_fragment words (docs/dialect.md)."""
    regs_per_word = 2 if bits == 8 else 8 if bits == 3 else 16 // bits
    out = [[0] * k for _ in range(n)]
    for kt in range(k // 64):
        for nb in range(n // 16):
            for lane in range(32):
                first = ((kt * (n // 16) + nb) * 32 + lane) * bits
                for j in range(16):
                    word = words[first + j // regs_per_word] & 0xFFFFFFFF
                    i = j % regs_per_word
                    ks, r = j // 4, j % 4
                    for h in range(2):
                        row = nb * 16 + lane // 4 + 8 * (r % 2)
                        kk = kt * 64 + 16 * ks + 2 * (lane % 4) + 8 * (r // 2) + h
                        if bits == 3:  # low pair as 2-bit codes, high bit in word 2
                            high = (words[first + 2] & 0xFFFFFFFF) >> (j + 16 * h) & 1
                            out[row][kk] = (word >> (2 * (i + 8 * h)) & 3) | high << 2
                            continue
                        shift = bits * (i + regs_per_word * h) if bits < 8 else 8 * (2 * i + h)
                        out[row][kk] = (word >> shift) & ((1 << bits) - 1)
    return out


failures = 0


def check(name, fmt, bits, n, k, g, act_order=False):
    global failures
    q = [[rng.randrange(1 << bits) for _ in range(k)] for _ in range(n)]
    groups = k // g
    z = [[rng.randrange(1 << bits) for _ in range(groups)] for _ in range(n)]
    s = [[f16(rng.uniform(0.01, 0.1)) for _ in range(groups)] for _ in range(n)]
    gidx = [kk // g for kk in range(k)]
    if act_order:  # each input channel's group, shuffled (g channels each)
        rng.shuffle(gidx)
    t = {}
    if fmt == "awq":
        qweight = [pack_fields([q[8 * c + AWQ_ORDER[i]][kk] for i in range(8)], 4)
                   for kk in range(k) for c in range(n // 8)]
        qzeros = [pack_fields([z[8 * c + AWQ_ORDER[i]][gg] for i in range(8)], 4)
                  for gg in range(groups) for c in range(n // 8)]
        t["layer.qweight"] = ("I32", [k, n // 8], i32s(qweight))
        t["layer.qzeros"] = ("I32", [groups, n // 8], i32s(qzeros))
    else:
        # GPTQ: qweight packed along K; with act-order the weight's column k
        # belongs to group gidx[k].
        # Column nn's K values are one bit stream down qweight's rows; row
        # gg of qzeros is one stream of N values.
        columns = [pack_stream(q[nn], bits) for nn in range(n)]
        qweight = [columns[nn][r] for r in range(k * bits // 32) for nn in range(n)]
        stored = [[(z[nn][gg] - 1) & ((1 << bits) - 1) if fmt == "gptq" else z[nn][gg]
                   for nn in range(n)] for gg in range(groups)]
        qzeros = [w for gg in range(groups) for w in pack_stream(stored[gg], bits)]
        t["layer.qweight"] = ("I32", [k * bits // 32, n], i32s(qweight))
        t["layer.qzeros"] = ("I32", [groups, n * bits // 32], i32s(qzeros))
        t["layer.g_idx"] = ("I32", [k], i32s(gidx))
    t["layer.scales"] = ("F16", [groups, n],
                         struct.pack("<%dH" % (groups * n), *[f16_bits(s[nn][gg]) for gg in range(groups) for nn in range(n)]))
    path = os.path.join(WORK, name + ".safetensors")
    safetensors(path, t)
    out = os.path.join(WORK, name)
    subprocess.run([IMPORT, "--format", fmt, "--bits", str(bits), "--group", str(g), "--prefix", "layer.",
                    path, "-o", out, "--name", "w"], check=True)
    words, _ = npy_read(os.path.join(out, "w.codes.npy"))
    codes = unpack_a_fragment(words, n, k, bits)
    perm = list(range(k))
    if act_order:
        perm, _ = npy_read(os.path.join(out, "w.perm.npy"))
        if sorted(perm) != list(range(k)) or any(gidx[perm[j]] != j // g for j in range(k)):
            print(f"{name}: FAIL perm does not sort the groups")
            failures += 1
            return
    want = [[q[nn][perm[j]] for j in range(k)] for nn in range(n)]
    zs, _ = npy_read(os.path.join(out, "w.zeros.npy"))
    ss, _ = npy_read(os.path.join(out, "w.scales.npy"))
    ok = (codes == want and zs == [z[nn][gg] for nn in range(n) for gg in range(groups)]
          and ss == [s[nn][gg] for nn in range(n) for gg in range(groups)])
    # The GEMM on the imported files through the CPU reference.
    m = 3
    x = [[f16(rng.uniform(-1, 1)) for _ in range(k)] for _ in range(m)]
    xp = [[x[i][perm[j]] for j in range(k)] for i in range(m)]  # activations in K's new order
    npy_write(os.path.join(out, "x.npy"), [v for row in xp for v in row], [m, k], "<f2")
    zt = "i16" if bits == 8 else "i8"
    ct = "i8"
    mlir = f"""func.func @main(%x: tensor<{m}x{k}xf16>, %p: tensor<{n * k * bits // 32}xi32>, %s: tensor<{n}x{groups}xf16>, %z: tensor<{n}x{groups}x{zt}>) -> tensor<{m}x{n}xf16> {{
  %q = loom.unpack %p {{layout = #loom.layout<format = a_fragment, bits = {bits}, kind = unsigned>}} : (tensor<{n * k * bits // 32}xi32>) -> tensor<{n}x{k}x{ct}>
  %w = loom.dequantize %q, %s, %z {{quant = #loom.quant<bits = {bits}, kind = unsigned, scheme = asymmetric, granularity = group, axis = 1, group_size = {g}, scale_type = f16>}} : (tensor<{n}x{k}x{ct}>, tensor<{n}x{groups}xf16>, tensor<{n}x{groups}x{zt}>) -> tensor<{n}x{k}xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<{m}x{k}xf16>, tensor<{n}x{k}xf16>) -> tensor<{m}x{n}xf16>
  return %y : tensor<{m}x{n}xf16>
}}
"""
    with open(os.path.join(out, "gemm.mlir"), "w") as f:
        f.write(mlir)
    files = ",".join(os.path.join(out, f) for f in ["x.npy", "w.codes.npy", "w.scales.npy", "w.zeros.npy"])
    subprocess.run([RUN, "--reference", os.path.join(out, "gemm.mlir"), "--inputs", files,
                    "--save-outputs", out], check=True, stdout=subprocess.DEVNULL)
    y, shape = npy_read(os.path.join(out, "result0.npy"))
    worst = 0.0
    for i in range(m):
        for nn in range(n):
            # The original layer: x (original K order) times (q - z) * s.
            ref = sum(x[i][kk] * f16((q[nn][kk] - z[nn][gidx[kk]]) * s[nn][gidx[kk]]) for kk in range(k))
            worst = max(worst, abs(y[i * n + nn] - ref) / max(1.0, abs(ref)))
    ok = ok and list(shape) == [m, n] and worst < 2e-3
    print(f"{name}: {'PASS' if ok else 'FAIL'} ({fmt}, {bits}-bit, N={n} K={k} G={g}"
          f"{', act-order' if act_order else ''}; GEMM worst rel {worst:.1e})")
    failures += 0 if ok else 1


os.makedirs(WORK, exist_ok=True)
check("awq4", "awq", 4, 32, 128, 64)
check("gptq4_v1", "gptq", 4, 16, 128, 32)
check("gptq4_v2_actorder", "gptq-v2", 4, 32, 256, 64, act_order=True)
check("gptq8_v2", "gptq-v2", 8, 16, 128, 64)
check("gptq2_v1", "gptq", 2, 16, 128, 128)
check("gptq3_v1", "gptq", 3, 32, 128, 64)
check("gptq3_v2_actorder", "gptq-v2", 3, 64, 256, 128, act_order=True)
sys.exit(1 if failures else 0)
