// W8A8: an einsum of two int8 operands dequantized per channel becomes an
// i32 einsum of the codes with the scales in its epilogue (row_scale from
// the operand whose channels lead the result, col_scale from the other);
// the program computes the same values (scales that are powers of two keep
// every step exact, so the two forms agree to the bit).
// RUN: einloom-opt %s --loom-fuse-dequantize="explain=true" 2> %t.explain | FileCheck %s
// RUN: FileCheck %s --check-prefix=EXPLAIN --input-file %t.explain
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/xq.npy '|i1' 2,3 1,-2,3,4,5,-6
// RUN: %PYTHON %inputs/npy.py %t/sa.npy '<f4' 2 0.5,4
// RUN: %PYTHON %inputs/npy.py %t/wq.npy '|i1' 2,3 7,0,-1,2,2,2
// RUN: %PYTHON %inputs/npy.py %t/sb.npy '<f4' 2 0.25,2
// RUN: einloom-run --reference %s --function small --inputs %t/xq.npy,%t/sa.npy,%t/wq.npy,%t/sb.npy > %t/before
// RUN: einloom-opt %s --loom-fuse-dequantize | einloom-run --reference - --function small --inputs %t/xq.npy,%t/sa.npy,%t/wq.npy,%t/sb.npy > %t/after
// RUN: diff %t/before %t/after
// RUN: FileCheck %s --check-prefix=VALUES --input-file %t/after
// RUN: %PYTHON %inputs/npy.py %t/za.npy '|i1' 2 3,-1
// RUN: einloom-run --reference %s --function small_asym --inputs %t/xq.npy,%t/sa.npy,%t/za.npy,%t/wq.npy,%t/sb.npy > %t/abefore
// RUN: einloom-opt %s --loom-fuse-dequantize | einloom-run --reference - --function small_asym --inputs %t/xq.npy,%t/sa.npy,%t/za.npy,%t/wq.npy,%t/sb.npy > %t/aafter
// RUN: diff %t/abefore %t/aafter
// RUN: FileCheck %s --check-prefix=AVALUES --input-file %t/aafter
// RUN: einloom-opt %s --loom-fuse-dequantize | einloom-run --reference - --function small_asym_columns --inputs %t/xq.npy,%t/sa.npy,%t/wq.npy,%t/sb.npy,%t/za.npy > %t/cafter
// RUN: einloom-run --reference %s --function small_asym_columns --inputs %t/xq.npy,%t/sa.npy,%t/wq.npy,%t/sb.npy,%t/za.npy > %t/cbefore
// RUN: diff %t/cbefore %t/cafter
// RUN: FileCheck %s --check-prefix=CVALUES --input-file %t/cafter

// CHECK-LABEL: func.func @main
// CHECK: loom.einsum "mk,nk->mn"(%arg0, %arg2) row_scale(%arg1 : tensor<16xf32>) col_scale(%arg3 : tensor<512xf32>) {acc = i32} : (tensor<16x256xi8>, tensor<512x256xi8>) -> tensor<16x512xf16>
// CHECK-NOT: loom.dequantize
// EXPLAIN: einsum "mk,nk->mn": both operands' int8 dequantizes fused: an i32 sum of the codes, scaled per row and per column in the epilogue
func.func @main(%xq: tensor<16x256xi8>, %sa: tensor<16xf32>, %wq: tensor<512x256xi8>, %sb: tensor<512xf32>) -> tensor<16x512xf16> {
  %x = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<16x256xi8>, tensor<16xf32>) -> tensor<16x256xf16>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<512x256xi8>, tensor<512xf32>) -> tensor<512x256xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x256xf16>, tensor<512x256xf16>) -> tensor<16x512xf16>
  return %y : tensor<16x512xf16>
}

// The weight first and the activations second: the scales still follow
// the result's labels (rows from the second operand here).
// CHECK-LABEL: func.func @weight_first
// CHECK: loom.einsum "nk,mk->mn"(%arg2, %arg0) row_scale(%arg1 : tensor<4xf32>) col_scale(%arg3 : tensor<8xf32>) {acc = i32}
func.func @weight_first(%xq: tensor<4x32xi8>, %sa: tensor<4xf32>, %wq: tensor<8x32xi8>, %sb: tensor<8xf32>) -> tensor<4x8xf32> {
  %x = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x32xi8>, tensor<4xf32>) -> tensor<4x32xf32>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<8x32xi8>, tensor<8xf32>) -> tensor<8x32xf32>
  %y = loom.einsum "nk,mk->mn" (%w, %x) : (tensor<8x32xf32>, tensor<4x32xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// Not fused: per-tensor activation scales (no per-row vector to apply).
// CHECK-LABEL: func.func @per_tensor
// CHECK: loom.dequantize
// EXPLAIN: einsum "mk,nk->mn": its two dequantized operands stay (operand 0's scales are not f32, one per channel)
func.func @per_tensor(%xq: tensor<4x32xi8>, %sa: tensor<f32>, %wq: tensor<8x32xi8>, %sb: tensor<8xf32>) -> tensor<4x8xf32> {
  %x = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4x32xi8>, tensor<f32>) -> tensor<4x32xf32>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<8x32xi8>, tensor<8xf32>) -> tensor<8x32xf32>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<4x32xf32>, tensor<8x32xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// [0.5 * 1, 0.5 * -2, ...] . : row 0 (0.5 * [1,-2,3]) with 0.25 * [7,0,-1]:
// 0.125 * (7 - 3) = 0.5; with 2 * [2,2,2]: 1 * (2 - 4 + 6) = 4; row 1 (4 *
// [4,5,-6]): 1 * (28 + 6) = 34 and 8 * (8 + 10 - 12) = 48.
// VALUES: values: [0.5, 4, 34, 48]
func.func @small(%xq: tensor<2x3xi8>, %sa: tensor<2xf32>, %wq: tensor<2x3xi8>, %sb: tensor<2xf32>) -> tensor<2x2xf32> {
  %x = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// Asymmetric per-token activations (an i8 zero point per row): the codes'
// sum minus the zero point times the weight codes' sums over k (an i32
// reduction einsum of the weight), then the scales.
// CHECK-LABEL: func.func @asym
// CHECK: %[[SUM:.*]] = loom.einsum "nk->n"(%arg3) {acc = i32} : (tensor<512x256xi8>) -> tensor<512xi32>
// CHECK: loom.einsum "mk,nk->mn"(%arg0, %arg3) row_scale(%arg1 : tensor<16xf32>) col_scale(%arg4 : tensor<512xf32>) row_zero(%arg2 : tensor<16xi8>) col_sum(%[[SUM]] : tensor<512xi32>) {acc = i32}
// CHECK-NOT: loom.dequantize
// EXPLAIN: einsum "mk,nk->mn": both operands' int8 dequantizes fused: {{.*}}; the zero points times the other operand's code sums
func.func @asym(%xq: tensor<16x256xi8>, %sa: tensor<16xf32>, %za: tensor<16xi8>, %wq: tensor<512x256xi8>, %sb: tensor<512xf32>) -> tensor<16x512xf16> {
  %x = loom.dequantize %xq, %sa, %za {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f32>} : (tensor<16x256xi8>, tensor<16xf32>, tensor<16xi8>) -> tensor<16x256xf16>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<512x256xi8>, tensor<512xf32>) -> tensor<512x256xf16>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<16x256xf16>, tensor<512x256xf16>) -> tensor<16x512xf16>
  return %y : tensor<16x512xf16>
}

// Rows 0 and 1 with zero points 3 and -1: row 0 is 0.5 * [1-3, -2-3, 3-3]
// = 0.5 * [-2,-5,0]: with 0.25 * [7,0,-1]: 0.125 * -14 = -1.75; with 2 *
// [2,2,2]: 1 * -14 = -14; row 1 is 4 * [5,6,-5]: 1 * (35 + 5) = 40 and
// 8 * (10 + 12 - 10) = 96.
// AVALUES: values: [-1.75, -14, 40, 96]
func.func @small_asym(%xq: tensor<2x3xi8>, %sa: tensor<2xf32>, %za: tensor<2xi8>, %wq: tensor<2x3xi8>, %sb: tensor<2xf32>) -> tensor<2x2xf32> {
  %x = loom.dequantize %xq, %sa, %za {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f32>} : (tensor<2x3xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x3xf32>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// The asymmetric operand on the result's columns: its zero points are the
// column vector, the other's code sums the row vector.
// CHECK-LABEL: func.func @weight_first_asym
// CHECK: %[[S:.*]] = loom.einsum "nk->n"(%arg2) {acc = i32}
// CHECK: loom.einsum "nk,mk->nm"(%arg2, %arg0) row_scale(%arg3 : tensor<8xf32>) col_scale(%arg1 : tensor<4xf32>) row_zero(%[[S]] : tensor<8xi32>) col_sum(%arg4 : tensor<4xi32>) {acc = i32}
func.func @weight_first_asym(%xq: tensor<4x32xi8>, %sa: tensor<4xf32>, %wq: tensor<8x32xi8>, %sb: tensor<8xf32>, %za: tensor<4xi32>) -> tensor<8x4xf32> {
  %x = loom.dequantize %xq, %sa, %za {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x32xi8>, tensor<4xf32>, tensor<4xi32>) -> tensor<4x32xf32>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<8x32xi8>, tensor<8xf32>) -> tensor<8x32xf32>
  %y = loom.einsum "nk,mk->nm" (%w, %x) : (tensor<8x32xf32>, tensor<4x32xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// Not fused: both operands asymmetric.
// CHECK-LABEL: func.func @both_asym
// CHECK: loom.dequantize
// EXPLAIN: einsum "mk,nk->mn": its two dequantized operands stay (both operands have zero points (one may: a rank-1 correction))
func.func @both_asym(%xq: tensor<4x32xi8>, %sa: tensor<4xf32>, %za: tensor<4xi8>, %wq: tensor<8x32xi8>, %sb: tensor<8xf32>, %zb: tensor<8xi8>) -> tensor<4x8xf32> {
  %x = loom.dequantize %xq, %sa, %za {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f32>} : (tensor<4x32xi8>, tensor<4xf32>, tensor<4xi8>) -> tensor<4x32xf32>
  %w = loom.dequantize %wq, %sb, %zb {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f32>} : (tensor<8x32xi8>, tensor<8xf32>, tensor<8xi8>) -> tensor<8x32xf32>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<4x32xf32>, tensor<8x32xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// The same numbers with the asymmetric operand on the columns (the
// result transposed).
// CVALUES: values: [-1.75, 40, -14, 96]
func.func @small_asym_columns(%xq: tensor<2x3xi8>, %sa: tensor<2xf32>, %wq: tensor<2x3xi8>, %sb: tensor<2xf32>, %za: tensor<2xi8>) -> tensor<2x2xf32> {
  %x = loom.dequantize %xq, %sa, %za {quant = #loom.quant<bits = 8, kind = signed, scheme = asymmetric, granularity = channel, axis = 0, scale_type = f32>} : (tensor<2x3xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x3xf32>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
  %y = loom.einsum "nk,mk->nm" (%w, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
