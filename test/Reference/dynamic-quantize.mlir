// loom.dynamic_quantize worked out by hand: per-row scales max|x| / 127,
// codes roundeven(x / s), a zero row's scale 0 and codes 0, a NaN ignored
// by the maximum (its code 0); per column (axis 1) and 4-bit codes too.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/x.npy '<f4' 3,5 1,-2,3,0.5,-1.27,0,0,0,0,0,254,-127,63.5,0.25,1
// RUN: einloom-run --reference %s --function rows --inputs %t/x.npy --print-values 15 | FileCheck %s --check-prefix=ROWS
// RUN: %PYTHON %inputs/npy.py %t/n.npy '<f4' 2,2 nan,7,-3.5,1
// RUN: einloom-run --reference %s --function cols4 --inputs %t/n.npy | FileCheck %s --check-prefix=COLS4
// RUN: einloom-opt %s --loom-fuse-dequantize | FileCheck %s --check-prefix=FUSED
// RUN: einloom-opt %s --loom-fuse-dequantize=explain=true -o /dev/null 2>&1 | FileCheck %s --check-prefix=EXPLAIN

// Row 0: s = 3/127; 1/s = 42.33, -2/s = -84.67, 0.5/s = 21.17, -1.27/s =
// -53.76. Row 1: s = 0, 0/0 is NaN: code 0. Row 2: s = 2: -63.5 ties to
// -64, 31.75, 0.125, 0.5 ties to 0.
// ROWS: result #0
// ROWS: values: [42, -85, 127, 21, -54, 0, 0, 0, 0, 0, 127, -64, 32, 0, 0]
// ROWS: result #1
// ROWS: values: [0.023622{{[0-9]*}}, 0, 2]
func.func @rows(%x: tensor<3x5xf32>) -> (tensor<3x5xi8>, tensor<3xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<3x5xf32>) -> (tensor<3x5xi8>, tensor<3xf32>)
  return %q, %s : tensor<3x5xi8>, tensor<3xf32>
}

// 4-bit codes (qmax 7) per column: column 0 holds NaN and -3.5 (s = 0.5,
// the NaN's code 0, -7); column 1 holds 7 and 1 (s = 1).
// COLS4: result #0
// COLS4: values: [0, 7, -7, 1]
// COLS4: result #1
// COLS4: values: [0.5, 1]
func.func @cols4(%x: tensor<2x2xf32>) -> (tensor<2x2xi8>, tensor<2xf32>) {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 4, kind = signed, granularity = channel, axis = 1, scale_type = f32>} : (tensor<2x2xf32>) -> (tensor<2x2xi8>, tensor<2xf32>)
  return %q, %s : tensor<2x2xi8>, tensor<2xf32>
}

// Per-token W8A8 from f16 activations: the quantize stays, its codes and
// scales feed the fused i32 einsum.
// FUSED-LABEL: func.func @w8a8
// FUSED: %[[C:.*]], %[[S:.*]] = loom.dynamic_quantize %arg0
// FUSED: loom.einsum "mk,nk->mn"(%[[C]], %arg1) row_scale(%[[S]] : tensor<16xf32>) col_scale(%arg2 : tensor<64xf32>) {acc = i32}
// FUSED-NOT: loom.dequantize
// EXPLAIN: loom.dynamic_quantize (8-bit, a scale per index of dimension 0 of tensor<16x256xf16>) runs as its own memory-bound kernel {{.*}}; its codes feed einsum "mk,nk->mn"
func.func @w8a8(%x: tensor<16x256xf16>, %wq: tensor<64x256xi8>, %sb: tensor<64xf32>) -> tensor<16x64xf16> {
  %q, %s = loom.dynamic_quantize %x {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<16x256xf16>) -> (tensor<16x256xi8>, tensor<16xf32>)
  %xd = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<16x256xi8>, tensor<16xf32>) -> tensor<16x256xf16>
  %w = loom.dequantize %wq, %sb {quant = #loom.quant<bits = 8, kind = signed, granularity = channel, axis = 0, scale_type = f32>} : (tensor<64x256xi8>, tensor<64xf32>) -> tensor<64x256xf16>
  %y = loom.einsum "mk,nk->mn" (%xd, %w) : (tensor<16x256xf16>, tensor<64x256xf16>) -> tensor<16x64xf16>
  return %y : tensor<16x64xf16>
}
