// f64 on the DMMA tensor cores, scale, a bias and gelu: exp in f64 (its own
// series, not ex2.approx), so the result holds f64's precision.
func.func @main(%a: tensor<130x97xf64>, %b: tensor<97x75xf64>, %bias: tensor<75xf64>) -> tensor<130x75xf64> {
  %c = loom.einsum "mk,kn->mn" (%a, %b) : (tensor<130x97xf64>, tensor<97x75xf64>) -> tensor<130x75xf64>
  %s = loom.scale %c by 2.500000e-01 : tensor<130x75xf64>
  %d = loom.add %s, %bias : tensor<130x75xf64>, tensor<75xf64>
  %e = loom.activation gelu %d : tensor<130x75xf64>
  return %e : tensor<130x75xf64>
}
