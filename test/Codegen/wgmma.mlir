// RUN: einloom-opt %s -split-input-file -loom-select-plan="target=sm_90a" -loom-lower-to-kernels="target=sm_90a" | FileCheck %s

// sm_90a with producer = cp_async (the fallback where TMA cannot describe
// an operand; forced here by an explicit plan): the same cp.async producers
// feed wgmma through shared-memory descriptors. Per K tile: wait for the copies, the generic-to-async proxy
// fence, a barrier, then fence / four m64n256k16 MMAs / commit, keeping one
// group in flight; all are waited for before the epilogue.
// CHECK-LABEL: func.func @hopper
// CHECK: mma = wgmma_k16
// CHECK: gpu.func @hopper_einsum0
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: llvm.inline_asm has_side_effects {{.*}}"fence.proxy.async.shared::cta;"
// CHECK: gpu.barrier
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: arith.truncf {{.*}} : f32 to bf16
func.func @hopper(%a: tensor<2048x1024xbf16>, %b: tensor<2048x1024xbf16>) -> tensor<2048x2048xbf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) {plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4>} : (tensor<2048x1024xbf16>, tensor<2048x1024xbf16>) -> tensor<2048x2048xbf16>
  return %c : tensor<2048x2048xbf16>
}

// -----

// 8-bit types read the same 32 bytes of K per instruction as k32: fp8 with
// f32 accumulators, s8 with s32 ones (and no scale or transpose operands).
// CHECK-LABEL: func.func @hopper_8bit
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 {{.*}}, p, 1, 1;
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 {{.*}}, p;
func.func @hopper_8bit(%a: tensor<2048x2048xf8E4M3FN>, %i: tensor<2048x2048xi8>) -> (tensor<2048x2048xbf16>, tensor<2048x2048xi32>) {
  %c = loom.einsum "mk,nk->mn" (%a, %a) : (tensor<2048x2048xf8E4M3FN>, tensor<2048x2048xf8E4M3FN>) -> tensor<2048x2048xbf16>
  %d = loom.einsum "mk,nk->mn" (%i, %i) : (tensor<2048x2048xi8>, tensor<2048x2048xi8>) -> tensor<2048x2048xi32>
  return %c, %d : tensor<2048x2048xbf16>, tensor<2048x2048xi32>
}
