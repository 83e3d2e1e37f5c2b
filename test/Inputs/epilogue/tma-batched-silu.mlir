// A batched bf16 contraction on the TMA kernel with silu and a bias over
// m and n (the result b x m x n: the bias
// broadcasts over b). One consumer warpgroup; the plan is given.
func.func @main(%a: tensor<3x200x512xbf16>, %b: tensor<3x136x512xbf16>, %bias: tensor<200x136xbf16>) -> tensor<3x200x136xbf16> {
  %c = loom.einsum "bmk,bnk->bmn" (%a, %b) {plan = #loom.plan<tile_m = 64, tile_n = 256, tile_k = 64, warps_m = 4, warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma>} : (tensor<3x200x512xbf16>, tensor<3x136x512xbf16>) -> tensor<3x200x136xbf16>
  %s = loom.scale %c by 1.250000e-01 : tensor<3x200x136xbf16>
  %d = loom.add %s, %bias : tensor<3x200x136xbf16>, tensor<200x136xbf16>
  %e = loom.activation silu %d : tensor<3x200x136xbf16>
  return %e : tensor<3x200x136xbf16>
}
