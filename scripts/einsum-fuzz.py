#!/usr/bin/env python3
"""Differential einsum fuzzer: random valid einsums through the whole compiler.

usage:
  einsum-fuzz.py [--cases N] [--seed S] [--jobs J] [--build DIR] [--report FILE]
                 [--emit-pack DIR] [--timing]
  einsum-fuzz.py --run-pack DIR [--runner PATH] [--timing]

CPU mode (the default; needs NumPy, so run it with the distribution's
/usr/bin/python3): each case is a random einsum of 1 to 4 operands over 1 to 6
labels, with repeated labels (diagonals), size-1 broadcasting and `...`,
sizes that include 1, primes and sizes just over a tile, every dtype (f16,
bf16, f32, tf32, f64, i8, f8E4M3FN, f8E5M2, with f32, fp8 and requantized i8
results), for sm_80 or sm_90a, planned by the planner itself. About a
third of the two-operand float einsums are followed by elementwise ops that
the compiler fuses into the epilogue (a power-of-two scale, a bias, relu, a
residual, a cast), each rounded to its type by the oracle as the reference
evaluates them one by one. It is compiled
to a cubin (ptxas) and evaluated by Einloom's CPU reference, which is compared
with numpy.einsum on the same inputs. Inputs are drawn from values every
dtype holds exactly, so both sums are exact and must agree to the last bit
after rounding to the result type. A crash, an internal error, a refusal of a
valid einsum, a ptxas failure or a spill, or a disagreement is a failure.

A share of the cases (--quant-share, default 0.15) are weight-quantized
contractions instead: x . W with W = (q - z) * s dequantized from 2, 3, 4 or
8-bit codes (signed, or unsigned with zero points), per channel or in
groups of 32 to 256 along K, as `loom.dequantize` feeding `loom.einsum`
("mk,nk->mn", "mk,kn->mn" or "bmk,nk->bmn"; f16 or bf16, f16/bf16 or f32
results), which the compiler fuses into one mixed-input kernel; or, three
in ten of them, fp8 (e4m3, e5m2) or f16 products with block scales
(`scale_block`: one scale per row per BK of K, one per BN x BK block of W),
and some W8A8 int8 products with per-token and per-channel scales (and an
activation zero point's rank-1 term), or, one in ten, attention-style
scores under a block mask (f16, bf16 or i8; 64x64 or 128x128 blocks, one
mask per batch or one for all, fills 0, -inf or a number), or activations
quantized at run time to fp8, one scale per row per 32 to 128 values.
Scales are powers of two and codes small integers, so the dequantized or
scaled operands and the sums are exact: the reference must match NumPy's
product bit for bit.

--large draws model-sized cases instead (labels up to 14336, weights up to
28672 x 16384, 4096 tokens), which reach the plans only large shapes get
(split-K, skinny decode, wide TMA tiles); they are compiled and checked for
spills and internal errors only, with no reference.

--emit-pack DIR also keeps each case's bundle in DIR (with cases.txt), for a
GPU: --run-pack DIR there runs every bundle with einloom-run-rt --check (its
own seeded inputs against the reference), a few dozen bundles per process.
With --timing the cases are large (operands of 8 MB or more, f16, bf16, f32,
f64) and --run-pack DIR --timing times each against torch.einsum in the same
process (needs PyTorch and CuPy; bench/ beside this script or in DIR).

Exit status: 0 when no case failed, 1 otherwise; failures are listed with
the command that reproduces each.
"""
import argparse
import concurrent.futures
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

DTYPES = ["f16", "bf16", "f32", "tf32", "f64", "i8", "f8E4M3FN", "f8E5M2"]
# 1, primes, sizes just over a tile (16, 32, 64, 128) and a few plain ones.
SIZES = [1, 2, 3, 5, 7, 8, 11, 13, 16, 17, 24, 31, 33, 48, 63, 64, 65, 96, 127, 129, 200, 257]
# Values every dtype holds exactly (fp8 e5m2 has two mantissa bits): sums of
# their products are exact in f64 and in f32.
FLOAT_VALUES = [-3.5, -3.0, -2.5, -2.0, -1.75, -1.5, -1.25, -1.0, -0.75, -0.5, -0.25, 0.0,
                0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5]
INT_VALUES = list(range(-8, 9))
# Refusals a valid einsum may get: a target without the instructions.
EXPECTED_REFUSALS = ["need target sm_89", "needs sm_89", "needs target sm_89"]
# Messages that are never a user's fault.
INTERNAL = ["internal error", "cannot be converted to LLVM IR", "LLVM ERROR", "Assertion",
            "UNREACHABLE", "Stack dump", "PLEASE submit", "missing `LLVMTranslation"]
# The largest operand and the reference's work (product of every label's extent).
MAX_OPERAND = 1 << 18
MAX_WORK = 1 << 22
# --large: compile-only cases of model sizes (the reference is not run), to
# reach the plans only large shapes get (split-K, skinny decode, wide TMA
# tiles) and check them for spills.
LARGE = False
LARGE_SIZES = [1, 3, 16, 33, 64, 128, 257, 1000, 1024, 2048, 4096, 4097, 8192, 14336]


class Case:
    def __init__(self, index, seed):
        self.index, self.seed = index, seed
        # "dense", or a quantized family: "weight" (dequantized weight),
        # "block" (block scales), "w8a8", "mask" or "dq8" (FAMILIES below).
        self.family = "dense"

    def name(self):
        return f"fuzz_{self.index:05d}"


QUANT_SHARE = 0.15


def is_quant(seed):
    """Whether the case of `seed` is a weight-quantized one (decided apart
    from the case's own draws, so that the dense cases of a seed set stay
    the same whatever the share)."""
    return random.Random(seed ^ 0x51A7E).random() < QUANT_SHARE


def draw_case(index, seed, timing=False):
    """A random valid einsum (see the module doc)."""
    if not timing and is_quant(seed):
        return draw_quant_case(index, seed)
    r = random.Random(seed)
    c = Case(index, seed)
    n_ops = r.choices([1, 2, 3, 4], [10, 60, 20, 10])[0] if not timing else r.choice([2, 2, 2, 3])
    pool = "abcdefgh"
    n_labels = r.randint(1, 6) if not timing else r.randint(2, 5)
    labels = r.sample(pool, n_labels)
    ellipsis = not timing and r.random() < 0.12
    ell_dims = [r.choice([1, 2, 3, 5]) for _ in range(r.randint(1, 2))] if ellipsis else []
    ops = []
    for _ in range(n_ops):
        rank = r.randint(1, min(4, n_labels + 1))
        sub = [r.choice(labels) for _ in range(rank)]
        # Mostly distinct labels; a repeat now and then (a diagonal).
        if r.random() > 0.12:
            sub = list(dict.fromkeys(sub))
        ops.append(sub)
    used = sorted({l for sub in ops for l in sub})
    for l in labels:  # every label in some operand
        if l not in used:
            r.choice(ops).append(l)
    used = sorted({l for sub in ops for l in sub})
    out = [l for l in used if r.random() < 0.55]
    r.shuffle(out)
    if timing and not out:
        out = [used[0]]
    size = {l: r.choice(LARGE_SIZES if LARGE else SIZES) for l in used}
    if timing:
        size = {l: r.choice([64, 96, 128, 256, 384, 512, 1000, 1024, 2048, 4096]) for l in used}
    dt = r.choice(DTYPES) if not timing else r.choice(["f16", "bf16", "f32", "f64"])
    target = "sm_90a" if (dt.startswith("f8") or timing or r.random() < 0.6) else "sm_80"
    if dt.startswith("f8") and r.random() < 0.05:
        target = "sm_80"  # the refusal must be a clear one
    # Per-operand shapes: a size-1 dimension broadcasts against the others.
    # (Only a label another operand has at full size: that one sets it.)
    shapes = [[size[l] for l in sub] for sub in ops]
    if not timing and r.random() < 0.1:
        i = r.randrange(len(ops))
        if shapes[i]:
            d = r.randrange(len(shapes[i]))
            l = ops[i][d]
            others = any(l in ops[j] for j in range(len(ops)) if j != i)
            if size[l] > 1 and ops[i].count(l) == 1 and others:
                shapes[i][d] = 1
    c.ellipsis = ell_dims
    c.ell_in = [ellipsis and r.random() < 0.85 for _ in ops] if ellipsis else [False] * len(ops)
    if ellipsis and not any(c.ell_in):
        c.ell_in[0] = True
    c.ell_out = ellipsis and r.random() < 0.8
    c.ops, c.shapes, c.out, c.size, c.dt, c.target = ops, shapes, out, size, dt, target
    c.tf32 = dt == "tf32"
    elem = "f32" if dt == "tf32" else dt
    c.elem = elem
    c.out_type = {"i8": "i32"}.get(elem, elem)
    c.alpha = None
    if elem == "i8" and r.random() < 0.15:
        c.out_type, c.alpha = "i8", r.choice([0.0625, 0.125, 0.25])
    elif elem in ("f16", "bf16", "f8E4M3FN", "f8E5M2") and r.random() < 0.2:
        c.out_type = "f32"
    elif elem in ("f16", "bf16") and r.random() < 0.1:
        c.out_type = r.choice(["f8E4M3FN", "f8E5M2"]) if target == "sm_90a" else "f32"
    # Keep the reference cheap: shrink the largest labels until it is.
    # (Timing cases: the result too is at most 2^27 elements, and the work
    # at most 2^37 multiply-adds: big enough to time, small enough to fit.)
    limit_op, limit_work = (MAX_OPERAND, MAX_WORK) if not timing else (1 << 27, 1 << 37)
    if LARGE:
        limit_op, limit_work = 1 << 28, 1 << 60
    while True:
        ops_elems = [math.prod(sh) * math.prod(ell_dims if e else []) for sh, e in zip(shapes, c.ell_in)]
        if timing or LARGE:
            ops_elems.append(math.prod(size[l] for l in c.out) * math.prod(ell_dims if c.ell_out else []))
        work = math.prod(size.values()) * math.prod(ell_dims)
        if max(ops_elems) <= limit_op and work <= limit_work:
            break
        big = max(size, key=lambda l: size[l])
        size[big] = max(1, size[big] // 2)
        for sh, sub in zip(shapes, ops):
            for d, l in enumerate(sub):
                if sh[d] != 1 or size[l] == 1:
                    sh[d] = size[l]
    c.epi = [] if timing else draw_epilogue(c, seed)
    if timing:  # operands of 8 MB or more in all
        eb = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8}[elem]
        total = sum(math.prod(sh) for sh in shapes) * eb
        if total < (8 << 20):
            return draw_case(index, seed * 7919 + 1, timing)
    return c


# --- weight-quantized cases ---------------------------------------------------

QUANT_FORMS = {"nk": ("mk,nk->mn", 1), "kn": ("mk,kn->mn", 0), "bnk": ("bmk,nk->bmn", 1)}


def draw_quant_case(index, seed):
    """x . W with W dequantized from random codes (see the module doc)."""
    r = random.Random(seed)
    kind = r.random()
    if kind < 0.3:
        return draw_block_case(index, seed)
    if kind < 0.45:
        return draw_w8a8_case(index, seed)
    if kind < 0.55:
        return draw_mask_case(index, seed)
    if kind < 0.62:
        return draw_dq8_case(index, seed)
    c = Case(index, seed)
    c.family = "weight"
    c.form = r.choice(["nk", "nk", "kn", "bnk"])
    c.bits = r.choice([2, 3, 4, 4, 8])
    c.asym = r.random() < 0.6
    c.group = r.choice([0, 32, 64, 128, 128, 256])
    unit = 64 if c.group <= 64 else c.group  # K: whole 64-wide tiles and whole groups
    c.k = unit * r.randint(1, max(1, (16384 if LARGE else 768) // unit))
    c.n = 16 * r.randint(1, 1792 if LARGE else 24)
    c.m = r.choice([1, 2, 3, 5, 7, 8, 16, 17, 31, 33, 64, 65, 100, 128, 200, 257] +
                   ([1000, 4096] if LARGE else []))
    c.b = r.choice([2, 3]) if c.form == "bnk" else 1
    c.dt = r.choice(["f16", "bf16"])
    c.out_type = "f32" if r.random() < 0.2 else c.dt
    c.target = "sm_90a" if r.random() < 0.7 else "sm_80"
    while not LARGE and c.b * c.m * c.n * c.k > MAX_WORK:  # keep the reference cheap
        if c.m > 16:
            c.m //= 2
        else:
            c.n = max(16, c.n // 32 * 16)
    spec = QUANT_FORMS[c.form][0]
    c.ops = [list(spec.split("->")[0].split(",")[0]), list(spec.split("->")[0].split(",")[1])]
    return c


def draw_block_case(index, seed):
    """An fp8 (or f16) product with block scales: one per row per BK of K
    for x, one per BN x BK block for W (DeepSeek-V3's 1x128 and 128x128)."""
    r = random.Random(seed ^ 0xB10C)
    c = Case(index, seed)
    c.family, c.form = "block", "nk"
    c.dt = r.choice(["f8E4M3FN", "f8E4M3FN", "f8E5M2", "f16"])
    c.bk, c.bn = r.choice([(128, 128), (128, 128), (256, 128)])
    c.m = r.choice([1, 2, 5, 16, 17, 33, 64, 100, 128, 200, 257] + ([1000, 4096] if LARGE else []))
    c.n = 16 * r.randint(1, 1024 if LARGE else 40)
    c.k = 16 * r.randint(1, 1024 if LARGE else 48)
    c.b = 1
    c.out_type = r.choice(["bf16", "bf16", "f16", "f32"])
    c.target = "sm_90a"
    while not LARGE and c.m * c.n * c.k > MAX_WORK:
        c.m = max(1, c.m // 2)
    c.ops = [list("mk"), list("nk")]
    return c


def draw_mask_case(index, seed):
    """Scores under a block mask (block_mask, 64x64 or 128x128 blocks, one
    mask per batch or one for all, fills 0, -inf or a number)."""
    r = random.Random(seed ^ 0x3A5C)
    c = Case(index, seed)
    c.family, c.form = "mask", "nk"
    c.dt = r.choice(["f16", "bf16", "i8"])
    c.out_type = "i32" if c.dt == "i8" else r.choice([c.dt, "f32"])
    c.batch = r.choice([[], [2], [2, 3]])
    c.m = r.choice([1, 17, 64, 100, 130, 257])
    c.n = r.choice([8, 64, 129, 200, 300])
    c.k = 16 * r.randint(1, 12)
    c.b = 1
    for d in c.batch:
        c.b *= d
    c.block = r.choice([64, 128])
    c.shared = r.random() < 0.4
    c.fill = r.choice([0.0, -7.0] if c.dt == "i8" else [0.0, float("-inf"), -2.5])
    c.target = "sm_90a" if r.random() < 0.6 else "sm_80"
    c.ops = [list("mk"), list("nk")]
    # Half the sm_90a cases give the TMA kernel's plan (the planner does not
    # choose it until it has run on a GPU; drawn last, so that the other
    # fields of a seed stay as they were).
    c.tma = c.target == "sm_90a" and r.random() < 0.5
    return c


def mask_plan(c):
    """The TMA kernel's plan for a masked case: the block as the tile, one
    warpgroup per 64 rows, wgmma k16 (k32 for int8)."""
    i8 = c.dt == "i8"
    return (f"#loom.plan<tile_m = {c.block}, tile_n = {c.block}, tile_k = {128 if i8 else 64}, "
            f"warps_m = {c.block // 16}, warps_n = 1, mma = {'wgmma_k32' if i8 else 'wgmma_k16'}, "
            f"stages = 4, producer = tma>")


def draw_dq8_case(index, seed):
    """Activations quantized at run time to fp8 (loom.dynamic_quantize,
    e4m3 or e5m2, one scale per row per G values)."""
    r = random.Random(seed ^ 0xD98)
    c = Case(index, seed)
    c.family, c.form = "dq8", "nk"
    c.dt = r.choice(["f32", "f16", "bf16"])
    c.kind = r.choice(["e4m3", "e4m3", "e5m2"])
    c.group = r.choice([32, 64, 128, 128])
    c.m = r.choice([1, 2, 17, 64, 300])
    c.k = r.choice([1, 31, 128, 200, 1000])
    c.n, c.b = 1, 1
    c.out_type = "f8E4M3FN" if c.kind == "e4m3" else "f8E5M2"
    c.target = "sm_90a" if r.random() < 0.7 else "sm_89"
    c.ops = [list("mk")]
    return c


def dq8_mlir(c):
    groups = -(-c.k // c.group)
    tx, tq, ts = mlir_type([c.m, c.k], c.dt), mlir_type([c.m, c.k], c.out_type), mlir_type([c.m, groups], "f32")
    return (f"func.func @main(%x: {tx}) -> ({tq}, {ts}) {{\n"
            f"  %q, %s = loom.dynamic_quantize %x {{quant = #loom.quant<bits = 8, kind = {c.kind}, "
            f"granularity = group, axis = 1, group_size = {c.group}, scale_type = f32>}} "
            f": ({tx}) -> ({tq}, {ts})\n  return %q, %s : {tq}, {ts}\n}}\n")


def check_dq8_reference(c, np, einloom_run, work):
    """The codes against NumPy's: s = fl32(max |x| / fp8max) a group, then
    the fp8 nearest fl32(x / s), a NaN quotient giving 0."""
    r = np.random.default_rng(c.seed ^ 0xD98)
    x = r.choice(FLOAT_VALUES, size=(c.m, c.k)) * r.choice([1.0, 0.0], size=(c.m, 1), p=[0.9, 0.1])
    top = np.float32(448.0 if c.kind == "e4m3" else 57344.0)
    x32 = x.astype(np.float32)
    want = np.zeros_like(x)
    for g in range(0, c.k, c.group):
        blk = x32[:, g:g + c.group]
        s = (np.abs(blk).max(axis=1, keepdims=True) / top).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = (blk / s).astype(np.float32)
        want[:, g:g + c.group] = np.where(np.isnan(q), 0.0, q)
    return run_reference(np, einloom_run, work, [("x", x)], want, c.out_type)


def dq8_describe(c):
    return f"dynamic_quantize {c.m}x{c.k} {c.dt} -> {c.kind} groups of {c.group} {c.target}"


def mask_shapes(c):
    tm, tn = -(-c.m // c.block), -(-c.n // c.block)
    return ([*c.batch, c.m, c.k], [*c.batch, c.n, c.k], ([] if c.shared else [*c.batch]) + [tm, tn],
            [*c.batch, c.m, c.n])


def mask_spec(c):
    bl = "bh"[:len(c.batch)]
    return f"{bl}qd,{bl}kd->{bl}qk"


def mask_mlir(c):
    q, k, m, out = mask_shapes(c)
    spec = mask_spec(c)
    tq, tk, tm, to = mlir_type(q, c.dt), mlir_type(k, c.dt), mlir_type(m, "i8"), mlir_type(out, c.out_type)
    fill = "0xFFF0000000000000" if c.fill == float("-inf") else repr(c.fill)
    return (f"func.func @main(%q: {tq}, %k: {tk}, %m: {tm}) -> {to} {{\n"
            f"  %s = loom.einsum \"{spec}\" (%q, %k) block_mask(%m : {tm}) "
            f"{{mask_block = array<i64: {c.block}, {c.block}>, mask_fill = {fill} : f64"
            f"{', plan = ' + mask_plan(c) if getattr(c, 'tma', False) else ''}}} "
            f": ({tq}, {tk}) -> {to}\n  return %s : {to}\n}}\n")


def check_mask_reference(c, np, einloom_run, work):
    """The reference against NumPy: the scores, then the fill where the
    block's byte is 0."""
    r = np.random.default_rng(c.seed ^ 0x3A5C)
    q, k, m, _ = mask_shapes(c)
    if c.dt == "i8":
        xq, xk = r.integers(-128, 128, size=q), r.integers(-128, 128, size=k)
    else:
        xq, xk = r.choice(FLOAT_VALUES, size=q), r.choice(FLOAT_VALUES, size=k)
    mask = r.integers(0, 2, size=m)
    exact = np.einsum("...qd,...kd->...qk", xq.astype(np.float64), xk.astype(np.float64))
    full = np.repeat(np.repeat(mask, c.block, axis=-2), c.block, axis=-1)[..., :c.m, :c.n]
    exact = np.where(np.broadcast_to(full, exact.shape) != 0, exact, c.fill)
    cast = (lambda a: a.astype(np.int8)) if c.dt == "i8" else (lambda a: a)
    return run_reference(np, einloom_run, work, [("q", cast(xq)), ("k", cast(xk)),
                                                  ("m", mask.astype(np.int8))], exact, c.out_type)


def mask_describe(c):
    return (f"{mask_spec(c)} batch={c.batch} q={c.m},k={c.n},d={c.k} {c.dt}->{c.out_type} mask {c.block}x{c.block}"
            f"{' shared' if c.shared else ''} fill={c.fill} {c.target}"
            f"{' TMA plan' if getattr(c, 'tma', False) else ''}")


def draw_w8a8_case(index, seed):
    """int8 x int8 with per-token and per-channel f32 scales applied to the
    i32 sum, and now and then an activation zero point's rank-1 term."""
    r = random.Random(seed ^ 0xA8A8)
    c = Case(index, seed)
    c.family, c.form = "w8a8", "nk"
    c.dt = "i8"
    c.m = r.choice([1, 3, 16, 17, 33, 64, 100, 200, 300] + ([1000, 4096] if LARGE else []))
    c.n = r.choice([8, 16, 40, 64, 96, 200, 256, 512] + ([4096, 14336, 28672] if LARGE else []))
    c.k = 16 * r.randint(1, 1024 if LARGE else 64)
    c.b = 1
    c.zero = r.random() < 0.3
    c.out_type = r.choice(["f16", "bf16", "f32"])
    c.target = "sm_90a" if r.random() < 0.7 else "sm_80"
    while not LARGE and c.m * c.n * c.k > MAX_WORK:
        c.m = max(1, c.m // 2)
    c.ops = [list("mk"), list("nk")]
    return c


def w8a8_mlir(c):
    tx, tw = mlir_type([c.m, c.k], "i8"), mlir_type([c.n, c.k], "i8")
    ta, tb, to = mlir_type([c.m], "f32"), mlir_type([c.n], "f32"), mlir_type([c.m, c.n], c.out_type)
    tz, tc = mlir_type([c.m], "i8"), mlir_type([c.n], "i32")
    zargs, zuse = (f", %za: {tz}, %cs: {tc}", f" row_zero(%za : {tz}) col_sum(%cs : {tc})") \
        if c.zero else ("", "")
    return (f"func.func @main(%x: {tx}, %w: {tw}, %sa: {ta}, %sb: {tb}{zargs}) -> {to} {{\n"
            f"  %y = loom.einsum \"mk,nk->mn\" (%x, %w) row_scale(%sa : {ta}) col_scale(%sb : {tb})"
            f"{zuse} : ({tx}, {tw}) -> {to}\n  return %y : {to}\n}}\n")


def check_w8a8_reference(c, np, einloom_run, work):
    """The reference against NumPy: s_a[m] s_b[n] (sum_k x w - z[m] c[n])."""
    r = np.random.default_rng(c.seed ^ 0x5A5A)
    x, w = r.integers(-128, 128, size=(c.m, c.k)), r.integers(-128, 128, size=(c.n, c.k))
    a, b = r.choice([0.0078125, 0.03125, 0.5, 1.0], size=c.m), r.choice([0.001953125, 0.25, 2.0], size=c.n)
    acc = (x @ w.T).astype(np.float64)
    inputs = [("x", x.astype(np.int8)), ("w", w.astype(np.int8)), ("sa", a), ("sb", b)]
    if c.zero:
        z, cs = r.integers(-128, 128, size=c.m), w.sum(axis=1)
        acc = acc - np.outer(z, cs)
        inputs += [("za", z.astype(np.int8)), ("cs", cs.astype(np.int32))]
    return run_reference(np, einloom_run, work, inputs, acc * np.outer(a, b), c.out_type)


def block_shapes(c):
    kb, nb = -(-c.k // c.bk), -(-c.n // c.bn)
    return [c.m, c.k], [c.n, c.k], [c.m, kb], [nb, kb], [c.m, c.n]


def block_mlir(c):
    x, w, sa, sb, out = block_shapes(c)
    tx, tw, to = mlir_type(x, c.dt), mlir_type(w, c.dt), mlir_type(out, c.out_type)
    ta, tb = mlir_type(sa, "f32"), mlir_type(sb, "f32")
    return (f"func.func @main(%x: {tx}, %w: {tw}, %sa: {ta}, %sb: {tb}) -> {to} {{\n"
            f"  %y = loom.einsum \"mk,nk->mn\" (%x, %w) row_scale(%sa : {ta}) col_scale(%sb : {tb}) "
            f"{{scale_block = array<i64: {c.bk}, {c.bn}>}} : ({tx}, {tw}) -> {to}\n"
            f"  return %y : {to}\n}}\n")


def check_block_reference(c, np, einloom_run, work):
    """The reference of the block-scaled product against NumPy's (the
    operands times their blocks' scales, then the product)."""
    r = np.random.default_rng(c.seed ^ 0x5A5A)
    x, w, sa, sb, _ = block_shapes(c)
    xs, ws = r.choice(FLOAT_VALUES, size=x), r.choice(FLOAT_VALUES, size=w)
    a, b = r.choice([0.125, 0.5, 1.0, 2.0, 4.0], size=sa), r.choice([0.25, 1.0, 2.0], size=sb)
    xe = xs * np.repeat(a, c.bk, axis=1)[:, :c.k]
    we = ws * np.repeat(np.repeat(b, c.bn, axis=0), c.bk, axis=1)[:c.n, :c.k]
    return run_reference(np, einloom_run, work, [("x", xs), ("w", ws), ("sa", a), ("sb", b)],
                         np.einsum("mk,nk->mn", xe, we), c.out_type)


def run_reference(np, einloom_run, work, inputs, exact, out_type, alpha=None):
    """einloom-run --reference on case.mlir with `inputs` (name, array);
    '' when its result is `exact` rounded to `out_type` (times `alpha` for a
    requantized i8), else what differs."""
    paths = []
    for name, a in inputs:
        paths.append(os.path.join(work, name + ".npy"))
        np.save(paths[-1], a)
    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir, exist_ok=True)
    cmd = [einloom_run, "--reference", os.path.join(work, "case.mlir"), "--inputs", ",".join(paths),
           "--save-outputs", out_dir, "--print-values", "0"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        return f"reference failed (rc {p.returncode}): {(p.stderr or p.stdout).strip()[-400:]}"
    got = np.load(os.path.join(out_dir, "result0.npy")).astype(np.float64)
    want = round_result(np, exact, out_type, alpha)
    if got.shape != want.shape:
        return f"reference shape {got.shape}, numpy {want.shape}"
    bad = ~((got == want) | (np.isnan(got) & np.isnan(want)))
    if bad.any():
        at = tuple(int(v) for v in np.argwhere(bad)[0])
        return (f"reference disagrees with numpy at {bad.sum()} of {bad.size} elements, "
                f"first {at}: {got[at]} against {want[at]}")
    return ""


def quant_shapes(c):
    """x, the codes' (weight's) shape, the scales' shape, the result's shape."""
    kAt = QUANT_FORMS[c.form][1]
    x = [c.b, c.m, c.k] if c.form == "bnk" else [c.m, c.k]
    w = [c.n, c.k] if kAt == 1 else [c.k, c.n]
    if c.group:
        s = list(w)
        s[kAt] = c.k // c.group
    else:
        s = [c.n]
    out = [c.b, c.m, c.n] if c.form == "bnk" else [c.m, c.n]
    return x, w, s, out


def quant_attr(c):
    kAt = QUANT_FORMS[c.form][1]
    return (f"#loom.quant<bits = {c.bits}, " +
            ("kind = unsigned, scheme = asymmetric" if c.asym else "kind = signed") +
            (f", granularity = group, axis = {kAt}, group_size = {c.group}" if c.group
             else f", granularity = channel, axis = {1 - kAt}") + f", scale_type = {c.dt}>")


def quant_mlir(c):
    x, w, s, out = quant_shapes(c)
    tx, tw = mlir_type(x, c.dt), mlir_type(w, c.dt)
    tq = mlir_type(w, "i4" if c.bits <= 4 else "i8")
    ts, tz = mlir_type(s, c.dt), mlir_type(s, "i16" if c.bits == 8 else "i8")
    to = mlir_type(out, c.out_type)
    z_arg, z_use, z_type = (f", %z: {tz}", ", %z", f", {tz}") if c.asym else ("", "", "")
    return (f"func.func @main(%x: {tx}, %q: {tq}, %s: {ts}{z_arg}) -> {to} {{\n"
            f"  %w = loom.dequantize %q, %s{z_use} {{quant = {quant_attr(c)}}} : "
            f"({tq}, {ts}{z_type}) -> {tw}\n"
            f"  %y = loom.einsum \"{QUANT_FORMS[c.form][0]}\" (%x, %w) : ({tx}, {tw}) -> {to}\n"
            f"  return %y : {to}\n}}\n")


def w8a8_describe(c):
    return (f"mk,nk->mn m={c.m},n={c.n},k={c.k} i8 row/col scales" +
            (" zero points" if c.zero else "") + f" ->{c.out_type} {c.target}")


def block_describe(c):
    return (f"mk,nk->mn m={c.m},n={c.n},k={c.k} {c.dt} blocks {c.bk}x{c.bn} "
            f"->{c.out_type} {c.target}")


def quant_describe(c):
    spec = QUANT_FORMS[c.form][0]
    sizes = (f"b={c.b}," if c.form == "bnk" else "") + f"m={c.m},n={c.n},k={c.k}"
    q = f"int{c.bits}:" + (f"g{c.group}" if c.group else "c") + (":asym" if c.asym else "")
    return f"{spec} {sizes} {q} {c.dt}->{c.out_type} {c.target}"


def check_quant_reference(c, np, einloom_run, work):
    """Einloom's reference of the fused program against NumPy's product of
    the dequantized weight; '' or what is wrong."""
    r = np.random.default_rng(c.seed ^ 0x5A5A)
    x, w, s, _ = quant_shapes(c)
    kAt = QUANT_FORMS[c.form][1]
    lo, hi = (0, (1 << c.bits) - 1) if c.asym else (-(1 << (c.bits - 1)), (1 << (c.bits - 1)) - 1)
    xs = r.choice(FLOAT_VALUES, size=x)
    q = r.integers(lo, hi + 1, size=w)
    sc = r.choice([0.125, 0.25, 0.5, 1.0, 2.0], size=s)
    z = r.integers(lo, hi + 1, size=s) if c.asym else np.zeros(s, dtype=np.int64)
    # Each element's scale and zero point, broadcast along K.
    if c.group:
        se, ze = np.repeat(sc, c.group, axis=kAt), np.repeat(z, c.group, axis=kAt)
    else:
        se = sc.reshape(-1, 1) if kAt == 1 else sc.reshape(1, -1)
        ze = z.reshape(-1, 1) if kAt == 1 else z.reshape(1, -1)
    weight = (q - ze) * se  # exact, and exact in f16 and bf16
    # Codes go in as int8: unsigned 4-bit ones as their values, unsigned
    # 8-bit ones of 128 and above wrapped (their container's bits); the
    # reference takes both.
    inputs = [("x", xs), ("q", q.astype(np.int8)), ("s", sc)]
    if c.asym:
        inputs.append(("z", z.astype(np.int16 if c.bits == 8 else np.int8)))
    return run_reference(np, einloom_run, work, inputs,
                         np.einsum(QUANT_FORMS[c.form][0], xs, weight), c.out_type)


def draw_epilogue(c, seed):
    """Now and then elementwise ops after a two-operand float einsum, which
    the compiler fuses into its epilogue: a power-of-two scale, a bias along
    the result's last dimension, relu, a residual of the result's shape, a
    cast to a 16-bit type. Steps of (kind, argument). (Its own draws: the
    einsum of a seed stays the same.)"""
    r = random.Random(seed ^ 0xE9109)
    floats = ("f16", "bf16", "f32", "f64")
    if (len(c.ops) != 2 or c.elem not in floats or c.out_type not in floats or not out_shape(c)
            or r.random() >= 0.3):
        return []
    steps = []
    for _ in range(r.randint(1, 4)):
        kind = r.choice(["scale", "bias", "relu", "residual"])
        steps.append((kind, r.choice([0.25, 0.5, 2.0]) if kind == "scale" else None))
    if c.out_type == "f32" and r.random() < 0.4:
        steps.append(("cast", r.choice(["f16", "bf16"])))
    return steps


def epilogue_mlir(c, value, t):
    """The ops of c.epi after `value` (of element type t): their text, the
    extra arguments' declarations, and the final value and type."""
    shape = out_shape(c)
    lines, args = [], []
    for i, (kind, arg) in enumerate(c.epi):
        ty = mlir_type(shape, t)
        if kind == "scale":
            lines.append(f"  %e{i} = loom.scale {value} by {arg:e} : {ty}")
        elif kind == "bias":
            bt = mlir_type(shape[-1:], t)
            args.append(f"%bias{i}: {bt}")
            lines.append(f"  %e{i} = loom.add {value}, %bias{i} : {ty}, {bt}")
        elif kind == "relu":
            lines.append(f"  %e{i} = loom.activation relu {value} : {ty}")
        elif kind == "residual":
            args.append(f"%res{i}: {ty}")
            lines.append(f"  %e{i} = loom.add {value}, %res{i} : {ty}, {ty}")
        else:  # cast
            lines.append(f"  %e{i} = loom.cast {value} : {ty} to {mlir_type(shape, arg)}")
            t = arg
        value = f"%e{i}"
    return lines, args, value, t


def apply_epilogue(c, np, y, rng, inputs):
    """NumPy's value of c.epi on `y` (already rounded to the result type),
    each op rounded to its type as the reference evaluates them one by one;
    the extra arguments are appended to `inputs`."""
    t, shape = c.out_type, out_shape(c)
    for i, (kind, arg) in enumerate(c.epi):
        if kind == "scale":
            y = y * arg
        elif kind == "bias":
            b = np.array([rng.choice(FLOAT_VALUES) for _ in range(shape[-1])], dtype=np.float64)
            inputs.append((f"bias{i}", b))
            y = y + b
        elif kind == "relu":
            y = np.maximum(y, 0.0)
        elif kind == "residual":
            res = np.array([rng.choice(FLOAT_VALUES) for _ in range(math.prod(shape))],
                           dtype=np.float64).reshape(shape)
            inputs.append((f"res{i}", res))
            y = y + res
        else:
            t = arg
        y = round_result(np, y, t, None)
    return y, t


def spec_of(c):
    ins = [("..." if e else "") + "".join(sub) for sub, e in zip(c.ops, c.ell_in)]
    return ",".join(ins) + "->" + ("..." if c.ell_out else "") + "".join(c.out)


def full_shape(c, i):
    return (c.ellipsis if c.ell_in[i] else []) + c.shapes[i]


def out_shape(c):
    ell = []
    if c.ell_out:
        # The broadcast of the ellipsis dimensions of the operands that have them.
        n = len(c.ellipsis)
        ell = [max(c.ellipsis[d] if c.ell_in[i] else 1 for i in range(len(c.ops))) for d in range(n)]
    return ell + [c.size[l] for l in c.out]


def mlir_type(shape, elem):
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def mlir_of(c):
    args = ", ".join(f"%a{i}: {mlir_type(full_shape(c, i), c.elem)}" for i in range(len(c.ops)))
    rt = mlir_type(out_shape(c), c.out_type)
    attrs = []
    if c.tf32:
        attrs.append("allow_tf32")
    if c.alpha is not None:
        attrs.append(f"alpha = {c.alpha} : f64")
    attr = (" {" + ", ".join(attrs) + "}") if attrs else ""
    ins = ", ".join(f"%a{i}" for i in range(len(c.ops)))
    types = ", ".join(mlir_type(full_shape(c, i), c.elem) for i in range(len(c.ops)))
    lines, extra, final, ft = epilogue_mlir(c, "%r", c.out_type) if c.epi else ([], [], "%r", c.out_type)
    if extra:
        args = ", ".join([args] + extra)
    ft = mlir_type(out_shape(c), ft)
    body = "".join(l + "\n" for l in lines)
    return (f"func.func @main({args}) -> {ft} {{\n"
            f"  %r = loom.einsum \"{spec_of(c)}\" ({ins}){attr} : ({types}) -> {rt}\n"
            f"{body}  return {final} : {ft}\n}}\n")


def describe(c):
    return FAMILIES[c.family][2](c)


def dense_describe(c):
    sizes = ",".join(f"{l}={c.size[l]}" for l in sorted(c.size))
    ell = f" ...={'x'.join(map(str, c.ellipsis))}" if c.ellipsis else ""
    extra = (" tf32" if c.tf32 else "") + (f" alpha={c.alpha}" if c.alpha else "")
    if getattr(c, "epi", None):
        extra += " then " + ",".join(k + (f"({a})" if a is not None else "") for k, a in c.epi)
    return f"{spec_of(c)} {sizes}{ell} {c.dt}->{c.out_type}{extra} {c.target}"


# --- NumPy oracle -------------------------------------------------------------

def numpy_spec(c):
    """The einsum with `...` written out as labels (NumPy wants `...` in the
    output whenever an input has it; Einloom sums such dimensions)."""
    n = len(c.ellipsis)
    ell = "XYZW"[:n]
    ins = [(ell if e else "") + "".join(sub) for sub, e in zip(c.ops, c.ell_in)]
    return ",".join(ins) + "->" + (ell if c.ell_out else "") + "".join(c.out)


def round_result(np, x, t, alpha):
    """Round the exact f64 result `x` to type `t` as the reference does."""
    x = np.asarray(x, dtype=np.float64)
    if t == "f64":
        return x
    if t == "f32":
        return x.astype(np.float32).astype(np.float64)
    if t == "f16":
        return x.astype(np.float16).astype(np.float64)
    if t == "bf16":  # nearest even on the f32 bits (exact: the sums fit f32)
        b = np.atleast_1d(x.astype(np.float32)).view(np.uint32).astype(np.uint64)
        one, half = np.uint64(1), np.uint64(0x7FFF)
        b = ((b + half + ((b >> np.uint64(16)) & one)) >> np.uint64(16)) << np.uint64(16)
        return b.astype(np.uint32).view(np.float32).astype(np.float64).reshape(x.shape)
    if t in ("f8E4M3FN", "f8E5M2"):  # nearest even, saturating
        mbits, emin, top = (3, -6, 448.0) if t == "f8E4M3FN" else (2, -14, 57344.0)
        a = np.abs(x)
        e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
        e = np.maximum(e, emin)
        q = np.exp2(e - mbits)
        r = np.rint(a / q) * q
        return np.sign(x) * np.minimum(r, top)
    if t == "i32":
        return x
    if t == "i8":
        return np.clip(np.rint(x * (alpha or 1.0)), -128, 127)
    raise ValueError(t)


def check_reference(c, np, einloom_run, work):
    """Einloom's reference against numpy.einsum; '' or what is wrong."""
    r = random.Random(c.seed ^ 0x5A5A)
    arrays = []
    for i in range(len(c.ops)):
        shape = full_shape(c, i)
        values = INT_VALUES if c.elem == "i8" else FLOAT_VALUES
        data = np.array([r.choice(values) for _ in range(math.prod(shape))], dtype=np.float64)
        arrays.append(data.reshape(shape))
    inputs = [(f"in{i}", a.astype(np.int8) if c.elem == "i8" else a) for i, a in enumerate(arrays)]
    exact = np.einsum(numpy_spec(c), *arrays)
    if not getattr(c, "epi", None):
        return run_reference(np, einloom_run, work, inputs, exact, c.out_type, c.alpha)
    # The einsum rounded to its type, then each op rounded to its own (the
    # values are exact before each rounding, so NumPy rounds as it does).
    y, t = apply_epilogue(c, np, round_result(np, exact, c.out_type, None), r, inputs)
    return run_reference(np, einloom_run, work, inputs, y, t)


# Each family's MLIR, reference check (against NumPy) and description.
FAMILIES = {
    "dense": (mlir_of, check_reference, dense_describe),
    "weight": (quant_mlir, check_quant_reference, quant_describe),
    "block": (block_mlir, check_block_reference, block_describe),
    "w8a8": (w8a8_mlir, check_w8a8_reference, w8a8_describe),
    "mask": (mask_mlir, check_mask_reference, mask_describe),
    "dq8": (dq8_mlir, check_dq8_reference, dq8_describe),
}


# --- one case on the CPU --------------------------------------------------------

SPILL = re.compile(r"(\d+) bytes spill stores")


def runtime_loads(build, bundle, work):
    """The runtime's reading of the bundle, short of the GPU: with no driver
    to load, a bundle it accepts stops at the driver's error, and one it
    rejects names what is wrong (as the dynamic quantize's group scales once
    were, found only on the GPU). Returns why it failed, or ""."""
    rt = os.path.join(build, "bin", "einloom-run-rt")
    env = dict(os.environ, EINLOOM_LIBCUDA=os.path.join(work, "no-driver.so"))
    p = subprocess.run([rt, bundle], capture_output=True, text=True, timeout=120, env=env)
    said = (p.stdout + p.stderr).strip()
    if "cannot load the CUDA driver" in said:
        return ""
    return f"the runtime rejects the bundle: {said[-300:]}"


def run_case(c, build, pack, np):
    """Compile and check one case; returns (case, status, detail)."""
    compile_bin = os.path.join(build, "bin", "einloom-compile")
    run_bin = os.path.join(build, "bin", "einloom-run")
    work = tempfile.mkdtemp(prefix="einsum-fuzz-")
    try:
        with open(os.path.join(work, "case.mlir"), "w") as f:
            f.write(FAMILIES[c.family][0](c))
        bundle = os.path.join(work, "case.bundle")
        cmd = [compile_bin, os.path.join(work, "case.mlir"), "--target", c.target,
               "--ptxas-report", "-o", bundle]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return c, "FAIL", "compile timed out"
        err = p.stderr
        if p.returncode < 0 or p.returncode > 1:
            return c, "FAIL", f"compiler crashed (status {p.returncode}): {err.strip()[-300:]}"
        internal = [m for m in INTERNAL if m in err]
        if internal:
            return c, "FAIL", f"internal error: {err.strip()[-400:]}"
        if p.returncode == 1:
            if any(m in err for m in EXPECTED_REFUSALS):
                return c, "refused", err.strip().splitlines()[-1]
            return c, "FAIL", f"refused a valid einsum: {err.strip()[-400:]}"
        if "ptxas" in err and ("error" in err.lower() and "ptxas fatal" in err):
            return c, "FAIL", f"ptxas failed: {err.strip()[-300:]}"
        spills = [int(x) for x in SPILL.findall(err)]
        if "Compiling entry function" not in err:
            return c, "FAIL", "no ptxas report (is ptxas installed?)"
        if any(spills):
            return c, "FAIL", f"ptxas spills {max(spills)} bytes"
        why = runtime_loads(build, bundle, work)
        if why:
            return c, "FAIL", why
        if np is not None:
            why = FAMILIES[c.family][1](c, np, run_bin, work)
            if why:
                return c, "FAIL", why
        if pack:
            shutil.copy(bundle, os.path.join(pack, c.name() + ".bundle"))
        return c, "PASS", ""
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cpu_mode(args):
    try:
        import numpy as np
    except ImportError:
        if args.timing:
            np = None
        else:
            sys.exit("einsum-fuzz: NumPy is needed for the reference check; run with the "
                     "distribution's /usr/bin/python3 (python3-numpy)")
    if args.timing or LARGE:
        np = None  # large cases: the GPU run checks them (against torch when timed)
    if args.emit_pack:
        os.makedirs(args.emit_pack, exist_ok=True)
    cases = [draw_case(i, args.seed * 1000003 + i, args.timing) for i in range(args.cases)]
    results = []
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futures = [ex.submit(run_case, c, args.build, args.emit_pack, np) for c in cases]
        for fut in concurrent.futures.as_completed(futures):
            c, status, detail = fut.result()
            results.append((c, status, detail))
            done += 1
            if status == "FAIL" or done % 50 == 0 or done == len(cases):
                fails = sum(1 for r in results if r[1] == "FAIL")
                print(f"[{done}/{len(cases)}] {fails} failure(s)" +
                      (f"; {c.name()} FAIL: {describe(c)}: {detail}" if status == "FAIL" else ""),
                      flush=True)
    results.sort(key=lambda r: r[0].index)
    if args.emit_pack:
        with open(os.path.join(args.emit_pack, "cases.txt"), "w") as f:
            for c, status, _ in results:
                if status == "PASS":
                    f.write(f"{c.name()} | {c.seed} | {describe(c)}\n")
    return summarize(results, args)


def summarize(results, args):
    counts = {}
    for _, status, _ in results:
        counts[status] = counts.get(status, 0) + 1
    dts = {}
    for c, _, _ in results:
        dts[c.dt] = dts.get(c.dt, 0) + 1
    lines = [f"einsum-fuzz: {len(results)} cases from seed {args.seed}: " +
             ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
             "  by dtype: " + ", ".join(f"{k} {v}" for k, v in sorted(dts.items())),
             "  operands: " + ", ".join(f"{n}: {sum(1 for c, _, _ in results if len(c.ops) == n)}"
                                        for n in range(1, 5)),
             "  families: " + ", ".join(
                 f"{f}: {sum(1 for c, _, _ in results if (c.family != 'dense') == q)}"
                 for f, q in (("dense", False), ("quantized", True))),
             "  targets: " + ", ".join(f"{t}: {sum(1 for c, _, _ in results if c.target == t)}"
                                       for t in ("sm_80", "sm_90a"))]
    for c, status, detail in results:
        if status == "FAIL":
            flags = (" --large" if LARGE else "") + \
                (f" --quant-share {QUANT_SHARE}" if QUANT_SHARE != 0.15 else "")
            lines.append(f"FAIL {c.name()}: {describe(c)}\n  {detail}\n  reproduce: "
                         f"einsum-fuzz.py --cases 1 --seed-case {c.seed}{flags}")
    text = "\n".join(lines)
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    return 1 if counts.get("FAIL") else 0


# --- on the GPU -------------------------------------------------------------------

def run_pack(args):
    pack = args.run_pack
    cases = {}
    with open(os.path.join(pack, "cases.txt")) as f:
        for line in f:
            name, seed, desc = [x.strip() for x in line.split("|", 2)]
            cases[name] = (int(seed), desc)
    if args.timing:
        return time_pack(pack, cases)
    names = sorted(cases)
    runner = args.runner or os.path.join(pack, "..", "bin", "einloom-run-rt")
    status = {}
    for at in range(0, len(names), 40):
        chunk = names[at:at + 40]
        cmd = [runner, "--check", "--seed", str(args.seed)] + [os.path.join(pack, n + ".bundle") for n in chunk]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        for line in out.splitlines():
            m = re.match(r"RESULT (\S+) (\S+) rel=(\S+)", line)
            if m:
                status[os.path.basename(m.group(1))[:-7]] = (m.group(2), m.group(3))
        if args.log:
            with open(args.log, "a") as f:
                f.write(out)
        print(f"[{min(at + 40, len(names))}/{len(names)}] "
              f"{sum(1 for n in status if status[n][0] != 'PASS')} failure(s)", flush=True)
    fails = [n for n in names if status.get(n, ("MISSING",))[0] != "PASS"]
    print(f"einsum-fuzz on the GPU: {len(names)} cases, {len(names) - len(fails)} PASS, "
          f"{len(fails)} failed")
    for n in fails:
        print(f"FAIL {n}: {cases[n][1]}: {status.get(n, ('no RESULT line', ''))}")
    return 1 if fails else 0


def time_pack(pack, cases):
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "..", "bench"), pack, os.path.join(pack, "..")):
        if os.path.exists(os.path.join(d, "bench_gemm.py")):
            sys.path.insert(0, d)
            break
    import torch
    from bench_gemm import TORCH_DTYPE, EinloomKernel, load_bundle
    from bench_decode import batched_ms, moved_bytes
    TORCH_DTYPE = dict(TORCH_DTYPE, f64=torch.float64)
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    rows = []
    for name in sorted(cases):
        b = load_bundle(os.path.join(pack, name + ".bundle"))
        spec = cases[name][1].split()[0]
        bufs = [x for x in b["buffers"] if x["role"] != "temp"]  # einloom allocates workspaces
        tensors = []
        for x in bufs:
            dt = TORCH_DTYPE[x["dtype"]]
            if x["role"] == "input":
                tensors.append(torch.randn(x["shape"], device="cuda", dtype=torch.float32).to(dt))
            else:
                tensors.append(torch.full(x["shape"], float("nan"), device="cuda").to(dt)
                               if dt.is_floating_point else torch.zeros(x["shape"], device="cuda", dtype=dt))
        ins = [t for t, x in zip(tensors, bufs) if x["role"] == "input"]
        out = next(t for t, x in zip(tensors, bufs) if x["role"] == "output")
        k = EinloomKernel(b)
        k(tensors)
        torch.cuda.synchronize()
        ref = torch.einsum(spec, *[t.double() for t in ins])
        rel = ((out.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()
        t_e, t_p = batched_ms([lambda: k(tensors), lambda: torch.einsum(spec, *ins)], 10, reps=5)
        mb = sum(t.numel() * t.element_size() for t in ins) / 1e6
        rows.append((name, spec, mb, t_e, t_p, rel, cases[name][1]))
        print(f"{name} {cases[name][1]}: einloom {t_e:.4f} ms, torch.einsum {t_p:.4f} ms "
              f"({t_p / t_e:.2f}x), rel={rel:.1e}", flush=True)
    print()
    print("| case | einsum | operand MB | einloom ms | torch.einsum ms | einloom/torch | rel err |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (name, spec, mb, t_e, t_p, rel, desc) in rows:
        print(f"| {name} | `{desc}` | {mb:.1f} | {t_e:.4f} | {t_p:.4f} | {t_p / t_e:.2f}x | {rel:.1e} |")
    ratios = [t_p / t_e for (_, _, _, t_e, t_p, _, _) in rows if t_e > 0 and t_p > 0]
    if ratios:
        geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        print(f"timing: {len(ratios)} einsums, geometric mean {geo:.3f}x torch.einsum, "
              f"lowest {min(ratios):.2f}x")
    return 0


def main():
    global QUANT_SHARE, LARGE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seed-case", type=int, help="run the one case drawn from this seed")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    ap.add_argument("--report", help="write the summary and failures here too")
    ap.add_argument("--emit-pack", help="keep each case's bundle in this directory")
    ap.add_argument("--run-pack", help="run a pack's bundles on this machine's GPU")
    ap.add_argument("--runner", help="einloom-run-rt to use with --run-pack")
    ap.add_argument("--log", help="with --run-pack: append the runner's output here")
    ap.add_argument("--timing", action="store_true", help="large cases, timed against torch.einsum")
    ap.add_argument("--large", action="store_true",
                    help="model-sized cases, compiled and checked for spills only (no reference)")
    ap.add_argument("--quant-share", type=float, default=QUANT_SHARE,
                    help="the share of weight-quantized cases (default %(default)s)")
    args = ap.parse_args()
    QUANT_SHARE = args.quant_share
    LARGE = args.large
    if args.run_pack:
        sys.exit(run_pack(args))
    if args.seed_case is not None:
        global draw_case
        original = draw_case
        draw_case = lambda i, s, t=False: original(i, args.seed_case, t)
        args.cases = 1
    sys.exit(cpu_mode(args))


if __name__ == "__main__":
    main()
