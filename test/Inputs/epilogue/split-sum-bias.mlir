// A column sum cut into slices (partial sums in a workspace); the kernel
// that adds them applies the fused bias and relu.
func.func @main(%x: tensor<4000x64xf16>, %bias: tensor<64xf32>) -> tensor<64xf32> {
  %s = loom.einsum "ij->j" (%x) : (tensor<4000x64xf16>) -> tensor<64xf32>
  %d = loom.add %s, %bias : tensor<64xf32>, tensor<64xf32>
  %e = loom.activation relu %d : tensor<64xf32>
  return %e : tensor<64xf32>
}
