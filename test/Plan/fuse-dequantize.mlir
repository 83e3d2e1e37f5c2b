// RUN: einloom-opt %s -split-input-file -loom-fuse-dequantize | FileCheck %s
// RUN: einloom-opt %s -split-input-file -loom-fuse-dequantize=explain=true -o /dev/null 2>&1 | FileCheck %s --check-prefix=WHY

// W4A16, groups of 128 along k, unsigned codes with zero points: one einsum
// that reads the codes.
// CHECK-LABEL: func.func @w4_group
// CHECK-NOT: loom.dequantize
// CHECK: loom.einsum "mk,nk->mn"(%arg0, %arg1) scale(%arg2 : tensor<128x2xf16>) zero_point(%arg3 : tensor<128x2xi8>) {weight_quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 1, group_size = 128, scale_type = f16>} : (tensor<16x256xf16>, tensor<128x256xi4>) -> tensor<16x128xf16>
// WHY: fused loom.dequantize (4-bit unsigned, groups of 128) into einsum "mk,nk->mn": {{.*}}(summed label 'k', kept 'n')
func.func @w4_group(%x: tensor<16x256xf16>, %q: tensor<128x256xi4>, %s: tensor<128x2xf16>, %z: tensor<128x2xi8>) -> tensor<16x128xf16> {
  %w = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 1, group_size = 128, scale_type = f16>} : (tensor<128x256xi4>, tensor<128x2xf16>, tensor<128x2xi8>) -> tensor<128x256xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x256xf16>, tensor<128x256xf16>) -> tensor<16x128xf16>
  return %y : tensor<16x128xf16>
}

// -----

// The weight first (and K x N): the operands and subscripts are swapped so
// that the codes are the second operand; per-channel signed int8 in bf16.
// CHECK-LABEL: func.func @w8_first
// CHECK: loom.einsum "mk,kn->mn"(%arg1, %arg0) scale(%arg2 : tensor<64xbf16>) {weight_quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 1, scale_type = bf16>} : (tensor<3x128xbf16>, tensor<128x64xi8>) -> tensor<3x64xbf16>
// WHY: fused loom.dequantize (8-bit signed, per channel) into einsum "mk,kn->mn"
func.func @w8_first(%q: tensor<128x64xi8>, %x: tensor<3x128xbf16>, %s: tensor<64xbf16>) -> tensor<3x64xbf16> {
  %w = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 1, scale_type = bf16>} : (tensor<128x64xi8>, tensor<64xbf16>) -> tensor<128x64xbf16>
  %y = loom.einsum "kn,mk->mn" (%w, %x) : (tensor<128x64xbf16>, tensor<3x128xbf16>) -> tensor<3x64xbf16>
  return %y : tensor<3x64xbf16>
}

// -----

// What does not fuse stays as it was, and --explain says why.
// CHECK-LABEL: func.func @unfused
// CHECK-COUNT-7: loom.dequantize
// WHY: loom.dequantize (5-bit signed, groups of 64) runs alone, as its own memory-bound kernel (not fused): 5-bit codes
// WHY: loom.dequantize (4-bit signed, groups of 64) runs alone, as its own memory-bound kernel (not fused): the zero points are f16 (the kernel subtracts integer zero points exactly)
// WHY: loom.dequantize (4-bit signed, groups of 64) runs alone, as its own memory-bound kernel (not fused): the scales are f32
// WHY: loom.dequantize (4-bit signed, groups of 16) runs alone, as its own memory-bound kernel (not fused): the groups run along 'n', not the summed label 'k'
// WHY: loom.dequantize (4-bit signed, groups of 16) runs alone, as its own memory-bound kernel (not fused): group size 16 (the kernels take 32 or a multiple of 64)
// WHY: loom.dequantize (4-bit signed, per channel) runs alone, as its own memory-bound kernel (not fused): the weight's kept size 40 is not a multiple of 16
// WHY: loom.dequantize (4-bit signed, per channel) runs alone, as its own memory-bound kernel (not fused): its result has several uses
func.func @unfused(%x: tensor<4x128xf16>, %q5: tensor<64x128xi5>, %s: tensor<64x2xf16>, %zf: tensor<64x2xf16>,
                   %q: tensor<64x128xi4>, %s32: tensor<64x2xf32>, %sn: tensor<4x128xf16>, %s16: tensor<64x8xf16>,
                   %q40: tensor<40x128xi4>, %c40: tensor<40xf16>, %c64: tensor<64xf16>)
    -> (tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x40xf16>, tensor<4x64xf16>, tensor<4x64xf16>) {
  %w0 = loom.dequantize %q5, %s {quant = #loom.quant<bits = 5, kind = signed, granularity = group, axis = 1, group_size = 64, scale_type = f16>} : (tensor<64x128xi5>, tensor<64x2xf16>) -> tensor<64x128xf16>
  %y0 = loom.einsum "mk,nk->mn" (%x, %w0) : (tensor<4x128xf16>, tensor<64x128xf16>) -> tensor<4x64xf16>
  %w1 = loom.dequantize %q, %s, %zf {quant = #loom.quant<bits = 4, kind = signed, scheme = asymmetric, granularity = group, axis = 1, group_size = 64, scale_type = f16>} : (tensor<64x128xi4>, tensor<64x2xf16>, tensor<64x2xf16>) -> tensor<64x128xf16>
  %y1 = loom.einsum "mk,nk->mn" (%x, %w1) : (tensor<4x128xf16>, tensor<64x128xf16>) -> tensor<4x64xf16>
  %w2 = loom.dequantize %q, %s32 {quant = #loom.quant<bits = 4, kind = signed, granularity = group, axis = 1, group_size = 64, scale_type = f32>} : (tensor<64x128xi4>, tensor<64x2xf32>) -> tensor<64x128xf16>
  %y2 = loom.einsum "mk,nk->mn" (%x, %w2) : (tensor<4x128xf16>, tensor<64x128xf16>) -> tensor<4x64xf16>
  %w3 = loom.dequantize %q, %sn {quant = #loom.quant<bits = 4, kind = signed, granularity = group, axis = 0, group_size = 16, scale_type = f16>} : (tensor<64x128xi4>, tensor<4x128xf16>) -> tensor<64x128xf16>
  %y3 = loom.einsum "mk,nk->mn" (%x, %w3) : (tensor<4x128xf16>, tensor<64x128xf16>) -> tensor<4x64xf16>
  %w4 = loom.dequantize %q, %s16 {quant = #loom.quant<bits = 4, kind = signed, granularity = group, axis = 1, group_size = 16, scale_type = f16>} : (tensor<64x128xi4>, tensor<64x8xf16>) -> tensor<64x128xf16>
  %y4 = loom.einsum "mk,nk->mn" (%x, %w4) : (tensor<4x128xf16>, tensor<64x128xf16>) -> tensor<4x64xf16>
  %w5 = loom.dequantize %q40, %c40 {quant = #loom.quant<bits = 4, kind = signed, granularity = channel, axis = 0, scale_type = f16>} : (tensor<40x128xi4>, tensor<40xf16>) -> tensor<40x128xf16>
  %y5 = loom.einsum "mk,nk->mn" (%x, %w5) : (tensor<4x128xf16>, tensor<40x128xf16>) -> tensor<4x40xf16>
  %w6 = loom.dequantize %q, %c64 {quant = #loom.quant<bits = 4, kind = signed, granularity = channel, axis = 0, scale_type = f16>} : (tensor<64x128xi4>, tensor<64xf16>) -> tensor<64x128xf16>
  %y6 = loom.einsum "mk,nk->mn" (%x, %w6) : (tensor<4x128xf16>, tensor<64x128xf16>) -> tensor<4x64xf16>
  %y7 = loom.einsum "mk,nk->mn" (%x, %w6) : (tensor<4x128xf16>, tensor<64x128xf16>) -> tensor<4x64xf16>
  return %y0, %y1, %y2, %y3, %y4, %y5, %y6, %y7 : tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x64xf16>, tensor<4x40xf16>, tensor<4x64xf16>, tensor<4x64xf16>
}
