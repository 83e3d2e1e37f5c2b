// The foundation demo: an einsum, a dequantize feeding an einsum (W4A16
// weights, group-128 scales and zero points), and a causal FFT convolution.

// A batched matmul with the second operand's modes transposed.
func.func @attention_scores(%q: tensor<2x64x32xf16>, %k: tensor<2x48x32xf16>) -> tensor<2x64x48xf16> {
  %s = loom.einsum "bmk,bnk->bmn" (%q, %k) {acc = f32}
     : (tensor<2x64x32xf16>, tensor<2x48x32xf16>) -> tensor<2x64x48xf16>
  return %s : tensor<2x64x48xf16>
}

// x (M x K) times an int4 weight W (K x N) stored as codes with scales and
// zero points per group of 128 along K.
func.func @w4a16_linear(%x: tensor<16x256xf16>, %codes: tensor<256x64xi4>,
                        %scale: tensor<2x64xf16>, %zero: tensor<2x64xf16>) -> tensor<16x64xf16> {
  %w = loom.dequantize %codes, %scale, %zero
         {quant = #loom.quant<bits = 4, kind = unsigned, scheme = asymmetric,
                              granularity = group, axis = 0, group_size = 128,
                              scale_type = f16>}
     : (tensor<256x64xi4>, tensor<2x64xf16>, tensor<2x64xf16>) -> tensor<256x64xf16>
  %y = loom.einsum "mk,kn->mn" (%x, %w) {acc = f32}
     : (tensor<16x256xf16>, tensor<256x64xf16>) -> tensor<16x64xf16>
  return %y : tensor<16x64xf16>
}

// A Hyena-style long convolution: u is batch x channels x sequence, each
// channel has its own kernel, and the output is gated.
func.func @long_conv(%u: tensor<2x4x1024xf16>, %k: tensor<4x1024xf32>,
                     %gate: tensor<2x4x1024xf16>) -> tensor<2x4x1024xf16> {
  %y = loom.fftconv causal %u, %k post_gate(%gate)
     : (tensor<2x4x1024xf16>, tensor<4x1024xf32>, tensor<2x4x1024xf16>) -> tensor<2x4x1024xf16>
  return %y : tensor<2x4x1024xf16>
}
