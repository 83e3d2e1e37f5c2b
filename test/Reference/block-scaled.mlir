// Block scales (loom.einsum scale_block = [BK, BN], DeepSeek-V3's FP8
// recipe), worked by hand with BK = 2, BN = 2 so that K = 3 and N = 3 end in
// partial blocks: y[m][n] = sum over K blocks kb of
// row_scale[m][kb] * col_scale[n / 2][kb] * sum_{k in kb} x[m][k] w[n][k].
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/x.npy '<f2' 2,3 1,2,3,-1,0,4
// RUN: %PYTHON %inputs/npy.py %t/w.npy '<f2' 3,3 1,1,1,2,0,-1,1,-2,0.5
// RUN: %PYTHON %inputs/npy.py %t/sa.npy '<f4' 2,2 0.5,2,1,0.25
// RUN: %PYTHON %inputs/npy.py %t/sb.npy '<f4' 2,2 1,0.5,2,4
// RUN: einloom-run --reference %s --function blocks --inputs %t/x.npy,%t/w.npy,%t/sa.npy,%t/sb.npy | FileCheck %s
// Row 0: n = 0: 0.5*1*(1+2) + 2*0.5*3 = 4.5; n = 1: 0.5*1*2 + 2*0.5*(-3) =
// -2; n = 2 (col block 1): 0.5*2*(1-4) + 2*4*1.5 = 9. Row 1: -0.5, -2.5, 0.
// CHECK: type: 2x3xf32
// CHECK: values: [4.5, -2, 9, -0.5, -2.5, 0]
func.func @blocks(%x: tensor<2x3xf16>, %w: tensor<3x3xf16>, %sa: tensor<2x2xf32>,
                  %sb: tensor<2x2xf32>) -> tensor<2x3xf32> {
  %y = loom.einsum "mk,nk->mn" (%x, %w) row_scale(%sa : tensor<2x2xf32>) col_scale(%sb : tensor<2x2xf32>) {scale_block = array<i64: 2, 2>} : (tensor<2x3xf16>, tensor<3x3xf16>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
