// RUN: einloom-opt %s -split-input-file -verify-diagnostics

func.func @lone_dot(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{invalid spec ".i.j->ij" at position 0: a lone '.'; broadcast dimensions are written '...'}}
  %0 = loom.einsum ".i.j->ij" (%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @two_ellipses(%a: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{at position 4: a second '...' in one subscript}}
  %0 = loom.einsum "...i...->...i" (%a) : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

func.func @rank_too_small(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{at position 0: the operand has rank 1 but its subscripts name 2 dimensions}}
  %0 = loom.einsum "...ij->...i" (%a) : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @wrong_result_rank(%a: tensor<2x3x4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{result has rank 1 but the output subscripts "ABi" name 3 dimensions}}
  %0 = loom.einsum "...i->...i" (%a) : (tensor<2x3x4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @sizes_disagree(%a: tensor<2x3x4xf32>, %b: tensor<5x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{label 'B'}}
  %0 = loom.einsum "...i,...i->..." (%a, %b) : (tensor<2x3x4xf32>, tensor<5x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @sizes_disagree_without_one(%a: tensor<2x4x6xf64>, %b: tensor<3x5x6xf64>) -> tensor<3x4x5xf64> {
  // expected-error @+1 {{label 'b' has size 2 in operand #0 but size 3 in operand #1 (only a size of 1 broadcasts)}}
  %0 = loom.einsum "bmk,bnk->bmn" (%a, %b) : (tensor<2x4x6xf64>, tensor<3x5x6xf64>) -> tensor<3x4x5xf64>
  return %0 : tensor<3x4x5xf64>
}

// -----

func.func @result_not_broadcast(%a: tensor<1x4x6xf64>, %b: tensor<3x5x6xf64>) -> tensor<1x4x5xf64> {
  // expected-error @+1 {{result dimension 0 (label 'b') has size 1 but the operands give 3}}
  %0 = loom.einsum "bmk,bnk->bmn" (%a, %b) : (tensor<1x4x6xf64>, tensor<3x5x6xf64>) -> tensor<1x4x5xf64>
  return %0 : tensor<1x4x5xf64>
}
