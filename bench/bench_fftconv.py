#!/usr/bin/env python3
"""Gated causal FFT convolution: Einloom's bundle against PyTorch's FFT
convolution (rfft of the gated input and of the filter at 2N, pointwise
product, irfft, in f32; bf16 in and out; times the post-gate), in one run
on one GPU.

usage: bench_fftconv.py RUNNER BUNDLE_DIR [--iters N]

Each bundle is named gated_DTYPE_bB_hH_nN[_cC] (scripts/pack-sections/
fftconv.sh): y = post * conv(pre * u, k) over B x H x N, with `_cC` the
filter's frequencies cut off at C (frequency-sparse; PyTorch's time is
the dense convolution's, and the row also gives Einloom's dense time over
its sparse one). Einloom's time is
the runner's median over batches of back-to-back launches of the whole
bundle (the filters' spectra and the fused kernel); PyTorch's is the same
convolution as a user writes it, filter FFT included, timed the same way
(bench/timing.py). einloom/peer above 1 means Einloom is faster.
"""
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import batched_ms, runner_args, runner_ms  # noqa: E402


def torch_conv(u, k, pre, post):
    n = u.shape[-1]
    x = (u * pre).float()
    spec = torch.fft.rfft(x, n=2 * n) * torch.fft.rfft(k.float(), n=2 * n)
    y = torch.fft.irfft(spec, n=2 * n)[..., :n]
    return (y * post.float()).to(u.dtype)


def main():
    runner, folder, iters = runner_args(__doc__)
    dev = torch.device("cuda")
    print(f"fftconv bench on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| case | einloom us | pytorch us | einloom/pytorch | memory floor us |")
    print("| --- | --- | --- | --- | --- |")
    dense = {}
    # Shortest first (the longest take minutes to set up on the host), each
    # frequency-sparse row after the dense one it is compared with.
    def order(n):
        m = re.search(r"_n(\d+)(_c\d+)?\.bundle$", n)
        return (int(m.group(1)) if m else 0, m is not None and m.group(2) is not None, n)

    for name in sorted(os.listdir(folder), key=order):
        m = re.fullmatch(r"gated_(bf16|f16)_b(\d+)_h(\d+)_n(\d+)(_c\d+)?\.bundle", name)
        if not m:
            continue
        dt = torch.bfloat16 if m.group(1) == "bf16" else torch.float16
        B, H, N = int(m.group(2)), int(m.group(3)), int(m.group(4))
        ours = runner_ms(runner, os.path.join(folder, name), iters)
        g = torch.Generator(device=dev).manual_seed(1)
        u, pre, post = (torch.randn(B, H, N, device=dev, generator=g).to(dt) for _ in range(3))
        k = (torch.randn(H, N, device=dev, generator=g) / N ** 0.5).to(dt)
        peer = batched_ms([lambda: torch_conv(u, k, pre, post)], rounds=iters, reps=5)[0]
        # u, the gates and y, at 4.19 TB/s (the H200's measured copy rate).
        floor_us = 4 * B * H * N * 2 / 4.19e12 * 1e6
        key = (B, H, N)
        note = ""
        if m.group(5) and key in dense:
            note = f" (dense kernel / this: {dense[key] / ours:.2f}x)"
        elif not m.group(5):
            dense[key] = ours
        print(f"| {name[:-7]} | {ours * 1e3:.1f} | {peer * 1e3:.1f} | {peer / ours:.2f}x{note} | "
              f"{floor_us:.1f} |")


if __name__ == "__main__":
    main()
