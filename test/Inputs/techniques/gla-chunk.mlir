// One chunk of gated linear attention (TECHNIQUES.md): the state of each
// head (3 heads, d = 16, e = 24) decays by a gate, takes this chunk's
// K^T V (37 positions), and the chunk's output reads it through Q.
func.func @main(%q: tensor<3x37x16xf32>, %k: tensor<3x37x16xf32>, %v: tensor<3x37x24xf32>,
                %gate: tensor<3x16x24xf32>, %s0: tensor<3x16x24xf32>)
    -> (tensor<3x37x24xf32>, tensor<3x16x24xf32>) {
  %kv = loom.einsum "bcd,bce->bde" (%k, %v) : (tensor<3x37x16xf32>, tensor<3x37x24xf32>) -> tensor<3x16x24xf32>
  %s1 = loom.einsum "bde,bde->bde" (%gate, %s0) : (tensor<3x16x24xf32>, tensor<3x16x24xf32>) -> tensor<3x16x24xf32>
  %s2 = loom.add %kv, %s1 : tensor<3x16x24xf32>, tensor<3x16x24xf32>
  %o = loom.einsum "bcd,bde->bce" (%q, %s2) : (tensor<3x37x16xf32>, tensor<3x16x24xf32>) -> tensor<3x37x24xf32>
  return %o, %s2 : tensor<3x37x24xf32>, tensor<3x16x24xf32>
}
