// RUN: einloom-opt %s -split-input-file -loom-fuse-epilogues | FileCheck %s
// RUN: einloom-opt %s -split-input-file -loom-fuse-epilogues=explain=true -o /dev/null 2>&1 | FileCheck %s --check-prefix=WHY

// The whole chain joins the einsum: act(alpha * x + bias) + beta * residual, then the cast.
// CHECK-LABEL: func.func @chain
// CHECK: %[[E:.*]] = loom.einsum "ij,jk->ik"(%arg0, %arg1) bias(%arg2 : tensor<6xf32>) residual(%arg3 : tensor<4x6xf16>) {activation = #loom<activation gelu>, alpha = 5.000000e-01 : f64, beta = 2.000000e+00 : f64} : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf16>
// CHECK-NEXT: return %[[E]]
// WHY: fused loom.scale into einsum "ij,jk->ik"
// WHY: fused loom.cast into einsum "ij,jk->ik"
func.func @chain(%a: tensor<4x8xf16>, %b: tensor<8x6xf16>, %bias: tensor<6xf32>, %r: tensor<4x6xf16>) -> tensor<4x6xf16> {
  %c = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf32>
  %s = loom.scale %c by 5.000000e-01 : tensor<4x6xf32>
  %d = loom.add %s, %bias : tensor<4x6xf32>, tensor<6xf32>
  %g = loom.activation gelu %d : tensor<4x6xf32>
  %h = loom.cast %g : tensor<4x6xf32> to tensor<4x6xf16>
  %o = loom.add %h, %r {beta = 2.0} : tensor<4x6xf16>, tensor<4x6xf16>
  return %o : tensor<4x6xf16>
}

// -----

// An order the epilogue cannot express: a scale after the activation runs
// alone, as an identity einsum.
// CHECK-LABEL: func.func @scale_after_relu
// CHECK: %[[E:.*]] = loom.einsum "ij,jk->ik"(%arg0, %arg1) {activation = #loom<activation relu>}
// CHECK: loom.einsum "ab->ab"(%[[E]]) {alpha = 3.000000e+00 : f64}
// WHY: loom.scale runs alone, as einsum "ab->ab" with it as the epilogue: a scale after a bias, an activation or a residual
func.func @scale_after_relu(%a: tensor<4x8xf32>, %b: tensor<8x6xf32>) -> tensor<4x6xf32> {
  %c = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %g = loom.activation relu %c : tensor<4x6xf32>
  %s = loom.scale %g by 3.000000e+00 : tensor<4x6xf32>
  return %s : tensor<4x6xf32>
}

// -----

// A result with two uses stays; the op runs alone.
// CHECK-LABEL: func.func @two_uses
// CHECK: %[[E:.*]] = loom.einsum "ij,jk->ik"(%arg0, %arg1) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
// CHECK: loom.einsum "ab->ab"(%[[E]]) {activation = #loom<activation silu>}
// WHY: loom.activation runs alone, as einsum "ab->ab" with it as the epilogue: the einsum's result has other uses
func.func @two_uses(%a: tensor<4x8xf32>, %b: tensor<8x6xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %c = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %g = loom.activation silu %c : tensor<4x6xf32>
  return %c, %g : tensor<4x6xf32>, tensor<4x6xf32>
}

// -----

// The residual is computed after the einsum: the add cannot move up to it.
// CHECK-LABEL: func.func @late_operand
// CHECK: %[[E:.*]] = loom.einsum "ij,jk->ik"(%arg0, %arg1) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
// CHECK: %[[R:.*]] = loom.einsum "ij,jk->ik"(%arg0, %arg2)
// CHECK: loom.einsum "ab->ab"(%[[E]]) bias(%[[R]] : tensor<4x6xf32>)
// WHY: its second operand is computed after the einsum
func.func @late_operand(%a: tensor<4x8xf32>, %b: tensor<8x6xf32>, %w: tensor<8x6xf32>) -> tensor<4x6xf32> {
  %c = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %r = loom.einsum "ij,jk->ik" (%a, %w) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %o = loom.add %c, %r : tensor<4x6xf32>, tensor<4x6xf32>
  return %o : tensor<4x6xf32>
}

// -----

// An op on a function argument runs alone; the ops after it join it.
// CHECK-LABEL: func.func @on_argument
// CHECK: loom.einsum "abc->abc"(%arg0) bias(%arg1 : tensor<5xf64>) {acc = f64, activation = #loom<activation relu>} : (tensor<2x3x5xf64>) -> tensor<2x3x5xf64>
// CHECK-NOT: loom.activation
// WHY: loom.add runs alone, as einsum "abc->abc" with it as the epilogue: its input is not an einsum result
func.func @on_argument(%x: tensor<2x3x5xf64>, %b: tensor<5xf64>) -> tensor<2x3x5xf64> {
  %d = loom.add %x, %b : tensor<2x3x5xf64>, tensor<5xf64>
  %g = loom.activation relu %d : tensor<2x3x5xf64>
  return %g : tensor<2x3x5xf64>
}

// -----

// An int8 product scaled per row and column (i32 sum, f32 result): a bias,
// an activation and a cast after it fuse (the epilogue works in f32).
// CHECK-LABEL: func.func @scaled_int8
// CHECK: loom.einsum "mk,nk->mn"(%arg0, %arg1) bias(%arg4 : tensor<8xf32>) row_scale(%arg2 : tensor<4xf32>) col_scale(%arg3 : tensor<8xf32>) {acc = i32, activation = #loom<activation gelu>} : (tensor<4x32xi8>, tensor<8x32xi8>) -> tensor<4x8xf16>
// CHECK-NOT: loom.add
func.func @scaled_int8(%x: tensor<4x32xi8>, %w: tensor<8x32xi8>, %sa: tensor<4xf32>, %sb: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<4xf32>) col_scale(%sb : tensor<8xf32>) {acc = i32} : (tensor<4x32xi8>, tensor<8x32xi8>) -> tensor<4x8xf32>
  %a = loom.add %y, %b : tensor<4x8xf32>, tensor<8xf32>
  %g = loom.activation gelu %a : tensor<4x8xf32>
  %o = loom.cast %g : tensor<4x8xf32> to tensor<4x8xf16>
  return %o : tensor<4x8xf16>
}

