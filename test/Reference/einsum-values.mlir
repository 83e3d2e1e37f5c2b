// Values worked out by hand, fed through .npy files.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/a.npy '<f4' 2,3 1,2,3,4,5,6
// RUN: %PYTHON %inputs/npy.py %t/b.npy '<f4' 3,2 1,0,0,1,1,1
// RUN: einloom-run --reference %s --function matmul --inputs %t/a.npy,%t/b.npy --save-outputs %t/out | FileCheck %s --check-prefix=MATMUL
// RUN: %PYTHON %inputs/npy.py %t/m.npy '<f4' 3,3 1,2,3,4,5,6,7,8,9
// RUN: einloom-run --reference %s --function trace --inputs %t/m.npy | FileCheck %s --check-prefix=TRACE
// RUN: einloom-run --reference %s --function diag --inputs %t/m.npy | FileCheck %s --check-prefix=DIAG
// RUN: %PYTHON %inputs/npy.py %t/i.npy '|i1' 2,2 100,100,100,100
// RUN: einloom-run --reference %s --function int8 --inputs %t/i.npy,%t/i.npy | FileCheck %s --check-prefix=INT8
// The saved result reads back through --inputs:
// RUN: einloom-run --reference %s --function identity --inputs %t/out/result0.npy | FileCheck %s --check-prefix=SAVED

// [[1,2,3],[4,5,6]] x [[1,0],[0,1],[1,1]] = [[4,5],[10,11]]
// MATMUL: result #0
// MATMUL-NEXT: type: 2x2xf32
// MATMUL-NEXT: checksum: sum=30 l2=
// MATMUL-NEXT: values: [4, 5, 10, 11]
// MATMUL-NEXT: saved:
func.func @matmul(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
  %0 = loom.einsum "ik,kj->ij" (%a, %b) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// 1 + 5 + 9
// TRACE: values: [15]
func.func @trace(%m: tensor<3x3xf32>) -> tensor<f32> {
  %0 = loom.einsum "ii->" (%m) : (tensor<3x3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// DIAG: values: [1, 5, 9]
func.func @diag(%m: tensor<3x3xf32>) -> tensor<3xf32> {
  %0 = loom.einsum "ii->i" (%m) : (tensor<3x3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// 100*100 + 100*100 = 20000: i8 operands, i32 accumulator, no overflow.
// INT8: type: 2x2xi32
// INT8: values: [20000, 20000, 20000, 20000]
func.func @int8(%a: tensor<2x2xi8>, %b: tensor<2x2xi8>) -> tensor<2x2xi32> {
  %0 = loom.einsum "ik,kj->ij" (%a, %b) : (tensor<2x2xi8>, tensor<2x2xi8>) -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// SAVED: values: [4, 5, 10, 11]
func.func @identity(%a: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = loom.einsum "ij->ij" (%a) : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
