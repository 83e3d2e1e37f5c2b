// f64 in a memory-bound kernel (a row-scaled product), silu and a residual:
// exp in f64, a true division.
func.func @main(%a: tensor<300x257xf64>, %s: tensor<300xf64>, %r: tensor<300x257xf64>) -> tensor<300x257xf64> {
  %c = loom.einsum "ij,i->ij" (%a, %s) : (tensor<300x257xf64>, tensor<300xf64>) -> tensor<300x257xf64>
  %e = loom.activation silu %c : tensor<300x257xf64>
  %o = loom.add %e, %r : tensor<300x257xf64>, tensor<300x257xf64>
  return %o : tensor<300x257xf64>
}
