// A causal convolution of 32K points (Hyena-style, one filter per head):
// two passes, outer kernels of P = 16 around inner rows of 4096.
func.func @conv(%u: tensor<4x16x32768xbf16>, %k: tensor<16x32768xbf16>) -> tensor<4x16x32768xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<4x16x32768xbf16>, tensor<16x32768xbf16>) -> tensor<4x16x32768xbf16>
  return %y : tensor<4x16x32768xbf16>
}

// Too large for 32-bit offsets: 4 x 768 sequences of 1M (a workspace of
// 17 GiB and more).
func.func @huge(%u: tensor<4x768x1048576xbf16>, %k: tensor<768x1048576xbf16>) -> tensor<4x768x1048576xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<4x768x1048576xbf16>, tensor<768x1048576xbf16>) -> tensor<4x768x1048576xbf16>
  return %y : tensor<4x768x1048576xbf16>
}
