// A block mask (loom.einsum block_mask, mask_block = [BM, BN]): blocks whose
// mask byte is 0 hold mask_fill. Worked by hand with 2x2 blocks over a 3x3
// result, so that the last block row and column are partial:
// scores[i][j] = q[i] * k[j] = [[1, 10, 100], [2, 20, 200], [3, 30, 300]].
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/q.npy '<f4' 3,1 1,2,3
// RUN: %PYTHON %inputs/npy.py %t/k.npy '<f4' 3,1 1,10,100
// RUN: %PYTHON %inputs/npy.py %t/m.npy '|i1' 2,2 1,0,0,1
// RUN: einloom-run --reference %s --function shared --print-values 20 --inputs %t/q.npy,%t/k.npy,%t/m.npy | FileCheck %s --check-prefix=SHARED
// Mask [[1, 0], [0, 1]] with fill -1: the top right and bottom left blocks.
// SHARED: type: 3x3xf32
// SHARED: values: [1, 10, -1, 2, 20, -1, -1, -1, 300]
func.func @shared(%q: tensor<3x1xf32>, %k: tensor<3x1xf32>, %m: tensor<2x2xi8>) -> tensor<3x3xf32> {
  %s = loom.einsum "qd,kd->qk" (%q, %k) block_mask(%m : tensor<2x2xi8>) {mask_block = array<i64: 2, 2>, mask_fill = -1.0 : f64} : (tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<3x3xf32>
  return %s : tensor<3x3xf32>
}

// One mask per batch, the default fill 0: batch 0 keeps only its top left
// block, batch 1 (the same scores times 2) only its bottom row of blocks.
// RUN: %PYTHON %inputs/npy.py %t/bq.npy '<f4' 2,3,1 1,2,3,2,4,6
// RUN: %PYTHON %inputs/npy.py %t/bk.npy '<f4' 2,3,1 1,10,100,1,10,100
// RUN: %PYTHON %inputs/npy.py %t/bm.npy '|i1' 2,2,2 1,0,0,0,0,0,7,1
// RUN: einloom-run --reference %s --function batched --print-values 20 --inputs %t/bq.npy,%t/bk.npy,%t/bm.npy | FileCheck %s --check-prefix=BATCHED
// BATCHED: type: 2x3x3xf32
// BATCHED: values: [1, 10, 0, 2, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 60, 600]
func.func @batched(%q: tensor<2x3x1xf32>, %k: tensor<2x3x1xf32>, %m: tensor<2x2x2xi8>) -> tensor<2x3x3xf32> {
  %s = loom.einsum "bqd,bkd->bqk" (%q, %k) block_mask(%m : tensor<2x2x2xi8>) {mask_block = array<i64: 2, 2>} : (tensor<2x3x1xf32>, tensor<2x3x1xf32>) -> tensor<2x3x3xf32>
  return %s : tensor<2x3x3xf32>
}
