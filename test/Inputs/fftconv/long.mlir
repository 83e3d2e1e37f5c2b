// A causal convolution of 2M points: past the two-pass kernels' 1M.
func.func @conv(%u: tensor<1x2x2097152xbf16>, %k: tensor<2x2097152xbf16>) -> tensor<1x2x2097152xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<1x2x2097152xbf16>, tensor<2x2097152xbf16>) -> tensor<1x2x2097152xbf16>
  return %y : tensor<1x2x2097152xbf16>
}
