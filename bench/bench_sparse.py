#!/usr/bin/env python3
"""Sparse weights (Tiled-CSL, x . W^T with W mostly zeros) against the dense
f16 torch.matmul of the same weight (cuBLAS) and torch's CSR product
(cuSPARSE), on one GPU in one call; beside them, once per shape, torch's
2:4 semi-structured product of a 50%-sparse weight (cuSPARSELt), the
structured peer a user would reach for.

usage: bench_sparse.py RUNNER BUNDLE_DIR [--densities 0.5,0.3,0.2,0.1]
                       [--iters N] [--no-csr] [--no-lt] [--json FILE]

Each bundle is an `mk,nk->mn` einsum compiled with --sparse tiled_csl: M
tokens, an N x K weight. Einloom's time comes from RUNNER (einloom-run-rt
--bench --batch 20 --density D, which packs random data of that density and
rotates through copies of its inputs spanning four L2s); the peers are
timed here on random data of the same density, their inputs rotated the
same way, each round 20 back-to-back calls between CUDA events, the median
round reported. Ratios above 1 mean Einloom is faster. Density is the
non-zero fraction: 0.2 is 80% sparsity.
"""
import math
import os
import re
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import batched_ms, save_json  # noqa: E402

L2_BYTES = 50 * 1024 * 1024


def shapes_of(path):
    """(M, N, K, dtype) of the bundle's einsum from its first two buffers."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    bufs = []
    for line in data.split(b"\n")[1:]:
        w = line.decode("latin-1").split()
        if w and w[0] == "buffer":
            bufs.append((w[3], [int(x) for x in w[4].split("x")]))
        if w and w[0] == "image":
            break
    (dt, (m, k)), (_, (n, _)) = bufs[0], bufs[1]
    return m, n, k, dt


def copies_for(nbytes):
    """Copies of the inputs that span four L2s (as the runner rotates)."""
    return max(1, min(8, math.ceil(4 * L2_BYTES / max(1, nbytes))))


def rotating(fn_of, inputs):
    """A function that calls fn_of(*inputs[i]) for i cycling over copies."""
    state = {"i": 0}

    def call():
        args = inputs[state["i"] % len(inputs)]
        state["i"] += 1
        return fn_of(*args)
    return call


def two_four_ms(xs, n, k, dtype, gen, iters):
    """torch's 2:4 product (cuSPARSELt) of a weight pruned to the two
    largest of every four along K, with the inputs rotated; NaN (and the
    reason printed) where torch cannot run it."""
    try:
        from torch.sparse import SparseSemiStructuredTensor, to_sparse_semi_structured
        SparseSemiStructuredTensor._FORCE_CUTLASS = False  # cuSPARSELt, not CUTLASS
        ws = []
        for _ in range(len(xs)):
            w = torch.randn(n, k // 4, 4, device=xs[0].device, dtype=dtype, generator=gen)
            keep = w.abs().topk(2, dim=-1).indices
            w = torch.zeros_like(w).scatter_(-1, keep, w.gather(-1, keep)).view(n, k)
            ws.append(to_sparse_semi_structured(w))
        xts = [x.t().contiguous() for x in xs]
        ms, = batched_ms([rotating(lambda w, xt: torch.mm(w, xt), list(zip(ws, xts)))], iters)
        return ms
    except (RuntimeError, ImportError, ValueError) as e:
        print(f"cuSPARSELt 2:4 at ({n}, {k}) {dtype} failed: {str(e).splitlines()[0]}")
        return float("nan")


def einloom_ms(runner, bundle, density, iters):
    out = subprocess.run([runner, bundle, "--no-check", "--bench", "--iters", str(iters),
                          "--batch", "20", "--density", str(density), "--seed", "1"],
                         capture_output=True, text=True, timeout=600)
    m = re.search(r"bench: median ([0-9.]+) ms", out.stdout)
    if not m:
        raise RuntimeError(f"{bundle} at density {density}: no time\n{out.stdout}{out.stderr}")
    words = re.search(r"sparse weight \S+: (\d+) words", out.stdout)
    return float(m.group(1)), int(words.group(1)) if words else -1


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    runner, folder = args[0], args[1]
    densities = [0.5, 0.3, 0.2, 0.1]
    iters, csr, lt = 20, "--no-csr" not in args, "--no-lt" not in args
    if "--densities" in args:
        densities = [float(x) for x in args[args.index("--densities") + 1].split(",")]
    if "--iters" in args:
        iters = int(args[args.index("--iters") + 1])
    dev = torch.device("cuda")
    rows = []
    print(f"sparse bench on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| tokens x (N, K) | sparsity | einloom us | cuBLAS dense us | x dense | "
          "cuSPARSE CSR us | x CSR | words MB | cuSPARSELt 2:4 us (50%) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".bundle"):
            continue
        path = os.path.join(folder, name)
        m, n, k, dt = shapes_of(path)
        dtype = torch.float16 if dt == "f16" else torch.bfloat16
        gen = torch.Generator(device=dev).manual_seed(1)
        dense_bytes = (n * k + m * k) * 2
        xs = [torch.randn(m, k, device=dev, dtype=dtype, generator=gen)
              for _ in range(copies_for(dense_bytes))]
        dense_ms = None
        lt_ms = two_four_ms(xs, n, k, dtype, gen, iters) if lt else float("nan")
        for d in densities:
            ours, words = einloom_ms(runner, path, d, iters)
            # The dense peer reads every element whatever the density; one
            # weight per copy of the inputs.
            ws = []
            for _ in range(len(xs)):
                w = torch.randn(n, k, device=dev, dtype=dtype, generator=gen)
                w *= torch.rand(n, k, device=dev, generator=gen) < d
                ws.append(w)
            if dense_ms is None:
                dense_ms, = batched_ms([rotating(lambda x, w: torch.matmul(x, w.t()),
                                                 list(zip(xs, ws)))], iters)
            csr_ms, wcs = float("nan"), []
            if csr:
                try:
                    wcs = [w.to_sparse_csr() for w in ws]
                    xts = [x.t().contiguous() for x in xs]
                    csr_ms, = batched_ms([rotating(lambda w, xt: torch.sparse.mm(w, xt),
                                                   list(zip(wcs, xts)))], max(3, iters // 4),
                                         reps=5)
                except RuntimeError as e:
                    print(f"cuSPARSE CSR of {dt} failed: {e}")
                del wcs
            del ws
            torch.cuda.empty_cache()
            print(f"| {m} x ({n}, {k}) {dt} | {100 * (1 - d):.0f}% | {1000 * ours:.1f} | "
                  f"{1000 * dense_ms:.1f} | {dense_ms / ours:.2f} | {1000 * csr_ms:.1f} | "
                  f"{csr_ms / ours:.2f} | {words * 4 / 1e6:.1f} | {1000 * lt_ms:.1f} |", flush=True)
            rows.append((f"{m} x ({n}, {k}) {dt}", m, n, k, d, ours, dense_ms, csr_ms, lt_ms,
                         words * 4))
    # --json FILE: the rows for bench/plot.py (speed-up against density).
    save_json("sparse", rows, ("case", "m", "n", "k", "density", "einloom_ms", "peer_ms",
                               "csr_ms", "lt_ms", "words_bytes"))


if __name__ == "__main__":
    main()
