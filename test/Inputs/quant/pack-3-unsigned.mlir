// A repack into the a_fragment layout (3-bit unsigned codes, 1024 x 2048), as a user
// repacks a checkpoint at load time: one GPU kernel (gpu-check's quant part
// checks its words against the reference's).
func.func @main(%q: tensor<1024x2048xi4>) -> tensor<196608xi32> {
  %p = loom.pack %q {layout = #loom.layout<format = a_fragment, bits = 3, kind = unsigned>} : (tensor<1024x2048xi4>) -> tensor<196608xi32>
  return %p : tensor<196608xi32>
}
