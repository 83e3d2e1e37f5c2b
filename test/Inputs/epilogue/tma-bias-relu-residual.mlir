// The Hopper TMA kernel (its epilogue stages f16 C in shared memory and
// stores it with TMA), with a bias, relu and a residual fused; odd M and N.
// (The plan is given: for this shape the planner would pick mma.sync.)
func.func @main(%a: tensor<1000x1024xf16>, %b: tensor<1000x1024xf16>, %bias: tensor<1000xf16>, %r: tensor<1000x1000xf16>) -> tensor<1000x1000xf16> {
  %c = loom.einsum "mk,nk->mn" (%a, %b) {plan = #loom.plan<tile_m = 128, tile_n = 256, tile_k = 64, warps_m = 8, warps_n = 1, mma = wgmma_k16, stages = 4, producer = tma>} : (tensor<1000x1024xf16>, tensor<1000x1024xf16>) -> tensor<1000x1000xf16>
  %d = loom.add %c, %bias : tensor<1000x1000xf16>, tensor<1000xf16>
  %e = loom.activation relu %d : tensor<1000x1000xf16>
  %o = loom.add %e, %r : tensor<1000x1000xf16>, tensor<1000x1000xf16>
  return %o : tensor<1000x1000xf16>
}
