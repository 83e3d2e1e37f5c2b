#!/usr/bin/env python3
"""Einloom's memory-bound einsum bundles (transposes, reductions, elementwise
and outer products) against torch.einsum and a device-to-device copy of the
same number of bytes, in one process on one GPU.

usage: bench_einsum.py BUNDLE_DIR [--iters N]

A bundle of several kernels (an n-ary einsum) needs NAME.spec beside it
with the whole einsum.

Each bundle's kernels run on PyTorch's stream through the einloom package.
The result is checked against torch.einsum in f64 before timing. Bandwidth
is the bytes the einsum must move (inputs read once, the result written once)
over the median CUDA-event time. `copy` is `dst.copy_(src)` moving as many
bytes (half read, half written): einloom/copy is the fraction of copy
bandwidth reached. torch.einsum's result is made contiguous (a transpose
would otherwise be a view that moves nothing).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm import TORCH_DTYPE, EinloomKernel, bench_args, load_bundle, time_ms  # noqa: E402
from timing import save_json  # noqa: E402

TORCH_DTYPE = dict(TORCH_DTYPE, f64=torch.float64, f8E5M2=torch.float8_e5m2)


def random_input(shape, dt):
    if dt == torch.int8:
        return torch.randint(-8, 8, shape, dtype=dt, device="cuda")
    return torch.randn(shape, device="cuda", dtype=torch.float64).to(dt)


def main():
    iters, paths = bench_args()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    rows = []
    for path in paths:
        name = os.path.basename(path)[:-7]
        b = load_bundle(path)
        bufs = [x for x in b["buffers"] if x["role"] != "temp"]  # einloom allocates workspaces
        # The einsum of the whole bundle: that of its one einsum kernel, or,
        # where it runs as several (an n-ary path, an operand copied to
        # another layout first), NAME.spec beside the bundle.
        einsums = [x for x in b["kernels"] if x["op"] == "einsum"]
        spec = einsums[-1]["spec"]
        if os.path.exists(path[:-7] + ".spec"):
            spec = open(path[:-7] + ".spec").read().strip()
        tensors = []
        for x in bufs:
            dt = TORCH_DTYPE[x["dtype"]]
            if x["role"] == "input":
                tensors.append(random_input(x["shape"], dt))
            else:
                tensors.append(torch.full(x["shape"], -1, device="cuda").to(dt))
        ins = [t for t, x in zip(tensors, bufs) if x["role"] == "input"]
        out = next(t for t, x in zip(tensors, bufs) if x["role"] == "output")
        k = EinloomKernel(b)
        k(tensors)
        torch.cuda.synchronize()
        ref = torch.einsum(spec, *[t.double() for t in ins])
        rel = ((out.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()
        nbytes = sum(x["bytes"] for x in bufs)
        t_e = time_ms(lambda: k(tensors), iters)
        try:
            peer = lambda: torch.einsum(spec, *ins).contiguous()
            peer()
            t_p = time_ms(peer, iters)
        except Exception as ex:  # report, do not hide
            print(f"torch.einsum failed on {name}: {str(ex).strip().splitlines()[-1]}")
            t_p = float("nan")
        src = torch.empty(nbytes // 2, dtype=torch.uint8, device="cuda")
        dst = torch.empty_like(src)
        t_c = time_ms(lambda: dst.copy_(src), iters)
        gbs = lambda t: nbytes / t / 1e6
        rows.append((name, spec, nbytes, t_e, gbs(t_e), gbs(t_p), t_p / t_e, gbs(t_c), t_c / t_e, rel))
        print(f"{name} {spec}: einloom {t_e:.4f} ms ({gbs(t_e):.0f} GB/s) rel={rel:.1e}; "
              f"torch.einsum {t_p:.4f} ms; copy {t_c:.4f} ms ({gbs(t_c):.0f} GB/s)", flush=True)
    print()
    print("| case | einsum | MB moved | einloom ms | einloom GB/s | torch.einsum GB/s | einloom/torch | copy GB/s | einloom/copy | rel err |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    _json(rows)
    for (name, spec, nb, t_e, g_e, g_p, r_p, g_c, r_c, rel) in rows:
        print(f"| {name} | `{spec}` | {nb / 1e6:.1f} | {t_e:.4f} | {g_e:.0f} | {g_p:.0f} | {r_p:.2f}x | "
              f"{g_c:.0f} | {r_c:.2f} | {rel:.1e} |")


def _json(rows):
    save_json("einsum", rows, ["case", "spec", "bytes", "einloom_ms", "einloom_gbs", "torch_gbs",
                               "einloom_over_torch", "copy_gbs", "einloom_over_copy", "rel"])


if __name__ == "__main__":
    main()
