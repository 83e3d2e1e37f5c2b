// Convolutions the fused FFT kernel cannot take, one function each
// (compiled with --function): each is a clear error naming why.

// f32 sequences: the DFT products run in the sequences' 16-bit type.
func.func @f32_input(%u: tensor<2x256xf32>, %k: tensor<2x256xf32>) -> tensor<2x256xf32> {
  %y = loom.fftconv causal %u, %k : (tensor<2x256xf32>, tensor<2x256xf32>) -> tensor<2x256xf32>
  return %y : tensor<2x256xf32>
}

// Too short for one CTA's transform (16 x 16 at least).
func.func @short(%u: tensor<2x64xbf16>, %k: tensor<2x64xbf16>) -> tensor<2x64xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<2x64xbf16>, tensor<2x64xbf16>) -> tensor<2x64xbf16>
  return %y : tensor<2x64xbf16>
}

// A filter broadcast along one of its leading dimensions but not the other.
func.func @half_broadcast(%u: tensor<2x4x8x256xf16>, %k: tensor<4x1x256xf16>) -> tensor<2x4x8x256xf16> {
  %y = loom.fftconv causal %u, %k : (tensor<2x4x8x256xf16>, tensor<4x1x256xf16>) -> tensor<2x4x8x256xf16>
  return %y : tensor<2x4x8x256xf16>
}

// Gates of another type than the sequences.
func.func @gate_type(%u: tensor<2x256xf16>, %k: tensor<2x256xf16>, %g: tensor<2x256xf32>) -> tensor<2x256xf16> {
  %y = loom.fftconv causal %u, %k post_gate(%g) : (tensor<2x256xf16>, tensor<2x256xf16>, tensor<2x256xf32>) -> tensor<2x256xf16>
  return %y : tensor<2x256xf16>
}
