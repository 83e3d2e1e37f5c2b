// A causal convolution of 32K points (Hyena-style, one filter per head).
func.func @conv(%u: tensor<4x16x32768xbf16>, %k: tensor<16x32768xbf16>) -> tensor<4x16x32768xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<4x16x32768xbf16>, tensor<16x32768xbf16>) -> tensor<4x16x32768xbf16>
  return %y : tensor<4x16x32768xbf16>
}
