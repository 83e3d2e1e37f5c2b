// unpack(pack(x)) returns x for every layout, on seeded random data; the
// first result is x itself, the second the round trip.
// RUN: einloom-run --reference %s --function fragment4 --seed 1 --print-values 1000 | FileCheck %s
// RUN: einloom-run --reference %s --function fragment8 --seed 2 --print-values 1000 | FileCheck %s
// RUN: einloom-run --reference %s --function tiled_csl --seed 3 --print-values 1000 | FileCheck %s
// RUN: einloom-run --reference %s --function two_four --seed 4 --print-values 1000 | FileCheck %s
// RUN: einloom-run --reference %s --function bit_planes --seed 5 --print-values 1000 | FileCheck %s
// RUN: einloom-run --reference %s --function block_csr --seed 6 --print-values 1000 | FileCheck %s
// RUN: einloom-run --reference %s --function bitmap --seed 7 --print-values 1000 | FileCheck %s

// CHECK: result #0
// CHECK-NEXT: type: [[T:.*]]
// CHECK-NEXT: checksum: [[SUM:.*]]
// CHECK-NEXT: values: [[V:.*]]
// CHECK: result #1
// CHECK-NEXT: type: [[T]]
// CHECK-NEXT: checksum: [[SUM]]
// CHECK-NEXT: values: [[V]]

func.func @fragment4(%w: tensor<32x32xi4>) -> (tensor<32x32xi4>, tensor<32x32xi4>) {
  %p = loom.pack %w {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<32x32xi4>) -> tensor<128xi32>
  %u = loom.unpack %p {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<128xi32>) -> tensor<32x32xi4>
  return %w, %u : tensor<32x32xi4>, tensor<32x32xi4>
}
func.func @fragment8(%w: tensor<64x16xi8>) -> (tensor<64x16xi8>, tensor<64x16xi8>) {
  %p = loom.pack %w {layout = #loom.layout<format = fragment, bits = 8>} : (tensor<64x16xi8>) -> tensor<256xi32>
  %u = loom.unpack %p {layout = #loom.layout<format = fragment, bits = 8>} : (tensor<256xi32>) -> tensor<64x16xi8>
  return %w, %u : tensor<64x16xi8>, tensor<64x16xi8>
}
func.func @tiled_csl(%w: tensor<20x24xf16>) -> (tensor<20x24xf16>, tensor<20x24xf16>) {
  %o, %v = loom.pack %w {layout = #loom.layout<format = tiled_csl, tile_rows = 8, tile_cols = 16>} : (tensor<20x24xf16>) -> (tensor<7xi32>, tensor<?xi32>)
  %u = loom.unpack %o, %v {layout = #loom.layout<format = tiled_csl, tile_rows = 8, tile_cols = 16>} : (tensor<7xi32>, tensor<?xi32>) -> tensor<20x24xf16>
  return %w, %u : tensor<20x24xf16>, tensor<20x24xf16>
}
func.func @two_four(%w: tensor<4x32xf16>) -> (tensor<4x32xf16>, tensor<4x32xf16>) {
  %v, %m = loom.pack %w {layout = #loom.layout<format = two_four>} : (tensor<4x32xf16>) -> (tensor<4x16xf16>, tensor<4x2xi16>)
  %u = loom.unpack %v, %m {layout = #loom.layout<format = two_four>} : (tensor<4x16xf16>, tensor<4x2xi16>) -> tensor<4x32xf16>
  return %w, %u : tensor<4x32xf16>, tensor<4x32xf16>
}
func.func @bit_planes(%w: tensor<3x40xi8>) -> (tensor<3x40xi8>, tensor<3x40xi8>) {
  %p = loom.pack %w {layout = #loom.layout<format = bit_planes, bits = 3, kind = bipolar>} : (tensor<3x40xi8>) -> tensor<3x3x2xi32>
  %u = loom.unpack %p {layout = #loom.layout<format = bit_planes, bits = 3, kind = bipolar>} : (tensor<3x3x2xi32>) -> tensor<3x40xi8>
  return %w, %u : tensor<3x40xi8>, tensor<3x40xi8>
}
func.func @block_csr(%w: tensor<16x16xf32>) -> (tensor<16x16xf32>, tensor<16x16xf32>) {
  %r, %c, %b = loom.pack %w {layout = #loom.layout<format = block_csr, tile_rows = 4, tile_cols = 8>} : (tensor<16x16xf32>) -> (tensor<5xi32>, tensor<?xi32>, tensor<?x4x8xf32>)
  %u = loom.unpack %r, %c, %b {layout = #loom.layout<format = block_csr, tile_rows = 4, tile_cols = 8>} : (tensor<5xi32>, tensor<?xi32>, tensor<?x4x8xf32>) -> tensor<16x16xf32>
  return %w, %u : tensor<16x16xf32>, tensor<16x16xf32>
}
func.func @bitmap(%w: tensor<20x24xbf16>) -> (tensor<20x24xbf16>, tensor<20x24xbf16>) {
  %o, %m, %v = loom.pack %w {layout = #loom.layout<format = bitmap, tile_rows = 16, tile_cols = 16>} : (tensor<20x24xbf16>) -> (tensor<5xi32>, tensor<32xi32>, tensor<?xbf16>)
  %u = loom.unpack %o, %m, %v {layout = #loom.layout<format = bitmap, tile_rows = 16, tile_cols = 16>} : (tensor<5xi32>, tensor<32xi32>, tensor<?xbf16>) -> tensor<20x24xbf16>
  return %w, %u : tensor<20x24xbf16>, tensor<20x24xbf16>
}
