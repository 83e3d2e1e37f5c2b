// Fusing epilogues must not change what a program computes: evaluate it
// before and after -loom-fuse-epilogues on the same seeded inputs and compare
// (f64 throughout, so that the fused form's single rounding changes nothing).
// RUN: einloom-run --reference %s --seed 5 --print-values 40 > %t.before
// RUN: einloom-opt -loom-fuse-epilogues %s | einloom-run --reference - --seed 5 --print-values 40 > %t.after
// RUN: diff %t.before %t.after
// RUN: einloom-opt -loom-fuse-epilogues %s | FileCheck %s
// CHECK-NOT: loom.scale
// CHECK-NOT: loom.add
// CHECK-NOT: loom.activation
// Each activation really changes the values (the same program without it differs):
// RUN: sed 's/loom.activation silu %d/loom.scale %d by 1.0/' %s | einloom-run --reference - --seed 5 --print-values 40 > %t.nosilu
// RUN: not diff %t.before %t.nosilu > /dev/null
func.func @main(%a: tensor<5x7xf64>, %b: tensor<7x6xf64>, %bias: tensor<6xf64>, %r: tensor<5x6xf64>,
                %x: tensor<3x6xf64>, %y: tensor<6xf64>)
    -> (tensor<5x6xf64>, tensor<3x6xf64>, tensor<5x6xf64>) {
  %c = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<5x7xf64>, tensor<7x6xf64>) -> tensor<5x6xf64>
  %s = loom.scale %c by 2.500000e-01 : tensor<5x6xf64>
  %d = loom.add %s, %bias : tensor<5x6xf64>, tensor<6xf64>
  %g = loom.activation silu %d : tensor<5x6xf64>
  %o = loom.add %g, %r {beta = -1.5} : tensor<5x6xf64>, tensor<5x6xf64>
  %p = loom.add %x, %y : tensor<3x6xf64>, tensor<6xf64>
  %q = loom.activation gelu %p : tensor<3x6xf64>
  %c2 = loom.einsum "ij,jk->ik" (%a, %b) : (tensor<5x7xf64>, tensor<7x6xf64>) -> tensor<5x6xf64>
  %t = loom.activation relu %c2 : tensor<5x6xf64>
  return %o, %q, %t : tensor<5x6xf64>, tensor<3x6xf64>, tensor<5x6xf64>
}

// An epilogue written on an n-ary einsum stays on the einsum that makes its
// result when the path splits it.
// RUN: einloom-run --reference %s --function nary --seed 5 --print-values 20 > %t.nary.before
// RUN: einloom-opt -loom-optimize-paths %s | einloom-run --reference - --function nary --seed 5 --print-values 20 > %t.nary.after
// RUN: diff %t.nary.before %t.nary.after
func.func @nary(%a: tensor<5x7xf64>, %b: tensor<7x6xf64>, %c: tensor<6x4xf64>, %bias: tensor<4xf64>) -> tensor<5x4xf64> {
  %r = loom.einsum "ij,jk,kl->il" (%a, %b, %c) bias(%bias : tensor<4xf64>) {acc = f64, alpha = 0.5 : f64, activation = #loom<activation gelu>} : (tensor<5x7xf64>, tensor<7x6xf64>, tensor<6x4xf64>) -> tensor<5x4xf64>
  return %r : tensor<5x4xf64>
}
