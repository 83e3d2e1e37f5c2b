// A plan on an einsum of one operand, which runs as a memory-bound kernel
// (test/Codegen/memory-bound.test expects an error).
func.func @main(%a: tensor<64x32xf16>) -> tensor<32x64xf16> {
  %0 = loom.einsum "ij->ji" (%a) {plan = #loom.plan<tile_m = 64, tile_n = 64, tile_k = 64, warps_m = 2, warps_n = 2, mma = m16n8k16>} : (tensor<64x32xf16>) -> tensor<32x64xf16>
  return %0 : tensor<32x64xf16>
}
