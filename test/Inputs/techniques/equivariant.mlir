// Equivariant polynomials (TECHNIQUES.md): the same operand used several
// times, and labels repeated inside an operand. tr(x^3) as one einsum of
// three copies of %x, and a diagonal chain.
func.func @main(%x: tensor<33x33xf64>, %w: tensor<33x5x5xf64>) -> (tensor<f64>, tensor<5xf64>) {
  %t = loom.einsum "ab,bc,ca->" (%x, %x, %x) : (tensor<33x33xf64>, tensor<33x33xf64>, tensor<33x33xf64>) -> tensor<f64>
  %d = loom.einsum "ii,ij,jkk->k" (%x, %x, %w) : (tensor<33x33xf64>, tensor<33x33xf64>, tensor<33x5x5xf64>) -> tensor<5xf64>
  return %t, %d : tensor<f64>, tensor<5xf64>
}
