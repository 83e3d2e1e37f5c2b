#!/usr/bin/env python3
"""FP8 (e4m3) with block scales (DeepSeek-V3's recipe: one f32 scale per
token per 128 channels, one per 128 x 128 weight block, the partial sums
promoted into f32 every 128 K) against, in the same process on the same GPU:
Einloom's fp8 product of the same shape without scales (the target: at
least 0.92x of it), torch._scaled_mm with one scale per tensor (cuBLAS fp8),
torch._scaled_mm with the same block scales where this torch takes them,
and the bf16 torch.matmul (cuBLAS).

usage: bench_fp8block.py RUNNER BUNDLE_DIR [--iters N] [--json FILE]

BUNDLE_DIR holds fp8b_mM_nN_kK.bundle (block-scaled, bf16 result) beside
fp8u_mM_nN_kK.bundle (unscaled), from scripts/pack-sections/quant.sh, and
where present fp8bt_mM_nN_kK.bundle (block-scaled on the transposed kernel,
few tokens), reported in two more columns.
Einloom's times come from RUNNER (einloom-run-rt --bench --batch 20, inputs
rotated over four L2s); the peers are timed here with their inputs rotated
the same way. Ratios above 1 mean Einloom's block-scaled kernel is faster.
"""
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_sparse import copies_for, rotating  # noqa: E402
from timing import batched_ms, runner_args, runner_ms, save_json  # noqa: E402


def block_peer(x, w, m, n, k):
    """torch._scaled_mm with 1x128 activation and 128x128 weight scales, or
    None (with the reason printed) where this torch or GPU lacks it."""
    sa = torch.rand(m, k // 128, device=x.device) + 0.5
    sb = torch.rand(n // 128, k // 128, device=x.device) + 0.5
    # cuBLAS wants the activation scales M-major (a transposed K/128 x M).
    sa = sa.t().contiguous().t()
    try:
        torch._scaled_mm(x, w.t(), scale_a=sa, scale_b=sb.t(), out_dtype=torch.bfloat16)
    except (RuntimeError, TypeError, ValueError) as e:
        print(f"torch._scaled_mm with block scales: {str(e).splitlines()[0][:160]}")
        return None
    return lambda x, w: torch._scaled_mm(x, w.t(), scale_a=sa, scale_b=sb.t(),
                                         out_dtype=torch.bfloat16)


def main():
    runner, folder, iters = runner_args(__doc__)
    dev = torch.device("cuda")
    print(f"fp8 block-scale bench on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| M x (N, K) | blocks us | TFLOP/s | unscaled us | x unscaled | torch per-tensor us "
          "| x | torch blocks us | x | bf16 cuBLAS us | x | transposed us | x unscaled |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name in sorted(os.listdir(folder)):
        got = re.fullmatch(r"fp8b_m(\d+)_n(\d+)_k(\d+)\.bundle", name)
        if not got:
            continue
        m, n, k = (int(v) for v in got.groups())
        ours = runner_ms(runner, os.path.join(folder, name), iters)
        plain = runner_ms(runner, os.path.join(folder, name.replace("fp8b_", "fp8u_")), iters)
        t_path = os.path.join(folder, name.replace("fp8b_", "fp8bt_"))
        transposed = runner_ms(runner, t_path, iters) if os.path.exists(t_path) else float("nan")
        g = torch.Generator(device=dev).manual_seed(1)
        copies = copies_for(n * k + m * k)
        xs = [torch.randn(m, k, device=dev, generator=g).to(torch.float8_e4m3fn)
              for _ in range(copies)]
        ws = [torch.randn(n, k, device=dev, generator=g).to(torch.float8_e4m3fn)
              for _ in range(copies)]
        one = torch.ones((), device=dev)
        tensor_ms, = batched_ms([rotating(lambda x, w: torch._scaled_mm(
            x, w.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16),
            list(zip(xs, ws)))], iters)
        fn = block_peer(xs[0], ws[0], m, n, k)
        blocks_ms = batched_ms([rotating(fn, list(zip(xs, ws)))], iters)[0] if fn else float("nan")
        xb = [x.to(torch.bfloat16) for x in xs]
        wb = [w.to(torch.bfloat16) for w in ws]
        bf16_ms, = batched_ms([rotating(lambda x, w: torch.matmul(x, w.t()),
                                        list(zip(xb, wb)))], iters)
        tflops = 2.0 * m * n * k / (ours * 1e-3) / 1e12
        print(f"| {m} x ({n}, {k}) | {1000 * ours:.1f} | {tflops:.0f} | {1000 * plain:.1f} | "
              f"{plain / ours:.2f} | {1000 * tensor_ms:.1f} | {tensor_ms / ours:.2f} | "
              f"{1000 * blocks_ms:.1f} | {blocks_ms / ours:.2f} | {1000 * bf16_ms:.1f} | "
              f"{bf16_ms / ours:.2f} | {1000 * transposed:.1f} | {plain / transposed:.2f} |",
              flush=True)
        rows.append((f"{m} x ({n}, {k})", m, n, k, ours, plain, tensor_ms, blocks_ms, bf16_ms,
                     transposed))
        del xs, ws, xb, wb
        torch.cuda.empty_cache()
    save_json("fp8block", rows, ("case", "m", "n", "k", "einloom_ms", "unscaled_ms",
                                 "torch_tensor_ms", "torch_blocks_ms", "bf16_ms",
                                 "transposed_ms"))


if __name__ == "__main__":
    main()
