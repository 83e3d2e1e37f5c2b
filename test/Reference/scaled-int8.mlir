// An int8 product with the sum's scales (loom.einsum row_scale and
// col_scale: W8A8's per-token and per-channel scales), worked by hand:
// y[m][n] = row_scale[m] * col_scale[n] * sum_k x[m][k] w[n][k] + bias[n].
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/x.npy '|i1' 2,3 1,2,3,-1,0,4
// RUN: %PYTHON %inputs/npy.py %t/w.npy '|i1' 2,3 1,1,1,2,0,-1
// RUN: %PYTHON %inputs/npy.py %t/sa.npy '<f4' 2 0.5,2
// RUN: %PYTHON %inputs/npy.py %t/sb.npy '<f4' 2 1,0.25
// RUN: %PYTHON %inputs/npy.py %t/b.npy '<f4' 2 10,20
// RUN: einloom-run --reference %s --function w8a8 --inputs %t/x.npy,%t/w.npy,%t/sa.npy,%t/sb.npy,%t/b.npy | FileCheck %s
// Sums: row 0 [6, -1], row 1 [3, -6]; scaled: [0.5*1*6, 0.5*0.25*(-1)] =
// [3, -0.125], [2*1*3, 2*0.25*(-6)] = [6, -3]; plus the bias.
// CHECK: type: 2x2xf16
// CHECK: values: [13, 19.875, 16, 17]
func.func @w8a8(%x: tensor<2x3xi8>, %w: tensor<2x3xi8>, %sa: tensor<2xf32>, %sb: tensor<2xf32>,
                %b: tensor<2xf32>) -> tensor<2x2xf16> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) bias(%b : tensor<2xf32>) row_scale(%sa : tensor<2xf32>) col_scale(%sb : tensor<2xf32>) {acc = i32} : (tensor<2x3xi8>, tensor<2x3xi8>) -> tensor<2x2xf16>
  return %y : tensor<2x2xf16>
}
