// Fusing a weight's dequantize into its einsum must not change what the
// program computes: the reference evaluates the fused einsum (codes,
// scales, zero points) to the same bits as dequantize-then-einsum.
// RUN: einloom-run --reference %s --seed 11 --print-values 64 > %t.before
// RUN: einloom-opt -loom-fuse-dequantize %s | einloom-run --reference - --seed 11 --print-values 64 > %t.after
// RUN: einloom-opt -loom-fuse-dequantize %s | FileCheck %s --check-prefix=FUSED
// RUN: diff %t.before %t.after
// RUN: FileCheck %s --input-file %t.after --check-prefix=RESULTS

// FUSED-NOT: loom.dequantize
// FUSED: weight_quant = #loom.quant<bits = 4
// FUSED: weight_quant = #loom.quant<bits = 8
// FUSED: weight_quant = #loom.quant<bits = 2

// RESULTS: result #0
// RESULTS: result #1
// RESULTS: result #2
func.func @main(%x: tensor<5x128xf16>, %q4: tensor<32x128xi4>, %s4: tensor<32x2xf16>, %z4: tensor<32x2xi8>,
                %xb: tensor<3x64xbf16>, %q8: tensor<64x16xi8>, %s8: tensor<16xbf16>,
                %q2: tensor<16x128xi4>, %s2: tensor<16x4xf16>)
    -> (tensor<5x32xf16>, tensor<3x16xbf16>, tensor<5x16xf32>) {
  %w4 = loom.dequantize %q4, %s4, %z4 {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = group, axis = 1, group_size = 64, scale_type = f16>} : (tensor<32x128xi4>, tensor<32x2xf16>, tensor<32x2xi8>) -> tensor<32x128xf16>
  %y4 = loom.einsum "mk,nk->mn" (%x, %w4) : (tensor<5x128xf16>, tensor<32x128xf16>) -> tensor<5x32xf16>
  %w8 = loom.dequantize %q8, %s8 {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 1, scale_type = bf16>} : (tensor<64x16xi8>, tensor<16xbf16>) -> tensor<64x16xbf16>
  %y8 = loom.einsum "kn,mk->mn" (%w8, %xb) : (tensor<64x16xbf16>, tensor<3x64xbf16>) -> tensor<3x16xbf16>
  %w2 = loom.dequantize %q2, %s2 {quant = #loom.quant<bits = 2, kind = signed, granularity = group, axis = 1, group_size = 32, scale_type = f16>} : (tensor<16x128xi4>, tensor<16x4xf16>) -> tensor<16x128xf16>
  %y2 = loom.einsum "mk,nk->mn" (%x, %w2) {acc = f32} : (tensor<5x128xf16>, tensor<16x128xf16>) -> tensor<5x16xf32>
  return %y4, %y8, %y2 : tensor<5x32xf16>, tensor<3x16xbf16>, tensor<5x16xf32>
}
