#!/usr/bin/env python3
"""The mma.sync instruction's own ceiling on this GPU, measured beside cuBLAS.

usage: mma_peak.py [--iters N]

Each CTA runs 8 warps, one per 64x64 warp tile, as Einloom's mma.sync
kernels do (4 x 8 m16n8k16 MMAs per k step, 128 f32 accumulators per
thread). Three loops, each launched on one CTA per SM:
  regs:  the MMAs alone, on fragments that stay in registers;
  ldsm:  each k step first loads its fragments with ldmatrix.x4 from shared
         memory (8 per warp, conflict-free), as the GEMM kernels do;
  ldsm224: the same under a 224-register cap (what a warp-specialized
         kernel's consumers get).
The operands are random (N(0, 1) f16 or uniform s8), as in the GEMM
benchmarks: the power a loop draws depends on its data.
The s8 rows run m16n8k32 with s32 accumulators. cuBLAS's f16 GEMM at 8192^3
is timed in the same process, and every row prints its ratio to it, and the
SM clock and power that nvidia-smi reads while the loop runs back-to-back.
"""
import os
import sys

import cupy as cp
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm import time_ms  # noqa: E402
from paired import sustained  # noqa: E402

SRC = r"""
#define MMA_F16 "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
#define MMA_S8  "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
__device__ __forceinline__ void mma(int (&d)[4], const unsigned (&a)[4], const unsigned *b) {
  asm(MMA_S8 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], const unsigned *b) {
    asm(MMA_F16 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void ldsm4(unsigned (&r)[4], unsigned addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
template <typename Acc, bool LDSM>
__device__ void body(float *out, const uint4 *src, int iters) {
  extern __shared__ uint4 smem[];
  Acc d[4][8][4];
  unsigned a[4][4], b[8][2];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j)
      for (int q = 0; q < 4; ++q) d[i][j][q] = 0;
  const unsigned *words = reinterpret_cast<const unsigned *>(src);
  for (int i = 0; i < 4; ++i)
    for (int q = 0; q < 4; ++q) a[i][q] = words[(threadIdx.x * 16 + i * 4 + q) % 8192];
  for (int j = 0; j < 8; ++j)
    for (int q = 0; q < 2; ++q) b[j][q] = words[(threadIdx.x * 16 + 4096 + j * 2 + q) % 8192];
  for (int i = threadIdx.x; i < 2048; i += blockDim.x) smem[i] = src[i];
  __syncthreads();
  unsigned base = (unsigned)__cvta_generic_to_shared(smem) + (threadIdx.x % 32) * 16;
  for (int it = 0; it < iters; ++it) {
#pragma unroll
    for (int ks = 0; ks < 4; ++ks) {
      if (LDSM) {
        unsigned at = base + ((it * 4 + ks) % 4) * 8192;
#pragma unroll
        for (int i = 0; i < 4; ++i) ldsm4(a[i], at + i * 512);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          unsigned r[4];
          ldsm4(r, at + 2048 + j * 512);
          b[2 * j][0] = r[0]; b[2 * j][1] = r[1]; b[2 * j + 1][0] = r[2]; b[2 * j + 1][1] = r[3];
        }
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) mma(d[i][(i & 1) ? 7 - j : j], a[i], b[(i & 1) ? 7 - j : j]);
    }
  }
  float s = 0.f;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j)
      for (int q = 0; q < 4; ++q) s += (float)d[i][j][q];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}
#define LOOP(name, acc, ldsm) \
  extern "C" __global__ void __launch_bounds__(256, 1) \
  name(float *o, const uint4 *src, int n) { body<acc, ldsm>(o, src, n); }
LOOP(f16_regs, float, false)
LOOP(f16_ldsm, float, true)
LOOP(s8_regs, int, false)
LOOP(s8_ldsm, int, true)
"""


def main():
    iters = int(sys.argv[sys.argv.index("--iters") + 1]) if "--iters" in sys.argv else 20
    torch.cuda.init()
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    mods = {"": cp.RawModule(code=SRC, options=("-std=c++17",)),
            "224": cp.RawModule(code=SRC, options=("-std=c++17", "--maxrregcount=224"))}
    out = cp.zeros(sms * 256, dtype=cp.float32)
    # The operands: 32 KiB of random f16 (N(0, 1)) or s8 values, read into
    # shared memory and the first fragments (power depends on the data).
    sources = {"f16": cp.asarray(torch.randn(16384, device="cuda", dtype=torch.float16)
                                 .view(torch.uint8)),
               "s8": cp.asarray(torch.randint(-128, 128, (32768,), device="cuda",
                                              dtype=torch.int8).view(torch.uint8))}
    loops = 4000
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    bt = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    cublas_ms = time_ms(lambda: torch.matmul(a, bt.t()), iters)
    cublas = 2 * 8192**3 / cublas_ms / 1e9
    clocks = lambda fn: "%.0f MHz, %.0f W" % sustained(fn)[:2]
    print(f"{'loop':<14} {'TFLOP/s':>9} {'x cuBLAS f16 8192^3':>20}   sustained")
    print(f"{'cublas_f16':<14} {cublas:9.1f} {1.0:20.2f}   "
          f"{clocks(lambda: torch.matmul(a, bt.t()))}")
    for cap, mod in mods.items():
        for name in ("f16_regs", "f16_ldsm", "s8_regs", "s8_ldsm"):
            if cap and "ldsm" not in name:
                continue
            k = mod.get_function(name)
            k.max_dynamic_shared_size_bytes = 32768
            src = sources[name.split("_")[0]]
            run = lambda: k((sms,), (256,), (out, src, cp.int32(loops)), shared_mem=32768)
            ms = time_ms(run, iters)
            mk = 32 if name.startswith("s8") else 16
            ops = sms * 8 * loops * 4 * 32 * (16 * 8 * mk) * 2
            rate = ops / ms / 1e9
            print(f"{name + cap:<14} {rate:9.1f} {rate / cublas:20.2f}   {clocks(run)}")
    # The f16 rows after the s8 ones: cuBLAS again, for drift within the run.
    cublas_ms = time_ms(lambda: torch.matmul(a, bt.t()), iters)
    print(f"{'cublas_again':<14} {2 * 8192**3 / cublas_ms / 1e9:9.1f}")


if __name__ == "__main__":
    main()
