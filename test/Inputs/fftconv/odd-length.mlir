// A circular convolution of 1000 points: not a power of two.
func.func @conv(%u: tensor<8x1000xbf16>, %k: tensor<8x1000xbf16>) -> tensor<8x1000xbf16> {
  %y = loom.fftconv circular %u, %k : (tensor<8x1000xbf16>, tensor<8x1000xbf16>) -> tensor<8x1000xbf16>
  return %y : tensor<8x1000xbf16>
}
