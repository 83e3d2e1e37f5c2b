// Size-1 dimensions broadcast against the other operand's (GPU suite:
// bcast_batch). TMA cannot express the stride-0 batch, so these fall back to
// the cp.async kernels.
func.func @main(%a: tensor<1x65x40xf16>, %b: tensor<3x48x40xf16>, %v: tensor<1x64xf16>,
                %w: tensor<3x64x50xf16>) -> (tensor<3x65x48xf16>, tensor<3x50xf32>) {
  %0 = loom.einsum "bmk,bnk->bmn" (%a, %b) : (tensor<1x65x40xf16>, tensor<3x48x40xf16>) -> tensor<3x65x48xf16>
  %1 = loom.einsum "bk,bkn->bn" (%v, %w) : (tensor<1x64xf16>, tensor<3x64x50xf16>) -> tensor<3x50xf32>
  return %0, %1 : tensor<3x65x48xf16>, tensor<3x50xf32>
}
