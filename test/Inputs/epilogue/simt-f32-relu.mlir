// f32 without tf32 (the CUDA-core kernel), a bias and relu.
func.func @main(%a: tensor<300x100xf32>, %b: tensor<100x257xf32>, %bias: tensor<257xf32>) -> tensor<300x257xf32> {
  %c = loom.einsum "mk,kn->mn" (%a, %b) : (tensor<300x100xf32>, tensor<100x257xf32>) -> tensor<300x257xf32>
  %d = loom.add %c, %bias : tensor<300x257xf32>, tensor<257xf32>
  %e = loom.activation relu %d : tensor<300x257xf32>
  return %e : tensor<300x257xf32>
}
