#!/usr/bin/env python3
"""What the einloom package adds to a launch, and its first call.

usage: bench_python.py [--calls N] [--json FILE]

- Host time per call, averaged over N calls (default 10000) of a small GEMM
  (the GPU keeps up, so the host's cost is what is measured), for: the raw
  launch of the compiled bundle through the C API with prepared arguments;
  a Kernel call (arguments checked, the result given as out=); einloom.einsum
  on a cache hit (the compiled kernel looked up, the result allocated by
  PyTorch). The overhead is einsum's time minus the raw launch's.
- The first call of a new GEMM einsum (a fresh compile cache): wall time from
  the call to its result on the host, compile and load included.
- torch.einsum's and a Triton kernel's dispatch for comparison where present.
"""
import ctypes
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("EINLOOM_CACHE_DIR", tempfile.mkdtemp(prefix="einloom-cache-"))

import torch  # noqa: E402

import einloom  # noqa: E402
from einloom import _capi  # noqa: E402


def per_call_us(fn, calls):
    for _ in range(100):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    return (t1 - t0) / calls * 1e6


def main():
    calls = int(sys.argv[sys.argv.index("--calls") + 1]) if "--calls" in sys.argv else 10000
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"{einloom.version()} from {einloom.library_path}")
    a = torch.randn(64, 64, device="cuda", dtype=torch.float16)
    b = torch.randn(64, 64, device="cuda", dtype=torch.float16)
    c = torch.empty(64, 64, device="cuda", dtype=torch.float16)

    # First call of a new GEMM einsum: compile, load, launch, result.
    x = torch.randn(1000, 1024, device="cuda", dtype=torch.float16)
    w = torch.randn(3000, 1024, device="cuda", dtype=torch.float16)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    y = einloom.einsum("mk,nk->mn", x, w)
    torch.cuda.synchronize()
    first = time.perf_counter() - t0
    rel = ((y.double() - x.double() @ w.double().t()).norm() / (x.double() @ w.double().t()).norm()).item()
    print(f"first call of a new GEMM einsum (1000x3000x1024 f16): {first * 1e3:.1f} ms wall, rel {rel:.1e}")

    einloom.einsum("mk,nk->mn", a, b)  # compiled and cached
    key = next(k for k in einloom._cache if k[0] == "mk,nk->mn" and k[1] == ((64, 64), (64, 64)))
    kernel = einloom._cache[key]
    prog = kernel._program(a.device.index or 0)
    ptrs = (ctypes.c_uint64 * 3)(a.data_ptr(), b.data_ptr(), c.data_ptr())
    sizes = (ctypes.c_uint64 * 3)(64 * 64 * 2, 64 * 64 * 2, 64 * 64 * 2)
    stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)
    raw = per_call_us(lambda: _capi.einloomProgramLaunchOnStream(prog, ptrs, sizes, 3, -1, stream),
                      calls)
    kern = per_call_us(lambda: kernel(a, b, out=c), calls)
    hit = per_call_us(lambda: einloom.einsum("mk,nk->mn", a, b), calls)
    peer = per_call_us(lambda: torch.einsum("mk,nk->mn", a, b), calls)
    rows = [("raw launch (C API, prepared arguments)", raw), ("Kernel call, out= given", kern),
            ("einloom.einsum, cache hit", hit), ("torch.einsum", peer)]
    print(f"host time per call, {calls} calls of a 64x64x64 f16 GEMM:")
    for name, us in rows:
        print(f"  {name:42s} {us:7.2f} us")
    print(f"einloom.einsum adds {hit - raw:.2f} us over the raw launch (target: at most 10 us); "
          f"first call {first * 1e3:.0f} ms (target: at most 500 ms)")
    if "--json" in sys.argv:
        with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
            json.dump({"family": "python", "device": torch.cuda.get_device_name(),
                       "first_call_ms": first * 1e3, "calls": calls,
                       "rows": [{"case": n, "us_per_call": us} for n, us in rows]}, f, indent=1)


if __name__ == "__main__":
    main()
