#!/usr/bin/env python3
"""W8A8 (int8 activations and weights, an i32 sum scaled per token and per
channel in the epilogue) against, in the same process on the same GPU:
the f16 torch.matmul of the same shapes (cuBLAS), and torch's int8 product
with its scales (torch._scaled_mm on int8 where it runs, else torch._int_mm
followed by the two scalings in one expression).

usage: bench_w8a8.py RUNNER BUNDLE_DIR [--iters N] [--json FILE]

Each bundle is `mk,nk->mn` on int8 codes with row_scale / col_scale and an
f16 result (scripts/pack-sections/quant.sh, w8a8bench/). Einloom's time comes
from RUNNER (einloom-run-rt --bench --batch 20, inputs rotated over four
L2s); the peers are timed here with their inputs rotated the same way, each
round 20 back-to-back calls between CUDA events, the median round reported.
Ratios above 1 mean Einloom is faster.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_sparse import copies_for, rotating, shapes_of  # noqa: E402
from timing import batched_ms, runner_args, runner_ms, save_json  # noqa: E402


def int8_peer(xs, ws, sas, sbs):
    """torch's int8 product with its scales: _scaled_mm if it takes int8
    here, else _int_mm and the scalings (the name says which ran)."""
    try:
        torch._scaled_mm(xs[0], ws[0].t(), scale_a=sas[0], scale_b=sbs[0].t(),
                         out_dtype=torch.float16)
        return "_scaled_mm", lambda x, w, sa, sb: torch._scaled_mm(
            x, w.t(), scale_a=sa, scale_b=sb.t(), out_dtype=torch.float16)
    except (RuntimeError, TypeError) as e:
        print(f"torch._scaled_mm on int8: {str(e).splitlines()[0]}; timing _int_mm + scales")
    m = xs[0].shape[0]
    if m > 16:
        return "_int_mm+scales", lambda x, w, sa, sb: (
            torch._int_mm(x, w.t()).float() * sa * sb.t()).half()
    # _int_mm takes more than 16 rows: the activations padded to 17, as a
    # caller of it must (the padding is made once, outside the timing).
    pads = {}

    def padded(x, w, sa, sb):
        p = pads.get(x.data_ptr())
        if p is None:
            p = pads[x.data_ptr()] = torch.cat([x, x.new_zeros(17 - m, x.shape[1])])
        return (torch._int_mm(p, w.t())[:m].float() * sa * sb.t()).half()
    return "_int_mm+scales (M padded to 17)", padded


def main():
    runner, folder, iters = runner_args(__doc__)
    dev = torch.device("cuda")
    print(f"w8a8 bench on {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print("| M x (N, K) | einloom us | cuBLAS f16 us | x f16 | torch int8 us | x int8 | peer |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".bundle"):
            continue
        path = os.path.join(folder, name)
        m, n, k, _ = shapes_of(path)
        ours = runner_ms(runner, path, iters)
        g = torch.Generator(device=dev).manual_seed(1)
        copies = copies_for(n * k + m * k)
        xs = [torch.randint(-127, 128, (m, k), device=dev, dtype=torch.int8, generator=g)
              for _ in range(copies)]
        ws = [torch.randint(-127, 128, (n, k), device=dev, dtype=torch.int8, generator=g)
              for _ in range(copies)]
        sas = [torch.rand(m, 1, device=dev, generator=g) for _ in range(copies)]
        sbs = [torch.rand(n, 1, device=dev, generator=g) for _ in range(copies)]
        xh = [x.half() for x in xs]
        wh = [w.half() for w in ws]
        f16_ms, = batched_ms([rotating(lambda x, w: torch.matmul(x, w.t()),
                                       list(zip(xh, wh)))], iters)
        peer, fn = int8_peer(xs, ws, sas, sbs)
        i8_ms, = batched_ms([rotating(fn, list(zip(xs, ws, sas, sbs)))], iters)
        print(f"| {m} x ({n}, {k}) | {1000 * ours:.1f} | {1000 * f16_ms:.1f} | "
              f"{f16_ms / ours:.2f} | {1000 * i8_ms:.1f} | {i8_ms / ours:.2f} | {peer} |",
              flush=True)
        rows.append((f"{m} x ({n}, {k})", m, n, k, ours, f16_ms, i8_ms, peer))
        del xs, ws, xh, wh
        torch.cuda.empty_cache()
    save_json("w8a8", rows, ("case", "m", "n", "k", "einloom_ms", "peer_ms", "int8_ms", "int8_peer"))


if __name__ == "__main__":
    main()
