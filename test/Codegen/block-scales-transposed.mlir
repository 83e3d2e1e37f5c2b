// Block scales at 16 tokens on the transposed kernel (order = ba: the
// weight's rows on wgmma's M, the tokens on its N): a thread keeps the
// tile's weight-block scale and the token scales of its four columns
// (8i + 2tq, +1 for i = 0, 1), loaded ahead of the block's MMAs, and
// promotes each accumulator with its column's token scale times the weight
// scale. It compiles with no ptxas spills, and the planner chooses it at
// 16 tokens (correct on an H100, 2026-12-07: the pack's fp8b_ba_* cases).
// RUN: einloom-compile %s --emit ptx -o - | FileCheck %s --check-prefix=PTX
// PTX-COUNT-5: ld.global.b32
// PTX: wgmma.mma_async.sync.aligned.m64n16k32.f32.e4m3.e4m3
// PTX: wgmma.wait_group.sync.aligned 0;
// PTX-COUNT-8: fma.rn.f32
// RUN: einloom-compile %s --emit ptx -o /dev/null --ptxas-report 2>&1 | FileCheck %s --check-prefix=SPILLS
// SPILLS: 0 bytes spill stores, 0 bytes spill loads
// RUN: sed 's/, plan = #loom.plan<[^>]*>//' %s > %t.mlir
// RUN: einloom-compile %t.mlir --explain -o /dev/null 2>&1 | FileCheck %s --check-prefix=EXPLAIN
// EXPLAIN: chosen plan: 64x16x128 tile, 4x1 warps, wgmma_k32 (Hopper), 8 stages, TMA + mbarrier, warp-specialized, persistent, transposed (B's rows on the MMA's M)
// EXPLAIN: fused epilogue: block scales
// A split of K (a cluster of two) takes blocks of one K tile; with two
// tiles a block it is refused.
// RUN: sed 's/stages = 8, producer/stages = 8, split_k = 2, producer/' %s > %t.split.mlir
// RUN: einloom-compile %t.split.mlir --emit ptx -o /dev/null --ptxas-report 2>&1 | FileCheck %s --check-prefix=SPILLS
// RUN: sed 's/stages = 8, producer/stages = 8, split_k = 2, producer/; s/array<i64: 128, 128>/array<i64: 256, 128>/; s/x8xf32/x4xf32/g' %s > %t.split256.mlir
// RUN: not einloom-compile %t.split256.mlir -o /dev/null 2>&1 | FileCheck %s --check-prefix=SPLIT256
// SPLIT256: split_k with block scales takes blocks of one K tile (scale_block's K = tile_k = 128)
func.func @main(%x: tensor<16x1024xf8E4M3FN>, %w: tensor<4096x1024xf8E4M3FN>, %sa: tensor<16x8xf32>, %sb: tensor<32x8xf32>) -> tensor<16x4096xbf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<16x8xf32>) col_scale(%sb : tensor<32x8xf32>) {scale_block = array<i64: 128, 128>, plan = #loom.plan<tile_m = 64, tile_n = 16, tile_k = 128, warps_m = 4, warps_n = 1, mma = wgmma_k32, stages = 8, producer = tma, order = ba>} : (tensor<16x1024xf8E4M3FN>, tensor<4096x1024xf8E4M3FN>) -> tensor<16x4096xbf16>
  return %y : tensor<16x4096xbf16>
}
