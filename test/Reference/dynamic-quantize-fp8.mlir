// FP8 dynamic quantization in groups of the last dimension (DeepSeek-V3's
// activations: one f32 scale per token per G channels): s = fl32(max |x| /
// 448) over the group, q = e4m3 nearest fl32(x / s), saturating; an
// all-zero group gets s = 0 and codes 0 (the NaN quotient). Worked by hand
// with G = 4 over rows of 6 (a partial last group):
// row 0: [0.5, -2, 1, 4 | 0, 0]: s = 4/448, q = 56, -224, 112, 448 | 0, 0;
// row 1: [3, 0.1, -7, 1 | 9, -9]: s = 7/448, q = 192, 6.4 -> 6.5, -448, 64
// (e4m3 near 6.4: 6.5, a step of 0.5 in [4, 8)); s = 9/448, q = 448, -448.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/x.npy '<f4' 2,6 0.5,-2,1,4,0,0,3,0.1,-7,1,9,-9
// RUN: einloom-run --reference %s --inputs %t/x.npy --print-values 20 | FileCheck %s
// CHECK: result #0
// CHECK: type: 2x6xf8E4M3FN
// CHECK: values: [56, -224, 112, 448, 0, 0, 192, 6.5, -448, 64, 448, -448]
// CHECK: result #1
// CHECK: type: 2x2xf32
// CHECK: values: [0.00892857, 0, 0.015625, 0.0200893]
func.func @main(%x: tensor<2x6xf32>) -> (tensor<2x6xf8E4M3FN>, tensor<2x2xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = e4m3, granularity = group, axis = 1, group_size = 4, scale_type = f32>} : (tensor<2x6xf32>) -> (tensor<2x6xf8E4M3FN>, tensor<2x2xf32>)
  return %q, %s : tensor<2x6xf8E4M3FN>, tensor<2x2xf32>
}
