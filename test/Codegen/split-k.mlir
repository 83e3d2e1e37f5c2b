// RUN: einloom-opt %s -loom-lower-to-kernels="target=sm_90a" | FileCheck %s

// Split-K 4: grid.z runs batch x split, each split writes f32 partial sums to
// the workspace (4 x 3 x 32 x 16 f32 = 24576 bytes), and a second kernel
// adds the four, converts and stores C.
// CHECK-LABEL: func.func @skinny
// CHECK: loom.einsum
// CHECK-SAME: loom.kernel = @einloom_kernels::@skinny_einsum0
// CHECK-SAME: grid = array<i64: 1, 1, 12>
// CHECK-SAME: loom.reduce_kernel = @einloom_kernels::@skinny_einsum0_reduce
// CHECK-SAME: loom.workspace = 24576 : i64
// CHECK: gpu.func @skinny_einsum0(%{{.*}}: memref<1572864xi8>, %{{.*}}: memref<786432xi8>, %{{.*}}: memref<24576xi8>) kernel
// CHECK: scf.for
// CHECK: vector.store {{.*}} : memref<6144xf32>, vector<2xf32>
// CHECK: gpu.func @skinny_einsum0_reduce(%{{.*}}: memref<24576xi8>, %{{.*}}: memref<3072xi8>) kernel
// CHECK-COUNT-3: arith.addf
// CHECK: arith.truncf {{.*}} : f32 to f16
func.func @skinny(%a: tensor<3x32x8192xf16>, %b: tensor<3x16x8192xf16>) -> tensor<3x32x16xf16> {
  %c = loom.einsum "bmk,bnk->bmn" (%a, %b) {plan = #loom.plan<tile_m = 32, tile_n = 64, tile_k = 64, warps_m = 1, warps_n = 2, mma = m16n8k16, stages = 3, split_k = 4>} : (tensor<3x32x8192xf16>, tensor<3x16x8192xf16>) -> tensor<3x32x16xf16>
  return %c : tensor<3x32x16xf16>
}
