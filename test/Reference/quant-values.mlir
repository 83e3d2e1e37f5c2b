// Quantization values worked out by hand.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %inputs/npy.py %t/x.npy '<f4' 4 1.25,1.75,-0.25,100
// RUN: %PYTHON %inputs/npy.py %t/s.npy '<f4' '' 0.5
// RUN: einloom-run --reference %s --function q8 --inputs %t/x.npy,%t/s.npy | FileCheck %s --check-prefix=Q8
// RUN: %PYTHON %inputs/npy.py %t/codes.npy '|i1' 2,2 0,15,7,8
// RUN: %PYTHON %inputs/npy.py %t/cs.npy '<f4' 2 2,0.5
// RUN: %PYTHON %inputs/npy.py %t/cz.npy '<f4' 2 8,1
// RUN: einloom-run --reference %s --function dq4 --inputs %t/codes.npy,%t/cs.npy,%t/cz.npy | FileCheck %s --check-prefix=DQ4
// RUN: %PYTHON %inputs/npy.py %t/b.npy '<f4' 6 0,0.9,2,2.1,-7,100
// RUN: %PYTHON %inputs/npy.py %t/one.npy '<f4' '' 1
// RUN: einloom-run --reference %s --function bipolar --inputs %t/b.npy,%t/one.npy | FileCheck %s --check-prefix=BIPOLAR
// RUN: %PYTHON %inputs/npy.py %t/f.npy '<f4' 3 1,500,-0.3
// RUN: einloom-run --reference %s --function fp8 --inputs %t/f.npy,%t/one.npy | FileCheck %s --check-prefix=FP8
// Unsigned codes in a signless container: as their values (15, 9) or as the
// container's bits (-1 and -7 are the i4 bits of 15 and 9); the same for
// 8-bit codes in i8 (-56 is 200); signed codes as unsigned bits (a uint8
// array: 255 is -1). A value that is neither is refused with its element.
// RUN: %PYTHON %inputs/npy.py %t/u4v.npy '|i1' 4 15,9,0,8
// RUN: %PYTHON %inputs/npy.py %t/u4b.npy '|i1' 4 -1,-7,0,8
// RUN: %PYTHON %inputs/npy.py %t/two.npy '<f4' '' 2
// RUN: einloom-run --reference %s --function u4 --inputs %t/u4v.npy,%t/two.npy | FileCheck %s --check-prefix=U4
// RUN: einloom-run --reference %s --function u4 --inputs %t/u4b.npy,%t/two.npy | FileCheck %s --check-prefix=U4
// RUN: %PYTHON %inputs/npy.py %t/u8b.npy '|i1' 2 -56,100
// RUN: einloom-run --reference %s --function u8 --inputs %t/u8b.npy,%t/one.npy | FileCheck %s --check-prefix=U8
// RUN: %PYTHON %inputs/npy.py %t/s4u.npy '|u1' 2 255,7
// RUN: einloom-run --reference %s --function s8 --inputs %t/s4u.npy,%t/one.npy | FileCheck %s --check-prefix=S8
// RUN: %PYTHON %inputs/npy.py %t/u4bad.npy '<i2' 4 16,0,0,0
// RUN: not einloom-run --reference %s --function u4 --inputs %t/u4bad.npy,%t/two.npy 2>&1 | FileCheck %s --check-prefix=U4BAD

// x / 0.5 = [2.5, 3.5, -0.5, 200]: ties to even, then clamp to 127.
// Q8: values: [2, 4, 0, 127]
func.func @q8(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xi8> {
  %0 = loom.quantize %x, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  return %0 : tensor<4xi8>
}

// Per-channel along axis 1: column 0 has s = 2, z = 8; column 1 has s = 0.5, z = 1.
// (0-8)*2, (15-1)*0.5, (7-8)*2, (8-1)*0.5
// DQ4: values: [-16, 7, -2, 3.5]
func.func @dq4(%q: tensor<2x2xi8>, %s: tensor<2xf32>, %z: tensor<2xf32>) -> tensor<2x2xf32> {
  %0 = loom.dequantize %q, %s, %z {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric, granularity = channel, axis = 1, scale_type = f32>} : (tensor<2x2xi8>, tensor<2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// Bipolar 2-bit codes are odd, in [-3, 3].
// BIPOLAR: values: [1, 1, 1, 3, -3, 3]
func.func @bipolar(%x: tensor<6xf32>, %s: tensor<f32>) -> tensor<6xi8> {
  %0 = loom.quantize %x, %s {quant = #loom.quant<bits = 2, kind = bipolar, scale_type = f32>} : (tensor<6xf32>, tensor<f32>) -> tensor<6xi8>
  return %0 : tensor<6xi8>
}

// e4m3 saturates at 448; -0.3 rounds to -0.3125 (quantum 2^-5 there).
// FP8: values: [1, 448, -0.3125]
func.func @fp8(%x: tensor<3xf32>, %s: tensor<f32>) -> tensor<3xf8E4M3FN> {
  %0 = loom.quantize %x, %s {quant = #loom.quant<bits = 8, kind = e4m3, scale_type = f32>} : (tensor<3xf32>, tensor<f32>) -> tensor<3xf8E4M3FN>
  return %0 : tensor<3xf8E4M3FN>
}

// U4: values: [30, 18, 0, 16]
func.func @u4(%q: tensor<4xi4>, %s: tensor<f32>) -> tensor<4xf32> {
  %0 = loom.dequantize %q, %s {quant = #loom.quant<bits = 4, kind = unsigned, scale_type = f32>} : (tensor<4xi4>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// U8: values: [200, 100]
func.func @u8(%q: tensor<2xi8>, %s: tensor<f32>) -> tensor<2xf32> {
  %0 = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = unsigned, scale_type = f32>} : (tensor<2xi8>, tensor<f32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// S8: values: [-1, 7]
func.func @s8(%q: tensor<2xi8>, %s: tensor<f32>) -> tensor<2xf32> {
  %0 = loom.dequantize %q, %s {quant = #loom.quant<bits = 8, kind = signed, scale_type = f32>} : (tensor<2xi8>, tensor<f32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// U4BAD: u4bad.npy: code 16 at element 0 is outside the argument's range [0, 15] (argument #0)
