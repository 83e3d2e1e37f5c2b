// A dimension of size 1 broadcasts against the same label's larger size in
// another operand (as in NumPy): it is read at index 0. The same seeded data
// as a rank-2 operand must give the same result as the rank-3 one of batch 1.
// RUN: einloom-run --reference %s --function broadcast --seed 9 --print-values 48 | sed 's/^@[a-z]*//' > %t.broadcast
// RUN: einloom-run --reference %s --function plain --seed 9 --print-values 48 | sed 's/^@[a-z]*//' > %t.plain
// RUN: diff %t.broadcast %t.plain
// RUN: FileCheck %s --input-file=%t.broadcast
// CHECK: type: 3x4x5xf64
// CHECK: type: 3x5xf64
// (Sizes that differ without a 1: test/Dialect/ellipsis-errors.mlir.)

func.func @broadcast(%a: tensor<1x4x6xf64>, %b: tensor<3x5x6xf64>, %v: tensor<1x6xf64>, %w: tensor<3x6x5xf64>)
    -> (tensor<3x4x5xf64>, tensor<3x5xf64>) {
  %0 = loom.einsum "bmk,bnk->bmn" (%a, %b) : (tensor<1x4x6xf64>, tensor<3x5x6xf64>) -> tensor<3x4x5xf64>
  %1 = loom.einsum "bk,bkn->bn" (%v, %w) : (tensor<1x6xf64>, tensor<3x6x5xf64>) -> tensor<3x5xf64>
  return %0, %1 : tensor<3x4x5xf64>, tensor<3x5xf64>
}

func.func @plain(%a: tensor<4x6xf64>, %b: tensor<3x5x6xf64>, %v: tensor<6xf64>, %w: tensor<3x6x5xf64>)
    -> (tensor<3x4x5xf64>, tensor<3x5xf64>) {
  %0 = loom.einsum "mk,bnk->bmn" (%a, %b) : (tensor<4x6xf64>, tensor<3x5x6xf64>) -> tensor<3x4x5xf64>
  %1 = loom.einsum "k,bkn->bn" (%v, %w) : (tensor<6xf64>, tensor<3x6x5xf64>) -> tensor<3x5xf64>
  return %0, %1 : tensor<3x4x5xf64>, tensor<3x5xf64>
}
