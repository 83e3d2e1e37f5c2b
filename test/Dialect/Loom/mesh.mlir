// RUN: einloom-opt %s | einloom-opt | FileCheck %s
// The device mesh and the collectives: they print as they parse.

// CHECK-LABEL: func.func @collectives
// CHECK-SAME: loom.mesh = #loom.mesh<["dp" = 2, "tp" = 4]>
// CHECK: loom.all_reduce %{{.*}} over "tp" : tensor<16x64xf16>
// CHECK: loom.all_gather %{{.*}} over "tp" dim 0 : tensor<16x64xf16> -> tensor<64x64xf16>
// CHECK: loom.reduce_scatter %{{.*}} over "dp" dim 1 : tensor<64x64xf16> -> tensor<64x32xf16>
// CHECK: loom.all_to_all %{{.*}} over "tp" split 1 concat 0 : tensor<64x32xf16> -> tensor<256x8xf16>
// CHECK: loom.shard_slice %{{.*}} over "tp" dim 0 : tensor<256x8xf16> -> tensor<64x8xf16>
func.func @collectives(%x: tensor<16x64xf16>) -> tensor<64x8xf16> attributes {loom.mesh = #loom.mesh<["dp" = 2, "tp" = 4]>} {
  %0 = loom.all_reduce %x over "tp" : tensor<16x64xf16>
  %1 = loom.all_gather %0 over "tp" dim 0 : tensor<16x64xf16> -> tensor<64x64xf16>
  %2 = loom.reduce_scatter %1 over "dp" dim 1 : tensor<64x64xf16> -> tensor<64x32xf16>
  %3 = loom.all_to_all %2 over "tp" split 1 concat 0 : tensor<64x32xf16> -> tensor<256x8xf16>
  %4 = loom.shard_slice %3 over "tp" dim 0 : tensor<256x8xf16> -> tensor<64x8xf16>
  return %4 : tensor<64x8xf16>
}
