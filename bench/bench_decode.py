#!/usr/bin/env python3
"""Decode-shaped contractions (a few tokens against a large weight) against
torch.matmul (cuBLAS) in one process on one GPU, with the bandwidth against
a device-to-device copy.

usage: bench_decode.py BUNDLE_DIR [--iters N] [--json FILE] [--graphs]

Each bundle computes x . W^T (`mk,nk->mn`: x is M x K, W is N x K) or a
matrix-vector einsum (NAME.spec beside the bundle gives the einsum for the
peer, torch.einsum). Einloom and the peer take turns, each round timing 20
back-to-back launches between CUDA events after warm-up (batched_ms); the
median round is reported. With --graphs each side's 20 launches are
captured in a CUDA graph and replayed (as serving engines run decode), so
the host's launch cost stays out of the time. Where the inputs fit twice in the L2 cache,
both sides rotate through enough copies of them to stream from DRAM.

Columns: the times, einloom/peer (above 1: Einloom faster), the bytes the
einsum must move over Einloom's time, and that bandwidth as a fraction of a
copy's (dst.copy_(src) of 1 GiB, half read and half written, measured in the
same process). The last line is the geometric mean of einloom/peer over the
`mk,nk->mn` rows and the smallest ratio.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm import TORCH_DTYPE, EinloomKernel, bench_args, load_bundle  # noqa: E402
from timing import batched_ms, graphed, save_json  # noqa: E402,F401

L2_BYTES = 50 * 1024 * 1024
# --graphs: each side's 20 launches replayed from a CUDA graph.
GRAPHS = "--graphs" in sys.argv


def random_input(shape, dt):
    if dt == torch.int8:
        return torch.randint(-8, 8, shape, dtype=dt, device="cuda")
    return torch.randn(shape, device="cuda", dtype=torch.float32).to(dt)


def moved_bytes(spec, bufs):
    """Bytes the einsum must move: each input read once (a repeated label,
    a diagonal, reads one element per value of the label), the result
    written once."""
    lhs, out = spec.split("->")
    labels = lhs.split(",")
    ins = [x for x in bufs if x["role"] == "input"]
    total = sum(x["bytes"] for x in bufs if x["role"] == "output")
    for sub, x in zip(labels, ins):
        extent = dict(zip(sub, x["shape"]))
        elems = 1
        for l in set(sub):
            elems *= extent[l]
        total += elems * (x["bytes"] // max(1, math.prod(x["shape"])))
    return total


def copy_bandwidth(rounds):
    """Bytes per second of a 1 GiB device-to-device copy (read plus write)."""
    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    ms = batched_ms([lambda: dst.copy_(src)], rounds, reps=5)[0]
    del src, dst
    return 2 * (1 << 30) / (ms * 1e-3)


def main():
    iters, paths = bench_args()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"{'CUDA graphs' if GRAPHS else 'plain launches'}")
    copy_bps = copy_bandwidth(iters)
    print(f"copy bandwidth (1 GiB, read + write): {copy_bps / 1e12:.2f} TB/s")
    rows = []
    for path in paths:
        name = os.path.basename(path)[:-7]
        b = load_bundle(path)
        bufs = b["buffers"]
        spec = b["kernels"][0].get("spec", "mk,nk->mn")
        if os.path.exists(path[:-7] + ".spec"):
            spec = open(path[:-7] + ".spec").read().strip()
        nbytes = moved_bytes(spec, bufs)
        copies = max(1, min(8, math.ceil(4 * L2_BYTES / nbytes)))
        sets = []
        for _ in range(copies):
            tensors = []
            for x in bufs:
                dt = TORCH_DTYPE[x["dtype"]]
                if x["role"] == "input":
                    tensors.append(random_input(x["shape"], dt))
                else:
                    tensors.append(torch.full(x["shape"], float("nan"), device="cuda").to(dt)
                                   if dt.is_floating_point else
                                   torch.full(x["shape"], -1, device="cuda").to(dt))
            sets.append(tensors)
        k = EinloomKernel(b)
        first = sets[0]
        t_ins = [t for t, x in zip(first, bufs) if x["role"] == "input"]
        out = next(t for t, x in zip(first, bufs) if x["role"] == "output")
        k(first)
        torch.cuda.synchronize()
        ref = torch.einsum(spec, *[t.double() for t in t_ins])
        rel = ((out.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()
        matmul = spec == "mk,nk->mn"

        def peer_of(tensors):
            xs = [t for t, x in zip(tensors, bufs) if x["role"] == "input"]
            if matmul and xs[0].dtype != torch.int8:
                return lambda: torch.matmul(xs[0], xs[1].t())
            if matmul:
                return lambda: torch._int_mm(xs[0], xs[1].t())
            return lambda: torch.einsum(spec, *xs)

        peers = [peer_of(t) for t in sets]
        state = {"e": 0, "p": 0}

        def einloom_next():
            k(sets[state["e"] % copies])
            state["e"] += 1

        def peer_next():
            peers[state["p"] % copies]()
            state["p"] += 1

        try:
            t_e, t_p = batched_ms([einloom_next, peer_next], iters, graphs=GRAPHS)
        except Exception as ex:  # report, do not hide
            print(f"{name}: {str(ex).strip().splitlines()[-1]}")
            continue
        bps = nbytes / (t_e * 1e-3)
        rows.append((name, spec, nbytes, t_e, t_p, bps, rel))
        print(f"{name} {spec}: einloom {t_e * 1e3:.1f} us, peer {t_p * 1e3:.1f} us "
              f"({t_p / t_e:.2f}x), {bps / 1e12:.2f} TB/s = {bps / copy_bps:.2f} of copy, "
              f"rel={rel:.1e}, {copies} input set(s)", flush=True)
    print()
    print(f"copy bandwidth {copy_bps / 1e12:.2f} TB/s")
    print("| case | einsum | MB | einloom us | peer us | einloom/peer | einloom TB/s | of copy | rel err |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, spec, nb, t_e, t_p, bps, rel) in rows:
        print(f"| {name} | `{spec}` | {nb / 1e6:.1f} | {t_e * 1e3:.1f} | {t_p * 1e3:.1f} | "
              f"{t_p / t_e:.2f}x | {bps / 1e12:.2f} | {bps / copy_bps:.2f} | {rel:.1e} |")
    save_json("decode", [r + (copy_bps,) for r in rows],
              ["case", "spec", "bytes", "einloom_ms", "peer_ms", "einloom_bps", "rel", "copy_bps"])
    gemm = [t_p / t_e for (_, spec, _, t_e, t_p, _, _) in rows if spec == "mk,nk->mn"]
    if gemm:
        geo = math.exp(sum(math.log(r) for r in gemm) / len(gemm))
        print(f"mk,nk->mn rows: geometric mean {geo:.3f}x the peer, lowest {min(gemm):.2f}x "
              f"over {len(gemm)} shapes")


if __name__ == "__main__":
    main()
