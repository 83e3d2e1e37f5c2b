#!/usr/bin/env python3
"""Weight-only quantized GEMMs (W4A16, W8A16: x . dequantize(W)^T) against
the f16 (or bf16) torch.matmul of the dequantized weight (cuBLAS), in one
process on one GPU.

usage: bench_quant.py BUNDLE_DIR [--iters N] [--graphs]

Each bundle is an `mk,nk->mn` einsum compiled with --weight-quant: its
inputs are the activations (M x K), the codes (N x K, in the a_fragment
layout: N * K * bits / 32 words), the scales and, for asymmetric codes, the
zero points. Random words are valid codes. The check unpacks the words on
the GPU (the layout of docs/dialect.md), dequantizes them as loom.dequantize
does (q - z) * s rounded once, and compares Einloom's result with the f64
product. The timing rotates through enough copies of the inputs to stream
from DRAM (an H100's or H200's L2 holds 50 MB), each round 20 back-to-back
launches between CUDA events; the median round is reported, einloom/peer
above 1 meaning Einloom is faster.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_decode import batched_ms  # noqa: E402
from quant_layout import a_fragment_codes  # noqa: E402
import einloom  # noqa: E402

GRAPHS = "--graphs" in sys.argv
L2_BYTES = 50 * 1024 * 1024


def header(path):
    """The manifest's buffers and the weight line of the first kernel."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    bufs, weight = [], None
    for line in data.split(b"\n")[1:]:
        w = line.decode("latin-1").split()
        if not w:
            continue
        if w[0] == "buffer":
            bufs.append(dict(name=w[1], role=w[2], dtype=w[3],
                             shape=[int(x) for x in w[4].split("x")], bytes=int(w[5])))
        elif w[0] == "weight" and weight is None:
            weight = dict(bits=int(w[1]), signed=w[2] == "signed", granularity=w[3],
                          axis=int(w[4]), group=int(w[5]), kdim=int(w[6]),
                          scale=int(w[7]), zero=int(w[8]))
        elif w[0] == "image":
            break
    return bufs, weight


def dequantize(words, scales, zeros, wt, n, k, dtype):
    w = words.view(-1).to(torch.int64) & 0xFFFFFFFF
    q = a_fragment_codes(w, n, k, wt["bits"], lambda x: torch.arange(x, device=words.device))
    if wt["signed"]:
        q = torch.where(q >= (1 << (wt["bits"] - 1)), q - (1 << wt["bits"]), q)
    g = wt["group"]
    if wt["granularity"] == "group":
        s = scales.view(n, k // g).repeat_interleave(g, dim=1)
        z = zeros.view(n, k // g).repeat_interleave(g, dim=1) if zeros is not None else 0
    else:
        s = scales.view(n, 1)
        z = zeros.view(n, 1) if zeros is not None else 0
    # (q - z) * s is exact in f32 for these widths; one rounding to the type.
    return ((q - z).to(torch.float32) * s.to(torch.float32)).to(dtype)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    iters = 30
    if "--iters" in sys.argv:
        iters = int(sys.argv[sys.argv.index("--iters") + 1])
        args = [a for a in args if a != str(iters)]
    paths = sorted(os.path.join(args[0], f) for f in os.listdir(args[0]) if f.endswith(".bundle"))
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"{'CUDA graphs' if GRAPHS else 'plain launches'}")
    rows = []
    for path in paths:
        name = os.path.basename(path)[:-7]
        bufs, wt = header(path)
        if wt is None:
            print(f"{name}: no dequantized weight; skipped")
            continue
        x_b, w_b = bufs[0], bufs[1]
        M, K = x_b["shape"]
        N = w_b["shape"][0] if wt["kdim"] == 1 else w_b["shape"][1]
        dt = torch.float16 if x_b["dtype"] == "f16" else torch.bfloat16
        scale_b = bufs[wt["scale"]]
        zero_b = bufs[wt["zero"]] if wt["zero"] >= 0 else None
        kernel = einloom.load(path)
        run = kernel._torch_launcher(0)
        qbytes = w_b["bytes"] + scale_b["bytes"] + (zero_b["bytes"] if zero_b else 0)
        copies = max(1, min(8, math.ceil(4 * L2_BYTES / (qbytes + M * K * 2))))
        peer_copies = max(1, min(8, math.ceil(4 * L2_BYTES / (N * K * 2 + M * K * 2))))
        sets = []
        for _ in range(copies):
            x = torch.randn(M, K, device="cuda").to(dt)
            words = torch.randint(-2**31, 2**31 - 1, (w_b["bytes"] // 4,), dtype=torch.int32,
                                  device="cuda")
            s = (0.01 + 0.09 * torch.rand(scale_b["shape"], device="cuda")).to(dt)
            lo, hi = (-(1 << (wt["bits"] - 1)), 1 << (wt["bits"] - 1)) if wt["signed"] \
                else (0, 1 << wt["bits"])
            zdt = {"i8": torch.int8, "i16": torch.int16, "i32": torch.int32}[zero_b["dtype"]] \
                if zero_b else None
            z = torch.randint(lo, hi, zero_b["shape"], dtype=zdt, device="cuda") \
                if zero_b else None
            sets.append([x, words, s] + ([z] if z is not None else []))
        first = sets[0]
        out = run(first)
        torch.cuda.synchronize()
        w = dequantize(first[1], first[2], first[3] if zero_b else None, wt, N, K, dt)
        ref = first[0].double() @ w.double().t()
        rel = ((out.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()
        dense = [(torch.randn(M, K, device="cuda").to(dt), torch.randn(N, K, device="cuda").to(dt))
                 for _ in range(peer_copies)]
        del w
        state = {"e": 0, "p": 0}

        def einloom_next():
            run(sets[state["e"] % copies])
            state["e"] += 1

        def peer_next():
            a, b = dense[state["p"] % peer_copies]
            torch.matmul(a, b.t())
            state["p"] += 1

        t_e, t_p = batched_ms([einloom_next, peer_next], iters, graphs=GRAPHS)
        bps = (qbytes + M * K * 2 + M * N * 2) / (t_e * 1e-3)
        rows.append((name, M, N, K, wt["bits"], t_e, t_p, bps, rel))
        print(f"{name}: M={M} N={N} K={K} W{wt['bits']}: einloom {t_e * 1e3:.1f} us, cuBLAS "
              f"{x_b['dtype']} {t_p * 1e3:.1f} us ({t_p / t_e:.2f}x), {bps / 1e12:.2f} TB/s, "
              f"rel={rel:.1e}", flush=True)
        del sets, dense
        torch.cuda.empty_cache()
    print()
    print("| case | M | N | K | bits | einloom us | cuBLAS us | einloom/cuBLAS | TB/s | rel err |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, M, N, K, bits, t_e, t_p, bps, rel) in rows:
        print(f"| {name} | {M} | {N} | {K} | {bits} | {t_e * 1e3:.1f} | {t_p * 1e3:.1f} | "
              f"{t_p / t_e:.2f}x | {bps / 1e12:.2f} | {rel:.1e} |")
    bad = [r for r in rows if not r[8] < 4e-3]
    print(f"quant bench: {len(rows)} cases, {len(bad)} with rel err >= 4e-3")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
