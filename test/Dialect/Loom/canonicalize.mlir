// RUN: einloom-opt %s -canonicalize -split-input-file | FileCheck %s

// An identity einsum folds away.
// CHECK-LABEL: func.func @identity
// CHECK-NOT: loom.einsum
// CHECK: return %arg0
func.func @identity(%a: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %0 = loom.einsum "ij->ij" (%a) : (tensor<4x8xf16>) -> tensor<4x8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

// A permutation or a rounding one-operand einsum is not the identity.
// CHECK-LABEL: func.func @not_identity
// CHECK: loom.einsum "ij->ji"
// CHECK: loom.einsum "ij->ij"
func.func @not_identity(%a: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf16>, tensor<4x4xf32>) {
  %0 = loom.einsum "ij->ji" (%a) : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = loom.einsum "ij->ij" (%a) : (tensor<4x4xf32>) -> tensor<4x4xf16>
  return %0, %1, %0 : tensor<4x4xf32>, tensor<4x4xf16>, tensor<4x4xf32>
}

// -----

// A transpose feeding an einsum is folded into the consumer's subscripts.
// CHECK-LABEL: func.func @transpose_into_consumer
// CHECK-NEXT: %[[R:.*]] = loom.einsum "ik,jk->ij"(%arg0, %arg1)
// CHECK-NEXT: return %[[R]]
func.func @transpose_into_consumer(%a: tensor<4x8xf16>, %b: tensor<6x8xf16>) -> tensor<4x6xf16> {
  %t = loom.einsum "nk->kn" (%b) : (tensor<6x8xf16>) -> tensor<8x6xf16>
  %0 = loom.einsum "ik,kj->ij" (%a, %t) : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf16>
  return %0 : tensor<4x6xf16>
}

// -----

// A transpose that also changes type must stay: it rounds.
// CHECK-LABEL: func.func @rounding_transpose_stays
// CHECK: loom.einsum "nk->kn"
// CHECK: loom.einsum "ik,kj->ij"
func.func @rounding_transpose_stays(%a: tensor<4x8xf16>, %b: tensor<6x8xf32>) -> tensor<4x6xf16> {
  %t = loom.einsum "nk->kn" (%b) : (tensor<6x8xf32>) -> tensor<8x6xf16>
  %0 = loom.einsum "ik,kj->ij" (%a, %t) : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf16>
  return %0 : tensor<4x6xf16>
}

// -----

// quantize(dequantize(q)) with the same parameters returns the codes.
// CHECK-LABEL: func.func @requantize
// CHECK-NOT: loom.quantize
// CHECK: return %arg0
func.func @requantize(%q: tensor<128x4xi8>, %s: tensor<2x4xf16>, %z: tensor<2x4xf16>) -> tensor<128x4xi8> {
  %d = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 8, kind = unsigned, scheme = asymmetric, granularity = group, group_size = 64, scale_type = f16>} : (tensor<128x4xi8>, tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<128x4xf32>
  %r = loom.quantize %d, %s, %z {quant = #loom.quant<bits = 8, kind = unsigned, scheme = asymmetric, granularity = group, group_size = 64, scale_type = f16>} : (tensor<128x4xf32>, tensor<2x4xf16>, tensor<2x4xf16>) -> tensor<128x4xi8>
  return %r : tensor<128x4xi8>
}

// -----

// Not folded: different scales, or an intermediate too narrow (bf16 has 8
// mantissa bits; 8-bit codes times a scale may not survive it), or the
// lossy direction dequantize(quantize(x)).
// CHECK-LABEL: func.func @no_requantize
// CHECK: loom.dequantize
// CHECK-NEXT: loom.quantize
// CHECK-NEXT: loom.dequantize
// CHECK-NEXT: loom.quantize
// CHECK-NEXT: loom.quantize
// CHECK-NEXT: loom.dequantize
func.func @no_requantize(%q: tensor<4xi8>, %s: tensor<f32>, %t: tensor<f32>, %x: tensor<4xf32>) -> (tensor<4xi8>, tensor<4xi8>, tensor<4xf32>) {
  %d = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %r = loom.quantize %d, %t {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  %b = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xi8>, tensor<f32>) -> tensor<4xbf16>
  %rb = loom.quantize %b, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xbf16>, tensor<f32>) -> tensor<4xi8>
  %xq = loom.quantize %x, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  %xd = loom.dequantize %xq, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  return %r, %rb, %xd : tensor<4xi8>, tensor<4xi8>, tensor<4xf32>
}

// -----

// unpack(pack(x)) folds for lossless layouts.
// CHECK-LABEL: func.func @unpack_pack
// CHECK-NOT: loom.unpack
// CHECK: return %arg0, %arg1
func.func @unpack_pack(%w: tensor<32x16xi4>, %x: tensor<64x64xf16>) -> (tensor<32x16xi4>, tensor<64x64xf16>) {
  %p = loom.pack %w {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<32x16xi4>) -> tensor<64xi32>
  %u = loom.unpack %p {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<64xi32>) -> tensor<32x16xi4>
  %o, %v = loom.pack %x {layout = #loom.layout<format = tiled_csl, tile_rows = 32, tile_cols = 32>} : (tensor<64x64xf16>) -> (tensor<5xi32>, tensor<?xi32>)
  %y = loom.unpack %o, %v {layout = #loom.layout<format = tiled_csl, tile_rows = 32, tile_cols = 32>} : (tensor<5xi32>, tensor<?xi32>) -> tensor<64x64xf16>
  return %u, %y : tensor<32x16xi4>, tensor<64x64xf16>
}

// -----

// Not folded: 4-bit codes held in i8 may not fit the 4-bit fragment.
// CHECK-LABEL: func.func @unpack_pack_lossy
// CHECK: loom.unpack
func.func @unpack_pack_lossy(%w: tensor<32x16xi8>) -> tensor<32x16xi8> {
  %p = loom.pack %w {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<32x16xi8>) -> tensor<64xi32>
  %u = loom.unpack %p {layout = #loom.layout<format = fragment, bits = 4>} : (tensor<64xi32>) -> tensor<32x16xi8>
  return %u : tensor<32x16xi8>
}

// -----

// An identity einsum or a transpose with a fused epilogue is not a no-op:
// neither folds away, and the transpose keeps its bias when a consumer
// could otherwise absorb it.
// CHECK-LABEL: func.func @epilogue_stays
// CHECK: %[[I:.*]] = loom.einsum "ab->ab"(%arg0) bias(%arg1 : tensor<8xf32>)
// CHECK: %[[T:.*]] = loom.einsum "ab->ba"(%arg2) {activation = #loom<activation relu>}
// CHECK: loom.einsum "ij,jk->ik"(%[[I]], %[[T]])
func.func @epilogue_stays(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %y: tensor<6x8xf32>) -> tensor<4x6xf32> {
  %i = loom.einsum "ab->ab" (%x) bias(%b : tensor<8xf32>) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %t = loom.einsum "ab->ba" (%y) {activation = #loom<activation relu>} : (tensor<6x8xf32>) -> tensor<8x6xf32>
  %r = loom.einsum "ij,jk->ik" (%i, %t) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  return %r : tensor<4x6xf32>
}
