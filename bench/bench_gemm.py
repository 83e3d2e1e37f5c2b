#!/usr/bin/env python3
"""Einloom GEMM bundles against cuBLAS (through PyTorch) and a Triton matmul,
in one process on one GPU, on the same random inputs.

usage: bench_gemm.py BUNDLE_DIR [--iters N]

Einloom's kernels are loaded from each bundle's cubin with CuPy and launched
on PyTorch's stream; every timing is the median of CUDA-event timings after
warm-up. Prints one row per bundle and the ratios einloom / peer (higher is
better for Einloom).
"""
import ctypes
import glob
import os
import statistics
import sys
import tempfile

import numpy as np
import torch
import triton
import triton.language as tl
import cupy as cp


def parse_bundle(path):
    data = open(path, "rb").read()
    nl = data.index(b"\n")
    payload = data[nl + 1:]
    lines, pos = [], 0
    while True:
        end = payload.index(b"\n", pos)
        line = payload[pos:end].decode()
        pos = end + 1
        lines.append(line)
        if line.startswith("image cubin"):
            break
    b = {"buffers": [], "views": [], "kernels": []}
    sizes = {}
    for line in lines:
        w = line.split()
        if w[0] == "target":
            b["target"] = w[1]
        elif w[0] == "buffer":
            shape = [int(x) for x in w[4].split("x")] if w[4] != "-" else []
            b["buffers"].append({"name": w[1], "role": w[2], "dtype": w[3], "shape": shape,
                                 "bytes": int(w[5])})
        elif w[0] == "view":  # an intermediate inside a workspace buffer
            b["views"].append({"name": w[1], "in": int(w[5]), "offset": int(w[6])})
        elif w[0] == "kernel":
            b["kernels"].append({"name": w[1], "grid": [int(x) for x in w[2].split(",")],
                                 "block": [int(x) for x in w[3].split(",")],
                                 "smem": int(w[4]), "args": [int(x) for x in w[5].split(",")]})
        elif w[0] == "tensormap":
            b["kernels"][-1].setdefault("tmaps", []).append({
                "arg": int(w[1]), "eb": int(w[2]),
                "dims": [int(x) for x in w[3].split("x")],
                "strides": [int(x) for x in w[4].split("x")] if w[4] != "-" else [],
                "box": [int(x) for x in w[5].split("x")], "swizzle": int(w[6])})
        elif w[0] == "cluster":
            b["kernels"][-1]["cluster"] = int(w[1])
        elif w[0] == "persistent":
            b["kernels"][-1]["persistent"] = True
            b["kernels"][-1]["ctas_per_sm"] = int(w[1]) if len(w) > 1 else 1
        elif w[0] == "computes":
            b["kernels"][-1].update({"spec": w[2], "flops": int(w[6])})
        elif w[0] == "image":
            sizes[w[1]] = int(w[2])
    b["ptx"] = payload[pos:pos + sizes["ptx"]]
    b["cubin"] = payload[pos + sizes["ptx"]:pos + sizes["ptx"] + sizes["cubin"]]
    return b


TORCH_DTYPE = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32,
               "i8": torch.int8, "i32": torch.int32, "f8E4M3FN": torch.float8_e4m3fn}


_libcuda = None


def libcuda():
    """The driver library, loaded once."""
    global _libcuda
    if _libcuda is None:
        _libcuda = ctypes.CDLL("libcuda.so.1")
    return _libcuda


def encode_tensor_maps(tmaps, ptrs):
    """The kernel's TMA tensor-map table (128 bytes per map) on the GPU,
    encoded with the driver's cuTensorMapEncodeTiled, as the runtime does."""
    table = bytearray()
    for t in tmaps:
        rank = len(t["dims"])
        out = (ctypes.c_uint8 * 128)()
        dims = (ctypes.c_uint64 * rank)(*t["dims"])
        strides = (ctypes.c_uint64 * max(rank - 1, 1))(*(t["strides"] or [0]))
        box = (ctypes.c_uint32 * rank)(*t["box"])
        unit = (ctypes.c_uint32 * rank)(*([1] * rank))
        dtype = {1: 0, 2: 1, 4: 2}[t["eb"]]
        swz = {0: 0, 32: 1, 64: 2, 128: 3}[t["swizzle"]]
        r = libcuda().cuTensorMapEncodeTiled(out, dtype, rank, ctypes.c_void_p(ptrs[t["arg"]]),
                                            dims, strides, box, unit, 0, swz, 3, 0)
        if r != 0:
            raise RuntimeError(f"cuTensorMapEncodeTiled failed with {r}")
        table += bytes(out)
    return torch.frombuffer(table, dtype=torch.uint8).cuda()


class LaunchConfig(ctypes.Structure):
    _fields_ = [("grid", ctypes.c_uint * 3), ("block", ctypes.c_uint * 3),
                ("smem", ctypes.c_uint), ("stream", ctypes.c_void_p),
                ("attrs", ctypes.c_void_p), ("num_attrs", ctypes.c_uint)]


def resident_ctas(fn, k):
    """How many CTAs of a persistent kernel can run at once (whole clusters),
    as the runtime computes it: a CTA that is not resident would run a
    second full-length round."""
    cl = k.get("cluster", 1)
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    limit = sms * k.get("ctas_per_sm", 1) // cl * cl
    if cl > 1:
        cfg = LaunchConfig((ctypes.c_uint * 3)(k["grid"][0], 1, 1),
                           (ctypes.c_uint * 3)(*k["block"]), k["smem"], None, None, 0)
        n = ctypes.c_int(0)
        r = libcuda().cuOccupancyMaxActiveClusters(ctypes.byref(n), ctypes.c_void_p(getattr(fn, "kernel", fn).ptr),
                                                   ctypes.byref(cfg))
        if r != 0:
            raise RuntimeError(f"cuOccupancyMaxActiveClusters failed with {r}")
        limit = min(limit, n.value * cl)
        print(f"{k['name']}: {n.value} resident clusters of {cl}; grid {min(limit, k['grid'][0])}")
    return limit


class EinloomKernel:
    """A bundle's launch sequence (one kernel, or split-K's two)."""

    def __init__(self, bundle):
        self.bundle = bundle
        fd, self.path = tempfile.mkstemp(suffix=".cubin")
        os.write(fd, bundle["cubin"])
        os.close(fd)
        self.module = cp.RawModule(path=self.path)
        self.fns = []
        for k in bundle["kernels"]:
            fn = self.module.get_function(k["name"])
            # Always: the generated kernels carry a 1-byte static shared variable.
            fn.max_dynamic_shared_size_bytes = k["smem"]
            if k.get("persistent"):
                k["grid"][0] = min(k["grid"][0], resident_ctas(fn, k))
            self.fns.append((k, fn))
        # Workspaces (temp buffers) belong to the launch, not to the caller.
        self.temps = {i: torch.empty(b["bytes"], dtype=torch.uint8, device="cuda")
                      for i, b in enumerate(bundle["buffers"]) if b["role"] == "temp"}
        self.flops = sum(k.get("flops", 0) for k in bundle["kernels"])
        self.tables = {}

    def pointer(self, tensors, i):
        nb = len(self.bundle["buffers"])
        if i >= nb:  # a view: its workspace's address plus its offset
            v = self.bundle["views"][i - nb]
            return self.pointer(tensors, v["in"]) + v["offset"]
        return (self.temps[i] if i in self.temps else tensors[i]).data_ptr()

    def __call__(self, tensors):
        for n, (k, fn) in enumerate(self.fns):
            ptrs = [self.pointer(tensors, i) for i in k["args"]]
            if "tmaps" in k:
                key = (n, tuple(ptrs))
                if key not in self.tables:
                    self.tables[key] = encode_tensor_maps(k["tmaps"], ptrs)
                ptrs.append(self.tables[key].data_ptr())
            fn(tuple(k["grid"]), tuple(k["block"]), tuple(np.uint64(p) for p in ptrs),
               shared_mem=k["smem"])


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
    for _ in range(warmup):
        for fn in fns:
            fn()
    torch.cuda.synchronize()
    times = [[] for _ in fns]
    for _ in range(iters):
        for fn, out in zip(fns, times):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            e.synchronize()
            out.append(s.elapsed_time(e))
    return [statistics.median(t) for t in times]


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
        b = parse_bundle(path)
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


if __name__ == "__main__":
    main()
