// RUN: einloom-opt %s -split-input-file -loom-select-plan="target=sm_90" -loom-lower-to-kernels="target=sm_90" | FileCheck %s

// The kernel of a K-contiguous f16 GEMM: cp.async copies into swizzled
// shared memory, a pipelined main loop, ldmatrix and mma.sync.
// CHECK-LABEL: func.func @nt
// CHECK: loom.einsum "mk,nk->mn"
// CHECK-SAME: loom.kernel = @einloom_kernels::@nt_einsum0
// CHECK-SAME: loom.launch = {block = array<i64: 64, 1, 1>, grid = array<i64: 256, 1, 1>, layout_a = "k-major", layout_b = "k-major", smem = 49152 : i64}
// CHECK: gpu.module @einloom_kernels [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx85">]
// CHECK: gpu.func @nt_einsum0(%{{.*}}: memref<2097152xi8>, %{{.*}}: memref<1048576xi8>, %{{.*}}: memref<1048576xi8>) kernel
// CHECK-SAME: nvvm.maxntid = array<i32: 64, 1, 1>
// CHECK: gpu.dynamic_shared_memory
// CHECK: nvgpu.device_async_copy {{.*}}, 16, {{.*}} {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.wait.group 2
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: scf.for
// CHECK: nvvm.inline_ptx "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: vector.store {{.*}} vector<2xf16>
func.func @nt(%a: tensor<1024x1024xf16>, %b: tensor<512x1024xf16>) -> tensor<1024x512xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<1024x1024xf16>, tensor<512x1024xf16>) -> tensor<1024x512xf16>
  return %c : tensor<1024x512xf16>
}

// -----

// Transposed operands are handled in the addressing: an M-contiguous A and an
// N-contiguous B are read with ldmatrix.trans, never copied.
// CHECK-LABEL: func.func @tn
// CHECK: layout_a = "mn-major", layout_b = "mn-major"
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK-NOT: memref.load
func.func @tn(%a: tensor<256x512xbf16>, %b: tensor<256x384xbf16>) -> tensor<512x384xbf16> {
  %c = loom.einsum "km,kn->mn" (%a, %b) : (tensor<256x512xbf16>, tensor<256x384xbf16>) -> tensor<512x384xbf16>
  return %c : tensor<512x384xbf16>
}

// -----

// A row pitch that breaks 16-byte alignment (K = 33) falls back to the
// element-wise producer; the result is still vector-stored when possible.
// CHECK-LABEL: func.func @odd
// CHECK: layout_a = "elementwise", layout_b = "elementwise"
// CHECK: memref.load
// CHECK: memref.store
func.func @odd(%a: tensor<7x33xf16>, %b: tensor<9x33xf16>) -> tensor<7x9xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) : (tensor<7x33xf16>, tensor<9x33xf16>) -> tensor<7x9xf16>
  return %c : tensor<7x9xf16>
}

// -----

// Batch modes go to grid.z; s8 uses the s32-accumulating mma.
// CHECK-LABEL: func.func @batched_i8
// CHECK: grid = array<i64: {{[0-9]+}}, 1, 6>
// CHECK: gpu.block_id  z
// CHECK: nvvm.inline_ptx "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32
func.func @batched_i8(%a: tensor<6x128x256xi8>, %b: tensor<6x64x256xi8>) -> tensor<6x128x64xi32> {
  %c = loom.einsum "bmk,bnk->bmn" (%a, %b) : (tensor<6x128x256xi8>, tensor<6x64x256xi8>) -> tensor<6x128x64xi32>
  return %c : tensor<6x128x64xi32>
}
