// RUN: einloom-opt %s -split-input-file -loom-optimize-paths | FileCheck %s
// RUN: einloom-opt %s -split-input-file -loom-optimize-paths="explain=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=EXPLAIN

// The chain ij,jk,kl->il with (4096,64)(64,4096)(4096,512): jk,kl first
// (a 512x64 intermediate), 36x fewer FLOPs than left to right. The
// intermediate keeps the accumulator.
// CHECK-LABEL: func.func @chain
// CHECK: %[[T:.*]] = loom.einsum "jk,kl->lj"(%arg1, %arg2) {acc = f32} : {{.*}} -> tensor<512x64xf16>
// CHECK: loom.einsum "ij,lj->il"(%arg0, %[[T]]) {acc = f32} : {{.*}} -> tensor<4096x512xf16>
// EXPLAIN: einsum "ij,jk,kl->il": 3 operands, path by exact dynamic programming
// EXPLAIN-NEXT: (1, 2) jk,kl->lj: 2.684e+08 FLOPs, 3.277e+04 elements
// EXPLAIN-NEXT: (0, 1) ij,lj->il: 2.684e+08 FLOPs
// EXPLAIN-NEXT: total 5.369e+08 FLOPs; left to right 1.933e+10 FLOPs (36x); peak intermediate 3.277e+04 elements
func.func @chain(%a: tensor<4096x64xf16>, %b: tensor<64x4096xf16>, %c: tensor<4096x512xf16>) -> tensor<4096x512xf16> {
  %r = loom.einsum "ij,jk,kl->il" (%a, %b, %c) {acc = f32} : (tensor<4096x64xf16>, tensor<64x4096xf16>, tensor<4096x512xf16>) -> tensor<4096x512xf16>
  return %r : tensor<4096x512xf16>
}

// -----

// Tucker reconstruction, and the same value used as several operands.
// CHECK-LABEL: func.func @tucker
// CHECK-COUNT-3: loom.einsum "{{[a-z]+}},{{[a-z]+}}->{{[a-z]+}}"
// CHECK-NOT: loom.einsum "abc,ia
// CHECK: return
// EXPLAIN: einsum "abc,ia,jb,kc->ijk": 4 operands, path by exact dynamic programming
func.func @tucker(%g: tensor<8x8x8xf32>, %u: tensor<32x8xf32>) -> tensor<32x32x32xf32> {
  %r = loom.einsum "abc,ia,jb,kc->ijk" (%g, %u, %u, %u) : (tensor<8x8x8xf32>, tensor<32x8xf32>, tensor<32x8xf32>, tensor<32x8xf32>) -> tensor<32x32x32xf32>
  return %r : tensor<32x32x32xf32>
}

// -----

// Binary einsums are left alone.
// CHECK-LABEL: func.func @untouched
// CHECK: loom.einsum "ij,jk->ik"
func.func @untouched(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = loom.einsum "ij,jk->ik" (%a, %a) : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// A diagonal in an n-ary einsum is taken first, by an einsum of that operand
// alone (a memory-bound kernel); then the path as usual.
// CHECK-LABEL: func.func @diagonal
// CHECK: %[[D:.*]] = loom.einsum "ii->i"(%arg0) : (tensor<4x4xf32>) -> tensor<4xf32>
// CHECK: %[[E:.*]] = loom.einsum "jkk->jk"(%arg1) : (tensor<4x5x5xf32>) -> tensor<4x5xf32>
// CHECK-NOT: "ii,ij,jkk->k"
// CHECK: loom.einsum {{.*}}%[[D]]
// CHECK: return
func.func @diagonal(%a: tensor<4x4xf32>, %b: tensor<4x5x5xf32>) -> tensor<5xf32> {
  %d = loom.einsum "ii,ij,jkk->k" (%a, %a, %b) : (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x5x5xf32>) -> tensor<5xf32>
  return %d : tensor<5xf32>
}
