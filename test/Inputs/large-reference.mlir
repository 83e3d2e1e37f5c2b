// 10^8 elements in and 10^8 out: 1.5 GiB as the reference's doubles, which
// fits most machines but not a 1 GiB limit on the address space.
func.func @main(%a: tensor<10000x10000xf16>) -> tensor<10000x10000xf16> {
  %0 = loom.einsum "ij->ji" (%a) : (tensor<10000x10000xf16>) -> tensor<10000x10000xf16>
  return %0 : tensor<10000x10000xf16>
}
