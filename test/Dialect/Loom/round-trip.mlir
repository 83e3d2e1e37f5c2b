// RUN: einloom-opt %s | einloom-opt | FileCheck %s
// RUN: einloom-opt %s --mlir-print-op-generic | einloom-opt | FileCheck %s

// CHECK-LABEL: func.func @einsum_batched
// CHECK: loom.einsum "bmk,bnk->bmn"(%{{.*}}, %{{.*}}) {acc = f32, plan = #loom.plan<tile_m = 128, tile_n = 64, tile_k = 32, warps_m = 4, warps_n = 2, mma = m16n8k16, stages = 4, split_k = 2, raster = swizzle, swizzle = 8>}
func.func @einsum_batched(%a: tensor<8x64x32xf16>, %b: tensor<8x16x32xf16>) -> tensor<8x64x16xf16> {
  %c = loom.einsum "bmk,bnk->bmn" (%a, %b) {acc = f32, plan = #loom.plan<tile_m = 128, tile_n = 64, tile_k = 32, warps_m = 4, warps_n = 2, mma = m16n8k16, stages = 4, split_k = 2, raster = swizzle, swizzle = 8>} : (tensor<8x64x32xf16>, tensor<8x16x32xf16>) -> tensor<8x64x16xf16>
  return %c : tensor<8x64x16xf16>
}

// CHECK-LABEL: func.func @einsum_kinds
// CHECK: loom.einsum "ij,jk,kl->il"
// CHECK: loom.einsum "ii->i"
// CHECK: loom.einsum "ij,jk"
// CHECK-SAME: {acc = i32}
// CHECK: loom.einsum "mk,nk->mn"
// CHECK-SAME: allow_tf32
// CHECK: loom.einsum "mk,nk->mn"
// CHECK-SAME: #loom.quant<bits = 4, kind = signed, scale_type = f16>
// CHECK: loom.einsum "mk,kn->mn"
// CHECK-SAME: #loom.sparse<format = tiled_csl, tile_rows = 128, tile_cols = 64>
// CHECK: loom.einsum "mk,kn->mn"
// CHECK-SAME: #loom.sparse<format = auto, density = 40>
// CHECK: loom.einsum "mk,nk->mn"
// CHECK-SAME: f8E4M3FN
// CHECK: loom.einsum "km,kn->mn"
// CHECK-SAME: #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 4, warps_n = 2, mma = wgmma_k16, stages = 4, producer = tma>
func.func @einsum_kinds(%a: tensor<4x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x3xf32>,
                        %i: tensor<16x32xi8>, %j: tensor<32x8xi8>,
                        %q: tensor<16x32xi4, #loom.quant<bits = 4, kind = signed, scale_type = f16>>,
                        %r: tensor<8x32xi4>,
                        %s: tensor<256x128xf16, #loom.sparse<format = tiled_csl, tile_rows = 128, tile_cols = 64>>,
                        %t: tensor<128x8xf16>, %f: tensor<16x32xf8E4M3FN>, %g: tensor<8x32xf8E4M3FN>,
                        %u: tensor<256x128xf16, #loom.sparse<format = auto, density = 40>>) {
  %0 = loom.einsum "ij,jk,kl->il" (%a, %b, %c) : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  %1 = loom.einsum "ii->i" (%b) : (tensor<8x8xf32>) -> tensor<8xf32>
  %2 = loom.einsum "ij,jk" (%i, %j) {acc = i32} : (tensor<16x32xi8>, tensor<32x8xi8>) -> tensor<16x8xi32>
  %3 = loom.einsum "mk,nk->mn" (%a, %b) {allow_tf32} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %4 = loom.einsum "mk,nk->mn" (%q, %r) : (tensor<16x32xi4, #loom.quant<bits = 4, kind = signed, scale_type = f16>>, tensor<8x32xi4>) -> tensor<16x8xi32>
  %5 = loom.einsum "mk,kn->mn" (%s, %t) : (tensor<256x128xf16, #loom.sparse<format = tiled_csl, tile_rows = 128, tile_cols = 64>>, tensor<128x8xf16>) -> tensor<256x8xf16>
  %8 = loom.einsum "mk,kn->mn" (%u, %t) : (tensor<256x128xf16, #loom.sparse<format = auto, density = 40>>, tensor<128x8xf16>) -> tensor<256x8xf16>
  %6 = loom.einsum "mk,nk->mn" (%f, %g) : (tensor<16x32xf8E4M3FN>, tensor<8x32xf8E4M3FN>) -> tensor<16x8xbf16>
  %7 = loom.einsum "km,kn->mn" (%t, %t) {plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 4, warps_n = 2, mma = wgmma_k16, stages = 4, producer = tma>} : (tensor<128x8xf16>, tensor<128x8xf16>) -> tensor<8x8xf16>
  return
}

// CHECK-LABEL: func.func @quant
// CHECK: loom.quantize %{{.*}}, %{{.*}}, %{{.*}} {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, group_size = 128, scale_type = f16>}
// CHECK: loom.dequantize
// CHECK: loom.quantize %{{.*}}, %{{.*}} {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 1, scale_type = f32>}
// CHECK: loom.quantize %{{.*}}, %{{.*}} {quant = #loom.quant<bits = 8, kind = e4m3, scale_type = f32>}
// CHECK: loom.quantize %{{.*}}, %{{.*}} {quant = #loom.quant<bits = 2, kind = bipolar, scale_type = f32>}
func.func @quant(%w: tensor<256x64xf32>, %s: tensor<2x64xf16>, %z: tensor<2x64xf16>, %c: tensor<64xf32>, %t: tensor<f32>) {
  %q = loom.quantize %w, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 0, group_size = 128, scale_type = f16>} : (tensor<256x64xf32>, tensor<2x64xf16>, tensor<2x64xf16>) -> tensor<256x64xi4>
  %d = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 0, group_size = 128, scale_type = f16>} : (tensor<256x64xi4>, tensor<2x64xf16>, tensor<2x64xf16>) -> tensor<256x64xf16>
  %p = loom.quantize %w, %c {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 1, scale_type = f32>} : (tensor<256x64xf32>, tensor<64xf32>) -> tensor<256x64xi8>
  %e = loom.quantize %w, %t {quant = #loom.quant<bits = 8, kind = e4m3, scale_type = f32>} : (tensor<256x64xf32>, tensor<f32>) -> tensor<256x64xf8E4M3FN>
  %b = loom.quantize %w, %t {quant = #loom.quant<bits = 2, kind = bipolar, scale_type = f32>} : (tensor<256x64xf32>, tensor<f32>) -> tensor<256x64xi8>
  return
}

// CHECK-LABEL: func.func @layouts
// CHECK: loom.pack %{{.*}} {layout = #loom.layout<format = fragment, bits = 4, kind = unsigned>} : (tensor<64x32xi4>) -> tensor<256xi32>
// CHECK: loom.pack %{{.*}} {layout = #loom.layout<format = fragment, bits = 8>} : (tensor<64x32xi8>) -> tensor<512xi32>
// CHECK: loom.pack %{{.*}} {layout = #loom.layout<format = tiled_csl, tile_rows = 64, tile_cols = 64>} : (tensor<128x64xf16>) -> (tensor<3xi32>, tensor<?xi32>)
// CHECK: loom.pack %{{.*}} {layout = #loom.layout<format = two_four>} : (tensor<128x64xf16>) -> (tensor<128x32xf16>, tensor<128x4xi16>)
// CHECK: loom.pack %{{.*}} {layout = #loom.layout<format = bit_planes, bits = 3, kind = bipolar>} : (tensor<4x40xi8>) -> tensor<3x4x2xi32>
// CHECK: loom.pack %{{.*}} {layout = #loom.layout<format = block_csr, tile_rows = 16, tile_cols = 16>} : (tensor<128x64xf16>) -> (tensor<9xi32>, tensor<?xi32>, tensor<?x16x16xf16>)
// CHECK: loom.unpack %{{.*}}, %{{.*}} {layout = #loom.layout<format = two_four>}
func.func @layouts(%w4: tensor<64x32xi4>, %w8: tensor<64x32xi8>, %x: tensor<128x64xf16>, %c: tensor<4x40xi8>) -> tensor<128x64xf16> {
  %0 = loom.pack %w4 {layout = #loom.layout<format = fragment, bits = 4, kind = unsigned>} : (tensor<64x32xi4>) -> tensor<256xi32>
  %1 = loom.pack %w8 {layout = #loom.layout<format = fragment, bits = 8>} : (tensor<64x32xi8>) -> tensor<512xi32>
  %2:2 = loom.pack %x {layout = #loom.layout<format = tiled_csl, tile_rows = 64, tile_cols = 64>} : (tensor<128x64xf16>) -> (tensor<3xi32>, tensor<?xi32>)
  %3:2 = loom.pack %x {layout = #loom.layout<format = two_four>} : (tensor<128x64xf16>) -> (tensor<128x32xf16>, tensor<128x4xi16>)
  %4 = loom.pack %c {layout = #loom.layout<format = bit_planes, bits = 3, kind = bipolar>} : (tensor<4x40xi8>) -> tensor<3x4x2xi32>
  %5:3 = loom.pack %x {layout = #loom.layout<format = block_csr, tile_rows = 16, tile_cols = 16>} : (tensor<128x64xf16>) -> (tensor<9xi32>, tensor<?xi32>, tensor<?x16x16xf16>)
  %6 = loom.unpack %3#0, %3#1 {layout = #loom.layout<format = two_four>} : (tensor<128x32xf16>, tensor<128x4xi16>) -> tensor<128x64xf16>
  return %6 : tensor<128x64xf16>
}

// CHECK-LABEL: func.func @fftconv
// CHECK: loom.fftconv causal %{{.*}}, %{{.*}} : (tensor<4x8x1024xf16>, tensor<8x1024xf32>) -> tensor<4x8x1024xf16>
// CHECK: loom.fftconv circular %{{.*}}, %{{.*}} pre_gate(%{{.*}}) post_gate(%{{.*}}) {freq_cutoff = 64 : i64}
// CHECK: loom.fftconv causal %{{.*}}, %{{.*}} post_gate(%{{.*}})
func.func @fftconv(%u: tensor<4x8x1024xf16>, %k: tensor<8x1024xf32>, %s: tensor<8x100xf32>, %g: tensor<4x8x1024xf16>) {
  %0 = loom.fftconv causal %u, %k : (tensor<4x8x1024xf16>, tensor<8x1024xf32>) -> tensor<4x8x1024xf16>
  %1 = loom.fftconv circular %u, %s pre_gate(%g) post_gate(%g) {freq_cutoff = 64 : i64} : (tensor<4x8x1024xf16>, tensor<8x100xf32>, tensor<4x8x1024xf16>, tensor<4x8x1024xf16>) -> tensor<4x8x1024xf16>
  %2 = loom.fftconv causal %u, %k post_gate(%g) : (tensor<4x8x1024xf16>, tensor<8x1024xf32>, tensor<4x8x1024xf16>) -> tensor<4x8x1024xf16>
  return
}

// CHECK-LABEL: func.func @elementwise
// CHECK: loom.scale %{{.*}} by 5.000000e-01 : tensor<4x8xf32>
// CHECK: loom.add %{{.*}}, %{{.*}} {beta = 2.000000e+00 : f64} : tensor<4x8xf32>, tensor<8xf32>
// CHECK: loom.activation gelu %{{.*}} : tensor<4x8xf32>
// CHECK: loom.cast %{{.*}} : tensor<4x8xf32> to tensor<4x8xbf16>
// CHECK: loom.einsum "ij,jk->ik"(%{{.*}}, %{{.*}}) bias(%{{.*}} : tensor<8xf32>) residual(%{{.*}} : tensor<4x8xbf16>) {activation = #loom<activation silu>, alpha = 2.500000e-01 : f64, beta = 3.000000e+00 : f64}
func.func @elementwise(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %p: tensor<4x3xbf16>, %q: tensor<3x8xbf16>, %r: tensor<4x8xbf16>) {
  %0 = loom.scale %x by 5.000000e-01 : tensor<4x8xf32>
  %1 = loom.add %0, %b {beta = 2.0} : tensor<4x8xf32>, tensor<8xf32>
  %2 = loom.activation gelu %1 : tensor<4x8xf32>
  %3 = loom.cast %2 : tensor<4x8xf32> to tensor<4x8xbf16>
  %4 = loom.einsum "ij,jk->ik" (%p, %q) bias(%b : tensor<8xf32>) residual(%r : tensor<4x8xbf16>) {alpha = 0.25 : f64, beta = 3.0 : f64, activation = #loom<activation silu>} : (tensor<4x3xbf16>, tensor<3x8xbf16>) -> tensor<4x8xbf16>
  return
}

// An int8 product's scales and an asymmetric activation's rank-1 term.
// CHECK-LABEL: func.func @scaled_int8
// CHECK: loom.einsum "mk,nk->mn"(%{{.*}}, %{{.*}}) row_scale(%{{.*}} : tensor<4xf32>) col_scale(%{{.*}} : tensor<6xf32>) row_zero(%{{.*}} : tensor<4xi8>) col_sum(%{{.*}} : tensor<6xi32>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xf16>
func.func @scaled_int8(%x: tensor<4x8xi8>, %w: tensor<6x8xi8>, %sa: tensor<4xf32>, %sb: tensor<6xf32>, %za: tensor<4xi8>, %cs: tensor<6xi32>) {
  %0 = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<4xf32>) col_scale(%sb : tensor<6xf32>) row_zero(%za : tensor<4xi8>) col_sum(%cs : tensor<6xi32>) : (tensor<4x8xi8>, tensor<6x8xi8>) -> tensor<4x6xf16>
  return
}

// CHECK-LABEL: func.func @dynamic_quantize
// CHECK: %{{.*}}, %{{.*}} = loom.dynamic_quantize %{{.*}} {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, scale_type = f32>} : (tensor<4x8xbf16>) -> (tensor<4x8xi8>, tensor<4xf32>)
func.func @dynamic_quantize(%x: tensor<4x8xbf16>) -> (tensor<4x8xi8>, tensor<4xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x8xbf16>) -> (tensor<4x8xi8>, tensor<4xf32>)
  return %q, %s : tensor<4x8xi8>, tensor<4xf32>
}

// A block mask on attention scores, one byte a 64x64 block per batch.
// CHECK-LABEL: func.func @block_mask
// CHECK: loom.einsum "bhqd,bhkd->bhqk"(%{{.*}}, %{{.*}}) block_mask(%{{.*}} : tensor<2x3x2x3xi8>) {mask_block = array<i64: 64, 64>, mask_fill = 0xFFF0000000000000 : f64}
func.func @block_mask(%q: tensor<2x3x100x16xf16>, %k: tensor<2x3x130x16xf16>, %m: tensor<2x3x2x3xi8>) -> tensor<2x3x100x130xf16> {
  %s = loom.einsum "bhqd,bhkd->bhqk" (%q, %k) block_mask(%m : tensor<2x3x2x3xi8>) {mask_block = array<i64: 64, 64>, mask_fill = 0xFFF0000000000000 : f64} : (tensor<2x3x100x16xf16>, tensor<2x3x130x16xf16>) -> tensor<2x3x100x130xf16>
  return %s : tensor<2x3x100x130xf16>
}
