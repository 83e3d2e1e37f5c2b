// One gated or plain convolution per length the fused FFT kernel takes
// (test/Target/ptxas-fftconv.test compiles each with --function).

func.func @c128(%u: tensor<2x4x128xbf16>, %k: tensor<4x128xbf16>) -> tensor<2x4x128xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<2x4x128xbf16>, tensor<4x128xbf16>) -> tensor<2x4x128xbf16>
  return %y : tensor<2x4x128xbf16>
}

func.func @c256(%u: tensor<2x4x256xf16>, %k: tensor<4x256xf16>, %g: tensor<2x4x256xf16>, %h: tensor<2x4x256xf16>) -> tensor<2x4x256xf16> {
  %y = loom.fftconv causal %u, %k pre_gate(%g) post_gate(%h) : (tensor<2x4x256xf16>, tensor<4x256xf16>, tensor<2x4x256xf16>, tensor<2x4x256xf16>) -> tensor<2x4x256xf16>
  return %y : tensor<2x4x256xf16>
}

func.func @c512(%u: tensor<2x4x512xbf16>, %k: tensor<4x512xbf16>) -> tensor<2x4x512xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<2x4x512xbf16>, tensor<4x512xbf16>) -> tensor<2x4x512xbf16>
  return %y : tensor<2x4x512xbf16>
}

func.func @c1024(%u: tensor<2x4x1024xbf16>, %k: tensor<4x1024xbf16>, %g: tensor<2x4x1024xbf16>, %h: tensor<2x4x1024xbf16>) -> tensor<2x4x1024xbf16> {
  %y = loom.fftconv causal %u, %k pre_gate(%g) post_gate(%h) : (tensor<2x4x1024xbf16>, tensor<4x1024xbf16>, tensor<2x4x1024xbf16>, tensor<2x4x1024xbf16>) -> tensor<2x4x1024xbf16>
  return %y : tensor<2x4x1024xbf16>
}

func.func @c2048(%u: tensor<2x4x2048xbf16>, %k: tensor<4x2048xbf16>, %h: tensor<2x4x2048xbf16>) -> tensor<2x4x2048xbf16> {
  %y = loom.fftconv causal %u, %k post_gate(%h) : (tensor<2x4x2048xbf16>, tensor<4x2048xbf16>, tensor<2x4x2048xbf16>) -> tensor<2x4x2048xbf16>
  return %y : tensor<2x4x2048xbf16>
}

func.func @r256(%u: tensor<2x4x256xf16>, %k: tensor<4x256xf16>) -> tensor<2x4x256xf16> {
  %y = loom.fftconv circular %u, %k : (tensor<2x4x256xf16>, tensor<4x256xf16>) -> tensor<2x4x256xf16>
  return %y : tensor<2x4x256xf16>
}

func.func @r4096(%u: tensor<2x4x4096xf16>, %k: tensor<4x4096xf16>, %g: tensor<2x4x4096xf16>) -> tensor<2x4x4096xf16> {
  %y = loom.fftconv circular %u, %k pre_gate(%g) {freq_cutoff = 64 : i64} : (tensor<2x4x4096xf16>, tensor<4x4096xf16>, tensor<2x4x4096xf16>) -> tensor<2x4x4096xf16>
  return %y : tensor<2x4x4096xf16>
}
func.func @c8192(%u: tensor<2x2x8192xbf16>, %k: tensor<2x8192xbf16>, %h: tensor<2x2x8192xbf16>) -> tensor<2x2x8192xbf16> {
  %y = loom.fftconv causal %u, %k post_gate(%h) : (tensor<2x2x8192xbf16>, tensor<2x8192xbf16>, tensor<2x2x8192xbf16>) -> tensor<2x2x8192xbf16>
  return %y : tensor<2x2x8192xbf16>
}

func.func @r8192(%u: tensor<2x2x8192xf16>, %k: tensor<2x8192xf16>) -> tensor<2x2x8192xf16> {
  %y = loom.fftconv circular %u, %k : (tensor<2x2x8192xf16>, tensor<2x8192xf16>) -> tensor<2x2x8192xf16>
  return %y : tensor<2x2x8192xf16>
}

// Two passes (N above 8192): outer kernels of P = 16 to 128 around inner
// rows of 1024 to 16384.
func.func @c16384(%u: tensor<2x4x16384xbf16>, %k: tensor<4x16384xbf16>, %g: tensor<2x4x16384xbf16>, %h: tensor<2x4x16384xbf16>) -> tensor<2x4x16384xbf16> {
  %y = loom.fftconv causal %u, %k pre_gate(%g) post_gate(%h) : (tensor<2x4x16384xbf16>, tensor<4x16384xbf16>, tensor<2x4x16384xbf16>, tensor<2x4x16384xbf16>) -> tensor<2x4x16384xbf16>
  return %y : tensor<2x4x16384xbf16>
}

func.func @r16384(%u: tensor<3x16384xf16>, %k: tensor<1x1000xf32>) -> tensor<3x16384xf16> {
  %y = loom.fftconv circular %u, %k : (tensor<3x16384xf16>, tensor<1x1000xf32>) -> tensor<3x16384xf16>
  return %y : tensor<3x16384xf16>
}

func.func @c131072(%u: tensor<2x131072xbf16>, %k: tensor<2x131072xbf16>) -> tensor<2x131072xbf16> {
  %y = loom.fftconv causal %u, %k : (tensor<2x131072xbf16>, tensor<2x131072xbf16>) -> tensor<2x131072xbf16>
  return %y : tensor<2x131072xbf16>
}

func.func @c1048576(%u: tensor<2x1048576xbf16>, %k: tensor<2x1048576xbf16>, %h: tensor<2x1048576xbf16>) -> tensor<2x1048576xbf16> {
  %y = loom.fftconv causal %u, %k post_gate(%h) : (tensor<2x1048576xbf16>, tensor<2x1048576xbf16>, tensor<2x1048576xbf16>) -> tensor<2x1048576xbf16>
  return %y : tensor<2x1048576xbf16>
}
