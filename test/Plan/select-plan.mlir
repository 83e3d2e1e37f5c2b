// RUN: einloom-opt %s -split-input-file -loom-select-plan="target=sm_90a" | FileCheck %s
// RUN: einloom-opt %s -split-input-file -loom-select-plan="target=sm_80" | FileCheck %s --check-prefix=SM80

// A large f16 GEMM: on sm_90a the Hopper wgmma kernel fed by TMA (two
// consumer warpgroups of 64 rows, A from registers, 4 stages, L2 swizzle);
// on sm_80 mma.sync with 64x64 warp tiles and fewer stages (less shared
// memory).
// CHECK-LABEL: func.func @big_f16
// CHECK: plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma, raster = swizzle, swizzle = 8, a_source = registers>
// SM80-LABEL: func.func @big_f16
// SM80: plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 2, warps_n = 4, mma = m16n8k16, stages = 3, raster = swizzle, swizzle = 8>
func.func @big_f16(%a: tensor<4096x4096xf16>, %b: tensor<4096x4096xf16>) -> tensor<4096x4096xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<4096x4096xf16>, tensor<4096x4096xf16>) -> tensor<4096x4096xf16>
  return %c : tensor<4096x4096xf16>
}

// -----

// s8 uses m16n8k32 and 128 K elements per 128-byte row; tf32 m16n8k8 and 32.
// CHECK-LABEL: func.func @int8_and_tf32
// CHECK: tile_k = 128
// CHECK-SAME: mma = m16n8k32
// CHECK: tile_k = 32
// CHECK-SAME: mma = m16n8k8
func.func @int8_and_tf32(%a: tensor<512x512xi8>, %f: tensor<512x512xf32>) -> (tensor<512x512xi32>, tensor<512x512xf32>) {
  %c = loom.einsum "mk,nk->mn" (%a, %a) : (tensor<512x512xi8>, tensor<512x512xi8>) -> tensor<512x512xi32>
  %d = loom.einsum "mk,nk->mn" (%f, %f) {allow_tf32} : (tensor<512x512xf32>, tensor<512x512xf32>) -> tensor<512x512xf32>
  return %c, %d : tensor<512x512xi32>, tensor<512x512xf32>
}

// -----

// A plan written in the IR is kept (stages = 2 is the default, so it prints
// without it).
// CHECK-LABEL: func.func @explicit
// CHECK: plan = #loom.plan<tile_m = 64, tile_n = 64, tile_k = 64, warps_m = 2, warps_n = 2, mma = m16n8k16>
func.func @explicit(%a: tensor<256x256xf16>) -> tensor<256x256xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %a) {plan = #loom.plan<tile_m = 64, tile_n = 64, tile_k = 64, warps_m = 2, warps_n = 2, mma = m16n8k16, stages = 2>} : (tensor<256x256xf16>, tensor<256x256xf16>) -> tensor<256x256xf16>
  return %c : tensor<256x256xf16>
}

// -----

// Free modes that do not merge into one dimension: TMA cannot describe A,
// so sm_90a keeps wgmma but feeds it with cp.async.
// CHECK-LABEL: func.func @no_tma
// CHECK: mma = wgmma_k16
// CHECK-NOT: producer = tma
// CHECK: return
func.func @no_tma(%a: tensor<1000x3x256xf16>, %b: tensor<2000x256xf16>) -> tensor<3x1000x2000xf16> {
  %c = loom.einsum "mxk,nk->xmn" (%a, %b) : (tensor<1000x3x256xf16>, tensor<2000x256xf16>) -> tensor<3x1000x2000xf16>
  return %c : tensor<3x1000x2000xf16>
}
