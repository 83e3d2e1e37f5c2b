// NumPy's `...`: the broadcast dimensions get fresh labels. Each einsum
// with `...` must compute what the same einsum with the labels written out
// computes: two functions, the same seeded inputs, the printed values diffed.
// RUN: einloom-run --reference %s --function with_ellipsis --seed 5 --print-values 64 | sed 's/^[^:]*://' > %t.ellipsis
// RUN: einloom-run --reference %s --function written_out --seed 5 --print-values 64 | sed 's/^[^:]*://' > %t.explicit
// RUN: diff %t.ellipsis %t.explicit
// RUN: FileCheck %s --input-file=%t.ellipsis

// Four results, each with values (the diff above is not vacuous).
// CHECK-COUNT-4: {{[0-9]}}xf64

func.func @with_ellipsis(%a: tensor<3x2x4x5xf64>, %b: tensor<3x2x6x5xf64>, %c: tensor<2x4x5xf64>,
                         %d: tensor<5x7xf64>)
    -> (tensor<3x2x4x6xf64>, tensor<4x6xf64>, tensor<3x2x4x7xf64>, tensor<2x4x7xf64>) {
  // batched matmul over the broadcast dimensions
  %0 = loom.einsum "...mk,...nk->...mn" (%a, %b) : (tensor<3x2x4x5xf64>, tensor<3x2x6x5xf64>) -> tensor<3x2x4x6xf64>
  // an explicit output without `...` sums the broadcast dimensions
  %1 = loom.einsum "...mk,...nk->mn" (%a, %b) : (tensor<3x2x4x5xf64>, tensor<3x2x6x5xf64>) -> tensor<4x6xf64>
  // `...` against an operand without it
  %2 = loom.einsum "...k,kn->...n" (%a, %d) : (tensor<3x2x4x5xf64>, tensor<5x7xf64>) -> tensor<3x2x4x7xf64>
  // implicit mode: broadcast labels first, then labels that appear once
  %3 = loom.einsum "...ij,jk" (%c, %d) : (tensor<2x4x5xf64>, tensor<5x7xf64>) -> tensor<2x4x7xf64>
  return %0, %1, %2, %3 : tensor<3x2x4x6xf64>, tensor<4x6xf64>, tensor<3x2x4x7xf64>, tensor<2x4x7xf64>
}

func.func @written_out(%a: tensor<3x2x4x5xf64>, %b: tensor<3x2x6x5xf64>, %c: tensor<2x4x5xf64>,
                       %d: tensor<5x7xf64>)
    -> (tensor<3x2x4x6xf64>, tensor<4x6xf64>, tensor<3x2x4x7xf64>, tensor<2x4x7xf64>) {
  %0 = loom.einsum "xymk,xynk->xymn" (%a, %b) : (tensor<3x2x4x5xf64>, tensor<3x2x6x5xf64>) -> tensor<3x2x4x6xf64>
  %1 = loom.einsum "xymk,xynk->mn" (%a, %b) : (tensor<3x2x4x5xf64>, tensor<3x2x6x5xf64>) -> tensor<4x6xf64>
  %2 = loom.einsum "xymk,kn->xymn" (%a, %d) : (tensor<3x2x4x5xf64>, tensor<5x7xf64>) -> tensor<3x2x4x7xf64>
  %3 = loom.einsum "xij,jk->xik" (%c, %d) : (tensor<2x4x5xf64>, tensor<5x7xf64>) -> tensor<2x4x7xf64>
  return %0, %1, %2, %3 : tensor<3x2x4x6xf64>, tensor<4x6xf64>, tensor<3x2x4x7xf64>, tensor<2x4x7xf64>
}
