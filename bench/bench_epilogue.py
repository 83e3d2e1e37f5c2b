#!/usr/bin/env python3
"""Einloom GEMMs with a fused epilogue (x . W^T scaled, plus a bias, an
activation, plus a residual) against PyTorch doing the same in eager mode
(cuBLAS matmul, then the elementwise ops), and against the bare cuBLAS
matmul, in one process on one GPU.

usage: bench_epilogue.py BUNDLE_DIR [--iters N]

Each bundle's manifest names its epilogue (`epilogue ALPHA BETA ACT BIAS
RESIDUAL`); the script builds the PyTorch equivalent from it, checks
Einloom's result against it (computed in f32), then times both.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm import TORCH_DTYPE, EinloomKernel, bench_args, load_bundle, time_ms  # noqa: E402


def epilogue_of(path):
    data = open(path, "rb").read()
    for line in data[data.index(b"\n") + 1:].split(b"\n"):
        w = line.decode(errors="replace").split()
        if w and w[0] == "epilogue":
            return float(w[1]), float(w[2]), w[3], int(w[4]), int(w[5])
        if line.startswith(b"image cubin"):
            break
    return None


def activation(name, x):
    return {"none": lambda v: v, "relu": F.relu, "silu": F.silu,
            "gelu": lambda v: F.gelu(v, approximate="tanh")}[name](x)


def main():
    iters, paths = bench_args()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    rows = []
    for path in paths:
        name = os.path.basename(path)[:-7]
        b = load_bundle(path)
        ep = epilogue_of(path)
        if ep is None:
            print(f"{name}: no epilogue line; skipped")
            continue
        alpha, beta, act, bias_i, res_i = ep
        bufs = b["buffers"]
        tensors = []
        for x in bufs:
            dt = TORCH_DTYPE[x["dtype"]]
            t = torch.randn(x["shape"], device="cuda") if x["role"] == "input" else \
                torch.full(x["shape"], float("nan"), device="cuda")
            tensors.append(t.to(dt))
        A, W = tensors[0], tensors[1]
        out = next(t for t, x in zip(tensors, bufs) if x["role"] == "output")
        bias = tensors[bias_i] if bias_i >= 0 else None
        res = tensors[res_i] if res_i >= 0 else None

        def eager():
            y = torch.matmul(A, W.t())
            if alpha != 1:
                y = y * alpha
            if bias is not None:
                y = y + bias
            y = activation(act, y)
            if res is not None:
                y = y + beta * res
            return y.to(out.dtype)

        def reference():
            y = (A.float() @ W.float().t()) * alpha
            if bias is not None:
                y = y + bias.float()
            y = activation(act, y)
            if res is not None:
                y = y + beta * res.float()
            return y

        k = EinloomKernel(b)
        k(tensors)
        torch.cuda.synchronize()
        ref = reference()
        rel = ((out.float() - ref).norm() / ref.norm()).item()
        t_e = time_ms(lambda: k(tensors), iters)
        t_p = time_ms(eager, iters)
        t_m = time_ms(lambda: torch.matmul(A, W.t()), iters)
        flops = b["kernels"][0].get("flops", 0)
        rows.append((name, act, t_e, t_p, t_m, flops, rel))
        print(f"{name}: einloom {t_e:.3f} ms; torch eager {t_p:.3f} ms; cuBLAS matmul alone "
              f"{t_m:.3f} ms; rel={rel:.1e}", flush=True)
    print()
    print("| case | activation | einloom ms (fused) | torch eager ms | einloom/eager | cuBLAS matmul alone ms | einloom/matmul alone | rel err |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, act, t_e, t_p, t_m, flops, rel) in rows:
        print(f"| {name} | {act} | {t_e:.3f} | {t_p:.3f} | {t_p / t_e:.2f}x | {t_m:.3f} | {t_m / t_e:.2f}x | {rel:.1e} |")


if __name__ == "__main__":
    main()
