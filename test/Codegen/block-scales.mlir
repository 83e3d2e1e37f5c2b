// FP8 with block scales (scale_block = [128, 128]): the TMA wgmma kernel,
// one column scale a 128-wide tile; each K tile of 128 is one block, summed
// alone (its first MMA's scale-d 0), waited for, and promoted into the
// result's f32 registers times row_scale[row][kb] * col_scale[n0/128][kb].
// RUN: einloom-compile %s --explain -o /dev/null 2>&1 | FileCheck %s --check-prefix=EXPLAIN
// EXPLAIN: chosen plan: 128x128x128 tile, 8x1 warps, wgmma_k32 (Hopper), {{.*}}TMA + mbarrier
// EXPLAIN: fused epilogue: block scales (one a row per 128 of K and one a block of 128 columns by 128 of K: 8192 and 128 scales), applied to each block's partial sum in the main loop
// EXPLAIN: 128x256x128 tile{{.*}}: 'loom.einsum' op scale_block's N (128) is not a multiple of tile_n (256)
// RUN: einloom-compile %s --emit ptx -o - | FileCheck %s --check-prefix=PTX
// The promotion (laid out first by the compiler): the wait for the block's
// MMAs, the empty asm that orders the accumulators' reads after it
// (wgmmaWaitAll), the two products of scales, 64 fma a thread (m64n128's
// f32 accumulators).
// PTX: wgmma.wait_group.sync.aligned 0;
// PTX-NOT: wgmma
// PTX: // end inline asm
// PTX-NEXT: mul.rn.f32 [[S0:%r[0-9]+]],
// PTX-NEXT: mul.rn.f32 [[S1:%r[0-9]+]],
// PTX-COUNT-64: fma.rn.f32 {{%r[0-9]+}}, {{%r[0-9]+}}, {{%r[0-9]+}}, {{%r[0-9]+}};
// Then the main loop: the three scales loaded ahead, the wait for the
// stage, the block's first MMA from zero (scale-d off), the commit.
// PTX: ld.global.b32
// PTX: ld.global.b32
// PTX: ld.global.b32
// PTX: mbarrier.try_wait.parity
// PTX: setp.ne.b32 p, %r{{[0-9]+}}, 0;
// PTX-NEXT: wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3
// PTX: wgmma.commit_group.sync.aligned;
// A block of two K tiles (f16 operands, tiles of 64 k; BK = 128): the
// scales load and the promotion happen under a branch at the block's first
// and last tile. Both compile with no ptxas spills.
// RUN: sed 's/f8E4M3FN/f16/g' %s > %t.f16.mlir
// RUN: einloom-compile %t.f16.mlir --explain -o /dev/null 2>&1 | FileCheck %s --check-prefix=F16
// F16: chosen plan: {{.*}}x64 tile, {{.*}} wgmma_k16 (Hopper)
// RUN: einloom-compile %s --emit ptx -o /dev/null --ptxas-report 2>&1 | FileCheck %s --check-prefix=SPILLS
// RUN: einloom-compile %t.f16.mlir --emit ptx -o /dev/null --ptxas-report 2>&1 | FileCheck %s --check-prefix=SPILLS
// SPILLS: 0 bytes spill stores, 0 bytes spill loads
// Where no kernel applies block scales, the error says why.
// RUN: not einloom-compile %t.f16.mlir --target sm_80 -o /dev/null 2>&1 | FileCheck %s --check-prefix=SM80
// SM80: no plan fits the target sm_80 (for example: 'loom.einsum' op block scales are applied by the TMA wgmma kernel
func.func @main(%x: tensor<1024x1024xf8E4M3FN>, %w: tensor<2048x1024xf8E4M3FN>, %sa: tensor<1024x8xf32>, %sb: tensor<16x8xf32>) -> tensor<1024x2048xbf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<1024x8xf32>) col_scale(%sb : tensor<16x8xf32>) {scale_block = array<i64: 128, 128>} : (tensor<1024x1024xf8E4M3FN>, tensor<2048x1024xf8E4M3FN>) -> tensor<1024x2048xbf16>
  return %y : tensor<1024x2048xbf16>
}
