#!/usr/bin/env python3
"""Einloom GEMM bundles against cuBLAS with the launches interleaved, and the
clock and power each one runs at.

usage: paired.py BUNDLE_DIR [--iters N] [--no-check]

bench_gemm.py times 50 Einloom launches, then 50 cuBLAS launches; the GPU's
clock moves between the two (it is power-limited under a long GEMM), and a
row's ratio moves with it. Here one Einloom launch and one cuBLAS launch
alternate, each timed with its own CUDA events, so both see the same
conditions; the ratio is of the two medians. Then each runs back-to-back
for about a second, and on while nvidia-smi reads the SM clock and the
power draw: the "sustained" columns are the mean time of those launches,
where the GPU has settled at its power limit.

A bundle whose result differs from cuBLAS's is reported and not timed;
--no-check times it anyway (for development experiments that skip work on
purpose), and its row says so.
"""
import os
import subprocess
import sys
import threading
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm import (TORCH_DTYPE, EinloomKernel, bench_args,  # noqa: E402
                        interleaved_ms, load_bundle)


def sustained(fn, seconds=1.0):
    """(SM MHz, watts, ms per launch): what nvidia-smi reads while `fn`
    runs back-to-back, and the mean time of those launches. Launches go on
    (the host blocks once the launch queue is full) from `seconds` before
    the reading until it has come back."""
    reading = {}

    def query():
        q = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw",
                            "--format=csv,noheader,nounits"], capture_output=True, text=True)
        reading["out"] = q.stdout

    first, last = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    launches = 0
    first.record()
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        fn()
        launches += 1
    sampler = threading.Thread(target=query)
    sampler.start()
    while sampler.is_alive():
        fn()
        launches += 1
    last.record()
    last.synchronize()
    ms = first.elapsed_time(last) / launches
    try:
        mhz, watts = (float(x) for x in reading["out"].strip().splitlines()[0].split(","))
    except (KeyError, ValueError, IndexError):
        return float("nan"), float("nan"), ms
    return mhz, watts, ms


def main():
    iters, paths = bench_args()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print("| case | einloom TFLOP/s | cuBLAS TFLOP/s | einloom/cuBLAS | sustained: einloom, cuBLAS TFLOP/s | sustained ratio | einloom MHz, W | cuBLAS MHz, W |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in paths:
        name = os.path.basename(path)[:-7]
        b = load_bundle(path)
        bufs = b["buffers"]
        dt = TORCH_DTYPE[bufs[0]["dtype"]]
        if dt not in (torch.float16, torch.bfloat16) or bufs[2]["dtype"] != bufs[0]["dtype"]:
            print(f"| {name} | skipped: paired.py times 16-bit GEMMs with a 16-bit result |")
            continue
        A = torch.randn(bufs[0]["shape"], device="cuda").to(dt)
        B = torch.randn(bufs[1]["shape"], device="cuda").to(dt)
        C = torch.full(bufs[2]["shape"], float("nan"), device="cuda").to(dt)
        k = EinloomKernel(b)
        ours = lambda: k([A, B, C])
        peer = lambda: torch.matmul(A, B.t())
        ours()
        ref = peer()
        rel = ((C.double() - ref.double()).norm() / ref.double().norm()).item()
        if not rel < 1e-2:
            print(f"| {name} | WRONG: relative error {rel:.2e} against cuBLAS |")
            if "--no-check" not in sys.argv:
                continue
        t_e, t_p = interleaved_ms([ours, peer], iters)
        f_e, f_p = k.flops / t_e / 1e9, k.flops / t_p / 1e9
        (mhz_e, w_e, s_e), (mhz_p, w_p, s_p) = sustained(ours), sustained(peer)
        print(f"| {name} | {f_e:.1f} | {f_p:.1f} | {t_p / t_e:.2f}x "
              f"| {k.flops / s_e / 1e9:.1f}, {k.flops / s_p / 1e9:.1f} | {s_p / s_e:.2f}x "
              f"| {mhz_e:.0f}, {w_e:.0f} | {mhz_p:.0f}, {w_p:.0f} |", flush=True)


if __name__ == "__main__":
    main()
