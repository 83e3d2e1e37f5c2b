// An fp8 product whose operand passes 2^31 elements (K = 448000: 64-bit
// indexing) on the cp.async wgmma kernel (the planner's 128x256x128 plan):
// the MMA core widened its stage and warpgroup indices to i64 even when
// they already were, which the verifier refused ('arith.extui' i64 to i64;
// found by the fuzzer's large cases, 2026-12-07). It compiles, with no
// ptxas spills.
// RUN: einloom-compile %s --explain --ptxas-report -o /dev/null 2>&1 | FileCheck %s
// CHECK: einsum "geh,adh->gae" as batched GEMM: batch=1 M=32768 N=512 K=448000
// CHECK: chosen plan: 128x256x128 tile, 8x1 warps, wgmma_k32 (Hopper), 4 stages
// CHECK-NOT: error
// CHECK: 0 bytes spill stores, 0 bytes spill loads
// CHECK-NOT: [1-9][0-9]* bytes spill stores
func.func @main(%a0: tensor<896x64x512xf8E5M2>, %a1: tensor<896x512x500xf8E5M2>) -> tensor<512x512x64xf32> {
  %r = loom.einsum "heg,had->gae" (%a0, %a1) : (tensor<896x64x512xf8E5M2>, tensor<896x512x500xf8E5M2>) -> tensor<512x512x64xf32>
  return %r : tensor<512x512x64xf32>
}
