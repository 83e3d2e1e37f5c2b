// A gated convolution over a dynamic batch (the JIT's case): one variant a
// size bucket, each fused kernel taking the batch at launch.
func.func @dconv(%u: tensor<?x4x256xbf16>, %k: tensor<4x256xf32>, %g: tensor<?x4x256xbf16>) -> tensor<?x4x256xbf16> {
  %y = loom.fftconv causal %u, %k post_gate(%g) : (tensor<?x4x256xbf16>, tensor<4x256xf32>, tensor<?x4x256xbf16>) -> tensor<?x4x256xbf16>
  return %y : tensor<?x4x256xbf16>
}
