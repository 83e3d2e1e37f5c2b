#!/usr/bin/env python3
"""Attention scores under a block mask (loom.einsum block_mask: a masked-out
128 x 128 block runs no K tile and stores the fill) against, in the same
process on the same GPU: dense scores by torch.matmul (cuBLAS), which a
block-sparse attention would otherwise compute in full, and Einloom's own
dense scores.

usage: bench_mask.py RUNNER BUNDLE_DIR [--iters N] [--json FILE]

BUNDLE_DIR holds maskbench_bB_hH_qQ_kK_dD.bundle (bf16, a block mask per
batch and head, fill -inf) beside dense_bB_hH_qQ_kK_dD.bundle (and
tmamask_bB_hH_qQ_kK_dD.bundle, the same mask on the TMA kernel), from
scripts/build-gpu-pack.sh. Einloom's times come from RUNNER (einloom-run-rt
--bench --batch 20) at several --density values, the share of blocks
computed (the mask is random, so the kept blocks spread over every CTA);
cuBLAS is timed here with its inputs rotated the same way. Ratios above 1
mean the masked kernel is faster than dense cuBLAS.
"""
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_sparse import copies_for, rotating  # noqa: E402
from timing import batched_ms, runner_args, runner_ms, save_json  # noqa: E402

DENSITIES = (1.0, 0.5, 0.25, 0.1)


def main():
    runner, folder, iters = runner_args(__doc__)
    dev = torch.device("cuda")
    print(f"block-mask bench on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| B x H x Q x K x D | cuBLAS dense us | Einloom dense us | "
          + " | ".join(f"kept {d:.0%} us | x cuBLAS" for d in DENSITIES) + " |")
    print("|---|---|---|" + "---|---|" * len(DENSITIES))
    rows = []
    for name in sorted(os.listdir(folder)):
        got = re.fullmatch(r"maskbench_b(\d+)_h(\d+)_q(\d+)_k(\d+)_d(\d+)\.bundle", name)
        if not got:
            continue
        bb, h, q, k, d = (int(v) for v in got.groups())
        path = os.path.join(folder, name)
        masked = [runner_ms(runner, path, iters, "--density", str(p)) for p in DENSITIES]
        dense_path = os.path.join(folder, name.replace("maskbench_", "dense_"))
        ours_dense = runner_ms(runner, dense_path, iters) if os.path.exists(dense_path) else float("nan")
        g = torch.Generator(device=dev).manual_seed(1)
        copies = copies_for(2 * bb * h * (q + k) * d)
        qs = [torch.randn(bb, h, q, d, device=dev, generator=g, dtype=torch.bfloat16)
              for _ in range(copies)]
        ks = [torch.randn(bb, h, k, d, device=dev, generator=g, dtype=torch.bfloat16)
              for _ in range(copies)]
        cublas, = batched_ms([rotating(lambda x, y: torch.matmul(x, y.transpose(-1, -2)),
                                       list(zip(qs, ks)))], iters)
        # The same mask on the TMA kernel (tmamask_*: its plan given, as the
        # planner does not choose it before it has run here), where packed.
        tma_path = os.path.join(folder, name.replace("maskbench_", "tmamask_"))
        kinds = [("", masked)]
        if os.path.exists(tma_path):
            kinds.append((" (TMA)", [runner_ms(runner, tma_path, iters, "--density", str(p))
                                     for p in DENSITIES]))
        for label, times in kinds:
            cells = " | ".join(f"{1000 * t:.1f} | {cublas / t:.2f}" for t in times)
            print(f"| {bb} x {h} x {q} x {k} x {d}{label} | {1000 * cublas:.1f} | "
                  f"{1000 * ours_dense:.1f} | {cells} |", flush=True)
            rows.append((f"{bb}x{h}x{q}x{k}x{d}{label.strip()}", cublas, ours_dense, *times))
        del qs, ks
        torch.cuda.empty_cache()
    save_json("mask", rows, ("case", "cublas_ms", "einloom_dense_ms",
                             *[f"kept_{d}_ms" for d in DENSITIES]))


if __name__ == "__main__":
    main()
