// Elementwise ops whose input is not an einsum: each chain becomes an
// einsum of its input alone ("ab->ab", a memory-bound kernel) with the ops
// as its epilogue. The second einsum's result has two uses, so the relu
// after it runs alone too.
func.func @main(%x: tensor<513x1000xf16>, %bias: tensor<1000xf16>, %w: tensor<513x1000xf16>) -> (tensor<513x1000xf16>, tensor<513x1000xf16>, tensor<513x1000xf16>) {
  %d = loom.add %x, %bias : tensor<513x1000xf16>, tensor<1000xf16>
  %e = loom.activation silu %d : tensor<513x1000xf16>
  %p = loom.einsum "ij,ij->ij" (%e, %w) : (tensor<513x1000xf16>, tensor<513x1000xf16>) -> tensor<513x1000xf16>
  %r = loom.activation relu %p : tensor<513x1000xf16>
  %s = loom.scale %p by 2.000000e+00 : tensor<513x1000xf16>
  return %r, %s, %p : tensor<513x1000xf16>, tensor<513x1000xf16>, tensor<513x1000xf16>
}
