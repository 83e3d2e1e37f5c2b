// Splitting n-ary einsums into binary ones must not change what they
// compute: evaluate before and after on the same seeded inputs (f64, so
// that only summation order differs) and compare the printed values.
// RUN: einloom-run --reference %s --seed 11 --print-values 32 > %t.before
// RUN: einloom-opt -loom-optimize-paths %s | einloom-run --reference - --seed 11 --print-values 32 > %t.after
// RUN: einloom-opt -loom-optimize-paths %s | FileCheck %s --check-prefix=SPLIT
// RUN: diff %t.before %t.after

// The rewrite really happened:
// SPLIT-NOT: "ij,jk,kl->il"
// SPLIT-NOT: "abc,ia,jb,kc->ijk"
// SPLIT-NOT: "ik,jkl,il->ij"
// SPLIT-NOT: "pqrs,tuqvr,s->ptuv"
// SPLIT-NOT: "ii,ij,jkk->k"
func.func @main(%a: tensor<6x3xf64>, %b: tensor<3x5xf64>, %c: tensor<5x4xf64>,
                %g: tensor<2x3x2xf64>, %u: tensor<4x2xf64>, %v: tensor<3x3xf64>,
                %x: tensor<3x4xf64>, %y: tensor<2x4x5xf64>, %z: tensor<3x5xf64>,
                %p: tensor<2x3x2x3xf64>, %q: tensor<2x2x3x2x2xf64>, %s: tensor<3xf64>,
                %w: tensor<3x4x4xf64>)
    -> (tensor<6x4xf64>, tensor<4x3x4xf64>, tensor<3x2xf64>, tensor<2x2x2x2xf64>, tensor<4xf64>) {
  %r1 = loom.einsum "ij,jk,kl->il" (%a, %b, %c) : (tensor<6x3xf64>, tensor<3x5xf64>, tensor<5x4xf64>) -> tensor<6x4xf64>
  %r2 = loom.einsum "abc,ia,jb,kc->ijk" (%g, %u, %v, %u) : (tensor<2x3x2xf64>, tensor<4x2xf64>, tensor<3x3xf64>, tensor<4x2xf64>) -> tensor<4x3x4xf64>
  %r3 = loom.einsum "ik,jkl,il->ij" (%x, %y, %z) : (tensor<3x4xf64>, tensor<2x4x5xf64>, tensor<3x5xf64>) -> tensor<3x2xf64>
  %r4 = loom.einsum "pqrs,tuqvr,s->ptuv" (%p, %q, %s) : (tensor<2x3x2x3xf64>, tensor<2x2x3x2x2xf64>, tensor<3xf64>) -> tensor<2x2x2x2xf64>
  %r5 = loom.einsum "ii,ij,jkk->k" (%v, %v, %w) : (tensor<3x3xf64>, tensor<3x3xf64>, tensor<3x4x4xf64>) -> tensor<4xf64>
  return %r1, %r2, %r3, %r4, %r5 : tensor<6x4xf64>, tensor<4x3x4xf64>, tensor<3x2xf64>, tensor<2x2x2x2xf64>, tensor<4xf64>
}
