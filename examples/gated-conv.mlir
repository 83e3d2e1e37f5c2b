// A gated long convolution, as in a Hyena block: y = post * (k * (pre * u))
// over the last axis, causal, one filter per head. B = 4, H = 16 heads,
// N = 1024, bf16 sequences and gates, an f32 filter.
// `make demo` compiles it (the filters' spectra, then one fused kernel of
// Monarch FFT products on tensor cores) and runs it on the GPU when there
// is one, checked against the f64 reference.
func.func @gated_conv(%u: tensor<4x16x1024xbf16>, %k: tensor<16x1024xf32>,
                      %pre: tensor<4x16x1024xbf16>, %post: tensor<4x16x1024xbf16>)
    -> tensor<4x16x1024xbf16> {
  %y = loom.fftconv causal %u, %k pre_gate(%pre) post_gate(%post)
     : (tensor<4x16x1024xbf16>, tensor<16x1024xf32>, tensor<4x16x1024xbf16>,
        tensor<4x16x1024xbf16>) -> tensor<4x16x1024xbf16>
  return %y : tensor<4x16x1024xbf16>
}
