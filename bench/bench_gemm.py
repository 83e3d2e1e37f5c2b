#!/usr/bin/env python3
"""Einloom GEMM bundles against cuBLAS (through PyTorch) and a Triton matmul,
in one process on one GPU, on the same random inputs.

usage: bench_gemm.py BUNDLE_DIR [--iters N] [--json FILE]

Einloom's kernels are loaded and launched on PyTorch's stream through the
einloom package (einloom.load); every timing is the median of CUDA-event
timings after warm-up. Prints one row per bundle and the ratios einloom /
peer (higher is better for Einloom); --json writes the rows too.
"""
import glob
import os
import sys

import torch
import triton
import triton.language as tl

import einloom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import batched_ms, save_json  # noqa: E402


def load_bundle(path):
    """A bundle through the einloom package (einloom.load): its buffers
    (name, role, dtype, shape, bytes) and kernels (op, spec, flops), as the
    benchmarks read them, and the loaded kernel."""
    k = einloom.load(path)
    bufs = []
    for b in k.buffers:
        elems = 1
        for d in b["shape"]:
            elems *= d
        bufs.append(dict(b, shape=list(b["shape"]), bytes=elems * ELEMENT_BYTES[b["dtype"]]))
    return {"buffers": bufs, "kernels": k.kernels, "kernel": k}


ELEMENT_BYTES = {"f16": 2, "bf16": 2, "f32": 4, "f64": 8, "i8": 1, "i32": 4, "f8E4M3FN": 1,
                 "f8E5M2": 1}
TORCH_DTYPE = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32,
               "i8": torch.int8, "i32": torch.int32, "f8E4M3FN": torch.float8_e4m3fn}


class EinloomKernel:
    """A loaded bundle as the benchmarks call it: with every input and
    output tensor, in the bundle's buffer order (einloom allocates any
    workspace through PyTorch), on PyTorch's current stream."""

    def __init__(self, bundle):
        self.kernel = bundle["kernel"]
        roles = [b["role"] for b in bundle["buffers"] if b["role"] != "temp"]
        self.inputs = [i for i, r in enumerate(roles) if r == "input"]
        self.outputs = [i for i, r in enumerate(roles) if r == "output"]
        self.flops = self.kernel.flops

    def __call__(self, tensors):
        self.kernel(*[tensors[i] for i in self.inputs],
                    out=tuple(tensors[i] for i in self.outputs))


@triton.autotune(
    configs=[
        triton.Config({"BM": 128, "BN": 256, "BK": 64}, num_stages=3, num_warps=8),
        triton.Config({"BM": 256, "BN": 128, "BK": 64}, num_stages=3, num_warps=8),
        triton.Config({"BM": 128, "BN": 128, "BK": 64}, num_stages=4, num_warps=4),
        triton.Config({"BM": 128, "BN": 128, "BK": 128}, num_stages=3, num_warps=8),
    ],
    key=["M", "N", "K"],
)
@triton.jit
def matmul_nt(a_ptr, b_ptr, c_ptr, M, N, K, sam, sak, sbn, sbk, BM: tl.constexpr,
              BN: tl.constexpr, BK: tl.constexpr, ACC_INT: tl.constexpr):
    # C[M, N] = A[M, K] . B[N, K]^T, A and B with any strides (transposed
    # views), C row-major; grouped launch order for L2.
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BM)
    tiles_n = tl.cdiv(N, BN)
    group = 8
    per_group = group * tiles_n
    first_m = (pid // per_group) * group
    rows = tl.minimum(tiles_m - first_m, group)
    pm = first_m + (pid % per_group) % rows
    pn = (pid % per_group) // rows
    offs_m = pm * BM + tl.arange(0, BM)
    offs_n = pn * BN + tl.arange(0, BN)
    offs_k = tl.arange(0, BK)
    a = a_ptr + offs_m[:, None] * sam + offs_k[None, :] * sak
    b = b_ptr + offs_n[None, :] * sbn + offs_k[:, None] * sbk
    acc = tl.zeros((BM, BN), dtype=tl.int32 if ACC_INT else tl.float32)
    for k in range(0, tl.cdiv(K, BK)):
        ka = tl.load(a, mask=(offs_m[:, None] < M) & (offs_k[None, :] < K - k * BK), other=0)
        kb = tl.load(b, mask=(offs_n[None, :] < N) & (offs_k[:, None] < K - k * BK), other=0)
        acc = tl.dot(ka, kb, acc)
        a += BK * sak
        b += BK * sbk
    c = c_ptr + offs_m[:, None] * N + offs_n[None, :]
    tl.store(c, acc.to(c_ptr.dtype.element_ty), mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))


def triton_mm(a, b, c):
    M, K = a.shape
    N = b.shape[0]
    grid = lambda meta: (triton.cdiv(M, meta["BM"]) * triton.cdiv(N, meta["BN"]),)
    matmul_nt[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                    ACC_INT=a.dtype == torch.int8)


def interleaved_ms(fns, iters, warmup=10):
    """Median milliseconds of each of `fns`, launched in turn `iters` times,
    each launch timed with its own CUDA events after `warmup` rounds."""
    return batched_ms(fns, iters, reps=1, warmup=warmup)


def time_ms(fn, iters, warmup=10):
    return interleaved_ms([fn], iters, warmup)[0]


def bench_args():
    """BUNDLE_DIR [--iters N] from the command line (N defaults to 50), with
    PyTorch's generator seeded, and the bundles in the directory, sorted."""
    bundle_dir = sys.argv[1]
    iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 50
    torch.manual_seed(0)
    return iters, sorted(glob.glob(os.path.join(bundle_dir, "*.bundle")))


def main():
    iters, paths = bench_args()
    rows = []
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}")
    for path in paths:
        name = os.path.basename(path)[:-7]
        b = load_bundle(path)
        bufs = b["buffers"]
        a_shape, b_shape = bufs[0]["shape"], bufs[1]["shape"]
        dt = TORCH_DTYPE[bufs[0]["dtype"]]
        if dt == torch.int8:
            A = torch.randint(-128, 128, a_shape, dtype=dt, device="cuda")
            B = torch.randint(-128, 128, b_shape, dtype=dt, device="cuda")
        else:
            A = torch.randn(a_shape, device="cuda").to(dt)
            B = torch.randn(b_shape, device="cuda").to(dt)
        C = torch.full(bufs[2]["shape"], float("nan") if dt != torch.int8 else -1,
                       device="cuda").to(TORCH_DTYPE[bufs[2]["dtype"]])
        k = EinloomKernel(b)
        flops = k.flops
        # The peers see A as M x K and B as N x K views (transposed views for
        # the other layouts: cuBLAS and the Triton kernel take the strides).
        spec = b["kernels"][0].get("spec", "mk,nk->mn")
        Am = A if spec.split(",")[0] == "mk" else A.t()
        Bn = B if spec.split(",")[1].split("->")[0] == "nk" else B.t()
        # Correctness against the peer before timing.
        k([A, B, C])
        torch.cuda.synchronize()
        if dt == torch.int8:
            ref = torch._int_mm(A, B.t())
            peer = lambda: torch._int_mm(A, B.t())
            peer_name = "torch._int_mm"
        elif dt == torch.float8_e4m3fn:
            one = torch.tensor(1.0, device="cuda")
            out_dt = C.dtype
            peer = lambda: torch._scaled_mm(A, B.t(), scale_a=one, scale_b=one, out_dtype=out_dt)
            ref = peer()
            peer_name = "torch._scaled_mm"
        elif C.dtype != dt:
            # A wider result (f16 -> f32): cuBLAS writes it too where this
            # PyTorch has mm's out_dtype; else it writes the input type.
            try:
                peer = lambda: torch.mm(Am, Bn.t(), out_dtype=C.dtype)
                ref = peer()
                peer_name = f"cuBLAS ({bufs[2]['dtype']} out)"
            except (TypeError, RuntimeError) as ex:
                print(f"{name}: mm has no out_dtype here ({str(ex).strip().splitlines()[-1]}); "
                      f"cuBLAS writes {bufs[0]['dtype']}")
                peer = lambda: torch.matmul(Am, Bn.t())
                ref = peer()
                peer_name = f"cuBLAS ({bufs[0]['dtype']} out)"
        else:
            ref = Am @ Bn.t()
            peer = lambda: torch.matmul(Am, Bn.t())
            peer_name = "cuBLAS"
        rel = ((C.double() - ref.double()).norm() / ref.double().norm()).item()
        t_e = time_ms(lambda: k([A, B, C]), iters)
        t_p = time_ms(peer, iters)
        Ct = torch.empty_like(C)
        try:
            triton_mm(Am, Bn, Ct)
            torch.cuda.synchronize()
            t_t = time_ms(lambda: triton_mm(Am, Bn, Ct), iters)
        except Exception as ex:  # report, do not hide
            print(f"triton failed on {name}: {str(ex).strip().splitlines()[-1]}")
            t_t = float("nan")
        rows.append((name, rel, t_e, flops / t_e / 1e9, peer_name, t_p, flops / t_p / 1e9, t_t,
                     flops / t_t / 1e9))
        print(f"{name}: einloom {t_e:.3f} ms ({flops / t_e / 1e9:.1f} T/s) rel={rel:.2e}; "
              f"{peer_name} {t_p:.3f} ms ({flops / t_p / 1e9:.1f}); triton {t_t:.3f} ms "
              f"({flops / t_t / 1e9:.1f})", flush=True)
    print()
    print("| case | einloom TFLOP/s | peer | peer TFLOP/s | einloom/peer | Triton TFLOP/s | einloom/Triton | rel err |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, rel, t_e, f_e, pn, t_p, f_p, t_t, f_t) in rows:
        print(f"| {name} | {f_e:.1f} | {pn} | {f_p:.1f} | {t_p / t_e:.2f}x | {f_t:.1f} | {t_t / t_e:.2f}x | {rel:.1e} |")
    save_json("gemm", rows, ["case", "rel", "einloom_ms", "einloom_tflops", "peer", "peer_ms",
                             "peer_tflops", "triton_ms", "triton_tflops"])


if __name__ == "__main__":
    main()
