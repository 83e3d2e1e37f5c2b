// RUN: einloom-opt %s -split-input-file -verify-diagnostics
// The elementwise ops and the fused epilogue reject what they cannot mean.

func.func @bias_wrong_shape(%x: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the second operand of type 'tensor<4xf32>' must have the shape of the trailing dimensions of 'tensor<4x8xf32>' (broadcast over the leading ones)}}
  %0 = loom.add %x, %b : tensor<4x8xf32>, tensor<4xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @add_types_differ(%x: tensor<4x8xf32>, %b: tensor<8xf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{operands have different element types}}
  %0 = loom.add %x, %b : tensor<4x8xf32>, tensor<8xf16>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @scale_int(%x: tensor<4x8xi32>) -> tensor<4x8xi32> {
  // expected-error @+1 {{takes f16, bf16, f32 or f64 tensors, not 'i32'}}
  %0 = loom.scale %x by 2.000000e+00 : tensor<4x8xi32>
  return %0 : tensor<4x8xi32>
}

// -----

func.func @cast_to_int(%x: tensor<4x8xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{takes f16, bf16, f32 or f64 tensors, not 'i8'}}
  %0 = loom.cast %x : tensor<4x8xf32> to tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @cast_shape(%x: tensor<4x8xf32>) -> tensor<8x4xf16> {
  // expected-error @+1 {{requires the same shape for all operands and results}}
  %0 = loom.cast %x : tensor<4x8xf32> to tensor<8x4xf16>
  return %0 : tensor<8x4xf16>
}

// -----

func.func @epilogue_int_acc(%a: tensor<4x8xi8>, %b: tensor<8x6xi8>, %bias: tensor<6xi32>) -> tensor<4x6xi32> {
  // expected-error @+1 {{a fused epilogue on a 'i32' sum gives a float or a requantized i8 result, not 'i32'}}
  %0 = loom.einsum "ij,jk->ik" (%a, %b) bias(%bias : tensor<6xi32>) : (tensor<4x8xi8>, tensor<8x6xi8>) -> tensor<4x6xi32>
  return %0 : tensor<4x6xi32>
}

// -----

func.func @epilogue_bias_shape(%a: tensor<4x8xf16>, %b: tensor<8x6xf16>, %bias: tensor<4xf32>) -> tensor<4x6xf16> {
  // expected-error @+1 {{bias of type 'tensor<4xf32>' must have the shape of the trailing dimensions of 'tensor<4x6xf16>'}}
  %0 = loom.einsum "ij,jk->ik" (%a, %b) bias(%bias : tensor<4xf32>) : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf16>
  return %0 : tensor<4x6xf16>
}

// -----

func.func @beta_without_residual(%a: tensor<4x8xf16>, %b: tensor<8x6xf16>) -> tensor<4x6xf16> {
  // expected-error @+1 {{has beta but no residual}}
  %0 = loom.einsum "ij,jk->ik" (%a, %b) {beta = 2.0 : f64} : (tensor<4x8xf16>, tensor<8x6xf16>) -> tensor<4x6xf16>
  return %0 : tensor<4x6xf16>
}
