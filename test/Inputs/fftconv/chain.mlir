// A convolution whose result feeds an einsum: the spectra workspace and the
// convolution's result are both intermediates, in use together at the
// convolution kernel, so the buffer plan keeps them apart.
func.func @chain(%u: tensor<2x4x256xf16>, %k: tensor<4x256xf16>, %w: tensor<64x256xf16>) -> tensor<2x4x64xf16> {
  %y = loom.fftconv causal %u, %k : (tensor<2x4x256xf16>, tensor<4x256xf16>) -> tensor<2x4x256xf16>
  %z = loom.einsum "bhn,dn->bhd" (%y, %w) : (tensor<2x4x256xf16>, tensor<64x256xf16>) -> tensor<2x4x64xf16>
  return %z : tensor<2x4x64xf16>
}
