// FP8 with block scales (DeepSeek-V3): two fp8 dequantizes feeding an
// einsum, the activations' f32 scales per group of 128 along K and the
// weight's per 128 x 128 block, become one einsum of the codes with
// scale_block = [128, 128]; the program computes the same values (scales
// that are powers of two keep every dequantized value exact in f32, so the
// two forms agree to the bit). A result whose rows come from the weight
// stays unfused, with the reason.
// RUN: einloom-opt %s --loom-fuse-dequantize="explain=true" 2> %t.explain | FileCheck %s
// RUN: FileCheck %s --check-prefix=EXPLAIN --input-file %t.explain
// RUN: einloom-run --reference %s --seed 5 --print-values 32 > %t.before
// RUN: einloom-opt %s --loom-fuse-dequantize | einloom-run --reference - --seed 5 --print-values 32 > %t.after
// RUN: diff %t.before %t.after
// RUN: FileCheck %s --check-prefix=RESULTS --input-file %t.after

// CHECK-LABEL: func.func @main
// CHECK-NOT: loom.dequantize
// CHECK: loom.einsum "mk,nk->mn"(%arg0, %arg1) row_scale(%{{.*}} : tensor<4x2xf32>) col_scale(%{{.*}} : tensor<1x2xf32>) {acc = f32, scale_block = array<i64: 128, 128>} : (tensor<4x256xf8E4M3FN>, tensor<6x256xf8E4M3FN>) -> tensor<4x6xf32>
// CHECK: loom.dequantize
// CHECK: loom.einsum "mk,nk->nm"
// EXPLAIN: einsum "mk,nk->mn": both operands' fp8 dequantizes fused: the codes contracted with block scales (scale_block), each block's sum promoted into f32 times its two scales
// EXPLAIN: einsum "mk,nk->nm": its two fp8 dequantized operands stay (the result's rows come from the block-scaled weight (block scales take one scale a row from the operand whose labels lead the result: write it activations x weight))
// RESULTS: result #0
// RESULTS: result #1
func.func @main(%xq: tensor<4x256xf8E4M3FN>, %wq: tensor<6x256xf8E4M3FN>) -> (tensor<4x6xf32>, tensor<6x4xf32>) {
  %sa = arith.constant dense<[[0.5, 2.0], [1.0, 0.25], [4.0, 1.0], [0.125, 8.0]]> : tensor<4x2xf32>
  %sb = arith.constant dense<[[2.0, 0.5]]> : tensor<1x2xf32>
  %x = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<4x256xf8E4M3FN>, tensor<4x2xf32>) -> tensor<4x256xf32>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = e4m3, granularity = block, group_size = 128, scale_type = f32>} : (tensor<6x256xf8E4M3FN>, tensor<1x2xf32>) -> tensor<6x256xf32>
  %y = loom.einsum "mk,nk->mn" (%x, %w) : (tensor<4x256xf32>, tensor<6x256xf32>) -> tensor<4x6xf32>
  // The transposed result: rows from the weight.
  %x2 = loom.dequantize %xq, %sa {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 128, scale_type = f32>} : (tensor<4x256xf8E4M3FN>, tensor<4x2xf32>) -> tensor<4x256xf32>
  %sw = arith.constant dense<[[1.0, 4.0]]> : tensor<1x2xf32>
  %w2 = loom.dequantize %wq, %sw {quant = #loom.quant<bits = 8, kind = e4m3, granularity = block, group_size = 128, scale_type = f32>} : (tensor<6x256xf8E4M3FN>, tensor<1x2xf32>) -> tensor<6x256xf32>
  %y2 = loom.einsum "mk,nk->nm" (%x2, %w2) : (tensor<4x256xf32>, tensor<6x256xf32>) -> tensor<6x4xf32>
  return %y, %y2 : tensor<4x6xf32>, tensor<6x4xf32>
}
