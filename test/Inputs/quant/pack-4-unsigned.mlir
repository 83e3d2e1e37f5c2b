// A repack into the a_fragment layout (4-bit unsigned codes, 4096 x 4096), as a user
// repacks a checkpoint at load time: one GPU kernel (gpu-check's quant part
// checks its words against the reference's).
func.func @main(%q: tensor<4096x4096xi4>) -> tensor<2097152xi32> {
  %p = loom.pack %q {layout = #loom.layout<format = a_fragment, bits = 4, kind = unsigned>} : (tensor<4096x4096xi4>) -> tensor<2097152xi32>
  return %p : tensor<2097152xi32>
}
